// probes/http.ts takes undici's Client, request API and error classes from
// undici 7's internal modules instead of "undici" (bundle size on Lambda; see
// types/undici-internals.d.ts). They must be the very objects undici's index
// exports: the same classes for `instanceof`, the same request function.
import { mkdtempSync, rmSync } from "node:fs";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import * as undici from "undici";
import request from "undici/lib/api/api-request.js";
import undiciErrors from "undici/lib/core/errors.js";
import Agent from "undici/lib/dispatcher/agent.js";
import Client from "undici/lib/dispatcher/client.js";
import { describe, expect, it } from "vitest";
import { createTestPki } from "../../../test/support/pki";

describe("undici internal modules", () => {
  it("are the objects undici's index exports", () => {
    expect(Client).toBe(undici.Client);
    expect(Agent).toBe(undici.Agent);
    expect(undiciErrors).toBe(undici.errors);
    expect(undiciErrors.HTTPParserError).toBe(undici.errors.HTTPParserError);
    expect(request).toBe(undici.Dispatcher.prototype.request);
  });

  it("the bare Client speaks HTTP/2 on a socket our own connector negotiated h2 on, and HTTP/1.1 otherwise", async () => {
    // What the http probe relies on: with a connector function, undici picks
    // the protocol from the socket's alpnProtocol alone.
    const dir = mkdtempSync(join(tmpdir(), "popwatch-undici-"));
    const pki = createTestPki(dir);
    const server = http2.createSecureServer({ key: pki.leaf.keyPem, cert: pki.leaf.certPem, allowHTTP1: true }, (req, res) => {
      res.end(req.httpVersion);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const versions: string[] = [];
      for (const alpn of [["h2", "http/1.1"], ["http/1.1"]]) {
        const client = new Client(`https://pop.test:${port}`, {
          allowH2: true,
          pingInterval: 0,
          connect: (_options, callback) => {
            const socket = tls.connect({ host: "127.0.0.1", port, servername: "pop.test", ca: [pki.caPem], ALPNProtocols: alpn });
            socket.once("secureConnect", () => callback(null, socket));
            socket.once("error", (err) => callback(err, null));
          },
        });
        try {
          const response = await request.call(client, { path: "/", method: "GET" });
          versions.push(await response.body.text());
        } finally {
          await client.destroy();
        }
      }
      expect(versions).toEqual(["2.0", "1.1"]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
