// The report's routing part (only with a `bgp` config): per watched prefix
// what BGP did over --since, each failover with the BGP events around it and
// its M2 route convergence, M2 per region, the other data-plane events BGP
// explains, and for the page a timeline per region and target on which the
// PoP changes and the BGP events share one time axis. Pure: build.ts reads
// the events from the store and hands them here.
import {
  type BgpConfig,
  type BgpEvent,
  type BgpTimeline,
  type Blip,
  type CorrelatedEvent,
  type DataPlaneEvent,
  type Failover,
  type Outage,
  type RegionRouteConvergence,
  type Rollup,
  bgpBursts,
  bgpTimeline,
  compareStrings,
  correlateRouting,
  dataPlaneEvents,
  isWithdrawal,
  periodStartMs,
  prefixContains,
  prefixOf,
  rollupPeriod,
  routeConvergence,
} from "@popwatch/core";
import { type SeriesWindow, bucketStarts } from "./charts";
import type {
  ReportBgpEvent,
  ReportCorrelatedEvent,
  ReportFailoverRouting,
  ReportRouting,
  ReportRoutingPrefix,
  RoutingTimeline,
  RoutingTimelines,
} from "./model";

export interface RoutingInput {
  bgp: BgpConfig;
  targets: readonly { name: string; address: string }[];
  /** Every BGP event of the watched prefixes from a window before --since to the end. */
  bgpEvents: readonly BgpEvent[];
  /** Only events in [sinceMs, untilMs) count in the per-prefix summary. */
  sinceMs: number;
  untilMs: number;
  failovers: readonly Failover[];
  outages: readonly Outage[];
  blips: readonly Blip[];
  detours: readonly { target: string; region: string; pop: string }[];
}

export interface BuiltRouting {
  routing: ReportRouting;
  /** One per input failover, in its order. */
  failovers: ReportFailoverRouting[];
}

export function buildRouting(input: RoutingInput): BuiltRouting {
  const { bgp } = input;
  const windowMs = bgp.correlationWindowSeconds * 1000;
  const burstGapMs = bgp.burstGapSeconds * 1000;
  // One index of the events serves every analysis below.
  const timeline = bgpTimeline(bgp.prefixes, input.bgpEvents, input.targets);
  const common = { bgpEvents: input.bgpEvents, watched: bgp.prefixes, targets: input.targets, windowMs, timeline };

  // Both come in data-plane event order, so the i-th M2 is the i-th failover event's.
  const failoverEvents = dataPlaneEvents({ failovers: input.failovers });
  const correlated = correlateRouting({ ...common, dataPlane: failoverEvents });
  const m2 = routeConvergence({ ...common, dataPlane: failoverEvents, burstGapMs });
  const byKey = new Map(failoverEvents.map((event, i) => [eventKey(event), { correlated: correlated[i]!, convergence: m2.failovers[i]! }]));
  const failovers = input.failovers.map((f): ReportFailoverRouting => {
    const { correlated: c, convergence } = byKey.get(eventKey(dataPlaneEvents({ failovers: [f] })[0]!))!;
    const first = c.bgpEvents[0];
    return {
      prefix: c.prefix,
      bgpEvents: c.bgpEvents.length,
      firstBgpEvent: first === undefined ? null : reportBgpEvent(first),
      burstFirstAt: convergence.bgpFirstMs === null ? null : iso(convergence.bgpFirstMs),
      burstEvents: convergence.burstEvents,
      m2Ms: convergence.m2Ms,
    };
  });

  const others = correlateRouting({
    ...common,
    dataPlane: dataPlaneEvents({ failovers: input.failovers, outages: input.outages, blips: input.blips, detours: input.detours }).filter(
      (e) => e.type !== "failover",
    ),
  });
  return {
    routing: {
      correlationWindowMs: windowMs,
      burstGapMs,
      prefixes: prefixSummaries(input, timeline, burstGapMs),
      m2: m2.regions,
      correlated: others.flatMap(correlatedRow),
    },
    failovers,
  };
}

