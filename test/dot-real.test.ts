// The dot probe against real DNS-over-TLS servers: Debian's Unbound (its own
// TLS listener, NSID, CHAOS identity) and PowerDNS dnsdist in front of
// Unbound's plain port (a second TLS and RFC 7766 implementation), on
// 127.0.0.1 and ::1, each answer checked against Knot's kdig +tls on the
// same server. Certificates come from a CA made in the test; the wrong-name
// and expired variants are Unbounds of their own.
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type ProbeResult, type ProbeResultOf, createPopIdentifier, parseConfig } from "@popwatch/core";
import { type DotProbeSpec, runProbes, specsForTarget } from "@popwatch/probes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addRunDir, findBinary, removeRunDir } from "./support/daemons";
import { type DnsdistServer, startDnsdist } from "./support/dnsdist";
import { createTestPki } from "./support/pki";
import { type UnboundServer, startUnbound } from "./support/unbound";
import { RECORDS } from "./support/zone-data";

type DotResult = ProbeResultOf<"dot">;

const run = promisify(execFile);
const missing = ["unbound", "dnsdist", "kdig"].filter((bin) => findBinary(bin) === null);
const skip = missing.length > 0 && process.env.CI !== "true";
const identifyPop = createPopIdentifier();

interface DotServer {
  address: string;
  address6: string | null;
  dotPort: number;
}

let dir: string;
let caPem: string;
let caFile: string;
let unbound: UnboundServer;
let wrongName: UnboundServer;
let expired: UnboundServer;
let dnsdist: DnsdistServer;

function dotSpec(server: DotServer, over: Partial<DotProbeSpec> = {}): DotProbeSpec {
  return {
    kind: "dot",
    address: server.address,
    port: server.dotPort,
    sni: "pop.test",
    ca: [caPem],
    qname: RECORDS.a.name,
    qtype: "A",
    qclass: "IN",
    nsid: true,
    chaos: ["id.server", "hostname.bind"],
    recursionDesired: false,
    dnssecOk: false,
    udpPayloadSize: 1232,
    ...over,
  };
}

async function probe(spec: DotProbeSpec): Promise<DotResult> {
  const [result] = await runProbes([spec], { timeoutMs: 5000, identifyPop });
  return result as DotResult;
}

interface KdigAnswer {
  ok: boolean;
  output: string;
  nsid: string | null;
  /** RDATA of the answer section's records, in order. */
  answers: string[];
}

/** One query with kdig +tls against address:port, verified with the test CA and the name pop.test. */
async function kdigTls(address: string, port: number, qname: string, qtype: string): Promise<KdigAnswer> {
  const args = ["+timeout=3", "+retry=0", `@${address}`, "-p", String(port), `+tls-ca=${caFile}`, "+tls-hostname=pop.test"];
  let output: string;
  let ok = true;
  try {
    const { stdout, stderr } = await run("kdig", [...args, "+nsid", "+norecurse", qname, qtype]);
    output = stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    output = `${e.stdout ?? ""}${e.stderr ?? ""}`;
    ok = false;
  }
  const nsid = /;; NSID: [0-9A-F]+ "([^"]*)"/.exec(output)?.[1] ?? null;
  const section = output.split(";; ANSWER SECTION:\n")[1]?.split("\n\n")[0] ?? "";
  const answers = section
    .split("\n")
    .filter(Boolean)
    .map((line) => line.split("\t").at(-1)!.replace(/^"|"$/g, ""));
  return { ok: ok && output.includes("status: NOERROR"), output, nsid, answers };
}

const addressesOf = (server: DotServer): string[] => [server.address, ...(server.address6 ? [server.address6] : [])];

