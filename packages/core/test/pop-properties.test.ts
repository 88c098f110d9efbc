import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PROBE_KINDS, type Pop, type PopEvidence, type ProbeKind, createPopIdentifier } from "../src/index";
import { decodeAzureRef } from "../src/pop/azure-ref";
import { BUILTIN_POP_PATTERNS, PER_REQUEST_HEADERS } from "../src/pop/builtins";
import { clientFacingCdn } from "../src/pop/cdn-layers";
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
    "1.1 varnish, 1.1 abc.cloudfront.net (CloudFront)",
    "Hit from cloudfront, HIT",
    "cloudflare",
    "BunnyCDN-DE1-1042",
    "Ref A: 1 Ref B: STOEDGE0417 Ref C: x",
    "0zxV+XAAAAABKMMOjBv2NT4TY6SQVjC0zV1NURURHRTA2MTkANDM3YzgyY2QtMzYwYS00YTU0LTk0YzMtNWZmNzA3NjQ3Nzgz",
    "((((,,,))))",
  ),
);
const junk = fc.oneof(fc.constant(null), fc.integer(), fc.boolean(), fc.array(fc.string()), fc.object(), fc.constant(undefined));
const stringOrJunk = fc.oneof(anyString, anyString, junk);
const headerName = fc.oneof(
  fc.constantFrom(
    "cf-ray",
    "x-amz-cf-pop",
    "x-served-by",
    "x-vercel-id",
    "fly-request-id",
    "x-msedge-ref",
    "x-azure-ref",
    "server",
    "via",
    "x-cache",
    "x-pop",
    "CF-Ray",
    "__proto__",
    "constructor",
  ),
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
      `${"1.1 varnish (".repeat(200)}${")".repeat(200)}`,
      `Ref B: ${"A".repeat(500)}`,
      `0${"A".repeat(5000)}`,
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
          "x-msedge-ref": value,
          "x-azure-ref": value,
          server: value,
          via: value,
          "x-cache": value,
          "x-pop": value,
        },
      });
    }
    expect(performance.now() - start).toBeLessThan(1000);
  });

  it("decodeAzureRef never throws and yields a bounded edge name or null", () => {
    const base64ish = fc.string({
      unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
      maxLength: 300,
    });
    fc.assert(
      fc.property(
        fc.oneof(
          anyString,
          base64ish.map((value) => `0${value}`),
        ),
        (value) => {
          const name = decodeAzureRef(value);
          if (name !== null) expect(name).toMatch(/^[A-Za-z0-9]{1,32}$/);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("clientFacingCdn never throws on any Via, X-Cache and Server", () => {
    const names = fc.constantFrom("via", "x-cache", "server", "cf-ray", "x-amz-cf-pop", "x-served-by", "x-azure-ref", "fly-request-id");
    fc.assert(
      fc.property(fc.dictionary(names, anyString, { maxKeys: 8 }), (headers) => {
        const cdn = clientFacingCdn(new Map(Object.entries(headers)));
        expect(cdn === null || typeof cdn === "string").toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("a per-request header gives a PoP only through its site code, never its raw value", () => {
    fc.assert(
      fc.property(fc.constantFrom(...PER_REQUEST_HEADERS), anyString, (name, value) => {
        const pop = withRules("http", { headers: { [name]: value } });
        if (pop === null) return;
        const readers = BUILTIN_POP_PATTERNS.filter((candidate) => candidate.sources.includes(`header:${name}`));
        const readBySome = readers.some((entry) => {
          const text = entry.decode ? entry.decode(value) : value;
          return text !== null && entry.pattern.test(text);
        });
        expect(readBySome).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
