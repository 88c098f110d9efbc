import { getEventListeners } from "node:events";
import type net from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import type { HttpProbeSpec } from "../src/index";
import { httpProbe } from "../src/probes/http";
import { runProbe } from "../src/runner";
import type { ProbeContext } from "../src/types";
import { manualProbeContext } from "./support/context";
import { BIG_BODY_BYTES, type HttpServer, SERVED_BY, startHttpServer, startHttpsServer } from "./support/http-servers";
import { type Listening, closedPort, startRawServer, useTlsFixture } from "./support/tls-servers";

const fixture = useTlsFixture("popwatch-http-");

async function keep<T extends Listening>(server: Promise<T>): Promise<T> {
  const s = await server;
  fixture.servers.push(s);
  return s;
}

const spec = (port: number, over: Partial<HttpProbeSpec> = {}): HttpProbeSpec => ({
  kind: "http",
  address: "127.0.0.1",
  port,
  scheme: "http",
  host: "pop.test",
  path: "/",
  method: "GET",
  readCapBytes: 64 * 1024,
  ...over,
});

const httpsSpec = (server: HttpServer, over: Partial<HttpProbeSpec> = {}) =>
  spec(server.port, { scheme: "https", ca: [fixture.pki.caPem], ...over });

/** A raw server that answers the first request bytes with `respond`. */
function rawHttp(respond: (socket: net.Socket) => void): Promise<Listening> {
  return keep(
    startRawServer((socket) => {
      socket.on("error", () => {});
      socket.once("data", () => respond(socket));
    }),
  );
}

