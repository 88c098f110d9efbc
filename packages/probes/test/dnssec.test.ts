// DNSSEC in the DNS decoder and in the shared response recording/judging:
// RRSIG RDATA, serial-number signature times, which signatures cover the
// answer, the verdicts and their order, and totality on arbitrary bytes.
import type { DnsDetails, PopEvidence } from "@popwatch/core";
import * as dnsPacket from "dns-packet";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatRdata } from "../src/dns/rdata";
import { judgeDnsResponse, recordDnsQuery, recordDnsResponse } from "../src/dns/response";
import { decodeRrsig, signatureTimeMs } from "../src/dns/rrsig";
import { type CompiledDnsSpec, compileDnsSpec } from "../src/dns/spec";
import { type DnsMessage, parseDnsMessage } from "../src/dns/wire";
import type { DnsExpectations } from "../src/types";
import { dnsSpec } from "./support/dns-spec";

const DAY_S = 86_400;
// A fixed probe time: 2026-12-06T12:00:00Z.
const NOW_MS = Date.UTC(2026, 11, 6, 12, 0, 0);
const NOW_S = NOW_MS / 1000;

function plan(expect: DnsExpectations = {}, dnssecOk = true): CompiledDnsSpec {
  return compileDnsSpec(dnsSpec({ address: "127.0.0.1", port: 53 }, { dnssecOk, expect }));
}

interface SigOptions {
  name?: string;
  typeCovered?: string;
  inception?: number;
  expiration?: number;
  keyTag?: number;
  signer?: string;
}

function rrsig(options: SigOptions = {}): dnsPacket.Answer {
  return {
    name: options.name ?? "www.example.test",
    type: "RRSIG",
    class: "IN",
    ttl: 300,
    data: {
      typeCovered: options.typeCovered ?? "A",
      algorithm: 13,
      labels: 3,
      originalTTL: 300,
      expiration: options.expiration ?? NOW_S + 30 * DAY_S,
      inception: options.inception ?? NOW_S - 3600,
      keyTag: options.keyTag ?? 4242,
      signersName: options.signer ?? "example.test",
      signature: Buffer.alloc(64, 9),
    },
  } as dnsPacket.Answer;
}

const a = (name = "www.example.test", address = "198.51.100.1"): dnsPacket.Answer => ({
  name,
  type: "A",
  class: "IN",
  ttl: 300,
  data: address,
});

function encode(answers: dnsPacket.Answer[], options: { ad?: boolean; doEchoed?: boolean; rcode?: number } = {}): Buffer {
  return dnsPacket.encode({
    type: "response",
    id: 1,
    flags: dnsPacket.AUTHORITATIVE_ANSWER | (options.ad ? dnsPacket.AUTHENTIC_DATA : 0) | (options.rcode ?? 0),
    questions: [{ name: "www.example.test", type: "A", class: "IN" }],
    answers,
    additionals: [
      {
        type: "OPT",
        name: ".",
        udpPayloadSize: 1232,
        extendedRcode: 0,
        ednsVersion: 0,
        flags: (options.doEchoed ?? true) ? 0x8000 : 0,
        options: [],
      },
    ] as unknown as dnsPacket.Answer[],
  });
}

function message(bytes: Buffer): DnsMessage {
  const parsed = parseDnsMessage(bytes);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.message;
}

function record(p: CompiledDnsSpec, m: DnsMessage, nowMs = NOW_MS): Partial<DnsDetails> {
  const facts: Partial<DnsDetails> = {};
  const evidence: PopEvidence = {};
  recordDnsQuery(p, facts);
  recordDnsResponse(p, facts, evidence, m, nowMs);
  return facts;
}

