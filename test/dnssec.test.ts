// DNSSEC facts and verdicts of the real dns probe (config target →
// specsForTarget → runProbes) against zones signed by BIND's dnssec-signzone
// and by Knot's own signer, served by NSD and Knot, over UDP and TCP, with
// dig and kdig as the oracle for the RRSIG fields; Unbound validating with
// the zones' DS records as trust anchors for the AD bit.
import { type ProbeResult, type RrsigFacts, createPopIdentifier, parseConfig } from "@popwatch/core";
import { runProbes, specsForTarget } from "@popwatch/probes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findBinary } from "./support/daemons";
import {
  DNSSEC_ALGORITHM,
  DNSSEC_BINARIES,
  type DnssecLab,
  type DnssecServer,
  type DnssecZone,
  KNOT_RRSIG_LIFETIME_DAYS,
  NSEC3_SALT,
  NSEC3_ZONE,
  type PrintedRrsig,
  printedRecords,
  printedRrsigs,
  signzoneTime,
  startDnssecLab,
} from "./support/dnssec-zones";

type DnsResult = Extract<ProbeResult, { kind: "dns" }>;

const missing = Object.keys(DNSSEC_BINARIES).filter((bin) => !findBinary(bin));
if (missing.length > 0 && process.env.CI === "true") throw new Error(`DNSSEC lab binaries missing in CI: ${missing.join(", ")}`);
const note = missing.length > 0 ? ` [skipped: ${missing.join(", ")} not installed]` : "";

const DAY_MS = 86_400_000;
const identifyPop = createPopIdentifier();

let lab: DnssecLab;

beforeAll(async () => {
  if (missing.length === 0) lab = await startDnssecLab();
}, 120_000);

afterAll(async () => {
  await lab?.stop();
});

/** The dns probe of a config target, the way the agent builds it. */
async function probe(server: DnssecServer, dns: Record<string, unknown>): Promise<DnsResult> {
  const config = parseConfig({ targets: [{ name: "dnssec", address: server.address, probes: { dns: { port: server.port, ...dns } } }] });
  const [result] = await runProbes(specsForTarget(config.targets[0]!), { timeoutMs: 3000, identifyPop });
  return result as DnsResult;
}

/** The facts a printed RRSIG stands for, its times read as dig prints them (absolute, UTC). */
function fromPrinted(owner: string, printed: PrintedRrsig): Omit<RrsigFacts, "daysLeft"> {
  const iso = (t: string) =>
    `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(8, 10)}:${t.slice(10, 12)}:${t.slice(12, 14)}.000Z`;
  return {
    name: owner,
    typeCovered: printed.typeCovered,
    algorithm: printed.algorithm,
    keyTag: printed.keyTag,
    signer: printed.signer,
    inception: iso(printed.inception),
    expiration: iso(printed.expiration),
  };
}

/** Days left as the probe should have computed them, within the time the probe took. */
function expectDaysLeft(facts: RrsigFacts, before: number, after: number): void {
  const expiration = Date.parse(facts.expiration);
  expect(facts.daysLeft).toBeLessThanOrEqual((expiration - before) / DAY_MS + 0.001);
  expect(facts.daysLeft).toBeGreaterThanOrEqual((expiration - after) / DAY_MS - 0.001);
}

/** The fields the zone was signed with, as the probe must report them for `owner`'s RRset of `type`. */
function signedWith(zone: DnssecZone, owner: string, type: string): Omit<RrsigFacts, "daysLeft"> {
  return {
    name: owner,
    typeCovered: type,
    algorithm: DNSSEC_ALGORITHM,
    keyTag: zone.keyTag!,
    signer: `${zone.zone}.`,
    inception: zone.inception!.toISOString(),
    expiration: zone.expiration!.toISOString(),
  };
}

/**
 * One spelling of RDATA for comparing the probe with dig and kdig: dig splits
 * base64 and hex into chunks, kdig writes NSEC3 hashes in lowercase, names
 * end with a dot there and not in the probe.
 */
function presentation(type: string, data: string): string {
  const fields = data.split(" ");
  const fixed = { DNSKEY: 3, DS: 3, RRSIG: 8 }[type];
  const joined = fixed === undefined ? fields : [...fields.slice(0, fixed), fields.slice(fixed).join("")];
  return joined
    .map((field) => field.replace(/\.$/, ""))
    .join(" ")
    .toUpperCase();
}

