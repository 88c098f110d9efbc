// The dot probe against loopback servers written for each case: a scriptable
// DoT server (support/dot-server.ts) for answers and broken streams, raw TCP
// servers for peers that stall, close or speak something other than TLS.
import { getEventListeners } from "node:events";
import net from "node:net";
import type { ProbeResultOf } from "@popwatch/core";
import type * as dnsPacket from "dns-packet";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type DotProbeSpec, ProbeSpecError, type RunnerOptions } from "../src/index";
import { dotProbe } from "../src/probes/dot";
import { runProbe } from "../src/runner";
import { manualProbeContext } from "./support/context";
import { type Handler, type ReceivedQuery, chaosReply, frame, reply } from "./support/dns-server";
import { type DotServerOptions, type DotTestServer, startDotServer } from "./support/dot-server";
import { type Listening, closedPort, startRawServer, useTlsFixture } from "./support/tls-servers";

type DotResult = ProbeResultOf<"dot">;

const fixture = useTlsFixture("popwatch-dot-");

const A = (name: string, address: string): dnsPacket.Answer => ({ name, type: "A", class: "IN", ttl: 300, data: address });

/** Answers like a PoP: one A record with the NSID when asked, CHAOS identities. */
const popHandler: Handler = (q) => {
  if (q.class === "CH") return [chaosReply(q, q.name === "id.server" ? "fra1" : "ns1.fra1.example")];
  return [reply(q, { answers: [A(q.name, "198.51.100.1")], nsid: q.options.has(3) ? "fra1.dot.example" : undefined })];
};

async function dotServer(
  handler: Handler,
  which: "leaf" | "expired" | "selfSigned" = "leaf",
  more: Partial<DotServerOptions> = {},
): Promise<DotTestServer> {
  const server = await startDotServer(handler, { key: fixture.pki[which].keyPem, cert: fixture.pki[which].certPem, ...more });
  fixture.servers.push(server);
  return server;
}

async function rawServer(onConnection: Parameters<typeof startRawServer>[0]): Promise<Listening> {
  const server = await startRawServer(onConnection);
  fixture.servers.push(server);
  return server;
}

function dotSpec(port: number, over: Partial<DotProbeSpec> = {}): DotProbeSpec {
  return {
    kind: "dot",
    address: "127.0.0.1",
    port,
    sni: "pop.test",
    ca: [fixture.pki.caPem],
    qname: "www.example.test",
    qtype: "A",
    qclass: "IN",
    nsid: true,
    chaos: [],
    recursionDesired: true,
    dnssecOk: false,
    udpPayloadSize: 1232,
    ...over,
  };
}

async function probe(spec: DotProbeSpec, options: RunnerOptions = {}): Promise<DotResult> {
  return (await runProbe(spec, { timeoutMs: 2000, ...options })) as DotResult;
}

const mainQueries = (server: DotTestServer): ReceivedQuery[] => server.queries.filter((q) => q.class === "IN");