describe("RRSIG RDATA", () => {
  it("decodes every field of RFC 4034 §3.1 as dns-packet encoded them", () => {
    const m = message(encode([a(), rrsig({ keyTag: 61000, signer: "Example.TEST" })]));
    expect(m.signatures).toEqual([
      {
        name: "www.example.test",
        class: "IN",
        typeCovered: 1,
        algorithm: 13,
        labels: 3,
        originalTtl: 300,
        expiration: NOW_S + 30 * DAY_S,
        inception: NOW_S - 3600,
        keyTag: 61000,
        signer: "Example.TEST",
      },
    ]);
    expect(m.brokenSignatures).toBe(0);
    expect(m.answers[1]!.data).toBe(
      `A 13 3 300 20270105120000 20261206110000 61000 Example.TEST ${Buffer.alloc(64, 9).toString("base64")}`,
    );
  });

  it("agrees with dns-packet on arbitrary RRSIGs", () => {
    const label = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,12}$/);
    const signer = fc.array(label, { minLength: 0, maxLength: 3 }).map((labels) => (labels.length === 0 ? "." : labels.join(".")));
    const fields = fc.record({
      typeCovered: fc.constantFrom("A", "AAAA", "SOA", "TXT", "DNSKEY", "CNAME"),
      algorithm: fc.integer({ min: 0, max: 255 }),
      labels: fc.integer({ min: 0, max: 255 }),
      originalTTL: fc.integer({ min: 0, max: 0xffffffff }),
      expiration: fc.integer({ min: 0, max: 0xffffffff }),
      inception: fc.integer({ min: 0, max: 0xffffffff }),
      keyTag: fc.integer({ min: 0, max: 0xffff }),
      signersName: signer,
      signature: fc.uint8Array({ minLength: 1, maxLength: 80 }).map((b) => Buffer.from(b)),
    });
    fc.assert(
      fc.property(fields, (data) => {
        const m = message(encode([{ name: "www.example.test", type: "RRSIG", class: "IN", ttl: 1, data } as dnsPacket.Answer]));
        expect(m.signatures).toHaveLength(1);
        const s = m.signatures[0]!;
        expect([s.algorithm, s.labels, s.originalTtl, s.expiration, s.inception, s.keyTag, s.signer]).toEqual([
          data.algorithm,
          data.labels,
          data.originalTTL,
          data.expiration,
          data.inception,
          data.keyTag,
          data.signersName,
        ]);
        expect(m.answers[0]!.data.split(" ")[0]).toBe(data.typeCovered);
      }),
      { numRuns: 500 },
    );
  });

  it("is not an RRSIG when too short, without signature bytes, or with a compressed or overrunning signer", () => {
    const fixed = Buffer.alloc(18, 1);
    const cases: Buffer[] = [
      Buffer.alloc(0),
      Buffer.alloc(18),
      Buffer.concat([fixed, Buffer.from([0])]), // signer, but no signature
      Buffer.concat([fixed, Buffer.from([0xc0, 0x00, 1, 2])]), // compressed signer (RFC 4034 §3.1.7)
      Buffer.concat([fixed, Buffer.from([7, 0x65, 0x78])]), // label runs past the RDATA
      Buffer.concat([fixed, Buffer.from([0x40, 0, 1])]), // reserved label type
    ];
    for (const rdata of cases) expect(decodeRrsig(rdata, 0, rdata.length)).toBeNull();
    expect(decodeRrsig(Buffer.concat([fixed, Buffer.from([0, 0xaa])]), 0, 20)).toMatchObject({ signer: ".", signatureStart: 19 });
  });

  it("NSEC3 and NSEC3PARAM in presentation form (RFC 5155 Appendix B's example record)", () => {
    // 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example. NSEC3 1 1 12 aabbccdd 2t7b4g4vsa5smi47k61mv5bv1a22bojr MX DNSKEY NS SOA NSEC3PARAM RRSIG
    const hash = Buffer.from("174eb2409fe28bcb4887a1836f957f0a8425e27b", "hex");
    const nsec3 = {
      algorithm: 1,
      flags: 1,
      iterations: 12,
      salt: Buffer.from("aabbccdd", "hex"),
      nextDomain: hash,
      rrtypes: ["MX", "DNSKEY", "NS", "SOA", "NSEC3PARAM", "RRSIG"],
    };
    const param = Buffer.from([1, 0, 0, 12, 4, 0xaa, 0xbb, 0xcc, 0xdd]);
    const record = (type: string, data: unknown) => ({ name: "www.example.test", type, class: "IN", ttl: 1, data }) as dnsPacket.Answer;
    const m = message(
      encode([
        record("NSEC3", nsec3),
        record("NSEC3PARAM", param),
        record("NSEC3PARAM", Buffer.from([1, 0, 0, 0, 0])),
        // Salt length overruns the RDATA: generic form.
        record("NSEC3PARAM", Buffer.from([1, 0, 0, 0, 9])),
      ]),
    );
    expect(m.answers.map((answer) => answer.data)).toEqual([
      "1 1 12 AABBCCDD 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR NS SOA MX RRSIG DNSKEY NSEC3PARAM",
      "1 0 12 AABBCCDD",
      "1 0 0 -",
      "\\# 5 0100000009",
    ]);
  });

  it("a broken RRSIG in the answer is counted, shown in generic form, and leaves the message decodable", () => {
    const good = encode([a(), rrsig()]);
    // Cut the RRSIG's RDATA to 10 bytes: rewrite its RDLENGTH and drop the rest.
    const rdlengthAt = good.indexOf(Buffer.from([0x00, 0x2e, 0x00, 0x01])) + 8;
    const bytes = Buffer.concat([good.subarray(0, rdlengthAt), Buffer.from([0, 10]), good.subarray(rdlengthAt + 2, rdlengthAt + 12)]);
    bytes.writeUInt16BE(0, 10); // no OPT record left
    const m = message(bytes);
    expect(m.signatures).toEqual([]);
    expect(m.brokenSignatures).toBe(1);
    expect(m.answers[1]!.data).toMatch(/^\\# 10 /);
    const failure = judgeDnsResponse(plan({ rrsigMinDays: 1 }), m, NOW_MS);
    expect(failure).toEqual({
      code: "dnssec_unsigned",
      message: "no RRSIG covers www.example.test A; 1 RRSIG record(s) could not be decoded; the server did not echo DO",
    });
  });

  it("DNSSEC presentation formatters never throw on arbitrary RDATA", () => {
    fc.assert(
      fc.property(fc.constantFrom(43, 46, 47, 48, 50, 51), fc.uint8Array({ maxLength: 120 }), (type, bytes) => {
        const text = formatRdata(Buffer.from(bytes), type, 0, bytes.length);
        expect(typeof text).toBe("string");
        if (text.startsWith("\\#"))
          expect(text).toBe(bytes.length > 0 ? `\\# ${bytes.length} ${Buffer.from(bytes).toString("hex")}` : "\\# 0");
      }),
      { numRuns: 5000 },
    );
  });

  it("never throws on arbitrary RDATA, and what it returns stays inside it", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.nat(), fc.nat(), (bytes, x, y) => {
        const buf = Buffer.from(bytes);
        const start = bytes.length === 0 ? 0 : x % (bytes.length + 1);
        const end = start + (bytes.length === 0 ? 0 : y % (bytes.length - start + 1));
        const decoded = decodeRrsig(buf, start, end);
        if (decoded) {
          expect(decoded.signatureStart).toBeGreaterThan(start + 18);
          expect(decoded.signatureStart).toBeLessThan(end);
        }
      }),
      { numRuns: 5000 },
    );
  });
});

