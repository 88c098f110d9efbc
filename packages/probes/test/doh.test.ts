import tls from "node:tls";
import { createPopIdentifier, parseConfig } from "@popwatch/core";
import * as dnsPacket from "dns-packet";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hasIpv6Loopback } from "../../../test/support/ports";
import { dohRequestPath, isDnsMessageType } from "../src/doh/spec";
import { runProbe } from "../src/runner";
import { specsForTarget } from "../src/specs";
import type { DohProbeSpec } from "../src/types";
import { ANSWER_ADDRESS, CDN_HEADER, type DohServerOptions, HUGE_BODY_BYTES, NSID, answerFor, startDohServer } from "./support/doh-servers";
import { type Listening, listen, startRawServer, startTlsServer, useTlsFixture } from "./support/tls-servers";

const fixture = useTlsFixture("popwatch-doh-");

async function keep<T extends Listening>(server: Promise<T>): Promise<T> {
  const s = await server;
  fixture.servers.push(s);
  return s;
}

const doh = (protocols: DohServerOptions["protocols"] = "both", cert = fixture.pki.leaf, host?: string) =>
  keep(startDohServer({ key: cert.keyPem, cert: cert.certPem, protocols, ...(host ? { host } : {}) }));

const spec = (port: number, over: Partial<DohProbeSpec> = {}): DohProbeSpec => ({
  kind: "doh",
  address: "127.0.0.1",
  port,
  host: "pop.test",
  path: "/dns-query",
  method: "POST",
  alpn: ["h2", "http/1.1"],
  qname: "www.pop.test",
  qtype: "A",
  qclass: "IN",
  nsid: true,
  chaos: [],
  recursionDesired: true,
  dnssecOk: false,
  udpPayloadSize: 1232,
  ca: [fixture.pki.caPem],
  ...over,
});

function asDoh(result: Awaited<ReturnType<typeof runProbe>>) {
  if (result.kind !== "doh") throw new Error(`kind ${result.kind}`);
  return result;
}

