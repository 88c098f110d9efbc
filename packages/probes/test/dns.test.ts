import { randomBytes } from "node:crypto";
import dgram from "node:dgram";
import type { ProbeResultOf } from "@popwatch/core";
import * as dnsPacket from "dns-packet";
import { afterEach, describe, expect, it } from "vitest";
import { compileDnsSpec } from "../src/dns/spec";
import { openUdpSocketCount } from "../src/dns/udp";
import { type DnsProbeSpec, ProbeSpecError, type RunnerOptions, runProbes } from "../src/index";
import { dnsProbe } from "../src/probes/dns";
import { runProbe } from "../src/runner";
import type { ProbeContext } from "../src/types";
import { manualProbeContext } from "./support/context";
import {
  type DnsTestServer,
  type Handler,
  type ReceivedQuery,
  type Step,
  chaosReply,
  closedPort,
  frame,
  reply,
  startDnsServer,
} from "./support/dns-server";
import { dnsSpec } from "./support/dns-spec";

type DnsResult = ProbeResultOf<"dns">;

const servers: DnsTestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(handler: Handler, address = "127.0.0.1"): Promise<DnsTestServer> {
  const server = await startDnsServer(handler, address);
  servers.push(server);
  return server;
}

async function probe(spec: DnsProbeSpec, options: RunnerOptions = {}): Promise<DnsResult> {
  return (await runProbe(spec, { timeoutMs: 2000, ...options })) as DnsResult;
}

const A = (name: string, address: string, ttl = 300): dnsPacket.Answer => ({ name, type: "A", class: "IN", ttl, data: address });

/** Answers IN queries with one A record and CHAOS identities like a PoP would; `nsid` on every EDNS answer. */
function popHandler(nsid: string | Buffer | null = "fra1.ns.example"): Handler {
  return (q) => {
    if (q.class === "CH") {
      if (q.name === "id.server") return [chaosReply(q, "fra1")];
      if (q.name === "hostname.bind") return [chaosReply(q, "ns1.fra1.example")];
      return [reply(q, { rcode: 5 })];
    }
    return [reply(q, { answers: [A(q.name, "192.0.2.1")], nsid: q.options.has(3) ? nsid : undefined })];
  };
}

/** A response to `q` with the answer section cut mid-record: ID and question are right, the rest is broken. */
function brokenAfterQuestion(q: ReceivedQuery): Buffer {
  const good = reply(q, { answers: [A(q.name, "192.0.2.1")] });
  const questionEnd = 12 + Buffer.byteLength(q.name) + 2 + 4;
  return good.subarray(0, questionEnd + 5);
}

/** Fixed bytes that are no DNS message: a header claiming thousands of records. */
const GARBAGE = Buffer.from("c0ffee00deadbeefcafe1234f00dbabe0badf00d5eed", "hex");

