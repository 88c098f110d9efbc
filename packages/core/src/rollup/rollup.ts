// Per-series aggregates of probe results for a minute, hour or day. SLO burn
// rates over windows up to 30 days read these instead of raw results, so they
// must merge exactly: counts add, latency sketches merge, PoP changes chain.
//
// Everything here is pure and deterministic: the same results in any order give
// deep-equal rollups, and keys of every record are in a canonical order so that
// equal rollups also serialise to identical bytes.

import { compareStrings } from "../compare";
import { PROBE_KINDS, type ProbeKind, type ProbeResult } from "../result";
import { type RollupGranularity, isCoarser, periodKey, toEpochMs } from "./period";
import { type LatencySketch, isLatencySketch, mergeSketches, normaliseSketch, sketchFromLatencies } from "./sketch";

/** One time series: what was probed, how, and from where. */
export interface SeriesKey {
  /** The configured target name, or `address:port` when the result has no name. */
  target: string;
  kind: ProbeKind;
  region: string;
}

/** Failure code recorded for a failed result that carries no code of its own. */
export const UNKNOWN_FAILURE_CODE = "unknown";

export interface RollupCounts extends SeriesKey {
  /** Results in the period. Always `good + Σ failures`. */
  total: number;
  /** Results with `ok === true`. */
  good: number;
  /** Failed results by failure code. */
  failures: Readonly<Record<string, number>>;
  /** `timings.totalMs` of the good results. */
  latency: LatencySketch;
  /** Results by answering PoP id (results without an identified PoP are not counted here). */
  pops: Readonly<Record<string, number>>;
  /**
   * How often the answering PoP changed between consecutive results (by
   * startedAt) that identified one. Results without a PoP neither count nor
   * break the chain: a timeout between two answers from `fra` is no change.
   */
  popChanges: number;
  /** PoP of the earliest result that identified one, else null. */
  firstPop: string | null;
  /** PoP of the latest result that identified one, else null. */
  lastPop: string | null;
  /**
   * DNS results (dns, dot, doh) whose answer had TC=1, retried or not. Last in
   * the key order: rollups stored before it existed lack it and read as 0
   * (completeRollup).
   */
  truncated: number;
  /** DNS results whose TC=1 UDP answer was retried over TCP. Absent in older rollups, read as 0. */
  tcpFallback: number;
}

/** Counters added after rollups were first stored; a stored rollup without one counted none. */
const LATER_COUNTERS = ["truncated", "tcpFallback"] as const;

export interface MinuteRollup extends RollupCounts {
  granularity: "minute";
  /** `YYYY-MM-DDTHH:MM`, UTC. */
  minute: string;
}

export interface HourRollup extends RollupCounts {
  granularity: "hour";
  /** `YYYY-MM-DDTHH`, UTC. */
  hour: string;
}

export interface DayRollup extends RollupCounts {
  granularity: "day";
  /** `YYYY-MM-DD`, UTC. */
  day: string;
}

export type Rollup = MinuteRollup | HourRollup | DayRollup;
export type RollupOf<G extends RollupGranularity> = Extract<Rollup, { granularity: G }>;

export interface RollupOptions {
  /** Where the results were probed from; ProbeResult itself does not say. */
  region: string;
  /**
   * The PoP that answered last before these results. Counted as a change when
   * the first PoP identified in each series differs. Only for a
   * rollup that stands alone: mergeRollups counts the change across every
   * boundary between its children itself, so rollups that will be merged must
   * be built without it or that change is counted twice.
   */
  previousPop?: string | null;
}

/** The period key of a rollup, whatever its granularity. */
export function rollupPeriod(rollup: Rollup): string {
  switch (rollup.granularity) {
    case "minute":
      return rollup.minute;
    case "hour":
      return rollup.hour;
    case "day":
      return rollup.day;
  }
}

/** The series name a result is filed under: its configured name, else `address:port`. */
export function resultSeriesTarget(result: ProbeResult): string {
  const loose = result as unknown as Record<string, unknown>;
  if (typeof loose.name === "string") return loose.name;
  return typeof loose.target === "string" ? loose.target : String(loose.target);
}

