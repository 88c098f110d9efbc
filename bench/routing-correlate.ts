// Correlating data-plane events with BGP events at scale: 3,000 failovers
// (30 days, 20 regions, 5 targets in 5 watched prefixes, 2 of them IPv6)
// against 300,000 BGP updates (the prefixes and their more-specifics, and
// session changes of the peers), through core's correlateRouting (group per
// prefix and sort once, two binary searches per event) and routeConvergence
// (M2, the same index plus a walk over the burst).
//
// Peer, same run, same input: the direct way, for every data-plane event a
// scan of every BGP event (prefix containment by core's prefixContains and a
// window test). Both must list the same events; the ratio is the point.
//
// Run from the repository root: node bench/run.mjs routing-correlate   [env: RUNS=5 FAILOVERS=3000 UPDATES=300000]
import {
  type BgpEvent,
  type DataPlaneEvent,
  compareBgpEvents,
  correlateRouting,
  parsePrefix,
  prefixContains,
  prefixContainsAddress,
  prefixOf,
  routeConvergence,
} from "@popwatch/core";
import { fmt, percentile } from "./support/stats";

const RUNS = Number(process.env.RUNS ?? "5");
const FAILOVERS = Number(process.env.FAILOVERS ?? "3000");
const UPDATES = Number(process.env.UPDATES ?? "300000");
const DAY = 86_400_000;
const T0 = Date.parse("2026-11-01T00:00:00Z");
const SPAN = 30 * DAY;
const WINDOW = 120_000;

const WATCHED = [
  { prefix: "198.51.100.0/24" },
  { prefix: "203.0.113.0/24" },
  { prefix: "198.18.0.0/15" },
  { prefix: "2001:db8:53::/48" },
  { prefix: "2001:db8:80::/48" },
];
const TARGETS = [
  { name: "dns-a", address: "198.51.100.53" },
  { name: "web", address: "203.0.113.80" },
  { name: "lab", address: "198.18.1.1" },
  { name: "dns6", address: "2001:db8:53::53" },
  { name: "web6", address: "2001:db8:80::80" },
];
const MORE_SPECIFICS = [
  ["198.51.100.0/25", "198.51.100.128/25"],
  ["203.0.113.0/25"],
  ["198.18.0.0/16", "198.19.0.0/16"],
  ["2001:db8:53::/49"],
  ["2001:db8:80:8000::/49"],
];

// A deterministic generator (mulberry32), so every run sees the same input.
let seed = 42;
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
};
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;

function bgpEvents(): BgpEvent[] {
  const out: BgpEvent[] = [];
  for (let i = 0; i < UPDATES; i++) {
    const w = Math.floor(random() * WATCHED.length);
    // MRT stamps whole seconds: ties as common as in real update files.
    const timeMs = T0 + Math.floor((random() * SPAN) / 1000) * 1000;
    const source = pick(["rrc00", "rrc01", "route-views2", "bmp:edge1"]);
    const peer = `peer-${Math.floor(random() * 40)}`;
    if (random() < 0.01) {
      out.push({ type: "STATE", timeMs, source, peer, peerAs: 64_600, up: random() < 0.5 });
      continue;
    }
    const prefix = random() < 0.2 ? pick(MORE_SPECIFICS[w]!) : WATCHED[w]!.prefix;
    const withdrawal = random() < 0.3;
    out.push({
      type: withdrawal ? "W" : "A",
      timeMs,
      source,
      peer,
      peerAs: 64_600,
      prefix,
      asPath: withdrawal ? [] : [64_600, 64_500],
      origin: withdrawal ? null : 64_500,
    });
  }
  return out;
}

function failovers(): DataPlaneEvent[] {
  return Array.from({ length: FAILOVERS }, () => {
    const timeMs = T0 + Math.floor(random() * SPAN);
    return {
      type: "failover" as const,
      target: pick(TARGETS).name,
      probeKind: "dns",
      region: `region-${Math.floor(random() * 20)}`,
      timeMs,
      fromPop: "a",
      toPop: "b",
      firstNewPopAnswerMs: timeMs + Math.floor(random() * 30_000),
    };
  });
}