describe("dns probe: answers", () => {
  it("records answer, flags, NSID, CHAOS identities and RTT over UDP", async () => {
    const server = await serve(popHandler());
    const result = await probe(dnsSpec(server, { nsid: true, chaos: ["id.server", "hostname.bind"], recursionDesired: true }));
    expect(result.failure).toBeNull();
    expect(result).toMatchObject({
      ok: true,
      transport: "udp",
      tcpFallback: false,
      qname: "www.example.test",
      qtype: "A",
      qclass: "IN",
      rcode: "NOERROR",
      flags: { aa: true, tc: false, rd: true, ra: false, ad: false, cd: false },
      answers: [{ name: "www.example.test", type: "A", class: "IN", ttl: 300, data: "192.0.2.1" }],
      nsid: "fra1.ns.example",
      nsidHex: Buffer.from("fra1.ns.example").toString("hex"),
      identity: { "id.server": "fra1", "hostname.bind": "ns1.fra1.example" },
      ignoredPackets: 0,
    });
    expect(result.responseBytes).toBeGreaterThan(12);
    expect(result.timings.rttMs).toBeGreaterThan(0);
    expect(result.timings.rttMs!).toBeLessThanOrEqual(result.timings.totalMs);
    expect(result.timings.connectMs).toBeUndefined();

    const main = server.queries.find((q) => q.class === "IN")!;
    expect(main).toMatchObject({ transport: "udp", hasOpt: true, udpPayloadSize: 1232, dnssecOk: false });
    expect(main.options.get(3)).toEqual(Buffer.alloc(0));
    expect(main.packet.flags! & dnsPacket.RECURSION_DESIRED).toBeTruthy();
    const chaos = server.queries.filter((q) => q.class === "CH").map((q) => `${q.name}/${q.type}`);
    expect(chaos.sort()).toEqual(["hostname.bind/TXT", "id.server/TXT"]);
  });

  it("gives the PoP evidence to identifyPop", async () => {
    const server = await serve(popHandler());
    let seen: unknown;
    await probe(dnsSpec(server, { nsid: true, chaos: ["id.server"] }), {
      identifyPop: (_kind, evidence) => {
        seen = evidence;
        return null;
      },
    });
    expect(seen).toEqual({ nsid: "fra1.ns.example", chaos: { "id.server": "fra1" } });
  });

  it("reports a binary NSID as hex only", async () => {
    const server = await serve(popHandler(Buffer.from([0x00, 0xff, 0x41])));
    let evidence: unknown;
    const result = await probe(dnsSpec(server, { nsid: true }), {
      identifyPop: (_k, e) => {
        evidence = e;
        return null;
      },
    });
    expect(result).toMatchObject({ ok: true, nsid: null, nsidHex: "00ff41" });
    expect(evidence).toEqual({ nsid: "00ff41" });
  });

  it("sets the DO bit and sends no NSID option unless asked", async () => {
    const server = await serve(popHandler());
    const result = await probe(dnsSpec(server, { dnssecOk: true, udpPayloadSize: 4096 }));
    expect(result.ok).toBe(true);
    expect(result).toMatchObject({ nsid: null, nsidHex: null });
    expect(server.queries[0]).toMatchObject({ dnssecOk: true, udpPayloadSize: 4096 });
    expect(server.queries[0]!.options.size).toBe(0);
  });

  it("works over IPv6 loopback, UDP and TCP", async () => {
    const server = await serve(popHandler(), "::1");
    for (const transport of ["udp", "tcp"] as const) {
      const result = await probe(dnsSpec(server, { transport, nsid: true, chaos: ["id.server"] }));
      expect(result).toMatchObject({
        ok: true,
        target: `[::1]:${server.port}`,
        transport,
        nsid: "fra1.ns.example",
        identity: { "id.server": "fra1" },
      });
    }
  });

  it("pipelines the main and CHAOS queries on one TCP connection, connect time apart from RTT", async () => {
    const server = await serve(popHandler());
    const result = await probe(dnsSpec(server, { transport: "tcp", nsid: true, chaos: ["id.server", "hostname.bind"] }));
    expect(result).toMatchObject({ ok: true, transport: "tcp", identity: { "id.server": "fra1", "hostname.bind": "ns1.fra1.example" } });
    expect(server.connections).toBe(1);
    expect(server.queries.every((q) => q.transport === "tcp")).toBe(true);
    expect(result.timings.connectMs).toBeGreaterThan(0);
    expect(result.timings.rttMs).toBeGreaterThan(0);
  });

  it("asks CH class questions and presents SOA, TXT, AAAA, MX data", async () => {
    const server = await serve((q) => [
      reply(q, {
        answers: [
          {
            name: q.name,
            type: "SOA",
            class: "IN",
            ttl: 60,
            data: {
              mname: "ns1.example.test",
              rname: "hostmaster.example.test",
              serial: 7,
              refresh: 3600,
              retry: 600,
              expire: 86400,
              minimum: 300,
            },
          },
          { name: q.name, type: "TXT", class: "IN", ttl: 60, data: ["v=spf1 ", "-all"] },
          { name: q.name, type: "AAAA", class: "IN", ttl: 60, data: "2001:db8::1" },
          { name: q.name, type: "MX", class: "IN", ttl: 60, data: { preference: 10, exchange: "mx.example.test" } },
        ] as dnsPacket.Answer[],
      }),
    ]);
    const result = await probe(dnsSpec(server, { qname: "version.bind.", qtype: "txt", qclass: "CH" }));
    expect(result.ok).toBe(true);
    expect(result.qtype).toBe("TXT");
    expect(server.queries[0]).toMatchObject({ name: "version.bind", type: "TXT", class: "CH" });
    expect(result.answers!.map((a) => `${a.type} ${a.data}`)).toEqual([
      "SOA ns1.example.test hostmaster.example.test 7 3600 600 86400 300",
      "TXT v=spf1 -all",
      "AAAA 2001:db8::1",
      "MX 10 mx.example.test",
    ]);
  });

  it("keeps 400 concurrent probes apart: every result carries its own answer", async () => {
    const server = await serve((q) => {
      const n = Number(/^q(\d+)\./.exec(q.name)![1]);
      // Answer in a shuffled order so responses overtake each other.
      return [{ delayMs: n % 7 }, reply(q, { answers: [A(q.name, `10.0.${n >> 8}.${n & 255}`)] })];
    });
    const specs = Array.from({ length: 400 }, (_, n) => dnsSpec(server, { qname: `q${n}.example.test` }));
    const results = (await runProbes(specs, { concurrency: 100, timeoutMs: 5000 })) as DnsResult[];
    results.forEach((result, n) => {
      expect(result.failure).toBeNull();
      expect(result.answers![0]!.data).toBe(`10.0.${n >> 8}.${n & 255}`);
    });
    const ids = new Set(server.queries.map((q) => q.id));
    expect(ids.size).toBeGreaterThan(390); // random IDs: a few may repeat once released
  });
});

