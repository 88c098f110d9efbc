// Route convergence as the anycast guides define it (SLI M2, "BGP withdraw to
// new best path"), measured end to end per region: from the first BGP change
// of the burst a failover belongs to, to the first answer from the new PoP in
// that region. BGP says when the routing began to move; the probes say when
// the region's traffic arrived.
//
// The burst of a failover: the newest BGP event of its prefix between
// `windowMs` before the failover and the first answer from the new PoP, and
// every event before it with gaps under `burstGapMs` (the burst may start
// before the window: a withdrawal that took long to propagate is still the
// cause). No BGP event there means the routing did not move: a PoP that
// failed but kept announcing (a black hole), or a change inside the
// operator's network no collector sees. M2 is then null.

import { compareStrings } from "../compare";
import {
  type DataPlaneEvent,
  type RoutingCorrelationInput,
  bgpTimeline,
  compareDataPlaneEvents,
  firstAfter,
  firstAtOrAfter,
} from "./correlate";
import type { BgpEvent } from "./event";

/** The updates (and session changes) of one burst around a failover: where M2 starts. */
interface M2Burst {
  firstMs: number;
  lastMs: number;
  events: number;
}

export function isWithdrawal(event: BgpEvent): boolean {
  return event.type === "W" || (event.type === "STATE" && !event.up);
}

export interface RouteConvergenceInput extends Omit<RoutingCorrelationInput, "dataPlane"> {
  /** Failovers (type "failover"); other events are ignored. */
  dataPlane: readonly DataPlaneEvent[];
  /** Config bgp.burstGapSeconds × 1000. */
  burstGapMs: number;
}

/** M2 of one failover. */
export interface FailoverRouteConvergence {
  target: string;
  probeKind: string | null;
  region: string;
  fromPop: string;
  toPop: string;
  /** The watched prefix of the target; null when none holds its address. */
  prefix: string | null;
  /** When the failover began (DataPlaneEvent.timeMs). */
  failoverMs: number;
  firstNewPopAnswerMs: number;
  /** The first event of the burst; null when no BGP event fell in the window ("no BGP change seen"). */
  bgpFirstMs: number | null;
  /** The last event of the burst (it may end after the failover). */
  bgpLastMs: number | null;
  /** firstNewPopAnswerMs − bgpFirstMs; null without a burst. */
  m2Ms: number | null;
  /** BGP events in the burst; 0 without one. */
  burstEvents: number;
}

/** M2 per region, over the failovers of targets in watched prefixes. */
export interface RegionRouteConvergence {
  region: string;
  /** Failovers of targets in a watched prefix. */
  failovers: number;
  /** Failovers with a BGP change in the window (an M2 figure). */
  measured: number;
  /** Median (nearest rank) and maximum M2; null when none was measured. */
  p50Ms: number | null;
  maxMs: number | null;
}

export interface RouteConvergence {
  /** In failover order. */
  failovers: FailoverRouteConvergence[];
  /** Sorted by region; only regions with a failover of a target in a watched prefix. */
  regions: RegionRouteConvergence[];
}

export function routeConvergence(input: RouteConvergenceInput): RouteConvergence {
  const timeline = input.timeline ?? bgpTimeline(input.watched, input.bgpEvents, input.targets);
  const failovers: FailoverRouteConvergence[] = [];
  const ordered = input.dataPlane.filter((e) => e.type === "failover").sort(compareDataPlaneEvents);
  for (const event of ordered) {
    const firstNewPopAnswerMs = event.firstNewPopAnswerMs ?? event.timeMs;
    const prefix = timeline.prefixOfTarget(event.target);
    const events = prefix === null ? [] : timeline.eventsOf(prefix);
    const burst = burstBefore(events, event.timeMs - input.windowMs, firstNewPopAnswerMs, input.burstGapMs);
    failovers.push({
      target: event.target,
      probeKind: event.probeKind,
      region: event.region,
      fromPop: event.fromPop ?? "",
      toPop: event.toPop ?? "",
      prefix,
      failoverMs: event.timeMs,
      firstNewPopAnswerMs,
      bgpFirstMs: burst?.firstMs ?? null,
      bgpLastMs: burst?.lastMs ?? null,
      m2Ms: burst === null ? null : firstNewPopAnswerMs - burst.firstMs,
      burstEvents: burst?.events ?? 0,
    });
  }

  // Failovers of targets outside every watched prefix say nothing about routing: listed, not summarised.
  const byRegion = new Map<string, FailoverRouteConvergence[]>();
  for (const f of failovers) if (f.prefix !== null) byRegion.set(f.region, [...(byRegion.get(f.region) ?? []), f]);
  const regions = [...byRegion.keys()].sort(compareStrings).map((region) => {
    const list = byRegion.get(region)!;
    const m2 = list.flatMap((f) => (f.m2Ms === null ? [] : [f.m2Ms])).sort((a, b) => a - b);
    return {
      region,
      failovers: list.length,
      measured: m2.length,
      p50Ms: m2.length === 0 ? null : m2[Math.ceil(m2.length / 2) - 1]!,
      maxMs: m2.length === 0 ? null : m2[m2.length - 1]!,
    };
  });
  return { failovers, regions };
}

/**
 * The burst holding the newest event in [fromMs, untilMs], grown backwards
 * and forwards over gaps under gapMs; null when the range holds no event.
 */
function burstBefore(events: readonly BgpEvent[], fromMs: number, untilMs: number, gapMs: number): M2Burst | null {
  const end = firstAfter(events, untilMs) - 1;
  if (end < 0 || end < firstAtOrAfter(events, fromMs)) return null;
  let first = end;
  while (first > 0 && events[first]!.timeMs - events[first - 1]!.timeMs < gapMs) first--;
  let last = end;
  while (last + 1 < events.length && events[last + 1]!.timeMs - events[last]!.timeMs < gapMs) last++;
  return { firstMs: events[first]!.timeMs, lastMs: events[last]!.timeMs, events: last - first + 1 };
}
