// RPKI route origin validation at full-table scale: a VRP set the size of
// today's global one (~500,000 entries, about 4 in 5 IPv4) checked against a
// day of announcements for many prefixes. core indexes VRPs by family and
// prefix length (packages/core/src/routing/rpki.ts); the peer in the same run
// is the direct reading of RFC 6811: scan every VRP for each route. Both give
// the same answers (checked here on the scanned sample).
//
// Run from the repository root: node bench/run.mjs rpki-validation [--vrps 500000] [--routes 5000]
import { parseArgs } from "node:util";
import {
  type RpkiValidity,
  formatPrefix,
  indexVrps,
  loadVrpIndex,
  parsePrefix,
  parseVrps,
  prefixContains,
  rpkiValidity,
} from "@popwatch/core";

const { values: args } = parseArgs({ options: { vrps: { type: "string" }, routes: { type: "string" } } });
const VRPS = Number(args.vrps ?? 500_000);
const ROUTES = Number(args.routes ?? 5000);
/** Routes the linear scan checks: its time per route is extrapolated to ROUTES. */
const SCANNED = 200;

// Deterministic pseudo-random numbers (mulberry32), so every run checks the same set.
let seed = 0x5eed;
function random(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n: number) => Math.floor(random() * n);

function randomPrefix(v6: boolean): { text: string; length: number } {
  const length = v6 ? 19 + int(30) : 12 + int(13);
  const bytes = new Uint8Array(v6 ? 16 : 4);
  if (v6) bytes[0] = 0x20;
  for (let i = v6 ? 1 : 0; i < (v6 ? 8 : 4); i++) bytes[i] = int(256);
  for (let bit = length; bit < bytes.length * 8; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return { text: formatPrefix({ family: v6 ? 6 : 4, bytes, length }), length };
}

const roas = Array.from({ length: VRPS }, () => {
  const v6 = random() < 0.2;
  const { text, length } = randomPrefix(v6);
  return { asn: `AS${64496 + int(100_000)}`, prefix: text, maxLength: Math.min(v6 ? 48 : 24, length + int(3)), ta: "bench" };
});
const file = JSON.stringify({ metadata: { generated: 0 }, roas });

// Routes: half inside some VRP (its prefix or a more-specific, its origin or another), half anywhere.
const routes = Array.from({ length: ROUTES }, () => {
  if (random() < 0.5) {
    const roa = roas[int(roas.length)]!;
    const origin = random() < 0.7 ? Number(roa.asn.slice(2)) : 64496 + int(100_000);
    return { prefix: roa.prefix, origin };
  }
  return { prefix: randomPrefix(random() < 0.2).text, origin: 64496 + int(100_000) };
});

// One pass first, while the heap holds only the file: each step's garbage is the next one's GC work.
let t = performance.now();
const loaded = loadVrpIndex(file);
const loadMs = performance.now() - t;
t = performance.now();
const vrps = parseVrps(file);
const parseMs = performance.now() - t;
t = performance.now();
const index = indexVrps(vrps);
const indexMs = performance.now() - t;
if (loaded.size !== index.size) throw new Error("loadVrpIndex and indexVrps disagree");
t = performance.now();
const counts = { valid: 0, invalid: 0, "not-found": 0 };
for (const route of routes) counts[rpkiValidity(index, route.prefix, route.origin)]++;
const lookupMs = performance.now() - t;

// The scan parses each VRP once up front, as a fair scan would.
const parsed = vrps.map((vrp) => ({ vrp, prefix: parsePrefix(vrp.prefix).prefix! }));
function scan(text: string, origin: number): RpkiValidity {
  const route = parsePrefix(text).prefix!;
  let covered = false;
  for (const { vrp, prefix } of parsed) {
    if (!prefixContains(prefix, route)) continue;
    covered = true;
    if (vrp.asn === origin && vrp.asn !== 0 && route.length <= vrp.maxLength) return "valid";
  }
  return covered ? "invalid" : "not-found";
}
const sample = routes.slice(0, SCANNED);
t = performance.now();
const scanned = sample.map((route) => scan(route.prefix, route.origin));
const scanMs = ((performance.now() - t) / SCANNED) * ROUTES;
sample.forEach((route, i) => {
  if (rpkiValidity(index, route.prefix, route.origin) !== scanned[i]) throw new Error(`disagreement on ${route.prefix} AS${route.origin}`);
});

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);
console.log(`VRPs ${VRPS} (${(file.length / 1e6).toFixed(1)} MB JSON), routes ${ROUTES}`);
console.log(`parseVrps            ${fmt(parseMs)}`);
console.log(`indexVrps            ${fmt(indexMs)}`);
console.log(`loadVrpIndex         ${fmt(loadMs)} (parse and index in one pass)`);
console.log(
  `rpkiValidity (index) ${fmt(lookupMs)} for ${ROUTES} routes (${((lookupMs * 1000) / ROUTES).toFixed(2)} µs/route)  ${JSON.stringify(counts)}`,
);
console.log(`linear scan (peer)   ${fmt(scanMs)} for ${ROUTES} routes (extrapolated from ${SCANNED})`);
console.log(`ratio index/scan     ${(lookupMs / scanMs).toExponential(2)} (${(scanMs / lookupMs).toFixed(0)}× faster)`);