describe("dns probe: what does not belong is ignored over UDP", () => {
  it("ignores junk, a wrong ID and a wrong question, then takes the right answer", async () => {
    const server = await serve((q) => {
      const header = Buffer.alloc(12);
      header.writeUInt16BE(q.id ^ 0x5555, 0);
      header.writeUInt16BE(0x8400, 2);
      return [
        randomBytes(64),
        Buffer.from([0x42]),
        header,
        reply(q, { id: q.id ^ 0xffff, answers: [A(q.name, "203.0.113.66")] }),
        reply(q, { question: { name: "evil.example.test", type: "A" }, answers: [A("evil.example.test", "203.0.113.66")] }),
        reply(q, { question: { name: q.name, type: "AAAA" } }),
        { delayMs: 5 },
        reply(q, { answers: [A(q.name, "192.0.2.1")] }),
      ];
    });
    const result = await probe(dnsSpec(server));
    expect(result).toMatchObject({ ok: true, answers: [{ data: "192.0.2.1" }] });
    expect(result.ignoredPackets).toBe(6);
  });

  it("never sees an answer from another source port (connected socket), and takes the server's", async () => {
    const spoofer = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => spoofer.bind(0, "127.0.0.1", () => resolve()));
    try {
      const server = await serve(async (q) => {
        // Right ID, right question, right destination port: only the source port is wrong.
        const forged = reply(q, { answers: [A(q.name, "203.0.113.66")] });
        await new Promise<void>((resolve) => spoofer.send(forged, q.remotePort, "127.0.0.1", () => resolve()));
        return [{ delayMs: 20 }, reply(q, { answers: [A(q.name, "192.0.2.1")] })];
      });
      const result = await probe(dnsSpec(server));
      expect(result).toMatchObject({ ok: true, answers: [{ data: "192.0.2.1" }] });
    } finally {
      spoofer.close();
    }
  });

  it("drops a late answer to a timed-out query without blaming the probes still waiting", async () => {
    // Timeline (ms): slow and first start at 0; first is answered at 300 and later starts on the same
    // pooled socket; slow times out at 600, its answer turns up at 700 while later waits; later is
    // answered at 800, 100 ms before its own timeout.
    const delays: Record<string, number> = { slow: 700, first: 300, later: 500 };
    const server = await serve(async (q) => [{ delayMs: delays[q.name.split(".")[0]!]! }, reply(q, { answers: [A(q.name, "192.0.2.1")] })]);
    const [slow, first, later] = (await runProbes(
      ["slow", "first", "later"].map((label) => dnsSpec(server, { qname: `${label}.example.test` })),
      { concurrency: 2, timeoutMs: 600 },
    )) as DnsResult[];
    expect(slow!.failure?.code).toBe("timeout");
    expect(first!.ok).toBe(true);
    expect(later).toMatchObject({ ok: true, ignoredPackets: 0 });
  });

  it("matches the question case-insensitively (0x20-style echoes)", async () => {
    const server = await serve((q) => [
      reply(q, { question: { name: q.name.toUpperCase(), type: q.type }, answers: [A(q.name, "192.0.2.1")] }),
    ]);
    const result = await probe(dnsSpec(server, { qname: "WwW.Example.Test" }));
    expect(result).toMatchObject({ ok: true, ignoredPackets: 0 });
  });

  it("ignores a response without QR=1", async () => {
    const server = await serve((q) => {
      const asQuery = reply(q, { answers: [A(q.name, "203.0.113.66")] });
      asQuery[2] = asQuery[2]! & 0x7f;
      return [asQuery, reply(q, { answers: [A(q.name, "192.0.2.1")] })];
    });
    const result = await probe(dnsSpec(server));
    expect(result).toMatchObject({ ok: true, ignoredPackets: 1, answers: [{ data: "192.0.2.1" }] });
  });

  it("times out, with the ignored count visible, when only junk arrives", async () => {
    const server = await serve(() => [randomBytes(40), Buffer.alloc(1), Buffer.alloc(12)]);
    const result = await probe(dnsSpec(server), { timeoutMs: 150 });
    expect(result.failure?.code).toBe("timeout");
    expect(result.ignoredPackets).toBe(3);
    expect(result.timings.totalMs).toBeLessThan(1000);
  });

  it("fails dns_malformed when a datagram proves itself the answer (ID, question) but is broken after", async () => {
    const server = await serve((q) => [brokenAfterQuestion(q)]);
    const result = await probe(dnsSpec(server));
    expect(result.failure?.code).toBe("dns_malformed");
    expect(result.failure?.message).toMatch(/answer record 1/);
  });
});

