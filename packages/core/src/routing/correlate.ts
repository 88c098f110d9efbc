// What the probes saw, joined with what BGP did: every data-plane event
// (a failover, a short PoP change, an outage, the start of a detour) lists
// the BGP events of its target's prefix within ±window of it.
//
// A target belongs to the longest watched prefix that contains its address;
// the events of that prefix and of every more-specific inside it count, and
// so do the session changes (STATE) of the peers that carried them, since a
// session going down withdraws its routes without a single UPDATE. BGP events
// are grouped per watched prefix and sorted once; each data-plane event then
// costs two binary searches, so thousands of events against hundreds of
// thousands of updates stay cheap.

import type { Blip, Failover, Outage } from "../analytics/failover";
import { compareStrings } from "../compare";
import type { BgpEvent } from "./event";
import { parsePrefix, prefixContains, prefixContainsAddress, prefixOf } from "./prefix";

export const DATA_PLANE_EVENT_TYPES = ["failover", "pop-change", "outage", "detour"] as const;
export type DataPlaneEventType = (typeof DATA_PLANE_EVENT_TYPES)[number];

/** Something the probes saw change in one region, at one instant. */
export interface DataPlaneEvent {
  type: DataPlaneEventType;
  target: string;
  /** The probe kind of the series it was seen in; null for detours (judged over every kind). */
  probeKind: string | null;
  region: string;
  /**
   * When the change began, as the probes saw it: a failover's first failure
   * (else the first answer from the new PoP), a PoP change's first answer
   * elsewhere, an outage's first failure, a detour's failover into the far PoP.
   */
  timeMs: number;
  /** The PoP before (an outage: the PoP that failed); null when unknown. */
  fromPop: string | null;
  /** The PoP after (an outage: the same PoP; a PoP change: the first PoP of the excursion). */
  toPop: string | null;
  /** Failovers and detours: the first answer of the stable run at the new PoP, where M2 ends. Null otherwise. */
  firstNewPopAnswerMs: number | null;
}

export interface DataPlaneSources {
  failovers?: readonly Failover[];
  outages?: readonly Outage[];
  /** Short excursions to other PoPs: PoP changes that did not last. */
  blips?: readonly Blip[];
  /** Detours judged over the window: one event each when a failover in its region moved traffic to the far PoP. */
  detours?: readonly { target: string; region: string; pop: string }[];
}

/** The data-plane events of what the analytics found, in event order (see compareDataPlaneEvents). */
export function dataPlaneEvents(sources: DataPlaneSources): DataPlaneEvent[] {
  const events: DataPlaneEvent[] = [];
  const failovers = sources.failovers ?? [];
  for (const f of failovers) {
    const firstGoodMs = Date.parse(f.firstGoodToAt);
    events.push({
      type: "failover",
      target: f.target,
      probeKind: f.kind,
      region: f.region,
      timeMs: f.firstFailureAt === null ? firstGoodMs : Date.parse(f.firstFailureAt),
      fromPop: f.from,
      toPop: f.to,
      firstNewPopAnswerMs: firstGoodMs,
    });
  }
  for (const o of sources.outages ?? []) {
    events.push({
      type: "outage",
      target: o.target,
      probeKind: o.kind,
      region: o.region,
      timeMs: Date.parse(o.firstFailureAt),
      fromPop: o.pop,
      toPop: o.pop,
      firstNewPopAnswerMs: null,
    });
  }
  for (const b of sources.blips ?? []) {
    events.push({
      type: "pop-change",
      target: b.target,
      probeKind: b.kind,
      region: b.region,
      timeMs: Date.parse(b.firstAt),
      fromPop: b.pop,
      toPop: b.excursion[0] ?? null,
      firstNewPopAnswerMs: null,
    });
  }
  for (const d of sources.detours ?? []) {
    // The detour began with the latest failover that moved the region to the far PoP; without one it predates the data.
    let began: Failover | null = null;
    for (const f of failovers) {
      if (f.target !== d.target || f.region !== d.region || f.to !== d.pop) continue;
      if (began === null || f.firstGoodToAt > began.firstGoodToAt) began = f;
    }
    if (began === null) continue;
    const firstGoodMs = Date.parse(began.firstGoodToAt);
    events.push({
      type: "detour",
      target: d.target,
      probeKind: null,
      region: d.region,
      timeMs: firstGoodMs,
      fromPop: began.from,
      toPop: d.pop,
      firstNewPopAnswerMs: firstGoodMs,
    });
  }
  return events.sort(compareDataPlaneEvents);
}