function eventKey(event: DataPlaneEvent): string {
  return JSON.stringify([event.type, event.target, event.probeKind, event.region, event.timeMs, event.fromPop, event.toPop]);
}

function correlatedRow(c: CorrelatedEvent): ReportCorrelatedEvent[] {
  const first = c.bgpEvents[0];
  if (c.prefix === null || first === undefined) return [];
  return [
    {
      type: c.event.type,
      target: c.event.target,
      region: c.event.region,
      at: iso(c.event.timeMs),
      fromPop: c.event.fromPop,
      toPop: c.event.toPop,
      prefix: c.prefix,
      bgpEvents: c.bgpEvents.length,
      firstBgpEvent: reportBgpEvent(first),
    },
  ];
}

function prefixSummaries(input: RoutingInput, timeline: BgpTimeline, burstGapMs: number): ReportRoutingPrefix[] {
  return input.bgp.prefixes.map((watched) => {
    const events = timeline.eventsOf(watched.prefix).filter((e) => e.timeMs >= input.sinceMs && e.timeMs < input.untilMs);
    const origins = new Set<number>();
    const moreSpecifics = new Set<string>();
    let announcements = 0;
    const outer = prefixOf(watched.prefix);
    for (const event of events) {
      if (event.type === "STATE") continue;
      if (event.type !== "W") {
        announcements++;
        if (event.origin !== null) origins.add(event.origin);
        if (event.prefix !== watched.prefix && prefixContains(outer, prefixOf(event.prefix))) moreSpecifics.add(event.prefix);
      }
    }
    const sortedOrigins = [...origins].sort((a, b) => a - b);
    return {
      prefix: watched.prefix,
      events: events.length,
      announcements,
      withdrawals: events.filter(isWithdrawal).length,
      origins: sortedOrigins,
      unexpectedOrigins: sortedOrigins.filter((asn) => !watched.origins.includes(asn)),
      moreSpecifics: [...moreSpecifics].sort(compareStrings),
      bursts: bgpBursts(events, burstGapMs, [watched.prefix]).map((b) => ({
        firstAt: iso(b.startMs),
        lastAt: iso(b.endMs),
        convergenceMs: b.durationMs,
        events: b.updates,
        withdrawals: b.withdrawals,
      })),
    };
  });
}

export function reportBgpEvent(event: BgpEvent): ReportBgpEvent {
  if (event.type === "STATE") {
    return {
      type: "STATE",
      at: iso(event.timeMs),
      source: event.source,
      peer: event.peer,
      peerAs: event.peerAs,
      prefix: null,
      asPath: [],
      origin: null,
      up: event.up,
    };
  }
  return {
    type: event.type,
    at: iso(event.timeMs),
    source: event.source,
    peer: event.peer,
    peerAs: event.peerAs,
    prefix: event.prefix,
    asPath: event.asPath,
    origin: event.origin,
  };
}

/** M2 of one target in one region, for the catchment command. */
export type TargetRegionM2 = Omit<RegionRouteConvergence, "region">;

/**
 * M2 per (target, region), keyed by targetRegionKey: the route convergence of
 * each target's failovers in each region, as the report's per-region M2 is of
 * all of them. Targets outside the watched prefixes get no entry.
 */
export function m2PerTargetRegion(input: {
  bgp: BgpConfig;
  targets: readonly { name: string; address: string }[];
  bgpEvents: readonly BgpEvent[];
  failovers: readonly Failover[];
}): Map<string, TargetRegionM2> {
  const out = new Map<string, TargetRegionM2>();
  const events = dataPlaneEvents({ failovers: input.failovers });
  const timeline = bgpTimeline(input.bgp.prefixes, input.bgpEvents, input.targets);
  for (const target of input.targets) {
    const { regions } = routeConvergence({
      timeline,
      dataPlane: events.filter((e) => e.target === target.name),
      bgpEvents: input.bgpEvents,
      watched: input.bgp.prefixes,
      targets: input.targets,
      windowMs: input.bgp.correlationWindowSeconds * 1000,
      burstGapMs: input.bgp.burstGapSeconds * 1000,
    });
    for (const { region, ...m2 } of regions) out.set(targetRegionKey(target.name, region), m2);
  }
  return out;
}

