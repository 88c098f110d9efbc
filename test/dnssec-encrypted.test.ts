// DNSSEC over the encrypted transports: the dot and doh probes, built from a
// config target as the agent builds them, against dnsdist (DoT and DoH
// listeners) in front of the DNSSEC lab's NSD (BIND-signed zones) and its
// validating Unbound. The facts and verdicts are the ones the dns probe gives
// over UDP for the same question: one recording and judging path for every
// transport (packages/probes/src/dns/response.ts). Also what `popwatch
// exporter` makes of them: the RRSIG expiry and AD gauges.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ProbeResult, createPopIdentifier, parseConfig } from "@popwatch/core";
import { runProbes, specsForTarget } from "@popwatch/probes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningExporter, startExporter } from "../packages/exporter/src/index";
import { addRunDir, findBinary, removeRunDir } from "./support/daemons";
import { type DnsdistServer, startDnsdist } from "./support/dnsdist";
import { DNSSEC_BINARIES, type DnssecLab, type DnssecServer, startDnssecLab } from "./support/dnssec-zones";
import { type TestPki, createTestPki } from "./support/pki";
import { scrapeProbe } from "./support/probe-scrape";

const missing = [...Object.keys(DNSSEC_BINARIES), "dnsdist"].filter((bin) => !findBinary(bin));
if (missing.length > 0 && process.env.CI === "true") throw new Error(`binaries missing in CI: ${missing.join(", ")}`);
const note = missing.length > 0 ? ` [skipped: ${missing.join(", ")} not installed]` : "";
const identifyPop = createPopIdentifier();

let lab: DnssecLab;
let pki: TestPki;
let dir: string;
/** In front of NSD (authoritative, signed zones) and of Unbound (validating). */
let authoritative: DnsdistServer;
let validating: DnsdistServer;

beforeAll(async () => {
  if (missing.length > 0) return;
  dir = mkdtempSync(join(tmpdir(), "popwatch-dnssec-encrypted-"));
  addRunDir(dir);
  lab = await startDnssecLab();
  pki = createTestPki(join(dir, "pki"));
  const front = (name: string, backend: DnssecServer) =>
    startDnsdist(join(dir, name), { backend: { address: backend.address, port: backend.port }, cert: pki.leaf, doh: {} });
  authoritative = await front("dnsdist-nsd", lab.nsd);
  validating = await front("dnsdist-unbound", lab.unbound);
}, 120_000);

afterAll(async () => {
  await authoritative?.close();
  await validating?.close();
  await lab?.stop();
  if (dir) removeRunDir(dir);
});

type Kind = "dns" | "dot" | "doh";

/** One probe of `kind` through a config target; dns goes straight to `direct` over UDP. */
async function probe(kind: Kind, front: DnsdistServer, direct: DnssecServer, options: Record<string, unknown>): Promise<ProbeResult> {
  const probes =
    kind === "dns"
      ? { dns: { port: direct.port, ...options } }
      : kind === "dot"
        ? { dot: { port: front.dotPort, ca: [pki.caPem], ...options } }
        : { doh: { port: front.dohPort!, ca: [pki.caPem], ...options } };
  const address = kind === "dns" ? direct.address : front.address;
  const config = parseConfig({ targets: [{ name: "dnssec", address, hostname: "pop.test", probes }] });
  const [result] = await runProbes(specsForTarget(config.targets[0]!), { timeoutMs: 5000, identifyPop });
  return result!;
}

const dnssecOf = (result: ProbeResult) => ("dnssec" in result ? result.dnssec : undefined);

