import { describe, expect, it } from "vitest";
import { type Pop, type PopEvidence, type ProbeKind, createPopIdentifier } from "../src/index";
import { BUILTIN_POP_HEADERS, BUILTIN_POP_PATTERNS } from "../src/pop/builtins";
import { canonicalPopId, compilePopIdentification, identifyPop } from "../src/pop/identify";
import { parsePopIdentification } from "../src/pop/schema";
import type { PopSource } from "../src/result";

const identify = createPopIdentifier();

function evidenceFor(source: PopSource, raw: string): { kind: ProbeKind; evidence: PopEvidence } {
  if (source === "nsid") return { kind: "dns", evidence: { nsid: raw } };
  if (source === "id.server" || source === "hostname.bind") return { kind: "dns", evidence: { chaos: { [source]: raw } } };
  if (source === "tls-fingerprint") return { kind: "tls", evidence: { tlsFingerprint: raw } };
  return { kind: "http", evidence: { headers: { [source.slice("header:".length)]: raw } } };
}

// Written out independently of the table, so a table edit that changes meaning fails here.
const vectors: Pop[] = [
  { source: "nsid", raw: "k3.ams-ix.k.ripe.net", id: "ams-ix", iata: null },
  { source: "hostname.bind", raw: "ns1.fi-hel.k.ripe.net", id: "fi-hel", iata: null },
  { source: "nsid", raw: "k2.linx.k.ripe.net", id: "linx", iata: null },
  { source: "id.server", raw: "aa.de-ham.l.root", id: "de-ham", iata: null },
  { source: "nsid", raw: "nl-ams-as3333-3.anchors.atlas.ripe.net", id: "nl-ams", iata: null },
  { source: "id.server", raw: "nl-ams-as3333-3.anchors.atlas.ripe.net", id: "nl-ams", iata: null },
  { source: "nsid", raw: "nl-arn-as1140.anchors.atlas.ripe.net", id: "nl-arn", iata: null },
  { source: "id.server", raw: "yul01", id: "yul01", iata: "yul" },
  { source: "hostname.bind", raw: "FRA", id: "fra", iata: "fra" },
  { source: "nsid", raw: "gpdns-bud", id: "bud", iata: "bud" },
  { source: "nsid", raw: "gpdns-maa", id: "maa", iata: "maa" },
  { source: "id.server", raw: "res120.qyul1.on.quad9.net", id: "yul1", iata: "yul" },
  { source: "header:cf-ray", raw: "8c9a1b2c3d4e5f60-FRA", id: "fra", iata: "fra" },
  { source: "header:x-amz-cf-pop", raw: "FRA56-P5", id: "fra56", iata: "fra" },
  { source: "header:x-amz-cf-pop", raw: "LHR62-C1", id: "lhr62", iata: "lhr" },
  { source: "header:x-served-by", raw: "cache-jfk1041-JFK", id: "jfk", iata: "jfk" },
  { source: "header:x-served-by", raw: "cache-jfk1041-JFK, cache-ord1720-ORD", id: "ord", iata: "ord" },
  { source: "header:x-served-by", raw: "cache-fra-eddf8230095-FRA", id: "fra", iata: "fra" },
  { source: "header:x-vercel-id", raw: "fra1::iad1::abcde-1234", id: "fra1", iata: "fra" },
  { source: "header:fly-request-id", raw: "01HQ8V6Y3Z4K5M6N7P8R9S0T1V-ams", id: "ams", iata: "ams" },
];