describe("dot probe: answers", () => {
  it("records the DNS facts, the TLS session, the phases and the PoP evidence", async () => {
    const server = await dotServer(popHandler);
    let evidence: unknown;
    const result = await probe(dotSpec(server.port, { chaos: ["id.server", "hostname.bind"] }), {
      identifyPop: (kind, e) => {
        evidence = { kind, ...e };
        return null;
      },
    });
    expect(result.failure).toBeNull();
    expect(result).toMatchObject({
      kind: "dot",
      ok: true,
      transport: "tls",
      tcpFallback: false,
      truncated: false,
      qname: "www.example.test",
      qtype: "A",
      qclass: "IN",
      rcode: "NOERROR",
      flags: { aa: true, tc: false, rd: true },
      answers: [{ name: "www.example.test", type: "A", class: "IN", ttl: 300, data: "198.51.100.1" }],
      nsid: "fra1.dot.example",
      identity: { "id.server": "fra1", "hostname.bind": "ns1.fra1.example" },
      ignoredPackets: 0,
      tls: { sni: "pop.test", protocol: "TLSv1.3", verification: "ca", verified: true, verifyError: null },
    });
    expect(result.tls!.certificate!.fingerprint256).toBe(fixture.pki.leaf.sha256);
    // The leaf first; the CA may follow (whether the chain lists store roots the server never sent is tls/session.ts's call).
    expect(result.tls!.chain[0]!.fingerprint256).toBe(fixture.pki.leaf.sha256);
    expect(result.tls!.chain.slice(1).every((c) => c.subject === "CN=popwatch test CA")).toBe(true);
    expect(evidence).toEqual({
      kind: "dot",
      nsid: "fra1.dot.example",
      chaos: { "id.server": "fra1", "hostname.bind": "ns1.fra1.example" },
      tlsFingerprint: fixture.pki.leaf.sha256,
    });
    const { connectMs, tlsMs, rttMs, totalMs } = result.timings;
    expect(connectMs).toBeGreaterThan(0);
    expect(tlsMs).toBeGreaterThan(0);
    expect(rttMs).toBeGreaterThan(0);
    expect(connectMs! + tlsMs! + rttMs!).toBeLessThanOrEqual(totalMs);
    expect(server.servernames).toEqual(["pop.test"]);
    await server.drained();
  });

  it("pipelines the main and CHAOS queries on one TLS session, the main query first", async () => {
    const server = await dotServer(popHandler);
    const result = await probe(dotSpec(server.port, { chaos: ["id.server", "hostname.bind"] }));
    expect(result.ok).toBe(true);
    expect(server.sessions()).toBe(1);
    expect(server.queries.map((q) => `${q.class} ${q.name}`)).toEqual(["IN www.example.test", "CH id.server", "CH hostname.bind"]);
    const main = server.queries[0]!;
    expect(main).toMatchObject({ hasOpt: true, udpPayloadSize: 1232, dnssecOk: false });
    expect(main.options.get(3)).toEqual(Buffer.alloc(0));
    expect(new Set(server.queries.map((q) => q.id)).size).toBe(3);
  });

  it("writes each query in a TLS record of its own (servers that read one query per readable event see them all)", async () => {
    const server = await dotServer(popHandler);
    // A TCP relay in front of the server counting the client's TLS records by type (RFC 8446 5.1 header: type, version, length).
    const counts: number[] = [];
    const relay = await rawServer((client) => {
      const upstream = net.connect({ host: "127.0.0.1", port: server.port });
      const count = { appData: 0 };
      counts.push(0);
      const slot = counts.length - 1;
      let pending = Buffer.alloc(0);
      client.on("data", (chunk: Buffer) => {
        upstream.write(chunk);
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 5 && pending.length >= 5 + pending.readUInt16BE(3)) {
          if (pending[0] === 23) counts[slot] = ++count.appData;
          pending = pending.subarray(5 + pending.readUInt16BE(3));
        }
      });
      upstream.on("data", (chunk: Buffer) => client.write(chunk));
      for (const socket of [client, upstream]) socket.on("error", () => {});
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    expect(await probe(dotSpec(relay.port, { chaos: [] }))).toMatchObject({ ok: true });
    expect(await probe(dotSpec(relay.port, { chaos: ["id.server", "hostname.bind"] }))).toMatchObject({ ok: true });
    // TLS 1.3: the client's Finished is one application_data record, then one per query.
    expect(counts).toEqual([2, 4]);
  });

  it("takes answers in any order and several to a TLS record", async () => {
    const server = await dotServer(async (q) => {
      if (q.class === "CH") return [];
      // Once all three queries are in, every answer goes in one write, the main query's last.
      for (let i = 0; i < 100 && server.queries.length < 3; i++) await new Promise((r) => setTimeout(r, 5));
      const chaos = server.queries.filter((c) => c.class === "CH").map((c) => frame(chaosReply(c, `id-${c.name}`)));
      return [{ raw: Buffer.concat([...chaos, frame(reply(q, { answers: [A(q.name, "198.51.100.2")] }))]) }];
    });
    const result = await probe(dotSpec(server.port, { chaos: ["id.server", "hostname.bind"] }));
    expect(result.ok).toBe(true);
    expect(result.answers).toEqual([A("www.example.test", "198.51.100.2")]);
    expect(result.identity).toEqual({ "id.server": "id-id.server", "hostname.bind": "id-hostname.bind" });
  });

  it("does not wait out the timeout for CHAOS queries a server ignores", async () => {
    const server = await dotServer((q) => (q.class === "CH" ? [] : popHandler(q)));
    const result = await probe(dotSpec(server.port, { chaos: ["id.server"] }), { timeoutMs: 3000 });
    expect(result).toMatchObject({ ok: true, identity: { "id.server": null } });
    expect(result.timings.totalMs).toBeLessThan(1500);
  });

  it("waits at least 100 ms for CHAOS answers that trail the main one (a server's Nagle against our delayed ACK)", async () => {
    // 50 ms: a Linux delayed ACK and then some, far past the 25 ms floor UDP keeps.
    const server = await dotServer((q) => (q.class === "CH" ? [{ delayMs: 50 }, chaosReply(q, "late-fra1")] : popHandler(q)));
    const result = await probe(dotSpec(server.port, { chaos: ["id.server"] }));
    expect(result).toMatchObject({ ok: true, identity: { "id.server": "late-fra1" } });
  });

  it("offers ALPN dot and records what the server chose", async () => {
    const speaksDot = await dotServer(popHandler, "leaf", { alpn: ["dot"] });
    const withAlpn = await probe(dotSpec(speaksDot.port));
    expect(withAlpn).toMatchObject({ ok: true, tls: { alpn: "dot" } });
    expect(speaksDot.alpnOffered).toEqual([["dot"]]);
    const ignoresAlpn = await dotServer(popHandler);
    expect(await probe(dotSpec(ignoresAlpn.port))).toMatchObject({ ok: true, tls: { alpn: null } });
  });

  it("works on IPv6 loopback", async () => {
    const server = await startDotServer(popHandler, { key: fixture.pki.leaf.keyPem, cert: fixture.pki.leaf.certPem, address: "::1" });
    fixture.servers.push(server);
    const result = await probe(dotSpec(server.port, { address: "::1" }));
    expect(result).toMatchObject({ ok: true, target: `[::1]:${server.port}`, nsid: "fra1.dot.example" });
  });

  it("judges the rcode and the answer pattern like the dns probe", async () => {
    const nx = await dotServer((q) => [reply(q, { rcode: 3 })]);
    const rcode = await probe(dotSpec(nx.port));
    expect(rcode.failure?.code).toBe("dns_rcode");
    expect(rcode).toMatchObject({ rcode: "NXDOMAIN", tls: { verified: true } });
    const server = await dotServer(popHandler);
    const mismatch = await probe(dotSpec(server.port, { expect: { answer: "^203\\.0\\.113\\." } }));
    expect(mismatch.failure?.code).toBe("answer_mismatch");
    expect(await probe(dotSpec(nx.port, { expect: { rcode: ["NXDOMAIN"] } }))).toMatchObject({ ok: true });
  });

  it("fails dns_truncated on TC=1 (no larger transport to retry on)", async () => {
    const server = await dotServer((q) => [reply(q, { tc: true })]);
    const result = await probe(dotSpec(server.port));
    expect(result.failure?.code).toBe("dns_truncated");
    expect(result.truncated).toBe(true);
    expect(mainQueries(server)).toHaveLength(1);
  });

  it("refuses a spec it cannot run before connecting", async () => {
    await expect(runProbe(dotSpec(853, { qname: "bad..name" }))).rejects.toBeInstanceOf(ProbeSpecError);
    await expect(runProbe(dotSpec(853, { qtype: "NOPE" }))).rejects.toBeInstanceOf(ProbeSpecError);
    await expect(runProbe(dotSpec(853, { udpPayloadSize: 100 }))).rejects.toBeInstanceOf(ProbeSpecError);
  });
});

describe("dot probe: certificate verdicts come before the query", () => {
  it("fails tls_cert_invalid on a name the certificate does not hold, and never sends the query", async () => {
    const server = await dotServer(popHandler);
    const result = await probe(dotSpec(server.port, { sni: "other.test" }));
    expect(result.failure?.code).toBe("tls_cert_invalid");
    expect(result.failure?.message).toMatch(/^ERR_TLS_CERT_ALTNAME_INVALID/);
    expect(result).toMatchObject({ tls: { verified: false, verifyError: "ERR_TLS_CERT_ALTNAME_INVALID", sni: "other.test" } });
    expect(result.rcode).toBeUndefined();
    expect(server.queries).toHaveLength(0);
    await server.drained();
  });

  it("fails tls_cert_expired on an expired leaf, with its facts", async () => {
    const server = await dotServer(popHandler, "expired");
    const result = await probe(dotSpec(server.port));
    expect(result.failure?.code).toBe("tls_cert_expired");
    expect(result.tls).toMatchObject({ verified: false, verifyError: "CERT_HAS_EXPIRED" });
    expect(result.tls!.certificate!.fingerprint256).toBe(fixture.pki.expired.sha256);
    expect(result.tls!.certificate!.daysLeft).toBeLessThan(0);
    expect(server.queries).toHaveLength(0);
  });

  it("fails tls_cert_invalid on a self-signed leaf unless it is pinned", async () => {
    const server = await dotServer(popHandler, "selfSigned");
    const unpinned = await probe(dotSpec(server.port));
    expect(unpinned.failure?.code).toBe("tls_cert_invalid");
    expect(server.queries).toHaveLength(0);
    const pinned = await probe(dotSpec(server.port, { pinSha256: [fixture.pki.selfSigned.sha256], ca: [] }));
    expect(pinned).toMatchObject({ ok: true, tls: { verification: "pin", verified: true }, nsid: "fra1.dot.example" });
  });

  it("fails tls_cert_expiring after a good answer, and a DNS failure first", async () => {
    const server = await dotServer(popHandler);
    const expiring = await probe(dotSpec(server.port, { certMinDays: 30 }));
    expect(expiring.failure?.code).toBe("tls_cert_expiring");
    expect(expiring.failure?.message).toContain('leaf "CN=pop.test"');
    expect(expiring.rcode).toBe("NOERROR");
    expect(await probe(dotSpec(server.port, { certMinDays: 1 }))).toMatchObject({ ok: true });

    const nx = await dotServer((q) => [reply(q, { rcode: 3 })]);
    expect((await probe(dotSpec(nx.port, { certMinDays: 30 }))).failure?.code).toBe("dns_rcode");
  });
});

describe("dot probe: hostile and broken peers", () => {
  it("times out on a peer that stalls mid-handshake, with the connect time and no TLS time", async () => {
    const server = await rawServer((socket) => socket.on("error", () => {}).resume());
    const result = await probe(dotSpec(server.port), { timeoutMs: 300 });
    expect(result.failure?.code).toBe("timeout");
    expect(result.timings.connectMs).toBeGreaterThan(0);
    expect(result.timings.tlsMs).toBeUndefined();
    expect(result.tls).toBeNull();
    await server.drained();
  });

  it("classifies garbage instead of TLS as tls_handshake", async () => {
    const server = await rawServer((socket) => {
      socket.on("error", () => {});
      socket.once("data", () => socket.write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"));
    });
    const result = await probe(dotSpec(server.port));
    expect(result.failure?.code).toBe("tls_handshake");
    expect(result.failure?.message).toMatch(/^ERR_SSL_/);
    await server.drained();
  });

  it("classifies a peer that hangs up during the handshake as reset", async () => {
    const server = await rawServer((socket) => {
      socket.on("error", () => {});
      socket.once("data", () => socket.end());
    });
    expect((await probe(dotSpec(server.port))).failure?.code).toBe("reset");
  });

  it("classifies a closed port as refused", async () => {
    const result = await probe(dotSpec(await closedPort()));
    expect(result.failure?.code).toBe("refused");
    expect(result.tls).toBeNull();
  });

  it("fails closed when the server ends the session before answering", async () => {
    const server = await dotServer(() => ["end"]);
    const result = await probe(dotSpec(server.port));
    expect(result.failure).toEqual({ code: "closed", message: "server closed the TLS connection before answering" });
    expect(result.tls).toMatchObject({ verified: true });
  });

  it("fails dns_malformed when the session closes inside a message, keeping the TLS facts", async () => {
    const server = await dotServer((q) => [{ raw: frame(reply(q, { answers: [A(q.name, "198.51.100.1")] })).subarray(0, 20) }, "end"]);
    const result = await probe(dotSpec(server.port));
    expect(result.failure?.code).toBe("dns_malformed");
    expect(result.failure?.message).toMatch(/connection closed inside a message: length prefix says \d+ bytes, 18 arrived/);
    expect(result.tls!.certificate!.fingerprint256).toBe(fixture.pki.leaf.sha256);
  });

  it("bounds what a huge length prefix makes it hold: one 64 KiB message, then a verdict", async () => {
    const junk = Buffer.alloc(0xffff, 0xab);
    const server = await dotServer(() => {
      // 65535 announced and sent, forty times over: megabytes that never form a message.
      const stream = Buffer.concat(Array.from({ length: 40 }, () => Buffer.concat([Buffer.from([0xff, 0xff]), junk])));
      return [{ raw: stream }];
    });
    const result = await probe(dotSpec(server.port));
    expect(result.failure?.code).toBe("dns_malformed");
    expect(result.responseBytes).toBe(0xffff);
  });

  it("times out on a length prefix that is never filled, and lets go of the session", async () => {
    const server = await dotServer(() => [{ raw: Buffer.from([0xff, 0xff, 0x12, 0x34]) }]);
    const result = await probe(dotSpec(server.port), { timeoutMs: 300 });
    expect(result.failure?.code).toBe("timeout");
    expect(result.timings.tlsMs).toBeGreaterThan(0);
    expect(result.timings.rttMs).toBeUndefined();
    await server.drained();
  });

  it("never throws on arbitrary bytes after the handshake: dns_malformed or closed", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        const server = await dotServer(() => [{ raw: Buffer.from(bytes) }, "end"]);
        const result = await probe(dotSpec(server.port));
        expect(["dns_malformed", "closed"]).toContain(result.failure?.code);
        expect(result.tls).toMatchObject({ verified: true });
        await server.close();
      }),
      { numRuns: 40 },
    );
  });

  it("never throws on a well-framed arbitrary message: a classified failure or a verdict", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.boolean(), async (bytes, keepHeader) => {
        const server = await dotServer((q) => {
          const message = Buffer.from(bytes);
          // Half the runs keep the ID and the QR bit, so the bytes are read as this query's answer.
          if (keepHeader && message.length >= 3) {
            message.writeUInt16BE(q.id, 0);
            message[2] = message[2]! | 0x80;
          }
          return [{ raw: frame(message) }, "end"];
        });
        const result = await probe(dotSpec(server.port));
        expect(
          result.failure === null ||
            ["dns_malformed", "closed", "dns_rcode", "answer_mismatch", "dns_truncated"].includes(result.failure.code),
        ).toBe(true);
        await server.close();
      }),
      { numRuns: 40 },
    );
  });

  it("leaves no listener on the signal and no socket open, whether it succeeds, fails or is aborted", async () => {
    const server = await dotServer(popHandler);
    const silent = await dotServer(() => []);
    const ok = manualProbeContext<"dot">();
    await expect(dotProbe(dotSpec(server.port), ok.ctx)).resolves.toBeNull();
    const bad = manualProbeContext<"dot">();
    await expect(dotProbe(dotSpec(server.port, { sni: "wrong.test" }), bad.ctx)).resolves.toMatchObject({ code: "tls_cert_invalid" });
    const aborted = manualProbeContext<"dot">();
    const pending = dotProbe(dotSpec(silent.port), aborted.ctx);
    setTimeout(() => aborted.controller.abort(new Error("stop")), 100);
    await expect(pending).rejects.toThrow("stop");
    for (const { controller } of [ok, bad, aborted]) expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
    expect(aborted.ctx.timings.tlsMs).toBeGreaterThan(0);
    await server.drained();
    await silent.drained();
  });
});