describe("dns probe: TCP framing", () => {
  const tcpWith = async (steps: (q: ReceivedQuery) => Step[]) => {
    const server = await serve((q) => (q.transport === "tcp" ? steps(q) : []));
    return probe(dnsSpec(server, { transport: "tcp" }), { timeoutMs: 1000 });
  };

  it("reassembles a response split across segments", async () => {
    const result = await tcpWith((q) => {
      const bytes = frame(reply(q, { answers: [A(q.name, "192.0.2.1")] }));
      return [{ raw: bytes.subarray(0, 1) }, { delayMs: 10 }, { raw: bytes.subarray(1, 9) }, { delayMs: 10 }, { raw: bytes.subarray(9) }];
    });
    expect(result).toMatchObject({ ok: true, answers: [{ data: "192.0.2.1" }] });
  });

  it("takes several messages from one segment, in any order", async () => {
    const chaos: ReceivedQuery[] = [];
    let allIn!: () => void;
    const chaosArrived = new Promise<void>((resolve) => (allIn = resolve));
    const server = await serve(async (q) => {
      if (q.class === "CH") {
        chaos.push(q);
        if (chaos.length === 2) allIn();
        return [];
      }
      await chaosArrived;
      // One write carrying all three answers, the main query's last.
      const frames = chaos.map((c) => frame(chaosReply(c, c.name === "id.server" ? "fra1" : "host.fra1")));
      return [{ raw: Buffer.concat([...frames, frame(reply(q, { answers: [A(q.name, "192.0.2.1")] }))]) }];
    });
    const result = await probe(dnsSpec(server, { transport: "tcp", chaos: ["id.server", "hostname.bind"] }));
    expect(result).toMatchObject({ ok: true, identity: { "id.server": "fra1", "hostname.bind": "host.fra1" }, ignoredPackets: 0 });
  });

  it("fails dns_malformed on a frame of garbage", async () => {
    const result = await tcpWith(() => [GARBAGE]);
    expect(result.failure?.code).toBe("dns_malformed");
  });

  it("fails dns_malformed on a 1-byte frame and on a header-only frame", async () => {
    expect((await tcpWith(() => [Buffer.from([7])])).failure?.code).toBe("dns_malformed");
    expect((await tcpWith((q) => [reply(q).subarray(0, 12)])).failure?.code).toBe("dns_malformed");
  });

  it("fails dns_malformed on a zero length prefix", async () => {
    const result = await tcpWith(() => [{ raw: Buffer.from([0, 0]) }]);
    expect(result.failure).toMatchObject({ code: "dns_malformed", message: expect.stringMatching(/length 0/) });
  });

  it("fails dns_malformed when the length prefix overruns and the server closes", async () => {
    const result = await tcpWith((q) => [{ raw: frame(reply(q, { answers: [A(q.name, "192.0.2.1")] })).subarray(0, 20) }, "end"]);
    expect(result.failure).toMatchObject({ code: "dns_malformed", message: expect.stringMatching(/closed inside a message/) });
  });

  it("fails dns_malformed when the answer is broken after the question", async () => {
    const result = await tcpWith((q) => [brokenAfterQuestion(q)]);
    expect(result.failure?.code).toBe("dns_malformed");
  });

  it("ignores a well-formed message for another ID and keeps reading", async () => {
    const result = await tcpWith((q) => [reply(q, { id: q.id ^ 1 }), reply(q, { answers: [A(q.name, "192.0.2.1")] })]);
    expect(result).toMatchObject({ ok: true, ignoredPackets: 1 });
  });

  it("fails closed when the server hangs up without answering", async () => {
    const result = await tcpWith(() => ["end"]);
    expect(result.failure?.code).toBe("closed");
  });
});