describe("signature times are serial numbers (RFC 4034 §3.1.5, RFC 1982)", () => {
  it("reads a time near the probe as the instant it names", () => {
    expect(signatureTimeMs(NOW_S + 3 * DAY_S, NOW_MS)).toBe(NOW_MS + 3 * DAY_S * 1000);
    expect(signatureTimeMs(NOW_S - 10 * DAY_S, NOW_MS)).toBe(NOW_MS - 10 * DAY_S * 1000);
  });

  it("wraps past 2106: a small value just after the wrap is in the future, not in 1970", () => {
    const nearWrapMs = (2 ** 32 - DAY_S) * 1000; // 2106-02-06
    expect(new Date(signatureTimeMs(DAY_S, nearWrapMs)).toISOString()).toBe("2106-02-08T06:28:16.000Z");
    // and before the wrap, a value just below 2^32 is the recent past, not 2106
    expect(signatureTimeMs(2 ** 32 - DAY_S, 2 * DAY_S * 1000)).toBe(-DAY_S * 1000);
  });

  it("any value maps to the instant with those low 32 bits within 2^31 s of now", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 2 ** 33 }), (serial, nowS) => {
        const ms = signatureTimeMs(serial, nowS * 1000 + 500);
        const s = ms / 1000;
        expect(Number.isInteger(s)).toBe(true);
        expect(((s % 2 ** 32) + 2 ** 32) % 2 ** 32).toBe(serial);
        expect(s - nowS).toBeGreaterThanOrEqual(-(2 ** 31));
        expect(s - nowS).toBeLessThan(2 ** 31);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("DNSSEC facts", () => {
  it("records the RRSIGs covering the answer RRsets, in message order, signer with the trailing dot", () => {
    const m = message(
      encode([
        { name: "alias.example.test", type: "CNAME", class: "IN", ttl: 300, data: "www.example.test" },
        rrsig({ name: "alias.example.test", typeCovered: "CNAME", keyTag: 1 }),
        a(),
        rrsig({ typeCovered: "A", keyTag: 2, expiration: NOW_S + 3 * DAY_S + 43_200 }),
        // Covers nothing in this answer (no AAAA RRset, and no RRset at other.example.test).
        rrsig({ typeCovered: "AAAA", keyTag: 3 }),
        rrsig({ name: "other.example.test", keyTag: 4 }),
      ]),
    );
    const facts = record(plan(), m);
    expect(facts.dnssec).toEqual({
      requested: true,
      doEchoed: true,
      signatures: [
        {
          name: "alias.example.test",
          typeCovered: "CNAME",
          algorithm: 13,
          keyTag: 1,
          signer: "example.test.",
          inception: "2026-12-06T11:00:00.000Z",
          expiration: "2027-01-05T12:00:00.000Z",
          daysLeft: 30,
        },
        {
          name: "www.example.test",
          typeCovered: "A",
          algorithm: 13,
          keyTag: 2,
          signer: "example.test.",
          inception: "2026-12-06T11:00:00.000Z",
          expiration: "2026-12-10T00:00:00.000Z",
          daysLeft: 3.5,
        },
      ],
    });
  });

  it("owner names match ASCII case-insensitively; a root signer stays `.`", () => {
    const m = message(encode([a("WWW.Example.test"), rrsig({ name: "www.example.TEST", signer: "." })]));
    expect(record(plan(), m).dnssec?.signatures.map((s) => [s.name, s.signer])).toEqual([["www.example.TEST", "."]]);
  });

  it("without DO nothing is recorded", () => {
    const m = message(encode([a(), rrsig()]));
    expect(record(plan({}, false), m).dnssec).toBeNull();
  });

  it("days left count from the clock given, negative once expired", () => {
    const m = message(encode([a(), rrsig({ expiration: NOW_S - 2 * DAY_S })]));
    expect(record(plan(), m).dnssec?.signatures[0]?.daysLeft).toBe(-2);
    expect(record(plan(), m, NOW_MS - 3 * DAY_S * 1000).dnssec?.signatures[0]?.daysLeft).toBe(1);
  });
});

describe("DNSSEC verdicts", () => {
  const judge = (expect: DnsExpectations, answers: dnsPacket.Answer[], options: Parameters<typeof encode>[1] = {}) =>
    judgeDnsResponse(plan(expect), message(encode(answers, options)), NOW_MS);

  it("passes a signed, current answer", () => {
    expect(judge({ rrsigMinDays: 7, ad: true }, [a(), rrsig()], { ad: true })).toBeNull();
  });

  it("expect.ad: AD clear is dnssec_unauthenticated", () => {
    expect(judge({ ad: true }, [a()])?.code).toBe("dnssec_unauthenticated");
    expect(judge({ ad: true }, [a()], { ad: true })).toBeNull();
  });

  it("an RRset without a covering RRSIG is dnssec_unsigned, naming it", () => {
    expect(judge({ rrsigMinDays: 1 }, [a(), { name: "www.example.test", type: "TXT", class: "IN", ttl: 1, data: "x" }, rrsig()])).toEqual({
      code: "dnssec_unsigned",
      message: "no RRSIG covers www.example.test TXT",
    });
  });

  it("says when the query itself did not set DO", () => {
    const failure = judgeDnsResponse(plan({ rrsigMinDays: 1 }, false), message(encode([a()], { doEchoed: false })), NOW_MS);
    expect(failure).toEqual({
      code: "dnssec_unsigned",
      message: "no RRSIG covers www.example.test A; the query did not set DO (dnssec: false)",
    });
  });

  it("no answer RRset at all is dnssec_unsigned (nothing to check the expectation on)", () => {
    expect(judge({ rcode: ["NXDOMAIN"], rrsigMinDays: 1 }, [], { rcode: 3 })).toEqual({
      code: "dnssec_unsigned",
      message: "no answer RRset to carry an RRSIG (rcode NXDOMAIN, 0 answers)",
    });
  });

  it("past expiration or before inception is dnssec_signature_expired", () => {
    const expired = judge({ rrsigMinDays: 0 }, [a(), rrsig({ expiration: NOW_S - 1 })]);
    expect(expired).toEqual({
      code: "dnssec_signature_expired",
      message: "RRSIG over www.example.test A (key tag 4242, algorithm 13, signer example.test.) expired at 2026-12-06T11:59:59.000Z",
    });
    const early = judge({ rrsigMinDays: 0 }, [a(), rrsig({ inception: NOW_S + 60 })]);
    expect(early?.code).toBe("dnssec_signature_expired");
    expect(early?.message).toContain("is not valid before 2026-12-06T12:01:00.000Z");
    // The boundary second itself is still valid (RFC 4035 §5.3.1).
    expect(judge({ rrsigMinDays: 0 }, [a(), rrsig({ expiration: NOW_S, inception: NOW_S })])).toBeNull();
  });

  it("expiring within N days names the RRset and the first-expiring signature", () => {
    const failure = judge({ rrsigMinDays: 7 }, [
      a(),
      rrsig({ keyTag: 10, expiration: NOW_S + 6 * DAY_S }),
      rrsig({ keyTag: 11, expiration: NOW_S + 2 * DAY_S }),
    ]);
    expect(failure).toEqual({
      code: "dnssec_signature_expiring",
      message:
        "RRSIG over www.example.test A (key tag 11, algorithm 13, signer example.test.) expires at 2026-12-08T12:00:00.000Z, in 2 days (rrsigMinDays 7)",
    });
    expect(judge({ rrsigMinDays: 2 }, [a(), rrsig({ expiration: NOW_S + 2 * DAY_S })])).toBeNull();
  });

  it("order: rcode, answer pattern, AD, unsigned, expired, expiring", () => {
    const expiredAndUnsigned = [
      a(),
      rrsig({ expiration: NOW_S - 1 }),
      { name: "www.example.test", type: "TXT", class: "IN", ttl: 1, data: "x" },
    ];
    expect(judge({ rrsigMinDays: 7, ad: true }, expiredAndUnsigned as dnsPacket.Answer[], { rcode: 2 })?.code).toBe("dns_rcode");
    expect(judge({ rrsigMinDays: 7, ad: true, answer: "^203\\." }, expiredAndUnsigned as dnsPacket.Answer[])?.code).toBe("answer_mismatch");
    expect(judge({ rrsigMinDays: 7, ad: true }, expiredAndUnsigned as dnsPacket.Answer[])?.code).toBe("dnssec_unauthenticated");
    expect(judge({ rrsigMinDays: 7 }, expiredAndUnsigned as dnsPacket.Answer[])?.code).toBe("dnssec_unsigned");
    expect(judge({ rrsigMinDays: 7 }, [a(), rrsig({ expiration: NOW_S + DAY_S }), rrsig({ expiration: NOW_S - 1 })])?.code).toBe(
      "dnssec_signature_expired",
    );
  });

  it("expect.ad sets AD in the query (RFC 6840 §5.7)", () => {
    expect(plan({ ad: true }).main.template.readUInt16BE(2) & 0x0020).toBe(0x0020);
    expect(plan({}).main.template.readUInt16BE(2) & 0x0020).toBe(0);
  });

  it("recording and judging never throw on mutated signed responses", () => {
    const seed = encode([
      { name: "alias.example.test", type: "CNAME", class: "IN", ttl: 300, data: "www.example.test" },
      rrsig({ name: "alias.example.test", typeCovered: "CNAME" }),
      a(),
      rrsig(),
    ]);
    const strict = plan({ rrsigMinDays: 7, ad: true });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: 2 ** 33 }),
        (flips, nowS) => {
          const bytes = Buffer.from(seed);
          for (const [at, value] of flips) bytes[at % bytes.length] = value;
          const parsed = parseDnsMessage(bytes);
          if (!parsed.ok) return;
          const facts = record(strict, parsed.message, nowS * 1000);
          for (const s of facts.dnssec?.signatures ?? []) expect(Number.isFinite(s.daysLeft)).toBe(true);
          const failure = judgeDnsResponse(strict, parsed.message, nowS * 1000);
          if (failure) expect(typeof failure.message).toBe("string");
        },
      ),
      { numRuns: 3000 },
    );
  });
});