/**
 * Why a result cannot be rolled up (null when it can). rollupResults skips such
 * results rather than throwing, so a writer should check first and refuse them.
 */
export function unrollupableReason(result: unknown): string | null {
  if (typeof result !== "object" || result === null) return "not an object";
  const loose = result as Record<string, unknown>;
  if (typeof loose.kind !== "string" || !(PROBE_KINDS as readonly string[]).includes(loose.kind)) return "unknown kind";
  if (typeof loose.startedAt !== "string" || toEpochMs(loose.startedAt) === null) return "startedAt is not a valid instant";
  if (loose.slotAt !== undefined && (typeof loose.slotAt !== "string" || toEpochMs(loose.slotAt) === null)) {
    return "slotAt is not a valid instant";
  }
  return null;
}

/**
 * The instant a result is filed under: its scheduled slot when it has one
 * (stable when an invocation is retried and probes start a little later),
 * else when it started.
 */
export function resultTime(result: { startedAt: string; slotAt?: string }): string {
  return result.slotAt ?? result.startedAt;
}

/** One minute rollup per (target, kind, minute) present in the results. */
export function rollupMinute(results: readonly ProbeResult[], options: RollupOptions): MinuteRollup[] {
  return rollupResults(results, { ...options, granularity: "minute" });
}

/**
 * One rollup per (target, kind, period) present in the results, sorted by
 * target, kind, then period. Never throws: results without a known kind or a
 * valid startedAt are skipped (see unrollupableReason); odd values elsewhere
 * are counted as best they can be (a failed result without a code counts as
 * `unknown`, a non-numeric latency is left out of the sketch).
 */
export function rollupResults<G extends RollupGranularity>(
  results: readonly ProbeResult[],
  options: RollupOptions & { granularity: G },
): RollupOf<G>[] {
  const groups = new Map<string, { series: SeriesKey; period: string; entries: Entry[] }>();
  for (const result of results) {
    if (unrollupableReason(result) !== null) continue;
    const entry = toEntry(result);
    const period = periodKey(options.granularity, entry.startedMs);
    if (period === null) continue;
    const series: SeriesKey = { target: resultSeriesTarget(result), kind: result.kind, region: options.region };
    const groupKey = JSON.stringify([series.target, series.kind, period]);
    let group = groups.get(groupKey);
    if (group === undefined) {
      group = { series, period, entries: [] };
      groups.set(groupKey, group);
    }
    group.entries.push(entry);
  }

  const ordered = [...groups.values()].sort((a, b) => compareSeries(a.series, b.series) || compareStrings(a.period, b.period));
  const rollups: RollupOf<G>[] = [];
  let previousSeries: SeriesKey | null = null;
  // previousPop stands for the PoP before the series' first answer, so it passes
  // over periods in which no result identified a PoP, as mergeRollups would.
  let pendingPreviousPop: string | null = null;
  for (const group of ordered) {
    if (previousSeries === null || compareSeries(previousSeries, group.series) !== 0) {
      pendingPreviousPop = options.previousPop ?? null;
    }
    previousSeries = group.series;
    const rollup = buildRollup(options.granularity, group.series, group.period, group.entries, pendingPreviousPop);
    if (rollup.firstPop !== null) pendingPreviousPop = null;
    rollups.push(rollup);
  }
  return rollups;
}

/**
 * Hour or day rollups from finer ones: one per (series, period) in the input,
 * sorted by series then period. Counts add, sketches and PoP counts merge, and
 * popChanges is the children's sum plus one for each boundary where the PoP
 * that answered last differs from the next child's first (children without a
 * PoP are skipped over), so the result equals rolling up the raw results
 * directly. Throws RangeError on children that are not finer than `into`, or
 * on a group whose children mix granularities or repeat a period: those would
 * double-count.
 */