describe("dns probe: truncation", () => {
  const truncatingServer = () =>
    serve((q) =>
      q.transport === "udp" ? [reply(q, { tc: true })] : [reply(q, { answers: [A(q.name, "192.0.2.1"), A(q.name, "192.0.2.2")] })],
    );

  it("retries a TC=1 UDP answer over TCP", async () => {
    const server = await truncatingServer();
    const result = await probe(dnsSpec(server, { tcpFallback: true }));
    expect(result).toMatchObject({ ok: true, transport: "tcp", tcpFallback: true, flags: { tc: false } });
    expect(result.answers).toHaveLength(2);
    expect(result.timings.connectMs).toBeGreaterThan(0);
    expect(server.queries.map((q) => q.transport)).toEqual(["udp", "tcp"]);
  });

  it("fails dns_truncated on TC=1 when fallback is off", async () => {
    const server = await truncatingServer();
    const result = await probe(dnsSpec(server, { tcpFallback: false }));
    expect(result).toMatchObject({
      ok: false,
      failure: { code: "dns_truncated" },
      transport: "udp",
      tcpFallback: false,
      flags: { tc: true },
    });
    expect(server.queries).toHaveLength(1);
  });

  it("fails dns_truncated on TC=1 over TCP", async () => {
    const server = await serve((q) => [reply(q, { tc: true })]);
    const result = await probe(dnsSpec(server, { transport: "tcp" }));
    expect(result.failure?.code).toBe("dns_truncated");
  });

  it("accepts a TC=1 answer cut short mid-record and falls back", async () => {
    const server = await serve((q) => {
      if (q.transport === "tcp") return [reply(q, { answers: [A(q.name, "192.0.2.1")] })];
      const full = reply(q, { tc: true, answers: [A(q.name, "192.0.2.1"), A(q.name, "192.0.2.2")] });
      return [full.subarray(0, full.length - 20)];
    });
    const result = await probe(dnsSpec(server));
    expect(result).toMatchObject({ ok: true, tcpFallback: true });
  });
});

