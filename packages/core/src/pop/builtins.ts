// Formats that well-known anycast services use to say which PoP answered
// (sources: /work/shared/notes/pop-identification.md). Each entry is data: a
// pattern whose named group `site` is the PoP id and whose optional named
// group `iata` is the IATA code. Entries are tried in table order within one
// evidence source, after the operator's rules for that source.

import type { PopSource } from "../result";

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
  /** What the shape looks like and what it identifies; every example is a test vector. */
  examples: readonly BuiltinPopExample[];
  /** Why this reading, where it is not obvious. */
  note?: string;
}

const DNS_SOURCES = ["nsid", "id.server", "hostname.bind"] as const satisfies readonly PopSource[];
const CHAOS_SOURCES = ["id.server", "hostname.bind"] as const satisfies readonly PopSource[];

export const BUILTIN_POP_PATTERNS: readonly BuiltinPopPattern[] = [
  {
    service: "k.root-servers.net",
    sources: DNS_SOURCES,
    pattern: /^[a-z0-9]+\.(?<site>(?:[a-z]{2}-)?(?<iata>[a-z]{3})(?:-[a-z0-9]+)?)\.k\.ripe\.net$/i,
    examples: [
      { raw: "k3.ams-ix.k.ripe.net", id: "ams-ix", iata: "ams" },
      { raw: "ns1.fi-hel.k.ripe.net", id: "fi-hel", iata: "hel" },
    ],
    note: "Sites are `<country>-<iata>` or `<iata>-<exchange>`; the node label in front is dropped.",
  },
  {
    service: "k.root-servers.net (site name without an IATA code)",
    sources: DNS_SOURCES,
    pattern: /^[a-z0-9]+\.(?<site>[a-z0-9-]+)\.k\.ripe\.net$/i,
    examples: [{ raw: "k2.linx.k.ripe.net", id: "linx", iata: null }],
  },
  {
    service: "l.root-servers.net",
    sources: DNS_SOURCES,
    pattern: /^[a-z0-9]+\.(?<site>[a-z]{2}-(?<iata>[a-z]{3})(?:-[a-z0-9]+)?)\.l\.root$/i,
    examples: [{ raw: "aa.de-ham.l.root", id: "de-ham", iata: "ham" }],
  },
  {
    service: "l.root-servers.net (site name without an IATA code)",
    sources: DNS_SOURCES,
    pattern: /^[a-z0-9]+\.(?<site>[a-z0-9-]+)\.l\.root$/i,
    examples: [{ raw: "ab.lab1.l.root", id: "lab1", iata: null }],
  },
  {
    service: "RIPE Atlas anchor",
    sources: DNS_SOURCES,
    pattern: /^(?<site>[a-z]{2}-(?<iata>[a-z]{3}))-[a-z0-9-]+\.anchors\.atlas\.ripe\.net$/i,
    examples: [{ raw: "nl-ams-as3333-3.anchors.atlas.ripe.net", id: "nl-ams", iata: "ams" }],
    note: "The id is the anchor's `<country>-<city>` site; the AS number and index name a host, not a PoP.",
  },
  {
    service: "Google Public DNS (8.8.8.8)",
    sources: DNS_SOURCES,
    pattern: /^gpdns-(?<site>(?<iata>[a-z]{3}))$/i,
    examples: [
      { raw: "gpdns-bud", id: "bud", iata: "bud" },
      { raw: "gpdns-maa", id: "maa", iata: "maa" },
    ],
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
    service: "OpenDNS (debug.opendns.com TXT)",
    sources: DNS_SOURCES,
    pattern: /^server\s+[a-z]+\d+\.(?<site>(?<iata>[a-z]{3}))$/i,
    examples: [{ raw: "server r3.yyz", id: "yyz", iata: "yyz" }],
    note: "OpenDNS answers this shape in an IN TXT record; it applies when a probe records that answer as identity.",
  },
  {
    service: "Cloudflare 1.1.1.1 and other IATA-coded CHAOS identities",
    sources: CHAOS_SOURCES,
    pattern: /^(?<site>(?<iata>[a-z]{3})\d*)$/i,
    examples: [
      { raw: "yul01", id: "yul01", iata: "yul" },
      { raw: "FRA", id: "fra", iata: "fra" },
    ],
    note:
      "Three letters and digits is too generic to trust in NSID (1.1.1.1's NSID is opaque, e.g. `87m362`), " +
      "so only CHAOS identities are read this way.",
  },
  {
    service: "Cloudflare",
    sources: ["header:cf-ray"],
    pattern: /^[0-9a-f]+-(?<site>(?<iata>[a-z]{3}))$/i,
    examples: [{ raw: "8c9a1b2c3d4e5f60-FRA", id: "fra", iata: "fra" }],
  },
  {
    service: "Amazon CloudFront",
    sources: ["header:x-amz-cf-pop"],
    pattern: /^(?<site>(?<iata>[a-z]{3})\d+)(?:-[a-z0-9]+)?$/i,
    examples: [
      { raw: "FRA56-P5", id: "fra56", iata: "fra" },
      { raw: "LHR62-C1", id: "lhr62", iata: "lhr" },
    ],
  },
  {
    service: "Fastly",
    sources: ["header:x-served-by"],
    pattern: /^(?:[^,]*,)*\s*cache-[a-z0-9-]+-(?<site>(?<iata>[a-z]{3}))\s*$/i,
    examples: [
      { raw: "cache-jfk1041-JFK", id: "jfk", iata: "jfk" },
      { raw: "cache-jfk1041-JFK, cache-ord1720-ORD", id: "ord", iata: "ord" },
    ],
    note: "With shielding the header lists every cache on the path; the last entry is the edge that answered. Node ids get reused, so only the site is kept.",
  },
  {
    service: "Vercel",
    sources: ["header:x-vercel-id"],
    pattern: /^(?<site>(?<iata>[a-z]{3})\d*)::/i,
    examples: [
      { raw: "fra1::iad1::abcde-1234", id: "fra1", iata: "fra" },
      { raw: "cdg1::sxzfp-1712345678901-0123456789ab", id: "cdg1", iata: "cdg" },
    ],
    note: "Region codes come edge first, then the function region; the edge answered.",
  },
  {
    service: "Fly.io",
    sources: ["header:fly-request-id"],
    pattern: /^[0-9a-z]+-(?<site>(?<iata>[a-z]{3}))$/i,
    examples: [{ raw: "01HQ8V6Y3Z4K5M6N7P8R9S0T1V-ams", id: "ams", iata: "ams" }],
  },
];

/** Headers known to carry a PoP, in the order they are consulted. */
export const BUILTIN_POP_HEADERS: readonly string[] = [
  ...new Set(
    BUILTIN_POP_PATTERNS.flatMap((entry) =>
      entry.sources.filter((source) => source.startsWith("header:")).map((source) => source.slice("header:".length)),
    ),
  ),
];
