// Formats that well-known anycast services use to say which PoP answered.
// Each entry is data: a pattern whose named group `site` is the PoP id and
// whose optional named group `iata` is the IATA code, with the source of the
// format beside it. Entries are tried in table order within one evidence
// source, after the operator's rules for that source.
//
// `iata` is set only where the format is documented (or every published
// example shows) an airport code. Country-then-city sites (`nl-arn`, `cn-ggz`)
// are UN/LOCODE-style city codes: Arnhem's `arn` is Stockholm's airport, so
// reading it as IATA would put the site on the wrong side of Europe.

import type { PopSource } from "../result";
import { decodeAzureRef } from "./azure-ref";

export interface BuiltinPopExample {
  raw: string;
  id: string;
  iata: string | null;
}

export interface BuiltinPopPattern {
  /** Who answers in this shape. */
  service: string;
  /** Evidence this shape appears in. */
  sources: readonly PopSource[];
  /** Named group `site` is the PoP id (lowercased); optional named group `iata` the IATA code. */
  pattern: RegExp;
  /** Turns an encoded value into the text `pattern` reads; null when it carries no site. Never throws. */
  decode?: (raw: string) => string | null;
  /** Read the `iata` group only when it is a known airport and no generic host word (see GENERIC_HOST_WORDS). */
  knownAirportOnly?: boolean;
  /** What the shape looks like and what it identifies; every example is a test vector. */
  examples: readonly BuiltinPopExample[];
  /** Why this reading, where it is not obvious. */
  note?: string;
}

const DNS_SOURCES = ["nsid", "id.server", "hostname.bind"] as const satisfies readonly PopSource[];
const CHAOS_SOURCES = ["id.server", "hostname.bind"] as const satisfies readonly PopSource[];

/** RIPE Atlas built-in CHAOS `hostname.bind` measurement of each root letter: where the identities below are published. */
const ATLAS = "https://atlas.ripe.net/measurements/";