describe("built-in PoP formats", () => {
  it.each(vectors)("$source $raw -> $id", ({ source, raw, id, iata }) => {
    const { kind, evidence } = evidenceFor(source, raw);
    expect(identify(kind, evidence)).toEqual({ id, iata, source, raw });
  });

  const examples = BUILTIN_POP_PATTERNS.flatMap((entry) =>
    entry.sources.flatMap((source) => entry.examples.map((example) => ({ service: entry.service, source, ...example }))),
  );
  it.each(examples)("table example: $service via $source: $raw", ({ source, raw, id, iata }) => {
    const { kind, evidence } = evidenceFor(source, raw);
    expect(identify(kind, evidence)).toEqual({ id, iata, source, raw });
  });

  it("every table pattern has a site group and at least one example", () => {
    for (const entry of BUILTIN_POP_PATTERNS) {
      expect(entry.pattern.source, entry.service).toContain("(?<site>");
      expect(entry.examples.length, entry.service).toBeGreaterThan(0);
    }
  });

  it("consults PoP headers in the documented order", () => {
    expect(BUILTIN_POP_HEADERS).toEqual([
      "cf-ray",
      "x-amz-cf-pop",
      "x-served-by",
      "x-vercel-id",
      "fly-request-id",
      "x-msedge-ref",
      "x-azure-ref",
      "server",
    ]);
    const pop = identify("http", {
      headers: { "fly-request-id": "01ABC-ams", "x-amz-cf-pop": "LHR62-C1", "cf-ray": "8c9a1b2c3d4e5f60-FRA" },
    });
    expect(pop).toMatchObject({ id: "fra", source: "header:cf-ray" });
  });

  it("does not read the generic IATA+digits shape from an NSID", () => {
    expect(identify("dns", { nsid: "abc12" })).toEqual({ id: "abc12", source: "nsid", raw: "abc12", iata: null });
  });
});

describe("evidence order", () => {
  it("1.1.1.1: an opaque NSID loses to a matching id.server", () => {
    expect(identify("dns", { nsid: "87m362", chaos: { "id.server": "yul01", "hostname.bind": "ignored" } })).toEqual({
      id: "yul01",
      source: "id.server",
      raw: "yul01",
      iata: "yul",
    });
  });

  it("NSID wins over id.server when both match", () => {
    expect(identify("dns", { nsid: "gpdns-bud", chaos: { "id.server": "yul01" } })).toMatchObject({ id: "bud", source: "nsid" });
  });

  it("hostname.bind is consulted after id.server", () => {
    expect(identify("dns", { chaos: { "id.server": "opaque-thing", "hostname.bind": "ns1.fi-hel.k.ripe.net" } })).toMatchObject({
      id: "fi-hel",
      source: "hostname.bind",
    });
  });

  it("each kind uses only its own evidence", () => {
    const everything: PopEvidence = {
      nsid: "gpdns-bud",
      headers: { "cf-ray": "8c9a1b2c3d4e5f60-FRA" },
      tlsFingerprint: "ab".repeat(32),
    };
    const withMap = createPopIdentifier({ tlsFingerprints: { ["ab".repeat(32)]: "pop-tls" } });
    expect(withMap("dns", everything)).toMatchObject({ id: "bud", source: "nsid" });
    expect(withMap("http", everything)).toMatchObject({ id: "fra", source: "header:cf-ray" });
    expect(withMap("tls", everything)).toMatchObject({ id: "pop-tls", source: "tls-fingerprint" });
    expect(withMap("tcp", everything)).toBeNull();
  });

  it("returns null without evidence", () => {
    expect(identify("dns", {})).toBeNull();
    expect(identify("http", { headers: {} })).toBeNull();
    expect(identify("tls", {})).toBeNull();
    expect(identify("dns", { nsid: "   " })).toBeNull();
  });
});

