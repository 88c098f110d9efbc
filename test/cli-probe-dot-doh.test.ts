// `popwatch probe --dot --doh` end to end against Debian's Unbound on
// loopback (DoT and DoH from one process, an NSID, the test zone), and
// `--dnssec --rrsig-min-days` against the DNSSEC lab's signed zones.
import type { ProbeResult } from "@popwatch/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../packages/cli/src/index";
import { captureIo } from "./support/capture-io";
import { findBinary } from "./support/daemons";
import { DNSSEC_BINARIES, type DnssecLab, startDnssecLab } from "./support/dnssec-zones";
import { type UnboundServer, startUnbound } from "./support/unbound";
import { RECORDS } from "./support/zone-data";

async function probe(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const c = captureIo();
  const code = await main(["probe", "--timeout", "3000", ...args], c.io);
  return { code, out: c.out, err: c.err };
}

async function probeJson(args: string[]): Promise<{ code: number; results: ProbeResult[] }> {
  const { code, out, err } = await probe([...args, "--json"]);
  expect(err).toBe("");
  return {
    code,
    results: out
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as ProbeResult),
  };
}

function only<K extends ProbeResult["kind"]>(results: ProbeResult[], kind: K): Extract<ProbeResult, { kind: K }> {
  const found = results.filter((r) => r.kind === kind);
  expect(found).toHaveLength(1);
  return found[0] as Extract<ProbeResult, { kind: K }>;
}

const unboundMissing = findBinary("unbound") === null;
if (unboundMissing && process.env.CI === "true") throw new Error("unbound missing in CI");

describe.skipIf(unboundMissing)(`--dot and --doh against Unbound${unboundMissing ? " [skipped: unbound not installed]" : ""}`, () => {
  let unbound: UnboundServer;
  beforeAll(async () => {
    unbound = await startUnbound();
  }, 60_000);
  afterAll(async () => {
    await unbound?.close();
  });

  const common = (qname: string = RECORDS.a.name) => [
    unbound.address,
    "--dot",
    "--doh",
    "--dot-port",
    String(unbound.dotPort),
    "--doh-port",
    String(unbound.dohPort),
    "--sni",
    unbound.tlsHost,
    "--ca",
    unbound.caFile,
    "--qname",
    qname,
    "--qtype",
    "A",
  ];

  it("one command, both transports: the answer, NSID and PoP, TLS session, HTTP/2 by POST", async () => {
    const { code, results } = await probeJson([...common(), "--chaos", "--cert-min-days", "0.5"]);
    expect(code).toBe(0);
    const dot = only(results, "dot");
    const doh = only(results, "doh");
    for (const r of [dot, doh]) {
      expect(r).toMatchObject({ ok: true, rcode: "NOERROR", nsid: unbound.nsid, pop: { id: unbound.nsid, source: "nsid" } });
      expect(r.answers?.map((a) => a.data)).toEqual([RECORDS.a.address]);
      expect(r.tls).toMatchObject({ verified: true, verification: "ca", sni: unbound.tlsHost });
      expect(r.tls!.chain.length).toBeGreaterThan(0);
    }
    expect(dot).toMatchObject({ port: unbound.dotPort, transport: "tls", identity: { "id.server": unbound.identity } });
    expect(doh).toMatchObject({ port: unbound.dohPort, transport: "https", method: "POST", status: 200, httpVersion: "2" });
    expect(dot.timings.tlsMs).toBeGreaterThan(0);
    expect(doh.timings.ttfbMs).toBeGreaterThan(0);

    const table = await probe([...common()]);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(
      new RegExp(`^dot\\s+127\\.0\\.0\\.1:${unbound.dotPort}\\s+ok\\s+${unbound.nsid}\\s+nsid\\s+connect .* tls .* rtt .*NOERROR`, "m"),
    );
    expect(table.out).toMatch(
      new RegExp(
        `^doh\\s+127\\.0\\.0\\.1:${unbound.dohPort}\\s+ok\\s+${unbound.nsid}\\s+nsid\\s+connect .* tls .* ttfb .*200 HTTP/2 POST; NOERROR`,
        "m",
      ),
    );
    expect(table.out).toContain(`dot 127.0.0.1:${unbound.dotPort}: certificate chain as sent, leaf first`);
    expect(table.out).toContain(`doh 127.0.0.1:${unbound.dohPort}: certificate chain as sent, leaf first`);
  });

  it("--doh-get and --doh-path: GET works; a wrong path is an HTTP failure", async () => {
    const get = only((await probeJson([...common(), "--doh-get"])).results, "doh");
    expect(get).toMatchObject({ ok: true, method: "GET", status: 200, rcode: "NOERROR" });
    const wrong = only((await probeJson([...common(), "--doh-path", "/nowhere"])).results, "doh");
    expect(wrong).toMatchObject({ ok: false, failure: { code: "http_status" } });
    expect(wrong.status).not.toBe(200);
  });

  it("--cert-min-days beyond the test certificate's life fails both with tls_cert_expiring", async () => {
    const { code, results } = await probeJson([...common(), "--cert-min-days", "30"]);
    expect(code).toBe(1);
    for (const kind of ["dot", "doh"] as const) expect(only(results, kind).failure?.code).toBe("tls_cert_expiring");
  });

  it("--expect-rcode and --dnssec apply to dot and doh as to dns", async () => {
    const asked = await probeJson([...common(RECORDS.missing), "--expect-rcode", "NXDOMAIN", "--dnssec"]);
    expect(asked.code).toBe(0);
    for (const kind of ["dot", "doh"] as const) {
      const r = only(asked.results, kind);
      expect(r).toMatchObject({ ok: true, rcode: "NXDOMAIN", dnssec: { requested: true } });
    }
  });
});

