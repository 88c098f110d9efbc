import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PROBE_KINDS, type Pop, type PopEvidence, type ProbeKind, createPopIdentifier } from "../src/index";
import { BUILTIN_POP_PATTERNS } from "../src/pop/builtins";
import { MAX_MATCHED_EVIDENCE_LENGTH, canonicalPopId } from "../src/pop/identify";

const withoutRules = createPopIdentifier();
const withRules = createPopIdentifier({
  rules: [
    { source: "nsid", regex: "^(?<iata>[a-z]{3})-(\\d+)$", template: "$<iata>$2" },
    { source: "header:x-pop", regex: "(.*)", template: "$1" },
    { source: "tls-fingerprint", regex: "^(..)", template: "fp-$1" },
  ],
  tlsFingerprints: { ["ab".repeat(32)]: "pop-tls" },
});

// Every shape a string can take at runtime, including the surrogate and control characters real NSIDs carry.
const anyString = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 80 }),
  fc.string({ unit: "binary", maxLength: 80 }),
  fc.string({ maxLength: 2000 }),
  fc.constantFrom(
    "yul01",
    "gpdns-bud",
    "8c9a1b2c3d4e5f60-FRA",
    "cache-a-JFK, cache-b-ORD",
    "fra1::x",
    "k2.linx.k.ripe.net",
    "pop-a",
    "   ",
    "İSTANBUL",
    "\u0000",
  ),
);
const junk = fc.oneof(fc.constant(null), fc.integer(), fc.boolean(), fc.array(fc.string()), fc.object(), fc.constant(undefined));
const stringOrJunk = fc.oneof(anyString, anyString, junk);
const headerName = fc.oneof(
  fc.constantFrom("cf-ray", "x-amz-cf-pop", "x-served-by", "x-vercel-id", "fly-request-id", "x-pop", "CF-Ray", "__proto__", "constructor"),
  fc.string({ maxLength: 20 }),
);

const evidence: fc.Arbitrary<PopEvidence> = fc.record(
  {
    nsid: stringOrJunk,
    chaos: fc.oneof(fc.record({ "id.server": stringOrJunk, "hostname.bind": stringOrJunk }, { requiredKeys: [] }), junk),
    headers: fc.oneof(fc.dictionary(headerName, stringOrJunk, { maxKeys: 8 }), junk),
    tlsFingerprint: fc.oneof(stringOrJunk, fc.constant("AB:".repeat(31) + "AB")),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<PopEvidence>;

function assertWellFormed(pop: Pop | null): void {
  if (pop === null) return;
  expect(typeof pop.id).toBe("string");
  expect(pop.id.length).toBeGreaterThan(0);
  expect(pop.id.length).toBeLessThanOrEqual(64);
  expect(pop.id).toBe(pop.id.toLowerCase());
  expect(pop.id).toBe(pop.id.trim());
  expect(pop.iata === null || /^[a-z]{3}$/.test(pop.iata)).toBe(true);
  expect(typeof pop.raw).toBe("string");
  expect(pop.source).toMatch(/^(nsid|id\.server|hostname\.bind|tls-fingerprint|header:.+)$/);
}

describe("PoP identification properties", () => {
  // A throw fails the property by itself, so no expect(...).not.toThrow() wrapper is needed.
  it("never throws and always returns null or a well-formed Pop", () => {
    fc.assert(
      fc.property(fc.constantFrom<ProbeKind>(...PROBE_KINDS), evidence, (kind, ev) => {
        for (const identify of [withoutRules, withRules]) {
          assertWellFormed(identify(kind, ev));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("never throws on evidence that is not an object at all", () => {
    fc.assert(
      fc.property(fc.anything(), fc.anything(), (kind, ev) => {
        const pop = withRules(kind as ProbeKind, ev as PopEvidence);
        assertWellFormed(pop);
      }),
    );
  });

  it("raw is the evidence value, unmodified", () => {
    fc.assert(
      fc.property(anyString, (value) => {
        const pop = withoutRules("dns", { nsid: value });
        if (pop) expect(pop.raw).toBe(value);
        const viaHeader = withoutRules("http", { headers: { "x-served-by": value } });
        if (viaHeader) expect(viaHeader.raw).toBe(value);
      }),
    );
  });

  it("the same unknown identity gives the same id over DNS and HTTP", () => {
    fc.assert(
      fc.property(anyString, (value) => {
        const fromDns = withoutRules("dns", { nsid: value });
        const fromHttp = withoutRules("http", { headers: { "x-served-by": value } });
        expect(fromDns === null).toBe(canonicalPopId(value) === "");
        const knownShape = value.length <= MAX_MATCHED_EVIDENCE_LENGTH && BUILTIN_POP_PATTERNS.some((entry) => entry.pattern.test(value));
        if (!knownShape) expect(fromHttp?.id).toBe(fromDns?.id);
      }),
    );
  });

  it("is fast on huge and adversarial values", () => {
    const adversarial = [
      "a".repeat(1_000_000),
      `${"-".repeat(511)}x`,
      `cache-${"a-".repeat(250)}`,
      `${"cache-aa-AAA,".repeat(39)}x`,
      `res1.q${"a".repeat(500)}`,
      `${"ab::".repeat(128)}`,
    ];
    const start = performance.now();
    for (const value of adversarial) {
      withRules("dns", { nsid: value, chaos: { "id.server": value, "hostname.bind": value } });
      withRules("http", {
        headers: {
          "cf-ray": value,
          "x-amz-cf-pop": value,
          "x-served-by": value,
          "x-vercel-id": value,
          "fly-request-id": value,
          "x-pop": value,
        },
      });
    }
    expect(performance.now() - start).toBeLessThan(1000);
  });
});