describe("fallback to the raw value", () => {
  it("the lab's nginx and DNS servers name the same PoP identically", () => {
    const fromHttp = identify("http", { headers: { "x-served-by": "pop-a", server: "nginx" } });
    const fromNsid = identify("dns", { nsid: "pop-a" });
    const fromChaos = identify("dns", { chaos: { "id.server": "pop-a", "hostname.bind": "pop-a" } });
    expect(fromHttp).toEqual({ id: "pop-a", source: "header:x-served-by", raw: "pop-a", iata: null });
    expect(fromNsid).toEqual({ id: "pop-a", source: "nsid", raw: "pop-a", iata: null });
    expect(fromChaos).toEqual({ id: "pop-a", source: "id.server", raw: "pop-a", iata: null });
  });

  it("uses the first DNS source present, unmatched", () => {
    expect(identify("dns", { nsid: "87m362", chaos: { "id.server": "weird id" } })).toEqual({
      id: "87m362",
      source: "nsid",
      raw: "87m362",
      iata: null,
    });
  });

  it("a match in a later source beats the fallback of an earlier one", () => {
    expect(identify("http", { headers: { "cf-ray": "not-a-ray-format!", "x-amz-cf-pop": "FRA56-P5" } })).toMatchObject({
      id: "fra56",
      source: "header:x-amz-cf-pop",
    });
  });

  it("trims, lowercases, collapses whitespace and caps at 64", () => {
    const raw = `  Edge   Node\tONE ${"x".repeat(100)} `;
    const pop = identify("dns", { nsid: raw });
    expect(pop?.raw).toBe(raw);
    expect(pop?.id).toBe(`edge node one ${"x".repeat(100)}`.slice(0, 64));
    expect(pop?.iata).toBeNull();
  });

  it.each([
    ["cf-ray", "8c9a1b2c3d4e5f60"],
    ["x-amz-cf-id", "bTkPDHgzMmjHzXeK-p0mDuDXc6d5BN4k1I8-5kXQnG4Y9VZP3JrTxA=="],
    ["fly-request-id", "01HQ8V6Y3Z4K5M6N7P8R9S0T1V"],
    ["x-vercel-id", "sxzfp-1712345678901-0123456789ab"],
    ["x-azure-ref", "20230711T145237Z-s9ycwr9k5t4kd1qx2q2wxu6qx400000001c000000000hbr6"],
    ["x-msedge-ref", "Ref A: 3CC74C94769440C0851D9DF0869FCE7F Ref C: 2018-04-11T18:47:40Z"],
    ["server", "nginx"],
  ])("a per-request or software value is never a PoP: %s %s", (name, value) => {
    expect(identify("http", { headers: { [name]: value } })).toBeNull();
  });

  it("not even through an operator rule on that header", () => {
    const withRule = createPopIdentifier({ rules: [{ source: "header:cf-ray", regex: "^edge-(\\w+)$", template: "$1" }] });
    expect(withRule("http", { headers: { "cf-ray": "8c9a1b2c3d4e5f60" } })).toBeNull();
  });

  it("a per-request value without its site falls through to the next header", () => {
    expect(identify("http", { headers: { "cf-ray": "8c9a1b2c3d4e5f60", "x-amz-cf-pop": "FRA56-P5" } })).toMatchObject({
      id: "fra56",
      source: "header:x-amz-cf-pop",
    });
  });

  it("generic CHAOS host names are not airports", () => {
    for (const raw of ["dns1", "DNS", "DNA", "ns1", "web01", "localhost"]) {
      expect(identify("dns", { chaos: { "hostname.bind": raw } }), raw).toMatchObject({ id: raw.toLowerCase(), iata: null });
    }
    // Three letters that are no airport the geo table knows stay opaque too.
    expect(identify("dns", { chaos: { "id.server": "zzq01" } })).toMatchObject({ id: "zzq01", iata: null });
  });

  it("does not fall back to arbitrary headers", () => {
    expect(identify("http", { headers: { server: "nginx", "x-request-id": "abc" } })).toBeNull();
  });

  it("falls back to an operator-rule header that did not match", () => {
    const withRule = createPopIdentifier({ rules: [{ source: "header:x-edge", regex: "^edge-(\\w+)$", template: "$1" }] });
    expect(withRule("http", { headers: { "x-edge": "Somewhere-Else" } })).toEqual({
      id: "somewhere-else",
      source: "header:x-edge",
      raw: "Somewhere-Else",
      iata: null,
    });
  });

  it("an operator-rule header comes before built-in headers in the fallback", () => {
    const withRule = createPopIdentifier({ rules: [{ source: "header:x-edge", regex: "^edge-(\\w+)$", template: "$1" }] });
    expect(withRule("http", { headers: { "x-served-by": "pop-a", "x-edge": "unmatched" } })).toMatchObject({
      id: "unmatched",
      source: "header:x-edge",
    });
  });

  it("oversized values are not pattern-matched but still fall back", () => {
    const raw = `cache-fra${"0".repeat(600)}-FRA`;
    const pop = identify("http", { headers: { "x-served-by": raw } });
    expect(pop).toMatchObject({ source: "header:x-served-by", raw, iata: null });
    expect(pop?.id).toHaveLength(64);
  });

  it("an oversized per-request value is no PoP", () => {
    expect(identify("http", { headers: { "cf-ray": `8c9a1b2c3d4e5f60${"0".repeat(600)}-FRA` } })).toBeNull();
  });
});