describe.skipIf(missing.length > 0)(`DNSSEC over DoT and DoH (dnsdist in front of NSD and Unbound)${note}`, () => {
  for (const kind of ["dot", "doh"] as const) {
    it(`${kind}: the valid zone's RRSIG facts equal the dns probe's over UDP, and rrsigMinDays 7 passes`, async () => {
      const ask = { qname: lab.zones.valid.www, qtype: "A", expect: { rrsigMinDays: 7 } };
      const overUdp = await probe("dns", authoritative, lab.nsd, ask);
      const encrypted = await probe(kind, authoritative, lab.nsd, ask);
      expect(encrypted.failure).toBeNull();
      expect(encrypted).toMatchObject({ kind, ok: true, transport: kind === "dot" ? "tls" : "https", rcode: "NOERROR" });
      const strip = (facts: ReturnType<typeof dnssecOf>) => facts?.signatures.map(({ daysLeft: _, ...rest }) => rest);
      expect(strip(dnssecOf(encrypted))).toEqual(strip(dnssecOf(overUdp)));
      expect(dnssecOf(encrypted)?.signatures).toHaveLength(1);
      expect(dnssecOf(encrypted)?.signatures[0]).toMatchObject({ typeCovered: "A", keyTag: lab.zones.valid.keyTag });
    });

    it(`${kind}: expiring, expired and unsigned zones fail with the same codes as over UDP`, async () => {
      const cases = [
        [lab.zones.expiring, "dnssec_signature_expiring"],
        [lab.zones.expired, "dnssec_signature_expired"],
        [lab.zones.unsigned, "dnssec_unsigned"],
      ] as const;
      for (const [zone, code] of cases) {
        const ask = { qname: zone.www, qtype: "A", expect: { rrsigMinDays: 7 } };
        const overUdp = await probe("dns", authoritative, lab.nsd, ask);
        const encrypted = await probe(kind, authoritative, lab.nsd, ask);
        expect(overUdp.failure?.code).toBe(code);
        expect(encrypted.failure?.code).toBe(code);
        // The same RRset and signature named; only the days left move on between the two probes.
        const steady = (message: string | undefined) => message?.replace(/-?\d+(?:\.\d+)? days?/g, "N days");
        expect(steady(encrypted.failure?.message)).toBe(steady(overUdp.failure?.message));
      }
    });

    it(`${kind}: AD from the validating resolver behind it passes expect.ad; the unsigned zone is dnssec_unauthenticated`, async () => {
      const signed = await probe(kind, validating, lab.unbound, {
        qname: lab.zones.valid.www,
        qtype: "A",
        recursionDesired: true,
        dnssec: true,
        expect: { ad: true },
      });
      expect(signed.failure).toBeNull();
      expect("flags" in signed && signed.flags?.ad).toBe(true);
      const unsigned = await probe(kind, validating, lab.unbound, {
        qname: lab.zones.unsigned.www,
        qtype: "A",
        recursionDesired: true,
        dnssec: true,
        expect: { ad: true },
      });
      expect(unsigned.failure?.code).toBe("dnssec_unauthenticated");
    });
  }

  describe("exporter /probe: the earliest covering RRSIG's expiry and the AD bit as gauges", () => {
    let exporter: RunningExporter;
    beforeAll(async () => {
      const signed = { qname: lab.zones.valid.www, qtype: "A", dnssec: true };
      const config = parseConfig({
        targets: [{ name: "signed", address: lab.nsd.address, probes: { dns: { port: lab.nsd.port, ...signed } } }],
        exporter: {
          modules: {
            dot_signed: { kind: "dot", port: authoritative.dotPort, sni: "pop.test", ca: [pki.caPem], ...signed },
            dot_validated: {
              kind: "dot",
              port: validating.dotPort,
              sni: "pop.test",
              ca: [pki.caPem],
              ...signed,
              recursionDesired: true,
              expect: { ad: true },
            },
          },
        },
      });
      exporter = await startExporter({ config, listen: { host: "127.0.0.1", port: 0 } });
    });
    afterAll(async () => {
      await exporter?.close();
    });

    it("the signature's expiration (what dnssec-signzone was given) over dns and dot; AD 0 from NSD, 1 through the validating resolver", async () => {
      const expiration = lab.zones.valid.expiration!.getTime() / 1000;
      const overDns = await scrapeProbe(exporter.url, "target=signed&module=dns");
      expect(overDns.get("probe_dns_rrsig_expiry_timestamp_seconds")).toBe(expiration);
      expect(overDns.get("probe_dns_ad")).toBe(0);
      const overDot = await scrapeProbe(exporter.url, `target=${authoritative.address}&module=dot_signed`);
      expect(overDot.get("probe_success")).toBe(1);
      expect(overDot.get("probe_dns_rrsig_expiry_timestamp_seconds")).toBe(expiration);
      const validated = await scrapeProbe(exporter.url, `target=${validating.address}&module=dot_validated`);
      expect(validated.get("probe_success")).toBe(1);
      expect(validated.get("probe_dns_ad")).toBe(1);
    });
  });
});