export function mergeRollups<G extends "hour" | "day">(children: readonly Rollup[], into: G): RollupOf<G>[] {
  const groups = new Map<string, { series: SeriesKey; period: string; children: Rollup[] }>();
  for (const child of children) {
    if (!isCoarser(into, child.granularity)) {
      throw new RangeError(`cannot merge ${child.granularity} rollups into ${into} rollups`);
    }
    const period = periodKey(into, periodStartIso(child));
    if (period === null) throw new RangeError(`rollup period ${rollupPeriod(child)} is not a valid ${child.granularity}`);
    const series: SeriesKey = { target: child.target, kind: child.kind, region: child.region };
    const groupKey = JSON.stringify([series.target, series.kind, series.region, period]);
    let group = groups.get(groupKey);
    if (group === undefined) {
      group = { series, period, children: [] };
      groups.set(groupKey, group);
    }
    group.children.push(child);
  }

  const merged: RollupOf<G>[] = [];
  const ordered = [...groups.values()].sort((a, b) => compareSeries(a.series, b.series) || compareStrings(a.period, b.period));
  for (const group of ordered) {
    const sorted = [...group.children].sort((a, b) => compareStrings(rollupPeriod(a), rollupPeriod(b)));
    for (let i = 1; i < sorted.length; i++) {
      const before = sorted[i - 1]!;
      const after = sorted[i]!;
      if (before.granularity !== after.granularity) {
        throw new RangeError(`${into} ${group.period} mixes ${before.granularity} and ${after.granularity} rollups`);
      }
      if (rollupPeriod(before) === rollupPeriod(after)) {
        throw new RangeError(`${into} ${group.period} has two rollups for ${before.granularity} ${rollupPeriod(after)}`);
      }
    }
    merged.push(mergeGroup(into, group.series, group.period, sorted));
  }
  return merged;
}

/**
 * Rollups of the same series and period written by different writers (an
 * agent and an import of the same vantage, two import batches) as one: counts
 * add, sketches and PoP counts merge. Their results interleave in time in a
 * way the rollups no longer show, so popChanges adds each part's changes plus
 * one per differing PoP between parts taken in a canonical order (by first
 * PoP): exact when the parts do not overlap in time, a close bound when they
 * do. One rollup per (series, period), sorted by series then period.
 */
export function mergeSamePeriodRollups<R extends Rollup>(rollups: readonly R[]): R[] {
  const groups = new Map<string, R[]>();
  for (const rollup of rollups) {
    const key = JSON.stringify([rollup.target, rollup.kind, rollup.region, rollup.granularity, rollupPeriod(rollup)]);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [rollup]);
    else group.push(rollup);
  }
  const merged: R[] = [];
  for (const group of groups.values()) {
    const first = group[0]!;
    if (group.length === 1) {
      merged.push(first);
      continue;
    }
    const ordered = [...group].sort((a, b) => compareStrings(a.firstPop ?? "", b.firstPop ?? "") || a.total - b.total);
    merged.push(mergeGroup(first.granularity, first, rollupPeriod(first), ordered) as R);
  }
  return merged.sort((a, b) => compareSeries(a, b) || compareStrings(rollupPeriod(a), rollupPeriod(b)));
}

/** Same content with every record in canonical key order (for byte-identical serialisation). */
export function canonicalRollup<R extends Rollup>(rollup: R): R {
  const counts = countsOf(rollup, {
    total: rollup.total,
    good: rollup.good,
    failures: sortedRecord(Object.entries(rollup.failures)),
    latency: normaliseSketch(rollup.latency),
    pops: sortedRecord(Object.entries(rollup.pops)),
    popChanges: rollup.popChanges,
    firstPop: rollup.firstPop,
    lastPop: rollup.lastPop,
    truncated: rollup.truncated ?? 0,
    tcpFallback: rollup.tcpFallback ?? 0,
  });
  return withPeriod(rollup.granularity, rollupPeriod(rollup), counts) as R;
}

/**
 * A rollup read back from storage with the counters added since it was
 * written (truncated, tcpFallback) set to 0: the same object when it has
 * them all, so current rollups cost nothing.
 */
export function completeRollup<R extends Rollup>(rollup: R): R {
  if (LATER_COUNTERS.every((counter) => rollup[counter] !== undefined)) return rollup;
  return canonicalRollup(rollup);
}