describe("doh probe over HTTP/2", () => {
  it("POSTs application/dns-message with ID 0 and records the DNS, HTTP and TLS facts, PoP evidence and ordered phases", async () => {
    const server = await doh("h2");
    let evidence: unknown;
    const result = asDoh(
      await runProbe(spec(server.port), {
        timeoutMs: 3000,
        identifyPop: (_kind, seen) => {
          evidence = seen;
          return null;
        },
      }),
    );
    expect(result.failure).toBeNull();
    expect(result).toMatchObject({
      ok: true,
      transport: "https",
      url: `https://pop.test:${server.port}/dns-query`,
      method: "POST",
      status: 200,
      httpVersion: "2",
      rcode: "NOERROR",
      nsid: NSID,
      qname: "www.pop.test",
      qtype: "A",
      tls: { alpn: "h2", sni: "pop.test", verified: true, verification: "ca" },
    });
    expect(result.answers).toEqual([{ name: "www.pop.test", type: "A", class: "IN", ttl: 300, data: ANSWER_ADDRESS }]);
    expect(result.headers?.["x-served-by"]).toBe(CDN_HEADER);
    expect(result.headers?.["content-type"]).toBe("application/dns-message");
    expect(result.responseBytes).toBeGreaterThan(12);
    expect(result.tls?.chain.length).toBeGreaterThanOrEqual(1);
    expect(evidence).toMatchObject({ nsid: NSID, headers: { "x-served-by": CDN_HEADER }, tlsFingerprint: fixture.pki.leaf.sha256 });

    expect(server.requests).toHaveLength(1);
    const seen = server.requests[0]!;
    expect(seen).toMatchObject({
      method: "POST",
      path: "/dns-query",
      httpVersion: "2.0",
      authority: `pop.test:${server.port}`,
      sni: "pop.test",
      contentType: "application/dns-message",
      accept: "application/dns-message",
    });
    expect(seen.query?.id).toBe(0);
    expect(seen.query?.questions).toEqual([{ name: "www.pop.test", type: "A", class: "IN" }]);

    const t = result.timings;
    for (const phase of [t.connectMs, t.tlsMs, t.ttfbMs, t.transferMs]) expect(phase).toBeGreaterThan(0);
    expect(t.connectMs! + t.tlsMs! + t.ttfbMs! + t.transferMs!).toBeLessThanOrEqual(t.totalMs + 0.01);
    await server.drained();
  });

  it("names the PoP from a CDN response header when the resolver sends no NSID", async () => {
    const server = await doh("h2");
    const result = asDoh(await runProbe(spec(server.port, { nsid: false }), { timeoutMs: 3000, identifyPop: createPopIdentifier() }));
    expect(result.failure).toBeNull();
    expect(result.nsid).toBeNull();
    expect(result.pop).toMatchObject({ id: "fra", source: "header:x-served-by", iata: "fra" });
  });

  it("GETs ?dns= with the query in base64url without padding", async () => {
    const server = await doh("h2");
    const result = asDoh(await runProbe(spec(server.port, { method: "GET", path: "/dns-query?ct" }), { timeoutMs: 3000 }));
    // The path's own query string is kept; the server ignores `ct`, the DNS answer still comes.
    expect(result.failure).toBeNull();
    expect(result).toMatchObject({ method: "GET", httpVersion: "2", nsid: NSID });
    const seen = server.requests[0]!;
    expect(seen.method).toBe("GET");
    const encoded = /[?&]dns=([^&]*)/.exec(seen.path)?.[1] ?? "";
    expect(seen.path.startsWith("/dns-query?ct&dns=")).toBe(true);
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(seen.query?.id).toBe(0);
    expect(seen.contentType).toBeNull();
    expect(seen.accept).toBe("application/dns-message");
  });

  it("asks CHAOS identities as extra streams on the same connection and records them", async () => {
    const server = await doh("h2");
    let connections = 0;
    const result = asDoh(
      await runProbe(spec(server.port, { chaos: ["id.server", "hostname.bind"] }), {
        timeoutMs: 3000,
        identifyPop: (_kind, evidence) => {
          connections = server.openSockets();
          expect(evidence.chaos).toEqual({ "id.server": "fra-id", "hostname.bind": "fra-host" });
          return null;
        },
      }),
    );
    expect(result.failure).toBeNull();
    expect(result.identity).toEqual({ "id.server": "fra-id", "hostname.bind": "fra-host" });
    expect(server.requests.map((r) => r.query?.questions?.[0]?.name).sort()).toEqual(["hostname.bind", "id.server", "www.pop.test"]);
    expect(connections).toBeLessThanOrEqual(1);
  });

  it("over h2 the CHAOS queries do not wait for the main answer (concurrent streams)", async () => {
    const server = await doh("h2");
    const result = asDoh(await runProbe(spec(server.port, { chaos: ["id.server"], path: "/after-chaos" }), { timeoutMs: 2000 }));
    expect(result.failure).toBeNull();
    expect(result.identity).toEqual({ "id.server": "fra-id" });
  });

  it("CHAOS queries a server never answers cost a grace period, not the outcome", async () => {
    const server = await doh("h2");
    const result = asDoh(await runProbe(spec(server.port, { chaos: ["id.server"], path: "/silent-chaos" }), { timeoutMs: 3000 }));
    expect(result.failure).toBeNull();
    expect(result.identity).toEqual({ "id.server": null });
    expect(result.timings.totalMs).toBeLessThan(1500);
    await server.drained();
  });

  it("falls back to HTTP/1.1 when the server does not pick h2, CHAOS one request after another", async () => {
    const server = await doh("h1");
    const result = asDoh(await runProbe(spec(server.port, { chaos: ["id.server"] }), { timeoutMs: 3000 }));
    expect(result.failure).toBeNull();
    expect(result).toMatchObject({ httpVersion: "1.1", tls: { alpn: "http/1.1" }, nsid: NSID, identity: { "id.server": "fra-id" } });
    expect(server.requests.map((r) => r.httpVersion)).toEqual(["1.1", "1.1"]);
    // The main query goes first, so its ttfb is not the CHAOS query's.
    expect(server.requests.map((r) => r.query?.questions?.[0]?.name)).toEqual(["www.pop.test", "id.server"]);
    expect(server.requests[0]!.authority).toBe(`pop.test:${server.port}`);
    await server.drained();
  });

  it("alpn [http/1.1] forces HTTP/1.1 against a server that speaks both", async () => {
    const server = await doh("both");
    const post = asDoh(await runProbe(spec(server.port, { alpn: ["http/1.1"] }), { timeoutMs: 3000 }));
    const get = asDoh(await runProbe(spec(server.port, { alpn: ["http/1.1"], method: "GET" }), { timeoutMs: 3000 }));
    const h2 = asDoh(await runProbe(spec(server.port), { timeoutMs: 3000 }));
    expect([post.failure, get.failure, h2.failure]).toEqual([null, null, null]);
    expect([post.httpVersion, get.httpVersion, h2.httpVersion]).toEqual(["1.1", "1.1", "2"]);
    expect(server.requests.map((r) => `${r.method} ${r.httpVersion}`)).toEqual(["POST 1.1", "GET 1.1", "POST 2.0"]);
  });

  it("accepts application/dns-message whatever its case and parameters", async () => {
    const server = await doh("h2");
    const result = asDoh(await runProbe(spec(server.port, { path: "/dns-message-params" }), { timeoutMs: 3000 }));
    expect(result.failure).toBeNull();
  });

  it("works on ::1 with the address as host (no SNI, the certificate checked against the address)", async (context) => {
    if (!(await hasIpv6Loopback())) return context.skip();
    const server = await doh("h2", fixture.pki.leaf, "::1");
    // The test leaf carries IP:127.0.0.1 only, so pin it: the point is the IPv6 path.
    const result = asDoh(
      await runProbe(spec(server.port, { address: "::1", host: null, ca: [], pinSha256: [fixture.pki.leaf.sha256] }), { timeoutMs: 3000 }),
    );
    expect(result.failure).toBeNull();
    expect(result).toMatchObject({ url: `https://[::1]:${server.port}/dns-query`, httpVersion: "2", tls: { sni: null } });
    expect(server.requests[0]!.authority).toBe(`[::1]:${server.port}`);
  });
});