describe("dns probe: transport failures and timeouts", () => {
  it("times out promptly on a silent server and leaves no socket or timer behind", async () => {
    const server = await serve(() => []);
    const before = process.getActiveResourcesInfo().filter((r) => r === "UDPWrap" || r === "TCPSocketWrap" || r === "Timeout").length;
    const started = process.hrtime.bigint();
    const [udp, tcp] = (await runProbes(
      [dnsSpec(server, { chaos: ["id.server"] }), dnsSpec(server, { transport: "tcp", chaos: ["hostname.bind"] })],
      {
        timeoutMs: 150,
        concurrency: 2,
      },
    )) as DnsResult[];
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    expect(udp!.failure?.code).toBe("timeout");
    expect(tcp!.failure?.code).toBe("timeout");
    expect(tcp!.timings.connectMs).toBeGreaterThan(0);
    expect(elapsedMs).toBeLessThan(1000);
    expect(openUdpSocketCount()).toBe(0);
    await new Promise((r) => setImmediate(r));
    const after = process.getActiveResourcesInfo().filter((r) => r === "UDPWrap" || r === "TCPSocketWrap" || r === "Timeout").length;
    expect(after).toBeLessThanOrEqual(before);
  });

  it("closes its pooled socket once the last probe is done", async () => {
    const server = await serve(popHandler());
    await runProbes(
      Array.from({ length: 20 }, () => dnsSpec(server)),
      { concurrency: 5 },
    );
    await new Promise((r) => setImmediate(r));
    expect(openUdpSocketCount()).toBe(0);
  });

  it("fails refused on a closed UDP port (ICMP port unreachable)", async () => {
    const port = await closedPort("udp");
    const result = await probe(dnsSpec({ address: "127.0.0.1", port }, { chaos: ["id.server"] }));
    expect(result.failure?.code).toBe("refused");
  });

  it("fails refused on a closed UDP port over IPv6", async () => {
    const port = await closedPort("udp", "::1");
    const result = await probe(dnsSpec({ address: "::1", port }));
    expect(result.failure?.code).toBe("refused");
  });

  it("fails refused on a closed TCP port", async () => {
    const port = await closedPort("tcp");
    const result = await probe(dnsSpec({ address: "127.0.0.1", port }, { transport: "tcp" }));
    expect(result.failure?.code).toBe("refused");
    expect(result.transport).toBe("tcp");
  });

  it("fails with deadline when the run's deadline cuts it short", async () => {
    const server = await serve(() => []);
    const result = await probe(dnsSpec(server), { deadlineMs: 50, timeoutMs: 5000 });
    expect(result.failure?.code).toBe("deadline");
  });
});

describe("dns probe: expectations", () => {
  it("fails dns_rcode on SERVFAIL and NXDOMAIN, and accepts an expected NXDOMAIN", async () => {
    const server = await serve((q) => [reply(q, { rcode: q.name.startsWith("broken") ? 2 : 3 })]);
    const servfail = await probe(dnsSpec(server, { qname: "broken.example.test" }));
    expect(servfail).toMatchObject({
      ok: false,
      rcode: "SERVFAIL",
      failure: { code: "dns_rcode", message: "rcode SERVFAIL, expected NOERROR" },
    });
    const nxdomain = await probe(dnsSpec(server, { qname: "missing.example.test" }));
    expect(nxdomain).toMatchObject({ ok: false, rcode: "NXDOMAIN", failure: { code: "dns_rcode" } });
    const expected = await probe(dnsSpec(server, { qname: "missing.example.test", expect: { rcode: ["nxdomain", "NOERROR"] } }));
    expect(expected).toMatchObject({ ok: true, rcode: "NXDOMAIN" });
  });

  it("reads the extended rcode from the OPT record", async () => {
    const server = await serve((q) => [reply(q, { rcode: 16 })]);
    const result = await probe(dnsSpec(server));
    expect(result).toMatchObject({ rcode: "BADVERS", failure: { code: "dns_rcode" } });
  });

  it("accepts a question-less REFUSED answer as the server's word", async () => {
    const server = await serve((q) => {
      const header = Buffer.alloc(12);
      header.writeUInt16BE(q.id, 0);
      header.writeUInt16BE(0x8005, 2); // QR, REFUSED, no question
      return [header];
    });
    const result = await probe(dnsSpec(server));
    expect(result).toMatchObject({ rcode: "REFUSED", failure: { code: "dns_rcode" } });
  });

  it("fails answer_mismatch when no answer matches, passes when one does", async () => {
    const server = await serve(popHandler());
    const mismatch = await probe(dnsSpec(server, { expect: { answer: "^198\\.51\\.100\\." } }));
    expect(mismatch).toMatchObject({ ok: false, failure: { code: "answer_mismatch" } });
    const byData = await probe(dnsSpec(server, { expect: { answer: "^192\\.0\\.2\\.1$" } }));
    expect(byData.ok).toBe(true);
    const byLine = await probe(dnsSpec(server, { expect: { answer: "^www\\.example\\.test 300 IN A " } }));
    expect(byLine.ok).toBe(true);
  });

  it("does not let CHAOS refusals or silence decide the outcome", async () => {
    const refusing = await serve((q) => (q.class === "CH" ? [reply(q, { rcode: 5 })] : popHandler()(q)));
    const refused = await probe(dnsSpec(refusing, { chaos: ["id.server", "hostname.bind"] }));
    expect(refused).toMatchObject({ ok: true, identity: { "id.server": null, "hostname.bind": null } });

    const dropping = await serve((q) => (q.class === "CH" ? [] : popHandler()(q)));
    const started = process.hrtime.bigint();
    const dropped = await probe(dnsSpec(dropping, { chaos: ["id.server"] }), { timeoutMs: 3000 });
    expect(dropped).toMatchObject({ ok: true, identity: { "id.server": null } });
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(1500);
  });

  it("keeps the CHAOS identity when the main query fails", async () => {
    const server = await serve((q) => (q.class === "CH" ? [chaosReply(q, "fra1")] : [reply(q, { rcode: 2 })]));
    let evidence: unknown;
    const result = await probe(dnsSpec(server, { chaos: ["id.server"] }), {
      identifyPop: (_k, e) => {
        evidence = e;
        return null;
      },
    });
    expect(result).toMatchObject({ ok: false, failure: { code: "dns_rcode" }, identity: { "id.server": "fra1" } });
    expect(evidence).toEqual({ chaos: { "id.server": "fra1" } });
  });
});