const dnssecMissing = Object.keys(DNSSEC_BINARIES).filter((bin) => !findBinary(bin));
if (dnssecMissing.length > 0 && process.env.CI === "true")
  throw new Error(`DNSSEC lab binaries missing in CI: ${dnssecMissing.join(", ")}`);
describe.skipIf(dnssecMissing.length > 0)(
  `--dnssec against signed zones${dnssecMissing.length > 0 ? ` [skipped: ${dnssecMissing.join(", ")} not installed]` : ""}`,
  () => {
    let lab: DnssecLab;
    beforeAll(async () => {
      lab = await startDnssecLab();
    }, 120_000);
    afterAll(async () => {
      await lab?.stop();
    });

    const dns = (zone: string) => [
      lab.nsd.address,
      "--dns",
      "--dns-port",
      String(lab.nsd.port),
      "--norec",
      "--qname",
      zone,
      "--qtype",
      "SOA",
      "--dnssec",
    ];

    it("a valid zone: its RRSIGs in JSON and in the table, passing --rrsig-min-days 7", async () => {
      const zone = lab.zones.valid;
      const { code, results } = await probeJson([...dns(zone.zone), "--rrsig-min-days", "7"]);
      expect(code).toBe(0);
      const r = only(results, "dns");
      expect(r.dnssec?.signatures.length).toBeGreaterThan(0);
      expect(r.dnssec!.signatures[0]).toMatchObject({ typeCovered: "SOA", keyTag: zone.keyTag, signer: `${zone.zone}.` });
      const table = await probe([...dns(zone.zone), "--rrsig-min-days", "7"]);
      expect(table.out).toMatch(/RRSIGs?, soonest (29|30)(\.\d)? days left/);
      expect(table.out).toContain(`dns ${lab.nsd.address}:${lab.nsd.port}: RRSIGs covering the answer (not validated)`);
      expect(table.out).toMatch(
        new RegExp(
          `^ {2}${zone.zone.replace(/\./g, "\\.")}\\.?\\s+SOA\\s+13\\s+${zone.keyTag}\\s+${zone.zone.replace(/\./g, "\\.")}\\.\\s`,
          "m",
        ),
      );
    });

    it("an expiring, an expired and an unsigned zone fail with their codes, exit 1", async () => {
      for (const [state, code] of [
        ["expiring", "dnssec_signature_expiring"],
        ["expired", "dnssec_signature_expired"],
        ["unsigned", "dnssec_unsigned"],
      ] as const) {
        const { code: exit, results } = await probeJson([...dns(lab.zones[state].zone), "--rrsig-min-days", "7"]);
        expect(exit, state).toBe(1);
        expect(only(results, "dns").failure?.code, state).toBe(code);
      }
    });
  },
);