describe("doh probe from configuration", () => {
  it("a config target's probes.doh runs with the schema's defaults (POST, /dns-query, h2 first)", async () => {
    const server = await doh("h2");
    const config = parseConfig({
      targets: [
        {
          name: "doh-fra",
          address: "127.0.0.1",
          hostname: "pop.test",
          probes: { doh: { port: server.port, qname: "www.pop.test", nsid: true, chaos: ["id.server"], ca: [fixture.pki.caPem] } },
        },
      ],
    });
    const [dohSpec] = specsForTarget(config.targets[0]!);
    expect(dohSpec).toMatchObject({ kind: "doh", path: "/dns-query", method: "POST", alpn: ["h2", "http/1.1"] });
    const result = asDoh(await runProbe(dohSpec!, { timeoutMs: 3000 }));
    expect(result.failure).toBeNull();
    expect(result).toMatchObject({ name: "doh-fra", httpVersion: "2", nsid: NSID, identity: { "id.server": "fra-id" } });
  });
});

describe("doh probe verdicts", () => {
  it("a status outside expectStatus is http_status, with the headers kept as evidence", async () => {
    const server = await doh("h2");
    const result = asDoh(await runProbe(spec(server.port, { path: "/status-500" }), { timeoutMs: 3000 }));
    expect(result.failure).toEqual({ code: "http_status", message: "status 500, expected 200" });
    expect(result.status).toBe(500);
    expect(result.headers?.["x-served-by"]).toBe(CDN_HEADER);
    const accepted = asDoh(await runProbe(spec(server.port, { path: "/status-500", expectStatus: [500] }), { timeoutMs: 3000 }));
    expect(accepted.failure?.code).toBe("http_protocol"); // 500 accepted, but text/plain is no DNS message
  });

  it("another content type, or none, is http_protocol", async () => {
    const server = await doh("h2");
    const html = asDoh(await runProbe(spec(server.port, { path: "/text-html" }), { timeoutMs: 3000 }));
    expect(html.failure?.code).toBe("http_protocol");
    expect(html.failure?.message).toContain("text/html");
    expect(html.rcode ?? null).toBeNull();
    const none = asDoh(await runProbe(spec(server.port, { path: "/no-content-type" }), { timeoutMs: 3000 }));
    expect(none.failure).toEqual({ code: "http_protocol", message: "no content-type, expected application/dns-message" });
  });

  it.each(["h2", "h1"] as const)("a body past 65535 bytes is body_too_large after a bounded read (%s)", async (protocols) => {
    const server = await doh(protocols);
    const result = asDoh(await runProbe(spec(server.port, { path: "/huge" }), { timeoutMs: 5000 }));
    expect(result.failure?.code).toBe("body_too_large");
    expect(result.timings.transferMs).toBeGreaterThan(0);
    await server.drained();
    expect(server.hugeBytesSent()).toBeLessThan(HUGE_BODY_BYTES);
  });

  it("an answer to another question, or a query echoed back, is dns_malformed", async () => {
    const server = await doh("h2");
    const wrong = asDoh(await runProbe(spec(server.port, { path: "/wrong-question" }), { timeoutMs: 3000 }));
    expect(wrong.failure?.code).toBe("dns_malformed");
    expect(wrong.failure?.message).toContain("question name differs");
    const echoed = asDoh(await runProbe(spec(server.port, { path: "/not-a-response" }), { timeoutMs: 3000 }));
    expect(echoed.failure?.code).toBe("dns_malformed");
    expect(echoed.failure?.message).toContain("QR=0");
  });

  it("TC=1 is dns_truncated and the rcode is judged through dns/response.ts", async () => {
    const server = await doh("h2");
    const truncated = asDoh(await runProbe(spec(server.port, { path: "/truncated" }), { timeoutMs: 3000 }));
    expect(truncated.failure?.code).toBe("dns_truncated");
    expect(truncated.truncated).toBe(true);
    const servfail = asDoh(await runProbe(spec(server.port, { path: "/servfail" }), { timeoutMs: 3000 }));
    expect(servfail.failure).toEqual({ code: "dns_rcode", message: "rcode SERVFAIL, expected NOERROR" });
    const mismatch = asDoh(await runProbe(spec(server.port, { expect: { answer: "^203\\." } }), { timeoutMs: 3000 }));
    expect(mismatch.failure?.code).toBe("answer_mismatch");
  });

  it("any body bytes give a classified result: an answer or dns_malformed, never internal (fast-check)", async () => {
    const server = await doh("h2");
    const query = dnsPacket.decode(answerForQuery());
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 600 }),
          // A valid answer's head with random tail: gets past the question check more often.
          fc.uint8Array({ maxLength: 200 }).map((tail) => {
            const valid = answerFor(query);
            return Buffer.concat([valid.subarray(0, Math.min(valid.length, 31)), tail]);
          }),
        ),
        async (bytes) => {
          server.customBody = Buffer.from(bytes);
          const result = asDoh(await runProbe(spec(server.port, { path: "/custom", nsid: false }), { timeoutMs: 3000 }));
          expect(
            result.failure === null || ["dns_malformed", "dns_rcode", "answer_mismatch", "dns_truncated"].includes(result.failure.code),
          ).toBe(true);
          expect(result.responseBytes).toBe(bytes.length);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("headers, then silence: a timeout with ttfb recorded, and the connection let go", async () => {
    const server = await doh("h2");
    const result = asDoh(await runProbe(spec(server.port, { path: "/stall" }), { timeoutMs: 300 }));
    expect(result.failure?.code).toBe("timeout");
    expect(result.timings.ttfbMs).toBeGreaterThan(0);
    expect(result.status).toBe(200);
    await server.drained();
  });

  it("RST_STREAM is reset, GOAWAY is closed", async () => {
    const server = await doh("h2");
    const rst = asDoh(await runProbe(spec(server.port, { path: "/rst" }), { timeoutMs: 3000 }));
    expect(rst.failure?.code).toBe("reset");
    expect(rst.failure?.message).toContain("NGHTTP2_INTERNAL_ERROR");
    const goaway = asDoh(await runProbe(spec(server.port, { path: "/goaway" }), { timeoutMs: 3000 }));
    expect(goaway.failure?.code).toBe("closed");
    await server.drained();
  });

  it("garbage instead of HTTP/1.1 is http_protocol; a silent TLS server times out", async () => {
    // startTlsServer says nothing after the handshake: the probe waits for headers until its timeout.
    const silent = await keep(startTlsServer({ key: fixture.pki.leaf.keyPem, cert: fixture.pki.leaf.certPem, alpn: ["http/1.1"] }));
    const quiet = asDoh(await runProbe(spec(silent.port), { timeoutMs: 300 }));
    expect(quiet.failure?.code).toBe("timeout");
    expect(quiet.httpVersion).toBe("1.1");

    const junk = tls.createServer(
      { key: fixture.pki.leaf.keyPem, cert: fixture.pki.leaf.certPem, ALPNProtocols: ["http/1.1"] },
      (socket) => {
        socket.on("error", () => {});
        socket.once("data", () => socket.end("SPDY/9 \u2603 not http\r\n\r\n"));
      },
    );
    const junkServer = await keep(listen(junk));
    const result = asDoh(await runProbe(spec(junkServer.port), { timeoutMs: 3000 }));
    expect(result.failure?.code).toBe("http_protocol");
  });

  it("a certificate for another name is tls_cert_invalid and the query is never sent", async () => {
    const server = await doh("h2");
    const result = asDoh(await runProbe(spec(server.port, { host: "other.example" }), { timeoutMs: 3000 }));
    expect(result.failure?.code).toBe("tls_cert_invalid");
    expect(result.tls).toMatchObject({ verified: false, verifyError: "ERR_TLS_CERT_ALTNAME_INVALID", sni: "other.example" });
    expect(result.timings.tlsMs).toBeGreaterThan(0);
    expect(result.timings.ttfbMs).toBeUndefined();
    expect(server.requests).toEqual([]);
    await server.drained();
  });

  it("an expired certificate is tls_cert_expired and the query is never sent", async () => {
    const server = await doh("h2", fixture.pki.expired);
    const result = asDoh(await runProbe(spec(server.port, { chaos: ["id.server"] }), { timeoutMs: 3000 }));
    expect(result.failure?.code).toBe("tls_cert_expired");
    expect(result.tls?.verifyError).toBe("CERT_HAS_EXPIRED");
    expect(server.requests).toEqual([]);
  });

  it("certMinDays fails with tls_cert_expiring after a good answer", async () => {
    const server = await doh("h2");
    const result = asDoh(await runProbe(spec(server.port, { certMinDays: 30 }), { timeoutMs: 3000 }));
    expect(result.failure?.code).toBe("tls_cert_expiring");
    expect(result.rcode).toBe("NOERROR");
    const fine = asDoh(await runProbe(spec(server.port, { certMinDays: 0 }), { timeoutMs: 3000 }));
    expect(fine.failure).toBeNull();
  });

  it("a server that stalls mid-handshake is a timeout with connectMs but no tlsMs", async () => {
    // Reads the ClientHello (so it sees the probe hang up) and never answers it.
    const silent = await keep(startRawServer((socket) => socket.on("error", () => {}).resume()));
    const result = asDoh(await runProbe(spec(silent.port), { timeoutMs: 300 }));
    expect(result.failure?.code).toBe("timeout");
    expect(result.timings.connectMs).toBeGreaterThan(0);
    expect(result.timings.tlsMs).toBeUndefined();
    expect(result.tls).toBeNull();
    await silent.drained();
  });

  it("a refused connection is refused", async () => {
    const raw = await keep(startRawServer((socket) => socket.destroy()));
    const port = raw.port;
    await raw.close();
    fixture.servers.splice(fixture.servers.indexOf(raw), 1);
    const result = asDoh(await runProbe(spec(port), { timeoutMs: 3000 }));
    expect(result.failure?.code).toBe("refused");
  });

  it("rejects specs it cannot run before sending anything", async () => {
    await expect(runProbe(spec(443, { path: "dns-query" }))).rejects.toMatchObject({ code: "spec_invalid", field: "path" });
    await expect(runProbe(spec(443, { path: "/a b" }))).rejects.toMatchObject({ field: "path" });
    await expect(runProbe(spec(443, { alpn: ["h3"] }))).rejects.toMatchObject({ field: "alpn" });
    await expect(runProbe(spec(443, { method: "PUT" as "GET" }))).rejects.toMatchObject({ field: "method" });
    await expect(runProbe(spec(443, { expectStatus: [0] }))).rejects.toMatchObject({ field: "expectStatus" });
    await expect(runProbe(spec(443, { qtype: "NOPE" }))).rejects.toMatchObject({ field: "qtype" });
  });
});