const strip = ({ daysLeft: _, ...rest }: RrsigFacts) => rest;

describe.skipIf(missing.length > 0)(`DNSSEC on real servers${note}`, () => {
  for (const kind of ["nsd", "knot"] as const) {
    const tool = kind === "nsd" ? "dig" : "kdig";
    for (const transport of ["udp", "tcp"] as const) {
      describe(`${kind} over ${transport}, checked against ${tool} +dnssec`, () => {
        const server = () => lab[kind];

        it("valid for 30 days: the RRSIG's facts are what dnssec-signzone was given, and rrsigMinDays 7 passes", async () => {
          const zone = lab.zones.valid;
          const before = Date.now();
          const r = await probe(server(), { transport, qname: zone.www, qtype: "A", expect: { rrsigMinDays: 7 } });
          const after = Date.now();
          expect(r.failure).toBeNull();
          expect(r).toMatchObject({ ok: true, transport, rcode: "NOERROR", nsid: server().nsid });
          expect(r.dnssec).toMatchObject({ requested: true, doEchoed: true });
          expect(r.dnssec!.signatures.map(strip)).toEqual([signedWith(zone, zone.www, "A")]);
          expectDaysLeft(r.dnssec!.signatures[0]!, before, after);
          expect(r.dnssec!.signatures[0]!.daysLeft).toBeGreaterThan(29.9);
          const printed = await printedRrsigs(tool, server(), zone.www, "A", { tcp: transport === "tcp" });
          expect(r.dnssec!.signatures.map(strip)).toEqual(printed.map((p) => fromPrinted(zone.www, p)));
          // The answers show the RRSIG in presentation form, with dig's times and key tag.
          const rrsig = r.answers!.find((a) => a.type === "RRSIG")!;
          expect(rrsig.data).toContain(
            `A 13 4 300 ${signzoneTime(zone.expiration!)} ${signzoneTime(zone.inception!)} ${zone.keyTag} ${zone.zone} `,
          );
        });

        it("a CNAME answer: both RRsets' signatures, in message order", async () => {
          const zone = lab.zones.valid;
          const r = await probe(server(), { transport, qname: zone.alias, qtype: "A", expect: { rrsigMinDays: 7 } });
          expect(r.failure).toBeNull();
          expect(r.dnssec!.signatures.map(strip)).toEqual([signedWith(zone, zone.alias, "CNAME"), signedWith(zone, zone.www, "A")]);
        });

        it("expiring in 3 days: dnssec_signature_expiring naming the RRset, key tag, signer and expiration; passes with rrsigMinDays 2", async () => {
          const zone = lab.zones.expiring;
          const before = Date.now();
          const r = await probe(server(), { transport, qname: zone.www, qtype: "A", expect: { rrsigMinDays: 7 } });
          const after = Date.now();
          expect(r.failure?.code).toBe("dnssec_signature_expiring");
          expect(r.failure?.message).toContain(`RRSIG over ${zone.www} A (key tag ${zone.keyTag}, algorithm 13, signer ${zone.zone}.)`);
          expect(r.failure?.message).toContain(`expires at ${zone.expiration!.toISOString()}`);
          expect(r.dnssec!.signatures.map(strip)).toEqual([signedWith(zone, zone.www, "A")]);
          expectDaysLeft(r.dnssec!.signatures[0]!, before, after);
          expect(r.pop?.id).toBe(server().nsid);
          const relaxed = await probe(server(), { transport, qname: zone.www, qtype: "A", expect: { rrsigMinDays: 2 } });
          expect(relaxed.failure).toBeNull();
        });

        it("expired 10 days ago: dnssec_signature_expired, negative days left", async () => {
          const zone = lab.zones.expired;
          const r = await probe(server(), { transport, qname: zone.www, qtype: "A", expect: { rrsigMinDays: 0 } });
          expect(r.failure?.code).toBe("dnssec_signature_expired");
          expect(r.failure?.message).toContain(`expired at ${zone.expiration!.toISOString()}`);
          expect(r.dnssec!.signatures.map(strip)).toEqual([signedWith(zone, zone.www, "A")]);
          expect(r.dnssec!.signatures[0]!.daysLeft).toBeCloseTo(-10, 1);
          const printed = await printedRrsigs(tool, server(), zone.www, "A", { tcp: transport === "tcp" });
          expect(r.dnssec!.signatures.map(strip)).toEqual(printed.map((p) => fromPrinted(zone.www, p)));
          // Recorded without judging when no RRSIG expectation is set.
          const recordOnly = await probe(server(), { transport, qname: zone.www, qtype: "A", dnssec: true });
          expect(recordOnly.failure).toBeNull();
          expect(recordOnly.dnssec!.signatures).toHaveLength(1);
        });

        it("inception 2 days ahead: dnssec_signature_expired (not yet valid)", async () => {
          const zone = lab.zones.future;
          const r = await probe(server(), { transport, qname: zone.www, qtype: "A", expect: { rrsigMinDays: 7 } });
          expect(r.failure?.code).toBe("dnssec_signature_expired");
          expect(r.failure?.message).toContain(`is not valid before ${zone.inception!.toISOString()}`);
          expect(r.dnssec!.signatures.map(strip)).toEqual([signedWith(zone, zone.www, "A")]);
          expect(r.dnssec!.signatures[0]!.daysLeft).toBeCloseTo(32, 1);
        });

        it("unsigned: dnssec_unsigned naming the RRset; DO alone records no signatures and passes", async () => {
          const zone = lab.zones.unsigned;
          const r = await probe(server(), { transport, qname: zone.www, qtype: "A", expect: { rrsigMinDays: 7 } });
          expect(r.failure).toEqual({ code: "dnssec_unsigned", message: `no RRSIG covers ${zone.www} A` });
          expect(r.dnssec).toEqual({ requested: true, doEchoed: true, signatures: [] });
          expect(await printedRrsigs(tool, server(), zone.www, "A", { tcp: transport === "tcp" })).toEqual([]);
          const plain = await probe(server(), { transport, qname: zone.www, qtype: "A", dnssec: true });
          expect(plain.failure).toBeNull();
          const off = await probe(server(), { transport, qname: zone.www, qtype: "A" });
          expect(off.dnssec).toBeNull();
        });

        // NSEC3 records never answer a query (RFC 5155 §7.2.8): their presentation is unit-tested.
        it(`DNSKEY, NSEC, NSEC3PARAM and RRSIG answers read as ${tool} prints them`, async () => {
          const nsec3Zone = lab.zones[NSEC3_ZONE];
          const questions: [string, string][] = [
            [lab.zones.valid.zone, "DNSKEY"],
            [lab.zones.valid.www, "NSEC"],
            [nsec3Zone.zone, "NSEC3PARAM"],
          ];
          for (const [qname, qtype] of questions) {
            const r = await probe(server(), { transport, qname, qtype, dnssec: true });
            expect(r.failure).toBeNull();
            const printed = await printedRecords(tool, server(), qname, qtype, { tcp: transport === "tcp" });
            expect(r.answers!.map((answer) => [answer.type, presentation(answer.type, answer.data)])).toEqual(
              printed.map((record) => [record.type, presentation(record.type, record.data)]),
            );
            expect(r.answers!.map((answer) => answer.type)).toEqual([qtype, "RRSIG"]);
          }
          expect(
            presentation("NSEC3PARAM", (await probe(server(), { qname: nsec3Zone.zone, qtype: "NSEC3PARAM" })).answers![0]!.data),
          ).toBe(`1 0 0 ${NSEC3_SALT}`);
        });

        it("no answer RRset (NXDOMAIN expected) fails rrsigMinDays as unsigned", async () => {
          const zone = lab.zones.valid;
          const r = await probe(server(), {
            transport,
            qname: `nope.${zone.zone}`,
            qtype: "A",
            expect: { rcode: ["NXDOMAIN"], rrsigMinDays: 7 },
          });
          expect(r.rcode).toBe("NXDOMAIN");
          expect(r.failure?.code).toBe("dnssec_unsigned");
          expect(r.failure?.message).toContain("no answer RRset");
        });
      });
    }
  }

  for (const transport of ["udp", "tcp"] as const) {
    it(`Knot's own signer over ${transport}: key tag from keymgr, rrsig-lifetime ${KNOT_RRSIG_LIFETIME_DAYS}d, fields as kdig prints them`, async () => {
      const zone = lab.knotSigned;
      const before = Date.now();
      const r = await probe(lab.knot, { transport, qname: zone.www, qtype: "A", expect: { rrsigMinDays: KNOT_RRSIG_LIFETIME_DAYS - 1 } });
      const after = Date.now();
      expect(r.failure).toBeNull();
      const [facts] = r.dnssec!.signatures;
      expect(r.dnssec!.signatures).toHaveLength(1);
      expect(facts).toMatchObject({ name: zone.www, typeCovered: "A", algorithm: 13, keyTag: zone.keyTag, signer: `${zone.zone}.` });
      // Knot signed at start-up, after the lab's clock was read: the lifetime counts from then.
      const expiration = Date.parse(facts!.expiration);
      expect(expiration).toBeGreaterThanOrEqual(lab.signedAt.getTime() + KNOT_RRSIG_LIFETIME_DAYS * DAY_MS);
      expect(expiration).toBeLessThanOrEqual(after + KNOT_RRSIG_LIFETIME_DAYS * DAY_MS);
      expect(Date.parse(facts!.inception)).toBeLessThan(lab.signedAt.getTime() + 1000);
      expectDaysLeft(facts!, before, after);
      const printed = await printedRrsigs("kdig", lab.knot, zone.www, "A", { tcp: transport === "tcp" });
      expect(r.dnssec!.signatures.map(strip)).toEqual(printed.map((p) => fromPrinted(zone.www, p)));
      const tooStrict = await probe(lab.knot, {
        transport,
        qname: zone.www,
        qtype: "A",
        expect: { rrsigMinDays: KNOT_RRSIG_LIFETIME_DAYS + 1 },
      });
      expect(tooStrict.failure?.code).toBe("dnssec_signature_expiring");
      expect(tooStrict.failure?.message).toContain(`key tag ${zone.keyTag}, algorithm 13, signer ${zone.zone}.`);
    });
  }

  describe("AD from a validating resolver (Unbound, the zones' DS as trust anchors)", () => {
    it("valid zone through Unbound: AD set, expect.ad passes; the same question to NSD directly is dnssec_unauthenticated", async () => {
      const zone = lab.zones.valid;
      const ask = { qname: zone.www, qtype: "A", recursionDesired: true, dnssec: true, expect: { ad: true, rrsigMinDays: 7 } };
      const validated = await probe(lab.unbound, ask);
      expect(validated.failure).toBeNull();
      expect(validated.flags?.ad).toBe(true);
      expect(validated.dnssec!.signatures.map(strip)).toEqual([signedWith(zone, zone.www, "A")]);
      const printed = await printedRrsigs("dig", lab.unbound, zone.www, "A", { recurse: true });
      expect(validated.dnssec!.signatures.map(strip)).toEqual(printed.map((p) => fromPrinted(zone.www, p)));

      const direct = await probe(lab.nsd, { ...ask, recursionDesired: false });
      expect(direct.flags?.ad).toBe(false);
      expect(direct.failure?.code).toBe("dnssec_unauthenticated");
    });

    it("expect.ad without DO: the query's AD bit asks Unbound to report validation (RFC 6840 §5.7)", async () => {
      const zone = lab.zones.expiring;
      const r = await probe(lab.unbound, { transport: "tcp", qname: zone.www, qtype: "A", recursionDesired: true, expect: { ad: true } });
      expect(r.failure).toBeNull();
      expect(r.flags?.ad).toBe(true);
      expect(r.dnssec).toBeNull();
    });

    it("unsigned zone through Unbound: insecure, AD clear, dnssec_unauthenticated", async () => {
      const zone = lab.zones.unsigned;
      const r = await probe(lab.unbound, { qname: zone.www, qtype: "A", recursionDesired: true, dnssec: true, expect: { ad: true } });
      expect(r.rcode).toBe("NOERROR");
      expect(r.flags?.ad).toBe(false);
      expect(r.failure?.code).toBe("dnssec_unauthenticated");
    });

    it("expired and not-yet-valid zones through Unbound: bogus, SERVFAIL", async () => {
      for (const zone of [lab.zones.expired, lab.zones.future]) {
        const r = await probe(lab.unbound, { qname: zone.www, qtype: "A", recursionDesired: true, dnssec: true, expect: { ad: true } });
        expect(r.rcode).toBe("SERVFAIL");
        expect(r.failure?.code).toBe("dns_rcode");
      }
    });
  });
});