export function targetRegionKey(target: string, region: string): string {
  return JSON.stringify([target, region]);
}

export interface TimelineInput {
  bgp: BgpConfig;
  targets: readonly { name: string; address: string }[];
  bgpEvents: readonly BgpEvent[];
  window: SeriesWindow;
  /** The regions shown. */
  regions: readonly string[];
  /** A region's chart rollups (minute or hour items over the window). */
  rollupsOf: (region: string) => readonly Rollup[];
  failovers: readonly Failover[];
  outages: readonly Outage[];
  blips: readonly Blip[];
}

/**
 * For the page: per region and per target in a watched prefix, the dominant
 * PoP of each chart bucket, the PoP changes and outages at the instants they began, and the
 * BGP events of each prefix over the chart window.
 */
export function routingTimelines(input: TimelineInput): RoutingTimelines {
  const { window } = input;
  const timeline = bgpTimeline(input.bgp.prefixes, input.bgpEvents, input.targets);
  const x = bucketStarts(window);
  const timelines: RoutingTimeline[] = [];
  const prefixesUsed = new Set<string>();
  const changes = dataPlaneEvents({ failovers: input.failovers, outages: input.outages, blips: input.blips });
  for (const region of input.regions) {
    const rollups = input.rollupsOf(region);
    for (const target of input.targets) {
      const prefix = timeline.prefixOfTarget(target.name);
      if (prefix === null) continue;
      const counts: Map<string, number>[] = x.map(() => new Map());
      for (const rollup of rollups) {
        if (rollup.target !== target.name || rollup.region !== region) continue;
        const start = periodStartMs(rollup.granularity, rollupPeriod(rollup));
        if (start === null || start < window.fromMs || start >= window.toMs) continue;
        const bucket = counts[Math.floor((start - window.fromMs) / window.bucketMs)];
        if (bucket === undefined) continue;
        for (const [pop, n] of Object.entries(rollup.pops)) bucket.set(pop, (bucket.get(pop) ?? 0) + n);
      }
      const ownChanges = changes.filter(
        (c) => c.target === target.name && c.region === region && c.timeMs >= window.fromMs && c.timeMs < window.toMs,
      );
      const dominant = counts.map(dominantPop);
      if (dominant.every((pop) => pop === null) && ownChanges.length === 0) continue;
      const pops = [...new Set([...dominant.filter((p): p is string => p !== null), ...ownChanges.flatMap((c) => [c.fromPop, c.toPop])])]
        .filter((p): p is string => p !== null)
        .sort(compareStrings);
      prefixesUsed.add(prefix);
      timelines.push({
        region,
        target: target.name,
        prefix,
        pops,
        x,
        pop: dominant.map((p) => (p === null ? null : pops.indexOf(p))),
        changes: ownChanges.map((c) => ({ atMs: c.timeMs, type: c.type, from: c.fromPop, to: c.toPop })),
      });
    }
  }
  const bgp: RoutingTimelines["bgp"] = {};
  for (const prefix of [...prefixesUsed].sort(compareStrings)) {
    bgp[prefix] = timeline
      .eventsOf(prefix)
      .filter((e) => e.timeMs >= window.fromMs && e.timeMs < window.toMs)
      .map((e) => ({ atMs: e.timeMs, type: e.type, ...(e.type === "STATE" ? { up: e.up } : {}) }));
  }
  return { timelines, bgp };
}

function dominantPop(counts: ReadonlyMap<string, number>): string | null {
  let best: string | null = null;
  let bestCount = 0;
  for (const [pop, n] of counts) {
    if (n > bestCount || (n === bestCount && best !== null && compareStrings(pop, best) < 0)) {
      best = pop;
      bestCount = n;
    }
  }
  return best;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