export const BUILTIN_POP_PATTERNS: readonly BuiltinPopPattern[] = [
  // Root servers, A to M. Formats as published in the RIPE Atlas built-in `hostname.bind` measurements
  // (one per letter, linked in each entry) and quoted by tools that read them.
  {
    service: "a.root-servers.net and j.root-servers.net (Verisign)",
    sources: DNS_SOURCES,
    pattern: /^(?<site>(?:nnn\d+|rootns)-[a-z]+\d*(?:-[a-z0-9]+)?)$/i,
    examples: [
      { raw: "nnn1-lon8", id: "nnn1-lon8", iata: null },
      { raw: "nnn1-jptyo-1b", id: "nnn1-jptyo-1b", iata: null },
      { raw: "rootns-elpek3", id: "rootns-elpek3", iata: null },
    ],
    note:
      `Source: ${ATLAS}10309/ (A) and ${ATLAS}10316/ (J). The codes mix IATA city codes (\`lon\`), UN/LOCODEs (\`jptyo\`) ` +
      "and prefixed ones (`elpek`), and Verisign documents none of them, so the whole identity is the id and no IATA is read: " +
      "cutting it to `elpek3` would put a Beijing site in El Paso.",
  },
  {
    service: "b.root-servers.net (USC/ISI)",
    sources: DNS_SOURCES,
    pattern: /^b\d+-(?<site>(?<iata>[a-z]{3}))$/i,
    examples: [
      { raw: "b2-scl", id: "scl", iata: "scl" },
      { raw: "b4-iad", id: "iad", iata: "iad" },
    ],
    note: `Source: ${ATLAS}10310/. \`b<node>-<airport>\`; the node number is dropped.`,
  },
  {
    service: "c.root-servers.net (Cogent)",
    sources: DNS_SOURCES,
    pattern: /^(?<site>(?<iata>[a-z]{3})\d+)[a-z]\.c\.root-servers\.org$/i,
    examples: [
      { raw: "lax1a.c.root-servers.org", id: "lax1", iata: "lax" },
      { raw: "qro1a.c.root-servers.org", id: "qro1", iata: "qro" },
    ],
    note: `Source: ${ATLAS}10311/. \`<airport><site number><node letter>\`; the node letter is dropped.`,
  },
  {
    service: "d.root-servers.net (University of Maryland)",
    sources: DNS_SOURCES,
    pattern: /^(?<site>[a-z]{4})\d+\.droot(?:\.maxgigapop\.net)?$/i,
    examples: [{ raw: "sgsg2.droot", id: "sgsg", iata: null }],
    note: `Source: ${ATLAS}10312/. Four letters (\`sgsg\`: country then city, Singapore) that are no airport code; the node number is dropped.`,
  },
  {
    service: "e.root-servers.net (NASA)",
    sources: DNS_SOURCES,
    pattern: /^[a-z]\d+\.(?<site>(?<iata>[a-z]{3}))\.eroot$/i,
    examples: [
      { raw: "p03.lhr.eroot", id: "lhr", iata: "lhr" },
      { raw: "c01.MCI.eroot", id: "mci", iata: "mci" },
    ],
    note: `Source: ${ATLAS}10313/. \`<node>.<airport>.eroot\`.`,
  },
  {
    service: "f.root-servers.net (ISC)",
    sources: DNS_SOURCES,
    pattern: /^(?<site>(?<iata>[a-z]{3})(?:\d+|\.cf))[a-z]?\.f\.root-servers\.org$/i,
    examples: [
      { raw: "ams1a.f.root-servers.org", id: "ams1", iata: "ams" },
      { raw: "pek2a.f.root-servers.org", id: "pek2", iata: "pek" },
      { raw: "BRU.cf.f.root-servers.org", id: "bru.cf", iata: "bru" },
    ],
    note:
      `Source: ${ATLAS}10304/. ISC's own sites are \`<airport><number><node letter>\`; sites hosted by Cloudflare are ` +
      "`<AIRPORT>.cf`, kept distinct so the two networks' sites in one city stay apart.",
  },
  // g.root-servers.net (US DoD): identities such as `groot-con2-1` (${ATLAS}10314/) name no published site code, so
  // no pattern reads them; the raw identity still tells instances apart.
  {
    service: "h.root-servers.net (US Army Research Lab)",
    sources: DNS_SOURCES,
    pattern: /^\d+\.(?<site>(?<iata>[a-z]{3}))\.h\.root-servers\.org$/i,
    examples: [
      { raw: "001.apg.h.root-servers.org", id: "apg", iata: "apg" },
      { raw: "001.hkg.h.root-servers.org", id: "hkg", iata: "hkg" },
    ],
    note: `Source: ${ATLAS}10315/. \`<node>.<airport>.h.root-servers.org\`.`,
  },
  {
    service: "i.root-servers.net (Netnod)",
    sources: DNS_SOURCES,
    pattern: /^(?<site>s\d+\.[a-z]{3})$/i,
    examples: [{ raw: "s1.bei", id: "s1.bei", iata: null }],
    note:
      `Source: ${ATLAS}10305/. Netnod's three-letter codes are its own (\`bei\` is Beijing, whose airport is PEK), and ` +
      "`s<n>.<xyz>` is too generic to cut safely, so the identity is the id and no IATA is read.",
  },
  {
    service: "k.root-servers.net (RIPE NCC)",
    sources: DNS_SOURCES,
    pattern: /^[a-z0-9]+\.(?<site>[a-z0-9-]+)\.k\.ripe\.net$/i,
    examples: [
      { raw: "k3.ams-ix.k.ripe.net", id: "ams-ix", iata: null },
      { raw: "ns1.fi-hel.k.ripe.net", id: "fi-hel", iata: null },
      { raw: "ns1.cn-ggz.k.ripe.net", id: "cn-ggz", iata: null },
      { raw: "k2.linx.k.ripe.net", id: "linx", iata: null },
    ],
    note:
      `Source: ${ATLAS}10301/. Sites are UN/LOCODE \`<country>-<city>\` (\`cn-ggz\` is Guangzhou, airport CAN) or an ` +
      "exchange's name (`ams-ix`, `linx`); neither is an airport code. The node label in front is dropped.",
  },
  {
    service: "l.root-servers.net (ICANN)",
    sources: DNS_SOURCES,
    pattern: /^[a-z0-9]+\.(?<site>[a-z0-9-]+)\.l\.root$/i,
    examples: [
      { raw: "aa.de-ham.l.root", id: "de-ham", iata: null },
      { raw: "ab.lab1.l.root", id: "lab1", iata: null },
    ],
    note:
      `Source: ${ATLAS}10308/ and RFC 7108 (L-Root's identification mechanisms). \`<node>.<country>-<city>.l.root\`: ` +
      "a country-then-city code, not an airport (the same reading as K's); the node label is dropped.",
  },
  {
    service: "l.root-servers.net (ICANN), newer identities",
    sources: DNS_SOURCES,
    pattern: /^(?<site>[a-z]{2}-[a-z]{3})-[a-z]{2}$/i,
    examples: [{ raw: "kr-icn-aa", id: "kr-icn", iata: null }],
    note: `Source: ${ATLAS}10308/. \`<country>-<city>-<node>\`; the node is dropped.`,
  },
  {
    service: "m.root-servers.net (WIDE)",
    sources: DNS_SOURCES,
    pattern: /^m-(?<site>(?<iata>[a-z]{3})(?:-[a-z]+)?)-\d+$/i,
    examples: [
      { raw: "M-NRT-DIX-1", id: "nrt-dix", iata: "nrt" },
      { raw: "M-CDG-1", id: "cdg", iata: "cdg" },
    ],
    note: `Source: ${ATLAS}10306/. \`M-<airport>[-<exchange>]-<node>\`; the node number is dropped.`,
  },
  {
    service: "RIPE Atlas anchor",
    sources: DNS_SOURCES,
    pattern: /^(?<site>[a-z]{2}-[a-z]{3})-[a-z0-9-]+\.anchors\.atlas\.ripe\.net$/i,
    examples: [
      { raw: "nl-ams-as3333-3.anchors.atlas.ripe.net", id: "nl-ams", iata: null },
      { raw: "nl-arn-as1140.anchors.atlas.ripe.net", id: "nl-arn", iata: null },
    ],
    note:
      "The id is the anchor's `<country>-<city>` site, a city code (`nl-arn` is Arnhem, not Stockholm's airport ARN); " +
      "the AS number and index name a host, not a PoP.",
  },
  {
    service: "Google Public DNS (8.8.8.8)",
    sources: DNS_SOURCES,
    pattern: /^gpdns-(?<site>(?<iata>[a-z]{3}))$/i,
    examples: [
      { raw: "gpdns-bud", id: "bud", iata: "bud" },
      { raw: "gpdns-maa", id: "maa", iata: "maa" },
    ],
    note: "Google lists its Public DNS locations by IATA airport code (`locations.publicdns.goog` TXT, the Public DNS FAQ).",
  },
  {
    service: "Quad9 (9.9.9.9)",
    sources: DNS_SOURCES,
    pattern: /^res\d+\.q?(?<site>(?<iata>[a-z]{3})\d*)\.on\.quad9\.net$/i,
    examples: [{ raw: "res120.qyul1.on.quad9.net", id: "yul1", iata: "yul" }],
    note:
      "Quad9 site labels are `q` + IATA + index (`qyul1`). The `q` only marks Quad9, so it is dropped to keep ids IATA-led " +
      "like other services'; the index stays because a metro can host several sites. `res120` names a host and is dropped.",
  },
  {
    service: "Cloudflare 1.1.1.1 and other IATA-coded CHAOS identities",
    sources: CHAOS_SOURCES,
    pattern: /^(?<site>(?<iata>[a-z]{3})\d*)$/i,
    knownAirportOnly: true,
    examples: [
      { raw: "yul01", id: "yul01", iata: "yul" },
      { raw: "FRA", id: "fra", iata: "fra" },
    ],
    note:
      "Three letters and digits is too generic to trust in NSID (1.1.1.1's NSID is opaque, e.g. `87m362`), so only CHAOS " +
      "identities are read this way, and only when the letters are a known airport and no generic host word (`dns1`, `DNA`).",
  },
  {
    service: "Cloudflare",
    sources: ["header:cf-ray"],
    pattern: /^[0-9a-f]+-(?<site>(?<iata>[a-z]{3}))$/i,
    examples: [{ raw: "8c9a1b2c3d4e5f60-FRA", id: "fra", iata: "fra" }],
    note:
      "Cloudflare documents the suffix as the data center's IATA code (https://developers.cloudflare.com/fundamentals/reference/cloudflare-ray-id/); " +
      "without it the value is a request id.",
  },
  {
    service: "Amazon CloudFront",
    sources: ["header:x-amz-cf-pop"],
    pattern: /^(?<site>(?<iata>[a-z]{3})\d+)(?:-[a-z0-9]+)?$/i,
    examples: [
      { raw: "FRA56-P5", id: "fra56", iata: "fra" },
      { raw: "LHR62-C1", id: "lhr62", iata: "lhr" },
    ],
    note: "AWS documents the edge location code as an IATA airport code and a number (CloudFront Developer Guide, `X-Amz-Cf-Pop`).",
  },
  {
    service: "Fastly",
    sources: ["header:x-served-by"],
    pattern: /^(?:[^,]*,)*\s*cache-[a-z0-9-]+-(?<site>(?<iata>[a-z]{3}))\s*$/i,
    examples: [
      { raw: "cache-jfk1041-JFK", id: "jfk", iata: "jfk" },
      { raw: "cache-jfk1041-JFK, cache-ord1720-ORD", id: "ord", iata: "ord" },
    ],
    note:
      "`cache-{datacenter}{nodeid}-{datacenter}` (https://www.fastly.com/documentation/reference/http/http-headers/X-Served-By); " +
      "with shielding the header lists every cache on the path; the last entry is the edge that answered. Node ids get reused, so only the site is kept.",
  },
  {
    service: "Vercel",
    sources: ["header:x-vercel-id"],
    pattern: /^(?<site>(?<iata>[a-z]{3})\d*)::/i,
    examples: [
      { raw: "fra1::iad1::abcde-1234", id: "fra1", iata: "fra" },
      { raw: "cdg1::sxzfp-1712345678901-0123456789ab", id: "cdg1", iata: "cdg" },
    ],
    note: "Region ids are airport code + index (Vercel's region list); they come edge first, then the function region; the edge answered.",
  },
  {
    service: "Fly.io",
    sources: ["header:fly-request-id"],
    pattern: /^[0-9a-z]+-(?<site>(?<iata>[a-z]{3}))$/i,
    examples: [{ raw: "01HQ8V6Y3Z4K5M6N7P8R9S0T1V-ams", id: "ams", iata: "ams" }],
    note: "The suffix is the Fly.io region, named by its nearest airport's code (Fly.io's region list); without it the value is a request id.",
  },
  {
    service: "Microsoft edge (Azure Front Door, Bing, Office)",
    sources: ["header:x-msedge-ref", "header:x-azure-ref"],
    pattern: /\bRef B:\s*(?<site>[a-z]{2,4}\d{0,2}?)EDGE\d+\b/i,
    examples: [
      { raw: "Ref A: 3CC74C94769440C0851D9DF0869FCE7F Ref B: CO1EDGE0315 Ref C: 2018-04-11T18:47:40Z", id: "co1", iata: null },
      { raw: "Ref A: CFB9AC1D2B0645DDB161CEE4A4909AEF Ref B: BOM02EDGE0712 Ref C: 2020-11-09T10:50:10Z", id: "bom02", iata: null },
      { raw: "Ref A: 0B0E3A2A Ref B: STOEDGE0417 Ref C: 2024-01-01T00:00:00Z", id: "sto", iata: null },
    ],
    note:
      "Ref A is the request id and Ref C its time; Ref B names the edge server, `<site>EDGE<node>`. Some Azure " +
      "services send the same text in `X-Azure-Ref`. Site codes are " +
      "Microsoft's (`CO1`, `BN3`, `HK2`, `STO`), airport-like only sometimes, so no IATA is read.",
  },
  {
    service: "Azure Front Door (classic X-Azure-Ref)",
    sources: ["header:x-azure-ref"],
    decode: decodeAzureRef,
    pattern: /^(?<site>[a-z]{2,4}\d{0,2}?)EDGE\d+$/i,
    examples: [
      {
        raw: "0zxV+XAAAAABKMMOjBv2NT4TY6SQVjC0zV1NURURHRTA2MTkANDM3YzgyY2QtMzYwYS00YTU0LTk0YzMtNWZmNzA3NjQ3Nzgz",
        id: "wst",
        iata: null,
      },
    ],
    note:
      "A `0` then Base64 of a binary record whose NUL-terminated text at byte 24 is the edge server (`WSTEDGE0619` in " +
      "Microsoft's documented example); see azure-ref.ts. Newer, opaque references carry no site and give no PoP.",
  },
  {
    service: "Bunny CDN",
    sources: ["header:server"],
    pattern: /^BunnyCDN-(?<site>[a-z]{2}\d+)-\d+$/i,
    examples: [
      { raw: "BunnyCDN-DE1-1042", id: "de1", iata: null },
      { raw: "BunnyCDN-DE1-863", id: "de1", iata: null },
    ],
    note: "`BunnyCDN-<country><site>-<node>`: the site is a country code and a number, no airport.",
  },
];