/** A query like the probe's main one, as bytes for dns-packet. */
function answerForQuery(): Buffer {
  return dnsPacket.encode({ id: 0, type: "query", questions: [{ name: "www.pop.test", type: "A", class: "IN" }] });
}

describe("doh request shaping", () => {
  it("GET carries the exact query bytes in base64url without padding; POST keeps the path", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.constantFrom("/dns-query", "/q?x=1", "/"), (bytes, path) => {
        expect(dohRequestPath(path, "POST", bytes)).toBe(path);
        const target = dohRequestPath(path, "GET", bytes);
        const url = new URL(target, "https://pop.test");
        expect(url.pathname).toBe(path.split("?")[0]);
        const encoded = url.searchParams.get("dns")!;
        expect(encoded).not.toContain("=");
        expect(Buffer.from(encoded, "base64url").equals(Buffer.from(bytes))).toBe(true);
      }),
    );
  });

  it("media types: application/dns-message with any case and parameters, nothing else", () => {
    expect(isDnsMessageType("application/dns-message")).toBe(true);
    expect(isDnsMessageType(" Application/DNS-Message ; foo=bar")).toBe(true);
    expect(isDnsMessageType("application/dns-message+json")).toBe(false);
    expect(isDnsMessageType("application/dns-json")).toBe(false);
    expect(isDnsMessageType(undefined)).toBe(false);
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(isDnsMessageType(s)).toBe(s.split(";")[0]!.trim().toLowerCase() === "application/dns-message");
      }),
    );
  });
});