describe("operator rules", () => {
  it("expands $1 and $<name>, and takes the iata group", () => {
    const withRule = createPopIdentifier({
      rules: [{ source: "nsid", regex: "^node(\\d+)\\.(?<iata>[A-Z]{3})\\.example$", template: "$<iata>-$1" }],
    });
    expect(withRule("dns", { nsid: "node7.AMS.example" })).toEqual({
      id: "ams-7",
      source: "nsid",
      raw: "node7.AMS.example",
      iata: "ams",
    });
  });

  it("takes precedence over built-ins for the same source", () => {
    const withRule = createPopIdentifier({
      rules: [{ source: "header:cf-ray", regex: "-(?<iata>[A-Z]{3})$", template: "cf-$<iata>" }],
    });
    expect(withRule("http", { headers: { "cf-ray": "8c9a1b2c3d4e5f60-FRA" } })).toMatchObject({ id: "cf-fra", iata: "fra" });
  });

  it("a header rule is consulted before the built-in headers", () => {
    const withRule = createPopIdentifier({
      rules: [{ source: "header:X-Edge-Site", regex: "^site=(\\w+)$", template: "$1" }],
    });
    expect(withRule("http", { headers: { "cf-ray": "8c9a1b2c3d4e5f60-FRA", "x-edge-site": "site=Berlin1" } })).toEqual({
      id: "berlin1",
      source: "header:x-edge-site",
      raw: "site=Berlin1",
      iata: null,
    });
  });

  it("falls through to built-ins when the rule does not match", () => {
    const withRule = createPopIdentifier({ rules: [{ source: "nsid", regex: "^mine-(.+)$", template: "$1" }] });
    expect(withRule("dns", { nsid: "gpdns-bud" })).toMatchObject({ id: "bud", source: "nsid" });
  });

  it("a rule yielding an empty id does not count as a match", () => {
    const withRule = createPopIdentifier({ rules: [{ source: "nsid", regex: "^gpdns-(x)?", template: "$1" }] });
    expect(withRule("dns", { nsid: "gpdns-bud" })).toMatchObject({ id: "bud" });
  });

  it("an iata group that is not three letters gives iata null", () => {
    const withRule = createPopIdentifier({ rules: [{ source: "nsid", regex: "^(?<iata>\\w+)$", template: "$<iata>" }] });
    expect(withRule("dns", { nsid: "frankfurt" })).toEqual({ id: "frankfurt", source: "nsid", raw: "frankfurt", iata: null });
  });

  it("$$ is a literal dollar and unmatched groups expand to nothing", () => {
    const withRule = createPopIdentifier({ rules: [{ source: "nsid", regex: "^(a)|(b)$", template: "$$$1$2" }] });
    expect(withRule("dns", { nsid: "b" })).toMatchObject({ id: "$b" });
  });

  it("tls-fingerprint rules apply after the fingerprint map", () => {
    const fingerprint = "cd".repeat(32);
    const withRule = createPopIdentifier({
      rules: [{ source: "tls-fingerprint", regex: "^(cd)", template: "by-rule" }],
      tlsFingerprints: { ["ab".repeat(32)]: "by-map" },
    });
    expect(withRule("tls", { tlsFingerprint: fingerprint })).toMatchObject({ id: "by-rule", source: "tls-fingerprint" });
    expect(withRule("tls", { tlsFingerprint: "ab".repeat(32) })).toMatchObject({ id: "by-map" });
  });
});