describe.skipIf(skip)(`dot probe against Unbound and dnsdist${skip ? ` [skipped: ${missing.join(", ")} not installed]` : ""}`, () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "popwatch-dot-real-"));
    addRunDir(dir);
    const pki = createTestPki(join(dir, "pki"));
    caPem = pki.caPem;
    caFile = pki.caFile;
    [unbound, wrongName, expired] = await Promise.all([
      startUnbound(join(dir, "unbound"), { pki }),
      startUnbound(join(dir, "unbound-wrong-name"), { pki, certificate: "wrongName" }),
      startUnbound(join(dir, "unbound-expired"), { pki, certificate: "expired" }),
    ]);
    dnsdist = await startDnsdist(join(dir, "dnsdist"), { backend: { address: unbound.address, port: unbound.dnsPort }, cert: pki.leaf });
  });
  afterAll(async () => {
    await Promise.all([unbound?.close(), wrongName?.close(), expired?.close(), dnsdist?.close()]);
    if (dir) removeRunDir(dir);
  });

  const implementations = (): [string, DotServer][] => [
    ["unbound", unbound],
    ["dnsdist", dnsdist],
  ];

  // dnsdist answering the CHAOS queries too is what each query in its own TLS record buys (dnsdist 1.7 leaves queries that share a record unread).
  it("answers with Unbound's NSID and CHAOS identity, and the PoP evidence is the NSID, on every address of both servers", async () => {
    for (const [name, server] of implementations()) {
      for (const address of addressesOf(server)) {
        const r = await probe(dotSpec({ ...server, address }));
        const where = `${name} ${address}`;
        expect(r.failure, where).toBeNull();
        expect(r, where).toMatchObject({
          ok: true,
          transport: "tls",
          rcode: "NOERROR",
          flags: { aa: true, tc: false },
          nsid: unbound.nsid,
          identity: { "id.server": unbound.identity, "hostname.bind": unbound.identity },
          pop: { id: unbound.nsid, source: "nsid", raw: unbound.nsid },
          tls: { sni: "pop.test", verification: "ca", verified: true, verifyError: null },
        });
        expect(
          r.answers?.map((a) => [a.type, a.data]),
          where,
        ).toEqual([["A", RECORDS.a.address]]);
        expect(r.tls?.protocol, where).toMatch(/^TLSv1\.[23]$/);
        expect(r.tls?.certificate?.fingerprint256, where).toBe(unbound.certSha256);
        expect(
          r.tls?.chain.map((c) => c.subject),
          where,
        ).toEqual(["CN=pop.test", "CN=popwatch test CA"]);
        const { connectMs, tlsMs, rttMs, totalMs } = r.timings;
        expect(connectMs! > 0 && tlsMs! > 0 && rttMs! > 0, where).toBe(true);
        expect(connectMs! + tlsMs! + rttMs!, where).toBeLessThanOrEqual(totalMs);
      }
    }
  });

  it("gives the same answers and NSID as kdig +tls on the same server", async () => {
    const questions: [string, string][] = [
      [RECORDS.a.name, "A"],
      [RECORDS.aaaa.name, "AAAA"],
      [RECORDS.txt.name, "TXT"],
      [RECORDS.manyA.name, "A"],
    ];
    for (const [name, server] of implementations()) {
      for (const address of addressesOf(server)) {
        for (const [qname, qtype] of questions) {
          const where = `${name} ${address} ${qname} ${qtype}`;
          const [ours, theirs] = await Promise.all([
            probe(dotSpec({ ...server, address }, { qname, qtype, chaos: [] })),
            kdigTls(address, server.dotPort, qname, qtype),
          ]);
          expect(theirs.ok, `${where}: kdig said\n${theirs.output}`).toBe(true);
          expect(ours.ok, where).toBe(true);
          expect(ours.nsid, where).toBe(theirs.nsid);
          expect(ours.answers?.map((a) => a.data).sort(), where).toEqual([...theirs.answers].sort());
        }
      }
    }
  });

  it("carries a response far above 512 bytes in one framed message", async () => {
    const r = await probe(dotSpec(unbound, { qname: RECORDS.bigTxt.name, qtype: "TXT" }));
    expect(r).toMatchObject({ ok: true, truncated: false });
    expect(r.responseBytes).toBeGreaterThan(512);
    expect(r.answers?.map((a) => a.data).sort()).toEqual([...RECORDS.bigTxt.texts].sort());
  });

  it("judges the rcode: NXDOMAIN fails dns_rcode unless expected, and REFUSED outside the zone", async () => {
    for (const [, server] of implementations()) {
      const nx = await probe(dotSpec(server, { qname: RECORDS.missing }));
      expect(nx).toMatchObject({ ok: false, rcode: "NXDOMAIN", failure: { code: "dns_rcode" } });
      expect(await probe(dotSpec(server, { qname: RECORDS.missing, expect: { rcode: ["NXDOMAIN"] } }))).toMatchObject({ ok: true });
      const outside = await probe(dotSpec(server, { qname: "example.com" }));
      expect(outside).toMatchObject({ rcode: "REFUSED", failure: { code: "dns_rcode" } });
    }
  });

  it("fails tls_cert_invalid on Unbound's wrong-name certificate and tls_cert_expired on its expired one, as kdig refuses both", async () => {
    const wrong = await probe(dotSpec(wrongName));
    expect(wrong.failure?.code).toBe("tls_cert_invalid");
    expect(wrong).toMatchObject({ tls: { verified: false, verifyError: "ERR_TLS_CERT_ALTNAME_INVALID" } });
    expect(wrong.rcode).toBeUndefined();
    const old = await probe(dotSpec(expired));
    expect(old.failure?.code).toBe("tls_cert_expired");
    expect(old).toMatchObject({ tls: { verified: false, verifyError: "CERT_HAS_EXPIRED" } });
    for (const broken of [wrongName, expired]) {
      expect((await kdigTls(broken.address, broken.dotPort, RECORDS.a.name, "A")).ok).toBe(false);
    }
    // The same wrong-name server is fine when asked for the name it holds.
    expect(await probe(dotSpec(wrongName, { sni: "wrong-name.invalid" }))).toMatchObject({ ok: true, nsid: wrongName.nsid });
  });

  it("fails tls_cert_expiring when the certificate expires within certMinDays, after a good answer", async () => {
    const r = await probe(dotSpec(unbound, { certMinDays: 30 }));
    expect(r.failure?.code).toBe("tls_cert_expiring");
    expect(r).toMatchObject({ rcode: "NOERROR", nsid: unbound.nsid });
    expect(await probe(dotSpec(unbound, { certMinDays: 1 }))).toMatchObject({ ok: true });
  });

  it("runs a config target's probes.dot with the schema's defaults (SNI from hostname, NSID, CHAOS)", async () => {
    const config = parseConfig({
      targets: [
        {
          name: "dot-unbound",
          address: unbound.address,
          hostname: "pop.test",
          probes: { dot: { port: unbound.dotPort, qname: RECORDS.a.name, nsid: true, chaos: ["id.server"], ca: [caPem] } },
        },
      ],
    });
    const specs = specsForTarget(config.targets[0]!);
    expect(specs.map((s) => s.kind)).toEqual(["dot"]);
    expect(specs[0]).toMatchObject({ kind: "dot", sni: "pop.test", port: unbound.dotPort, name: "dot-unbound" });
    const [r] = (await runProbes(specs, { timeoutMs: 5000, identifyPop })) as DotResult[];
    expect(r).toMatchObject({
      ok: true,
      name: "dot-unbound",
      nsid: unbound.nsid,
      identity: { "id.server": unbound.identity },
      pop: { source: "nsid" },
      tls: { verified: true },
    });
  });

  it("runs many probes in parallel against both servers without a failure", async () => {
    const specs = Array.from({ length: 40 }, (_, i) => dotSpec(i % 2 === 0 ? unbound : dnsdist));
    const results = (await runProbes(specs, { timeoutMs: 5000, concurrency: 20, identifyPop })) as ProbeResult[];
    expect(results.filter((r) => !r.ok).map((r) => r.failure)).toEqual([]);
  });
});