/**
 * Headers whose every value is new per request (a request id that may carry a
 * site code). A value without the site is a request id, never a PoP: no
 * fallback to the raw value, whoever's rule names the header.
 */
export const PER_REQUEST_HEADERS: ReadonlySet<string> = new Set([
  "cf-ray",
  "x-amz-cf-id",
  "fly-request-id",
  "x-vercel-id",
  "x-azure-ref",
  "x-msedge-ref",
  "x-nf-request-id",
  "x-request-id",
  "x-served-by-request-id",
]);

/** Headers that name the software, not a site (`Server: nginx`): matched by patterns, never a fallback. */
export const SOFTWARE_HEADERS: ReadonlySet<string> = new Set(["server", "via", "x-cache"]);

/**
 * Host words CHAOS identities use that are no airport even when three letters
 * spell one: `dns1`, `DNS`, `DNA`, `ns1`, `web01`. Only consulted for patterns
 * with `knownAirportOnly`.
 */
export const GENERIC_HOST_WORDS: ReadonlySet<string> = new Set([
  "dns",
  "dna",
  "ans",
  "rec",
  "res",
  "srv",
  "svr",
  "web",
  "www",
  "cdn",
  "pop",
  "lab",
  "dev",
  "prd",
  "stg",
  "tst",
  "app",
  "api",
  "ntp",
  "vpn",
  "nsd",
  "kdc",
  "lbs",
  "bgp",
  "gtm",
  "ltm",
  "any",
  "one",
  "two",
  "box",
  "vps",
  "ovh",
]);

/** Headers known to carry a PoP, in the order they are consulted. */
export const BUILTIN_POP_HEADERS: readonly string[] = [
  ...new Set(
    BUILTIN_POP_PATTERNS.flatMap((entry) =>
      entry.sources.filter((source) => source.startsWith("header:")).map((source) => source.slice("header:".length)),
    ),
  ),
];