/** Time, then target, region, type, probe kind and PoPs: a total order, so results never depend on input order. */
export function compareDataPlaneEvents(a: DataPlaneEvent, b: DataPlaneEvent): number {
  return (
    a.timeMs - b.timeMs ||
    compareStrings(a.target, b.target) ||
    compareStrings(a.region, b.region) ||
    compareStrings(a.type, b.type) ||
    compareStrings(a.probeKind ?? "", b.probeKind ?? "") ||
    compareStrings(a.fromPop ?? "", b.fromPop ?? "") ||
    compareStrings(a.toPop ?? "", b.toPop ?? "") ||
    (a.firstNewPopAnswerMs ?? 0) - (b.firstNewPopAnswerMs ?? 0)
  );
}

export interface RoutingCorrelationInput {
  dataPlane: readonly DataPlaneEvent[];
  bgpEvents: readonly BgpEvent[];
  watched: readonly { prefix: string }[];
  /** Config targets: a target's address says which watched prefix carries it (a host name matches none). */
  targets: readonly { name: string; address: string }[];
  /** BGP events this close (before or after, inclusive) are listed; config bgp.correlationWindowSeconds × 1000. */
  windowMs: number;
  /** bgpTimeline(watched, bgpEvents, targets) when the caller already built it (several analyses of one input). */
  timeline?: BgpTimeline;
}

export interface CorrelatedEvent {
  event: DataPlaneEvent;
  /** The longest watched prefix holding the target's address; null when none does. */
  prefix: string | null;
  /** In time order (see compareBgpEvents). */
  bgpEvents: BgpEvent[];
}

/** Each data-plane event with the BGP events of its prefix within ±windowMs, in event order. */
export function correlateRouting(input: RoutingCorrelationInput): CorrelatedEvent[] {
  const timeline = input.timeline ?? bgpTimeline(input.watched, input.bgpEvents, input.targets);
  const windowMs = input.windowMs;
  return [...input.dataPlane].sort(compareDataPlaneEvents).map((event) => {
    const prefix = timeline.prefixOfTarget(event.target);
    if (prefix === null) return { event, prefix, bgpEvents: [] };
    const events = timeline.eventsOf(prefix);
    const from = firstAtOrAfter(events, event.timeMs - windowMs);
    const to = firstAfter(events, event.timeMs + windowMs);
    return { event, prefix, bgpEvents: events.slice(from, to) };
  });
}

/** BGP events per watched prefix in time order, and the prefix of each target. */
export interface BgpTimeline {
  prefixOfTarget(target: string): string | null;
  /** The events of the watched prefix, its more-specifics and the sessions of their peers, sorted by compareBgpEvents. */
  eventsOf(prefix: string): readonly BgpEvent[];
}

export function bgpTimeline(
  watched: readonly { prefix: string }[],
  bgpEvents: readonly BgpEvent[],
  targets: readonly { name: string; address: string }[],
): BgpTimeline {
  // Longest first: an event or address belongs to the most specific watched prefix holding it.
  const parsed = watched
    .map((w) => ({ text: w.prefix, prefix: prefixOf(w.prefix) }))
    .sort((a, b) => b.prefix.length - a.prefix.length || compareStrings(a.text, b.text));
  const holderOf = new Map<string, string | null>();
  const holder = (text: string): string | null => {
    let found = holderOf.get(text);
    if (found === undefined) {
      // A reader canonicalises prefixes; anything else belongs to no watched prefix.
      const inner = parsePrefix(text).prefix;
      found = inner === null ? null : (parsed.find((w) => prefixContains(w.prefix, inner))?.text ?? null);
      holderOf.set(text, found);
    }
    return found;
  };

  const byPrefix = new Map<string, BgpEvent[]>(parsed.map((w) => [w.text, []]));
  // A session's state belongs to every watched prefix its peer carried.
  const carriedBy = new Map<string, Set<string>>();
  const states: BgpEvent[] = [];
  for (const event of bgpEvents) {
    if (event.type === "STATE") {
      states.push(event);
      continue;
    }
    const prefix = holder(event.prefix);
    if (prefix === null) continue;
    byPrefix.get(prefix)!.push(event);
    const session = sessionKey(event);
    const carried = carriedBy.get(session);
    if (carried === undefined) carriedBy.set(session, new Set([prefix]));
    else carried.add(prefix);
  }
  for (const state of states) for (const prefix of carriedBy.get(sessionKey(state)) ?? []) byPrefix.get(prefix)!.push(state);
  for (const [prefix, events] of byPrefix) byPrefix.set(prefix, sortBgpEvents(events));

  const targetPrefix = new Map<string, string | null>();
  for (const target of targets) {
    targetPrefix.set(target.name, parsed.find((w) => prefixContainsAddress(w.prefix, target.address))?.text ?? null);
  }
  return {
    prefixOfTarget: (target) => targetPrefix.get(target) ?? null,
    eventsOf: (prefix) => byPrefix.get(prefix) ?? [],
  };
}