describe("http probe", () => {
  it("https: connects to the address, names the host in Host and SNI, records headers, TLS facts and ordered phases", async () => {
    const server = await keep(startHttpsServer(fixture.pki.leaf.keyPem, fixture.pki.leaf.certPem));
    const result = await runProbe(httpsSpec(server), { timeoutMs: 3000 });
    expect(result.failure).toBeNull();
    if (result.kind !== "http") throw new Error("kind");
    expect(result).toMatchObject({
      ok: true,
      url: `https://pop.test:${server.port}/`,
      status: 200,
      httpVersion: "1.1",
      bodyTruncated: false,
      tls: { protocol: "TLSv1.3", alpn: "http/1.1" },
    });
    expect(result.tls?.cipher).toMatch(/^TLS_/);
    const headers = result.headers!;
    expect(headers["x-served-by"]).toBe(SERVED_BY);
    expect(headers["x-cache"]).toBe("MISS, HIT");
    // Non-default port, so Host carries it (RFC 9110 §7.2); SNI never does.
    expect(headers["x-seen-host"]).toBe(`pop.test:${server.port}`);
    expect(headers["x-seen-sni"]).toBe("pop.test");
    expect(headers["x-seen-user-agent"]).toMatch(/^popwatch\//);
    expect(result.bodyBytes).toBe(Buffer.byteLength("hello from fra — pop ok\n"));

    const t = result.timings;
    for (const phase of [t.connectMs, t.tlsMs, t.ttfbMs, t.transferMs]) expect(phase).toBeGreaterThan(0);
    expect(t.connectMs! + t.tlsMs! + t.ttfbMs! + t.transferMs!).toBeLessThanOrEqual(t.totalMs + 0.01);
    expect(server.requests).toEqual(["/"]);
    await server.drained();
  });

  it("hands headers and the certificate fingerprint to PoP identification", async () => {
    const server = await keep(startHttpsServer(fixture.pki.leaf.keyPem, fixture.pki.leaf.certPem));
    let seen: unknown;
    await runProbe(httpsSpec(server), {
      identifyPop: (_kind, evidence) => {
        seen = evidence;
        return null;
      },
    });
    expect(seen).toMatchObject({ headers: { "x-served-by": SERVED_BY }, tlsFingerprint: fixture.pki.leaf.sha256 });
  });

  it("https: an expired certificate fails as tls_cert_expired and no request is sent", async () => {
    const server = await keep(startHttpsServer(fixture.pki.expired.keyPem, fixture.pki.expired.certPem));
    const result = await runProbe(httpsSpec(server), { timeoutMs: 3000 });
    expect(result.failure?.code).toBe("tls_cert_expired");
    expect(result.timings.tlsMs).toBeGreaterThan(0);
    expect(result.timings.ttfbMs).toBeUndefined();
    expect(server.requests).toEqual([]);
    await server.drained();
  });

  it("https: without the CA the chain is invalid; with a pin it is accepted", async () => {
    const server = await keep(startHttpsServer(fixture.pki.selfSigned.keyPem, fixture.pki.selfSigned.certPem));
    const untrusted = await runProbe(httpsSpec(server), { timeoutMs: 3000 });
    expect(untrusted.failure?.code).toBe("tls_cert_invalid");
    const pinned = await runProbe(httpsSpec(server, { ca: [], pinSha256: [fixture.pki.selfSigned.sha256.toUpperCase()] }));
    expect(pinned.failure).toBeNull();
    expect(server.requests).toEqual(["/"]);
  });

  it("https: a Host the certificate does not cover is tls_cert_invalid", async () => {
    const server = await keep(startHttpsServer(fixture.pki.leaf.keyPem, fixture.pki.leaf.certPem));
    const result = await runProbe(httpsSpec(server, { host: "other.test" }), { timeoutMs: 3000 });
    expect(result.failure?.code).toBe("tls_cert_invalid");
    expect(result.failure?.message).toMatch(/^ERR_TLS_CERT_ALTNAME_INVALID/);
  });

  it("https without a host: no SNI, the certificate judged against the address's IP SAN", async () => {
    const server = await keep(startHttpsServer(fixture.pki.leaf.keyPem, fixture.pki.leaf.certPem));
    const result = await runProbe(httpsSpec(server, { host: null }), { timeoutMs: 3000 });
    expect(result.failure).toBeNull();
    if (result.kind !== "http") throw new Error("kind");
    expect(result.url).toBe(`https://127.0.0.1:${server.port}/`);
    expect(result.headers?.["x-seen-sni"]).toBe("");
    expect(result.headers?.["x-seen-host"]).toBe(`127.0.0.1:${server.port}`);
  });

  it("plain http: no TLS phase, Host from spec.host, HTTP version from the status line", async () => {
    const server = await keep(startHttpServer());
    const result = await runProbe(spec(server.port), { timeoutMs: 3000 });
    expect(result.failure).toBeNull();
    expect(result).toMatchObject({ ok: true, status: 200, httpVersion: "1.1", tls: null, url: `http://pop.test:${server.port}/` });
    expect(result.timings.tlsMs).toBeUndefined();
    expect(result.timings.ttfbMs).toBeGreaterThan(0);
    if (result.kind !== "http") throw new Error("kind");
    expect(result.headers?.["x-seen-host"]).toBe(`pop.test:${server.port}`);
    await server.drained();
  });

  it("uses the address in the URL and Host when no host is given (IPv6 bracketed)", async (t) => {
    let server: HttpServer;
    try {
      server = await keep(startHttpServer("::1"));
    } catch {
      t.skip(); // no IPv6 loopback here
      return;
    }
    const result = await runProbe(spec(server.port, { address: "::1", host: null }), { timeoutMs: 3000 });
    expect(result.failure).toBeNull();
    if (result.kind !== "http") throw new Error("kind");
    expect(result.url).toBe(`http://[::1]:${server.port}/`);
    expect(result.headers?.["x-seen-host"]).toBe(`[::1]:${server.port}`);
  });

  it("status 503 fails as http_status and keeps the headers for PoP identification", async () => {
    const server = await keep(startHttpServer());
    let evidenceHeaders: Record<string, string> | undefined;
    const result = await runProbe(spec(server.port, { path: "/status/503" }), {
      identifyPop: (_k, evidence) => {
        evidenceHeaders = evidence.headers;
        return null;
      },
    });
    expect(result.failure).toEqual({ code: "http_status", message: "status 503, expected 200-399" });
    expect(result).toMatchObject({ status: 503, headers: { "x-served-by": SERVED_BY, "retry-after": "5" } });
    expect(evidenceHeaders?.["x-served-by"]).toBe(SERVED_BY);
  });

  it("honours an explicit status expectation", async () => {
    const server = await keep(startHttpServer());
    const result = await runProbe(spec(server.port, { path: "/status/503", expectStatus: [503] }));
    expect(result.failure).toBeNull();
    const notFound = await runProbe(spec(server.port, { path: "/nope", expectStatus: [200, 204] }));
    expect(notFound.failure).toEqual({ code: "http_status", message: "status 404, expected 200, 204" });
  });

  it("matches the body against bodyRegex within the read cap", async () => {
    const server = await keep(startHttpServer());
    const match = await runProbe(spec(server.port, { bodyRegex: "from (fra|ams) — pop ok" }));
    expect(match.failure).toBeNull();
    const mismatch = await runProbe(spec(server.port, { bodyRegex: "from ams" }));
    expect(mismatch.failure?.code).toBe("body_mismatch");
    // The word after the cap is never seen.
    const capped = await runProbe(spec(server.port, { bodyRegex: "pop ok", readCapBytes: 10 }));
    expect(capped.failure?.code).toBe("body_mismatch");
    expect(capped).toMatchObject({ bodyBytes: 10, bodyTruncated: true });
    const latin1 = await runProbe(spec(server.port, { path: "/latin1", bodyRegex: "^café ok$" }));
    expect(latin1.failure).toBeNull();
  });

  it("reads no body for HEAD", async () => {
    const server = await keep(startHttpServer());
    const result = await runProbe(spec(server.port, { method: "HEAD", path: "/big" }), { timeoutMs: 3000 });
    expect(result.failure).toBeNull();
    expect(result).toMatchObject({ status: 200, bodyBytes: 0, bodyTruncated: false });
    expect(result.timings.transferMs).toBeUndefined();
    await server.drained();
  });

  it("times out on a server trickling one byte every 200 ms, within bounds", async () => {
    const server = await keep(startHttpServer());
    const result = await runProbe(spec(server.port, { path: "/trickle" }), { timeoutMs: 700 });
    expect(result.failure?.code).toBe("timeout");
    expect(result.timings.totalMs).toBeGreaterThanOrEqual(695);
    expect(result.timings.totalMs).toBeLessThan(1500);
    expect(result).toMatchObject({ status: 200 });
    expect(result.timings.ttfbMs).toBeGreaterThan(0);
    await server.drained();
  });

  it("times out on a server trickling its status line", async () => {
    const server = await rawHttp((socket) => {
      const line = Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
      let i = 0;
      const timer = setInterval(() => (i < line.length ? socket.write(line.subarray(i, ++i)) : undefined), 200);
      socket.once("close", () => clearInterval(timer));
    });
    const result = await runProbe(spec(server.port), { timeoutMs: 700 });
    expect(result.failure?.code).toBe("timeout");
    expect(result.timings.totalMs).toBeLessThan(1500);
    expect(result.timings.ttfbMs).toBeUndefined();
    await server.drained();
  });

  it("stops at the read cap on a 100 MB body: truncated, bounded memory and time", async () => {
    const server = await keep(startHttpServer());
    const memory = sampleMemory();
    const result = await runProbe(spec(server.port, { path: "/big", readCapBytes: 1024 * 1024, bodyRegex: "^a+$" }), {
      timeoutMs: 10_000,
    });
    const growth = memory.stop();
    expect(result.failure).toBeNull();
    expect(result).toMatchObject({ status: 200, bodyBytes: 1024 * 1024, bodyTruncated: true });
    expect(result.timings.totalMs).toBeLessThan(3000);
    expect(growth.rss).toBeLessThan(50 * 1024 * 1024);
    // The server saw the connection drop long before it could send 100 MB.
    await server.drained();
  });

  it("reads a whole 100 MB body under a larger cap without holding it", async () => {
    const server = await keep(startHttpServer());
    // Reading 100 MB makes ~200 MB of short-lived chunks; RSS then depends on
    // when V8 gets round to collecting them. What must stay small is what
    // survives a collection: the probe counts bytes and keeps none.
    const memory = sampleMemory({ collect: true });
    const result = await runProbe(spec(server.port, { path: "/big", readCapBytes: 2 * BIG_BODY_BYTES }), {
      timeoutMs: 20_000,
    });
    const growth = memory.stop();
    expect(result.failure).toBeNull();
    expect(result).toMatchObject({ status: 200, bodyBytes: BIG_BODY_BYTES, bodyTruncated: false });
    expect(result.timings.transferMs).toBeGreaterThan(0);
    expect(result.timings.totalMs).toBeLessThan(15_000);
    expect(growth.retained).toBeLessThan(32 * 1024 * 1024);
  });

  it("classifies garbage instead of an HTTP response as http_protocol", async () => {
    const server = await rawHttp((socket) => socket.end("SSH-2.0-OpenSSH_9.6\r\n\r\n"));
    const result = await runProbe(spec(server.port), { timeoutMs: 3000 });
    expect(result.failure?.code).toBe("http_protocol");
    expect(result.failure?.message).toMatch(/^HPE/);
    await server.drained();
  });

  it("classifies a malformed chunked body as http_protocol", async () => {
    const server = await rawHttp((socket) => socket.end("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n"));
    const result = await runProbe(spec(server.port), { timeoutMs: 3000 });
    expect(result.failure?.code).toBe("http_protocol");
    expect(result).toMatchObject({ status: 200 });
  });

  it("reports an HTTP/1.0 response's version", async () => {
    const server = await rawHttp((socket) => socket.end("HTTP/1.0 200 OK\r\nX-Served-By: old\r\n\r\nhello"));
    const result = await runProbe(spec(server.port, { bodyRegex: "^hello$" }), { timeoutMs: 3000 });
    expect(result.failure).toBeNull();
    expect(result).toMatchObject({ httpVersion: "1.0", bodyBytes: 5, headers: { "x-served-by": "old" } });
  });

  it("classifies a server closing mid-body as closed", async () => {
    const server = await rawHttp((socket) => socket.end("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\npartial"));
    const result = await runProbe(spec(server.port), { timeoutMs: 3000 });
    expect(result.failure?.code).toBe("closed");
    expect(result.failure?.message).toMatch(/^UND_ERR_SOCKET/);
    expect(result).toMatchObject({ status: 200 });
  });

  it("classifies a server closing mid-headers as closed", async () => {
    const server = await rawHttp((socket) => socket.end("HTTP/1.1 200 OK\r\nX-Half: "));
    const result = await runProbe(spec(server.port), { timeoutMs: 3000 });
    expect(result.failure?.code).toBe("closed");
  });

  it("classifies a server resetting mid-body as reset", async () => {
    const server = await rawHttp((socket) => {
      socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\npartial", () => {
        setTimeout(() => socket.resetAndDestroy(), 20);
      });
    });
    const result = await runProbe(spec(server.port), { timeoutMs: 3000 });
    expect(result.failure?.code).toBe("reset");
    expect(result.failure?.message).toMatch(/ECONNRESET/);
  });

  it("classifies a server that accepts the request and hangs up without answering as closed", async () => {
    const server = await rawHttp((socket) => socket.end());
    const result = await runProbe(spec(server.port), { timeoutMs: 3000 });
    expect(result.failure?.code).toBe("closed");
    expect(result.failure?.message).toMatch(/^UND_ERR_SOCKET/);
  });

  it("leaves no listener on the signal and no open connection, whether it succeeds, fails or is aborted", async () => {
    const server = await keep(startHttpsServer(fixture.pki.leaf.keyPem, fixture.pki.leaf.certPem));
    const plain = await keep(startHttpServer());

    const ok = probeContext();
    await expect(httpProbe(httpsSpec(server), ok.ctx)).resolves.toBeNull();
    const bad = probeContext();
    await expect(httpProbe(spec(plain.port, { path: "/status/503" }), bad.ctx)).resolves.toMatchObject({ code: "http_status" });
    const aborted = probeContext();
    const pending = httpProbe(spec(plain.port, { path: "/trickle" }), aborted.ctx);
    setTimeout(() => aborted.controller.abort(new Error("stop")), 300);
    await expect(pending).rejects.toThrow();

    for (const { controller } of [ok, bad, aborted]) expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
    expect(aborted.ctx.facts.status).toBe(200);
    await server.drained();
    await plain.drained();
  });

  it("classifies a refused port as refused", async () => {
    const result = await runProbe(spec(await closedPort()), { timeoutMs: 3000 });
    expect(result.failure?.code).toBe("refused");
    expect(result).toMatchObject({ url: expect.stringMatching(/^http:\/\/pop\.test:\d+\/$/) });
  });

  it("reports a body regex that does not compile as a fault, before connecting", async () => {
    const server = await keep(startHttpServer());
    await expect(runProbe(spec(server.port, { bodyRegex: "(" }))).rejects.toMatchObject({ name: "ProbeSpecError", field: "bodyRegex" });
    expect(server.requests).toEqual([]);
  });
});

/**
 * Peak growth over a baseline, sampled every few ms: RSS and heap as they
 * are, and (with `collect`) heap plus external memory right after a full GC,
 * i.e. what is actually held rather than garbage not yet collected.
 */
function sampleMemory(options: { collect?: boolean } = {}): { stop(): { rss: number; heap: number; retained: number } } {
  const gc = options.collect ? exposeGc() : null;
  gc?.();
  const base = process.memoryUsage();
  let rss = 0;
  let heap = 0;
  let retained = 0;
  const sample = () => {
    gc?.();
    const now = process.memoryUsage();
    rss = Math.max(rss, now.rss - base.rss);
    heap = Math.max(heap, now.heapUsed - base.heapUsed);
    retained = Math.max(retained, now.heapUsed + now.external - (base.heapUsed + base.external));
  };
  const timer = setInterval(sample, options.collect ? 20 : 5);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { rss, heap, retained };
    },
  };
}

/** A gc() function without --expose-gc on the command line (test-only). */
function exposeGc(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

function probeContext(): { controller: AbortController; ctx: ProbeContext<"http"> } {
  return manualProbeContext<"http">();
}