/**
 * The direct way: each BGP event's watched prefix found once (as the index
 * does), then every BGP event tested against every data-plane event.
 */
function scanEverything(dataPlane: readonly DataPlaneEvent[], events: readonly BgpEvent[]): number {
  const watched = WATCHED.map((w) => ({ text: w.prefix, prefix: prefixOf(w.prefix) })).sort((a, b) => b.prefix.length - a.prefix.length);
  const targetPrefix = new Map(TARGETS.map((t) => [t.name, watched.find((w) => prefixContainsAddress(w.prefix, t.address))?.text ?? null]));
  const holders = new Map<string, string | null>();
  const holderOf = (prefix: string) => {
    if (!holders.has(prefix)) {
      const inner = parsePrefix(prefix).prefix!;
      holders.set(prefix, watched.find((w) => prefixContains(w.prefix, inner))?.text ?? null);
    }
    return holders.get(prefix)!;
  };
  // Sessions that carried each watched prefix, as correlateRouting attributes STATE events.
  const carried = new Map<string, Set<string>>();
  const holderOfEvent: (string | null)[] = events.map((e) => (e.type === "STATE" ? null : holderOf(e.prefix)));
  events.forEach((e, i) => {
    const holder = holderOfEvent[i];
    if (holder === null || holder === undefined) return;
    const key = `${e.source}\u0000${e.peer}`;
    carried.set(key, (carried.get(key) ?? new Set()).add(holder));
  });
  let listed = 0;
  for (const d of dataPlane) {
    const holder = targetPrefix.get(d.target);
    if (holder === null || holder === undefined) continue;
    const found: BgpEvent[] = [];
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      if (Math.abs(e.timeMs - d.timeMs) > WINDOW) continue;
      if (e.type === "STATE" ? carried.get(`${e.source}\u0000${e.peer}`)?.has(holder) : holderOfEvent[i] === holder) found.push(e);
    }
    found.sort(compareBgpEvents);
    listed += found.length;
  }
  return listed;
}

const events = bgpEvents();
const dataPlane = failovers();
const input = { dataPlane, bgpEvents: events, watched: WATCHED, targets: TARGETS, windowMs: WINDOW };

const timed = <T>(run: () => T): { ms: number; value: T } => {
  const start = process.hrtime.bigint();
  const value = run();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, value };
};

const correlate: number[] = [];
const m2: number[] = [];
const scan: number[] = [];
let listedIndexed = 0;
let listedScanned = 0;
let measured = 0;
for (let run = 0; run < RUNS; run++) {
  const c = timed(() => correlateRouting(input));
  correlate.push(c.ms);
  listedIndexed = c.value.reduce((n, e) => n + e.bgpEvents.length, 0);
  const r = timed(() => routeConvergence({ ...input, burstGapMs: 30_000 }));
  m2.push(r.ms);
  measured = r.value.failovers.filter((f) => f.m2Ms !== null).length;
  // The scan is slow: once is enough for its median to mean something at these sizes.
  if (run < 2) {
    const s = timed(() => scanEverything(dataPlane, events));
    scan.push(s.ms);
    listedScanned = s.value;
  }
}
if (listedIndexed !== listedScanned) {
  process.stderr.write(`mismatch: correlateRouting listed ${listedIndexed} BGP events, the scan ${listedScanned}\n`);
  process.exit(1);
}
const median = (values: readonly number[]) => percentile(values, 50);
process.stdout.write(
  `routing-correlate: ${FAILOVERS} failovers × ${UPDATES} BGP events (${WATCHED.length} watched prefixes), ${RUNS} runs\n` +
    `  correlateRouting      median ${fmt(median(correlate), 1)} ms  (${listedIndexed} BGP events listed)\n` +
    `  routeConvergence (M2) median ${fmt(median(m2), 1)} ms  (${measured} failovers with an M2)\n` +
    `  peer: scan every event median ${fmt(median(scan), 1)} ms  (same ${listedScanned} listed)\n` +
    `  ratio scan / correlateRouting: ${fmt(median(scan) / median(correlate), 1)}×\n`,
);