describe("TLS fingerprints", () => {
  const hex = "0123456789abcdef".repeat(4);
  const colons = hex.toUpperCase().match(/../g)!.join(":");

  it("matches across hex case and colons, in config and in evidence", () => {
    const fromColons = createPopIdentifier({ tlsFingerprints: { [colons]: "PoP-Fra" } });
    expect(fromColons("tls", { tlsFingerprint: hex })).toEqual({ id: "pop-fra", source: "tls-fingerprint", raw: hex, iata: null });
    const fromPlain = createPopIdentifier({ tlsFingerprints: { [hex]: "pop-fra" } });
    expect(fromPlain("tls", { tlsFingerprint: colons })).toMatchObject({ id: "pop-fra", raw: colons });
  });

  it("an unknown fingerprint is no PoP", () => {
    expect(createPopIdentifier({ tlsFingerprints: { [hex]: "pop-fra" } })("tls", { tlsFingerprint: "ff".repeat(32) })).toBeNull();
  });
});

describe("lower-level identifyPop", () => {
  it("consults DNS, then headers, then the fingerprint", () => {
    const compiled = compilePopIdentification(parsePopIdentification({}));
    expect(identifyPop({ headers: { "cf-ray": "1-FRA" }, chaos: { "id.server": "yul01" } }, compiled)).toMatchObject({
      id: "yul01",
    });
    expect(identifyPop({ headers: { "cf-ray": "1-FRA" } }, compiled)).toMatchObject({ id: "fra" });
  });

  it("survives hostile evidence", () => {
    const compiled = compilePopIdentification(parsePopIdentification(undefined));
    const throwing = new Proxy(
      {},
      {
        get: () => {
          throw new Error("boom");
        },
        ownKeys: () => {
          throw new Error("boom");
        },
      },
    );
    const hostile: unknown[] = [
      null,
      undefined,
      42,
      "nsid",
      [],
      throwing,
      { nsid: 5, chaos: "yul01", headers: ["cf-ray"] },
      { chaos: { "id.server": null }, headers: { "cf-ray": 7 } },
      { headers: throwing },
      { chaos: throwing },
      JSON.parse('{"__proto__": {"nsid": "x"}, "headers": {"__proto__": "1-FRA"}}'),
      Object.create({ nsid: "inherited" }),
    ];
    for (const evidence of hostile) {
      expect(() => identifyPop(evidence as PopEvidence, compiled)).not.toThrow();
      for (const kind of ["dns", "http", "tls", "tcp", "bogus", undefined] as unknown as ProbeKind[]) {
        expect(() => identify(kind, evidence as PopEvidence)).not.toThrow();
      }
    }
    expect(identify("dns", Object.create({ nsid: "inherited" }))).toBeNull();
  });

  it("headers with other case are found, exact lowercase preferred", () => {
    expect(identify("http", { headers: { "CF-Ray": "1-FRA" } })).toMatchObject({ id: "fra", source: "header:cf-ray" });
    expect(identify("http", { headers: { "CF-Ray": "1-FRA", "cf-ray": "1-AMS" } })).toMatchObject({ id: "ams" });
  });
});

describe("canonicalPopId", () => {
  it.each([
    ["  A  b\n\tC ", "a b c"],
    ["\u0000pop\u0007-a", "pop-a"],
    ["", ""],
    [" \t ", ""],
  ])("%j -> %j", (input, expected) => {
    expect(canonicalPopId(input)).toBe(expected);
  });

  it("never splits a surrogate pair at the cap", () => {
    const id = canonicalPopId(`${"a".repeat(63)}😀`);
    expect(id).toBe("a".repeat(63));
  });
});