function sessionKey(event: { source: string; peer: string }): string {
  return `${event.source}\u0000${event.peer}`;
}

/**
 * Time order; events at the same instant in a fixed order of their content,
 * so the order never depends on how the feeds interleaved them. Ties are
 * common (MRT stamps whole seconds, a burst shares them), so the fields that
 * usually differ come first and the whole content, kept per event, last.
 */
export function compareBgpEvents(a: BgpEvent, b: BgpEvent): number {
  const byTime = a.timeMs - b.timeMs;
  if (byTime !== 0) return byTime;
  return (
    compareStrings(a.source, b.source) ||
    compareStrings(a.peer, b.peer) ||
    compareStrings(a.type, b.type) ||
    compareStrings(a.type === "STATE" ? "" : a.prefix, b.type === "STATE" ? "" : b.prefix) ||
    compareStrings(contentOf(a), contentOf(b))
  );
}

/**
 * The events in compareBgpEvents order. Hundreds of thousands of updates
 * sort by a comparator slowly (a call per comparison, on objects of two
 * shapes), so they sort by (time, index) keys natively and only events
 * sharing a millisecond go through the comparator. Input already in order
 * (as the store returns it) is returned after one pass.
 */
export function sortBgpEvents(events: readonly BgpEvent[]): BgpEvent[] {
  let sorted = true;
  for (let i = 1; i < events.length && sorted; i++) sorted = compareBgpEvents(events[i - 1]!, events[i]!) <= 0;
  if (sorted) return [...events];
  let minMs = Number.POSITIVE_INFINITY;
  for (const event of events) minMs = Math.min(minMs, event.timeMs);
  // Keys hold whole milliseconds; what differs within one (microseconds of *_ET records) the comparator settles.
  const offsetOf = (event: BgpEvent) => Math.floor(event.timeMs - minMs);
  if (!events.every((event) => Number.isSafeInteger(offsetOf(event)))) return [...events].sort(compareBgpEvents);
  const indexBits = BigInt(Math.max(1, Math.ceil(Math.log2(events.length + 1))));
  const keys = new BigUint64Array(events.length);
  for (let i = 0; i < events.length; i++) keys[i] = (BigInt(offsetOf(events[i]!)) << indexBits) | BigInt(i);
  keys.sort();
  const mask = (1n << indexBits) - 1n;
  const out = Array.from(keys, (key) => events[Number(key & mask)]!);
  for (let start = 0; start < out.length; ) {
    let end = start + 1;
    while (end < out.length && offsetOf(out[end]!) === offsetOf(out[start]!)) end++;
    if (end - start > 1) {
      const run = out.slice(start, end).sort(compareBgpEvents);
      for (let i = 0; i < run.length; i++) out[start + i] = run[i]!;
    }
    start = end;
  }
  return out;
}

const CONTENT = new WeakMap<BgpEvent, string>();

function contentOf(event: BgpEvent): string {
  let text = CONTENT.get(event);
  if (text === undefined) {
    text = JSON.stringify(event);
    CONTENT.set(event, text);
  }
  return text;
}

/** Index of the first event at or after ms (events.length when none). */
export function firstAtOrAfter(events: readonly { timeMs: number }[], ms: number): number {
  let low = 0;
  let high = events.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (events[mid]!.timeMs < ms) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Index of the first event after ms (events.length when none). */
export function firstAfter(events: readonly { timeMs: number }[], ms: number): number {
  let low = 0;
  let high = events.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (events[mid]!.timeMs <= ms) low = mid + 1;
    else high = mid;
  }
  return low;
}