/**
 * Structural check for a rollup read back from storage. Verifies the invariants
 * consumers rely on (good + Σ failures = total, non-negative integer counts,
 * each later counter at most total). A rollup stored before a later counter
 * existed passes without it: pass it through completeRollup before use.
 */
export function isRollup(value: unknown): value is Rollup {
  if (typeof value !== "object" || value === null) return false;
  const r = value as Record<string, unknown>;
  if (typeof r.target !== "string" || typeof r.region !== "string") return false;
  if (typeof r.kind !== "string" || !(PROBE_KINDS as readonly string[]).includes(r.kind)) return false;
  const granularity = r.granularity;
  if (granularity !== "minute" && granularity !== "hour" && granularity !== "day") return false;
  const period = r[granularity];
  if (typeof period !== "string" || periodKey(granularity, periodStartIsoOf(granularity, period)) !== period) return false;
  if (!isCount(r.total) || !isCount(r.good) || !isCount(r.popChanges)) return false;
  if (!isCountRecord(r.failures) || !isCountRecord(r.pops) || !isLatencySketch(r.latency)) return false;
  if (!(r.firstPop === null || typeof r.firstPop === "string") || !(r.lastPop === null || typeof r.lastPop === "string")) return false;
  for (const counter of LATER_COUNTERS) {
    const n = r[counter];
    if (n !== undefined && (!isCount(n) || n > r.total)) return false;
  }
  let failed = 0;
  for (const n of Object.values(r.failures)) failed += n;
  return r.good + failed === r.total;
}

interface Entry {
  startedMs: number;
  ok: boolean;
  failureCode: string | null;
  totalMs: number | null;
  pop: string | null;
  truncated: boolean;
  tcpFallback: boolean;
}

function toEntry(result: ProbeResult): Entry {
  const loose = result as unknown as Record<string, unknown>;
  const ok = loose.ok === true;
  const failure = loose.failure;
  const code =
    typeof failure === "object" && failure !== null && typeof (failure as Record<string, unknown>).code === "string"
      ? ((failure as Record<string, unknown>).code as string)
      : "";
  const timings = loose.timings;
  const totalMs =
    typeof timings === "object" && timings !== null && typeof (timings as Record<string, unknown>).totalMs === "number"
      ? ((timings as Record<string, unknown>).totalMs as number)
      : null;
  const pop = loose.pop;
  const popId =
    typeof pop === "object" && pop !== null && typeof (pop as Record<string, unknown>).id === "string"
      ? ((pop as Record<string, unknown>).id as string)
      : "";
  return {
    startedMs: toEpochMs(resultTime(loose as { startedAt: string; slotAt?: string })) ?? 0,
    ok,
    failureCode: ok ? null : code === "" ? UNKNOWN_FAILURE_CODE : code,
    totalMs,
    pop: popId === "" ? null : popId,
    truncated: loose.truncated === true,
    tcpFallback: loose.tcpFallback === true,
  };
}

function buildRollup<G extends RollupGranularity>(
  granularity: G,
  series: SeriesKey,
  period: string,
  entries: Entry[],
  previousPop: string | null,
): RollupOf<G> {
  // Ties on time are broken by PoP id so that input order cannot change popChanges.
  const ordered = [...entries].sort((a, b) => a.startedMs - b.startedMs || compareStrings(a.pop ?? "", b.pop ?? ""));
  let good = 0;
  const failures = new Map<string, number>();
  const pops = new Map<string, number>();
  const latencies: number[] = [];
  let popChanges = 0;
  let firstPop: string | null = null;
  let lastPop: string | null = previousPop === "" ? null : previousPop;
  let sawPop = false;
  let truncated = 0;
  let tcpFallback = 0;
  for (const entry of ordered) {
    if (entry.truncated) truncated++;
    if (entry.tcpFallback) tcpFallback++;
    if (entry.ok) {
      good++;
      if (entry.totalMs !== null) latencies.push(entry.totalMs);
    } else {
      const code = entry.failureCode ?? UNKNOWN_FAILURE_CODE;
      failures.set(code, (failures.get(code) ?? 0) + 1);
    }
    if (entry.pop !== null) {
      pops.set(entry.pop, (pops.get(entry.pop) ?? 0) + 1);
      if (lastPop !== null && lastPop !== entry.pop) popChanges++;
      if (!sawPop) firstPop = entry.pop;
      sawPop = true;
      lastPop = entry.pop;
    }
  }
  const counts = countsOf(series, {
    total: ordered.length,
    good,
    failures: sortedRecord(failures),
    latency: sketchFromLatencies(latencies),
    pops: sortedRecord(pops),
    popChanges,
    firstPop,
    lastPop: sawPop ? lastPop : null,
    truncated,
    tcpFallback,
  });
  return withPeriod(granularity, period, counts);
}