describe("dns probe: spec faults are thrown before any I/O", () => {
  const ctx = (): ProbeContext<"dns"> => manualProbeContext<"dns">().ctx;

  it("rejects an unknown qtype with ProbeSpecError", async () => {
    const server = await serve(popHandler());
    const spec = dnsSpec(server, { qtype: "BOGUS" });
    expect(() => compileDnsSpec(spec)).toThrow(ProbeSpecError);
    await expect(dnsProbe(spec, ctx())).rejects.toMatchObject({ name: "ProbeSpecError", field: "qtype" });
    // Through the runner it is a configuration fault, thrown before anything is sent, never a probe outcome.
    await expect(probe(spec)).rejects.toMatchObject({ name: "ProbeSpecError", field: "qtype" });
    expect(server.queries).toHaveLength(0);
  });

  it.each([
    ["expect.answer", { expect: { answer: "([unclosed" } }],
    ["expect.rcode", { expect: { rcode: ["NOPE"] } }],
    ["qclass", { qclass: "HS" as "IN" }],
    ["qname", { qname: "a..b" }],
    ["qname", { qname: `${"x".repeat(64)}.example` }],
    ["address", { address: "dns.example" }],
    ["port", { port: 0 }],
    ["udpPayloadSize", { udpPayloadSize: 100 }],
    ["chaos", { chaos: ["version.bind" as "id.server"] }],
  ])("rejects a bad %s", (field, overrides) => {
    const spec = dnsSpec({ address: "127.0.0.1", port: 53 }, overrides as Partial<DnsProbeSpec>);
    expect(() => compileDnsSpec(spec)).toThrow(expect.objectContaining({ name: "ProbeSpecError", field }));
  });

  it("caches compiled specs by content without mixing different ones", () => {
    const base = dnsSpec({ address: "127.0.0.1", port: 53 });
    expect(compileDnsSpec({ ...base })).toBe(compileDnsSpec({ ...base }));
    expect(compileDnsSpec({ ...base, qname: "a.test" }).main.template).not.toEqual(
      compileDnsSpec({ ...base, qname: "b.test" }).main.template,
    );
    expect(compileDnsSpec({ ...base, expect: { answer: "x" } }).answerPattern?.source).toBe("x");
    expect(compileDnsSpec({ ...base, expect: { answer: "y" } }).answerPattern?.source).toBe("y");
    expect(compileDnsSpec({ ...base, chaos: ["id.server"] }).chaos.map((c) => c.identity)).toEqual(["id.server"]);
    expect(compileDnsSpec({ ...base, chaos: ["hostname.bind"] }).chaos.map((c) => c.identity)).toEqual(["hostname.bind"]);
    expect(compileDnsSpec({ ...base, port: 5353 }).port).toBe(5353);
  });

  it("accepts TYPEnnn and mnemonics in any case", () => {
    expect(compileDnsSpec(dnsSpec({ address: "::1", port: 53 }, { qtype: "type65" })).qtypeName).toBe("HTTPS");
    expect(compileDnsSpec(dnsSpec({ address: "::1", port: 53 }, { qtype: "TYPE4242" })).qtypeName).toBe("TYPE4242");
    expect(compileDnsSpec(dnsSpec({ address: "::1", port: 53 }, { qtype: "aaaa" })).qtypeName).toBe("AAAA");
  });
});
