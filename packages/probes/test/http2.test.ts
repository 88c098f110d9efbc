// The http probe over HTTP/2 against loopback servers written here: what a
// well-behaved one gives (version, headers, phases), and every way a hostile
// or broken one fails, each classified. nginx's HTTP/2 is in
// test/http2-chain.test.ts.
import { getEventListeners } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type TestPki, createTestPki } from "../../../test/support/pki";
import type { HttpProbeSpec } from "../src/index";
import { httpProbe } from "../src/probes/http";
import { runProbe } from "../src/runner";
import type { ProbeContext } from "../src/types";
import { manualProbeContext } from "./support/context";

let dir: string;
let pki: TestPki;
const closers: (() => Promise<void>)[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "popwatch-http2-"));
  pki = createTestPki(dir);
});
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function listening(server: tls.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const sockets = new Set<import("node:net").Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("error", () => {});
    s.once("close", () => sockets.delete(s));
  });
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return (server.address() as { port: number }).port;
}

/** A real HTTP/2 server (node:http2) answering each stream with `onStream`. */
async function h2Server(onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void): Promise<number> {
  const server = http2.createSecureServer({ key: pki.leaf.keyPem, cert: pki.leaf.certPem, allowHTTP1: false });
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    onStream(stream, headers);
  });
  server.on("sessionError", () => {});
  return listening(server);
}

/** A TLS server that negotiates h2 and then does whatever `onSocket` does (garbage, silence, a hang-up). */
async function rawH2(onSocket: (socket: tls.TLSSocket) => void): Promise<number> {
  const server = tls.createServer({ key: pki.leaf.keyPem, cert: pki.leaf.certPem, ALPNProtocols: ["h2"] }, (socket) => {
    socket.on("error", () => {});
    onSocket(socket);
  });
  server.on("tlsClientError", () => {});
  return listening(server);
}

const spec = (port: number, over: Partial<HttpProbeSpec> = {}): HttpProbeSpec => ({
  kind: "http",
  address: "127.0.0.1",
  port,
  scheme: "https",
  host: "pop.test",
  path: "/",
  method: "GET",
  readCapBytes: 64 * 1024,
  ca: [pki.caPem],
  ...over,
});