function mergeGroup<G extends RollupGranularity>(
  granularity: G,
  series: SeriesKey,
  period: string,
  sortedChildren: readonly Rollup[],
): RollupOf<G> {
  let total = 0;
  let good = 0;
  let popChanges = 0;
  const failures = new Map<string, number>();
  const pops = new Map<string, number>();
  let firstPop: string | null = null;
  let lastPop: string | null = null;
  let truncated = 0;
  let tcpFallback = 0;
  for (const child of sortedChildren) {
    total += child.total;
    // A child read from an item written before these counters existed has none.
    truncated += child.truncated ?? 0;
    tcpFallback += child.tcpFallback ?? 0;
    good += child.good;
    popChanges += child.popChanges;
    addCounts(failures, child.failures);
    addCounts(pops, child.pops);
    if (child.firstPop !== null) {
      if (lastPop !== null && lastPop !== child.firstPop) popChanges++;
      if (firstPop === null) firstPop = child.firstPop;
    }
    if (child.lastPop !== null) lastPop = child.lastPop;
  }
  const counts = countsOf(series, {
    total,
    good,
    failures: sortedRecord(failures),
    latency: mergeSketches(...sortedChildren.map((child) => child.latency)),
    pops: sortedRecord(pops),
    popChanges,
    firstPop,
    lastPop,
    truncated,
    tcpFallback,
  });
  return withPeriod(granularity, period, counts);
}

type CountFields = Omit<RollupCounts, keyof SeriesKey>;

// Builds the object in a fixed key order so serialisations of equal rollups match byte for byte.
function countsOf(series: SeriesKey, counts: CountFields): RollupCounts {
  return { target: series.target, kind: series.kind, region: series.region, ...counts };
}

function withPeriod<G extends RollupGranularity>(granularity: G, period: string, counts: RollupCounts): RollupOf<G> {
  const { target, kind, region, ...rest } = counts;
  return { target, kind, region, granularity, [granularity]: period, ...rest } as unknown as RollupOf<G>;
}

function periodStartIso(rollup: Rollup): string {
  return periodStartIsoOf(rollup.granularity, rollupPeriod(rollup));
}

function periodStartIsoOf(granularity: RollupGranularity, period: string): string {
  switch (granularity) {
    case "minute":
      return `${period}:00.000Z`;
    case "hour":
      return `${period}:00:00.000Z`;
    case "day":
      return `${period}T00:00:00.000Z`;
  }
}

function addCounts(into: Map<string, number>, from: Readonly<Record<string, number>>): void {
  for (const [key, n] of Object.entries(from)) into.set(key, (into.get(key) ?? 0) + n);
}

// Object.fromEntries defines own properties, so a code or PoP id such as
// `__proto__` is stored as data instead of replacing the prototype.
function sortedRecord(entries: Iterable<readonly [string, number]>): Record<string, number> {
  return Object.fromEntries([...entries].filter(([, n]) => n > 0).sort(([a], [b]) => compareStrings(a, b)));
}

function compareSeries(a: SeriesKey, b: SeriesKey): number {
  return compareStrings(a.target, b.target) || compareStrings(a.kind, b.kind) || compareStrings(a.region, b.region);
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function isCountRecord(value: unknown): value is Record<string, number> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  return Object.values(value).every((n) => isCount(n) && n > 0);
}