describe("http probe over HTTP/2", () => {
  it("records version 2, headers (repeats joined, no pseudo-headers) and the same phases as HTTP/1.1", async () => {
    let seen: http2.IncomingHttpHeaders = {};
    const port = await h2Server((stream, headers) => {
      seen = headers;
      stream.respond({ ":status": 200, "set-cookie": ["a=1", "b=2"], "x-served-by": "cache-fra-h2" });
      stream.end("hello over h2\n");
    });
    const result = await runProbe(spec(port), { timeoutMs: 3000 });
    expect(result.failure).toBeNull();
    expect(result).toMatchObject({
      ok: true,
      status: 200,
      httpVersion: "2",
      bodyBytes: 14,
      headers: { "set-cookie": "a=1, b=2", "x-served-by": "cache-fra-h2" },
      tls: { alpn: "h2", sni: "pop.test" },
    });
    if (result.kind !== "http") throw new Error("kind");
    expect(Object.keys(result.headers ?? {}).filter((h) => h.startsWith(":"))).toEqual([]);
    // :authority carries the host (and the non-default port), like Host over HTTP/1.1.
    expect(seen[":authority"]).toBe(`pop.test:${port}`);
    expect(seen["user-agent"]).toMatch(/^popwatch\//);
    const t = result.timings;
    for (const phase of [t.connectMs, t.tlsMs, t.ttfbMs, t.transferMs]) expect(phase).toBeGreaterThan(0);
    expect(t.connectMs! + t.tlsMs! + t.ttfbMs! + t.transferMs!).toBeLessThanOrEqual(t.totalMs + 0.01);
  });

  it("offering only http/1.1 to an h2-only server fails the handshake (no common protocol), not the request", async () => {
    const port = await h2Server((stream) => {
      stream.respond({ ":status": 200 });
      stream.end("x");
    });
    // allowHTTP1 is off: the server has no protocol in common with the offer.
    const result = await runProbe(spec(port, { alpn: ["http/1.1"] }), { timeoutMs: 3000 });
    expect(result.ok).toBe(false);
    expect(result.failure?.code).toBe("tls_handshake");
    expect(result.failure?.message).toMatch(/^ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL/);
  });

  it("HEAD over HTTP/2: status and headers, no body read", async () => {
    const methods: unknown[] = [];
    const port = await h2Server((stream, headers) => {
      methods.push(headers[":method"]);
      stream.respond({ ":status": 200, "content-length": "5" });
      stream.end(headers[":method"] === "HEAD" ? undefined : "hello");
    });
    const result = await runProbe(spec(port, { method: "HEAD" }), { timeoutMs: 3000 });
    expect(result).toMatchObject({ ok: true, status: 200, httpVersion: "2", bodyBytes: 0, headers: { "content-length": "5" } });
    expect(methods).toEqual(["HEAD"]);
  });

  it("a stream reset before the headers is reset", async () => {
    const port = await h2Server((stream) => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    const result = await runProbe(spec(port), { timeoutMs: 3000 });
    expect(result).toMatchObject({ ok: false, httpVersion: "2", failure: { code: "reset" } });
    expect(result.failure?.message).toMatch(/^ERR_HTTP2_STREAM_ERROR/);
  });

  it("a stream reset half-way through the body is reset, not a short success", async () => {
    const port = await h2Server((stream) => {
      stream.respond({ ":status": 200 });
      stream.write("the first part of the body");
      setTimeout(() => stream.destroy(new Error("cut")), 30);
    });
    const result = await runProbe(spec(port), { timeoutMs: 3000 });
    expect(result).toMatchObject({ ok: false, status: 200, httpVersion: "2", failure: { code: "reset" } });
  });

  it("GOAWAY instead of an answer is closed", async () => {
    const port = await h2Server((stream) => stream.session?.goaway(http2.constants.NGHTTP2_PROTOCOL_ERROR));
    const result = await runProbe(spec(port), { timeoutMs: 3000 });
    expect(result.failure?.code).toBe("closed");
  });

  it("an HTTP/1.1 answer after negotiating h2 is http_protocol", async () => {
    const port = await rawH2((socket) => socket.end("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"));
    const result = await runProbe(spec(port), { timeoutMs: 3000 });
    expect(result).toMatchObject({ ok: false, httpVersion: "2", failure: { code: "http_protocol" } });
  });

  it("silence after the handshake times out within bounds", async () => {
    const port = await rawH2(() => {});
    const started = Date.now();
    const result = await runProbe(spec(port), { timeoutMs: 400 });
    expect(result.failure?.code).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("arbitrary bytes from a server that negotiated h2: always a classified failure, never internal or a throw", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 512 }), async (bytes) => {
        const port = await rawH2((socket) => socket.end(Buffer.from(bytes)));
        const result = await runProbe(spec(port), { timeoutMs: 2000 });
        expect(result.ok).toBe(false);
        expect(["http_protocol", "closed", "reset"]).toContain(result.failure?.code);
        await closers.pop()?.();
      }),
      { numRuns: 25 },
    );
  });

  it("leaves no listener on the signal, whether it succeeds or is aborted mid-body", async () => {
    const ok = await h2Server((stream) => {
      stream.respond({ ":status": 200 });
      stream.end("ok");
    });
    const hang = await h2Server((stream) => stream.respond({ ":status": 200 }));
    for (const [port, abortAfterMs] of [
      [ok, null],
      [hang, 150],
    ] as const) {
      const { controller, ctx } = manualProbeContext<"http">();
      const run = httpProbe(spec(port), ctx as ProbeContext<"http">);
      if (abortAfterMs !== null) setTimeout(() => controller.abort(new Error("stop")), abortAfterMs);
      const outcome = await run.then(
        (failure) => ({ failure }),
        (err: unknown) => ({ err }),
      );
      if (abortAfterMs === null) expect(outcome).toEqual({ failure: null });
      else expect(outcome).toHaveProperty("err");
      expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
    }
  });
});
