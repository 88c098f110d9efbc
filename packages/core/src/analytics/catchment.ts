// Catchment: which PoPs answer each region, in what shares, and when the PoP
// answering most of a region's probes changed. Works from rollups (their PoP
// counts), so thirty days of hour rollups cost as little as one day of raw
// results; raw results give the same answer (they are counted the same way).

import { compareStrings } from "../compare";
import { PopwatchCoreError } from "../errors";
import type { ProbeKind } from "../result";
import { PERIOD_MS, type RollupGranularity, isCoarser, periodKey, periodStartMs } from "../rollup/period";
import type { RollupSpan } from "../rollup/read-model";
import { type Rollup, rollupPeriod } from "../rollup/rollup";
import { type AnalyticsWindow, type RegionalResult, isRollupInput, isoOf, resolveWindow, seriesKeyOf, toSamples } from "./input";

export interface CatchmentOptions {
  /** Only data in [from, to): results by resultTime, rollups whose period overlaps it (counted whole). Default: everything. */
  window?: AnalyticsWindow;
  /** Period over which the dominant PoP is judged for `changes`. Default `hour`. Rollups must be this fine or finer. */
  bucket?: RollupGranularity;
  /** Only this probe kind. Default: every kind of the target together. */
  kind?: ProbeKind;
}

/** The dominant PoP changed from `from` to `to` in the bucket starting at `at`. */
export interface DominantChange {
  at: string;
  from: string;
  to: string;
}

/** Where one region's probes of one target landed. */
export interface Catchment {
  target: string;
  region: string;
  /** Results by answering PoP id. */
  counts: Record<string, number>;
  /** counts / total: the fraction of identified answers each PoP gave. Sums to 1 when total > 0. */
  shares: Record<string, number>;
  /** The PoP with the most answers; ties go to the smallest id. Null when no answer identified a PoP. */
  dominant: string | null;
  /** Results that identified a PoP: the denominator of shares. */
  total: number;
  /** Results without an identified PoP (failures, or answers carrying no PoP evidence). */
  unidentified: number;
  /** Changes of the per-bucket dominant PoP, in time order. */
  changes: DominantChange[];
}

/**
 * What a catchment over [sinceMs, untilMs) judged per `bucket` reads: minute
 * rollups for a minute bucket; otherwise hours for the whole hours, minutes
 * for the partial hours at the edges (and for trailing hours not compacted
 * yet). An hour bucket sums to the same counts from one hour item as from its
 * sixty minutes, and with thousands of vantages the minutes of a day are
 * millions of rollups where the hours are thousands.
 */
export function catchmentSpan(sinceMs: number, untilMs: number, bucket: RollupGranularity): RollupSpan {
  return { fromMs: sinceMs, toMs: untilMs, finest: bucket === "minute" ? "minute" : "hour" };
}

interface Bucket {
  pops: Map<string, number>;
  unidentified: number;
}

/**
 * Catchment per (target, region), sorted by target then region. Input is
 * rollups or raw results (or both for different periods: the same period
 * given twice counts twice, and overlapping rollups of one series are
 * refused).
 *
 * Dominant PoP of a bucket: the one with the most answers; on a tie the
 * previous bucket's dominant PoP stays when it is among the tied (a tie is no
 * evidence of a change), else the smallest id wins. Buckets without an
 * identified answer are skipped: they neither change the dominant PoP nor
 * break the chain.
 *
 * Throws PopwatchCoreError (`analytics_input_invalid`) for an invalid window,
 * a rollup coarser than the bucket, or overlapping rollups of one series.
 */
export function catchment(input: readonly (Rollup | RegionalResult)[], options: CatchmentOptions = {}): Catchment[] {
  const bucketGranularity = options.bucket ?? "hour";
  const { fromMs, toMs } = resolveWindow(options.window);
  const cells = new Map<string, { target: string; region: string; buckets: Map<number, Bucket> }>();
  const bucketOf = (target: string, region: string, startMs: number): Bucket => {
    const key = JSON.stringify([target, region]);
    let cell = cells.get(key);
    if (cell === undefined) {
      cell = { target, region, buckets: new Map() };
      cells.set(key, cell);
    }
    const bucketMs = periodStartMs(bucketGranularity, periodKey(bucketGranularity, startMs)!)!;
    let bucket = cell.buckets.get(bucketMs);
    if (bucket === undefined) {
      bucket = { pops: new Map(), unidentified: 0 };
      cell.buckets.set(bucketMs, bucket);
    }
    return bucket;
  };

  const rollups: Rollup[] = [];
  const results: RegionalResult[] = [];
  for (const item of input) {
    if (isRollupInput(item)) rollups.push(item);
    else results.push(item);
  }

  const spans = new Map<string, { startMs: number; endMs: number; rollup: Rollup }[]>();
  for (const rollup of rollups) {
    if (options.kind !== undefined && rollup.kind !== options.kind) continue;
    const startMs = periodStartMs(rollup.granularity, rollupPeriod(rollup));
    if (startMs === null) {
      throw new PopwatchCoreError(
        "analytics_input_invalid",
        `rollup period "${rollupPeriod(rollup)}" is not a valid ${rollup.granularity}`,
      );
    }
    const endMs = startMs + PERIOD_MS[rollup.granularity];
    if (endMs <= fromMs || startMs >= toMs) continue;
    if (isCoarser(rollup.granularity, bucketGranularity)) {
      throw new PopwatchCoreError(
        "analytics_input_invalid",
        `a ${rollup.granularity} rollup (${rollupPeriod(rollup)}) cannot be split into ${bucketGranularity} buckets; pass finer rollups or a coarser bucket`,
      );
    }
    const key = seriesKeyOf(rollup);
    const list = spans.get(key);
    if (list === undefined) spans.set(key, [{ startMs, endMs, rollup }]);
    else list.push({ startMs, endMs, rollup });
    const bucket = bucketOf(rollup.target, rollup.region, startMs);
    let identified = 0;
    for (const [pop, n] of Object.entries(rollup.pops)) {
      bucket.pops.set(pop, (bucket.pops.get(pop) ?? 0) + n);
      identified += n;
    }
    bucket.unidentified += Math.max(0, rollup.total - identified);
  }
  for (const list of spans.values()) {
    list.sort((a, b) => a.startMs - b.startMs || b.endMs - a.endMs);
    for (let i = 1; i < list.length; i++) {
      const before = list[i - 1]!;
      const after = list[i]!;
      if (after.startMs < before.endMs) {
        const r = after.rollup;
        throw new PopwatchCoreError(
          "analytics_input_invalid",
          `rollups of ${r.target}/${r.kind}/${r.region} overlap: ${before.rollup.granularity} ${rollupPeriod(before.rollup)} and ${r.granularity} ${rollupPeriod(r)} would be counted twice`,
        );
      }
    }
  }

  for (const sample of toSamples(results)) {
    if (sample.ms < fromMs || sample.ms >= toMs) continue;
    if (options.kind !== undefined && sample.kind !== options.kind) continue;
    const bucket = bucketOf(sample.target, sample.region, sample.ms);
    if (sample.pop === null) bucket.unidentified++;
    else bucket.pops.set(sample.pop, (bucket.pops.get(sample.pop) ?? 0) + 1);
  }

  const out: Catchment[] = [];
  const ordered = [...cells.values()].sort((a, b) => compareStrings(a.target, b.target) || compareStrings(a.region, b.region));
  for (const cell of ordered) {
    const counts = new Map<string, number>();
    let unidentified = 0;
    const changes: DominantChange[] = [];
    let previous: string | null = null;
    for (const bucketMs of [...cell.buckets.keys()].sort((a, b) => a - b)) {
      const bucket = cell.buckets.get(bucketMs)!;
      unidentified += bucket.unidentified;
      for (const [pop, n] of bucket.pops) counts.set(pop, (counts.get(pop) ?? 0) + n);
      const dominant = dominantOf(bucket.pops, previous);
      if (dominant === null) continue;
      if (previous !== null && dominant !== previous) changes.push({ at: isoOf(bucketMs), from: previous, to: dominant });
      previous = dominant;
    }
    let total = 0;
    for (const n of counts.values()) total += n;
    const sorted = [...counts].sort(([a], [b]) => compareStrings(a, b));
    out.push({
      target: cell.target,
      region: cell.region,
      // Object.fromEntries defines own properties, so a PoP id such as `__proto__` stays data.
      counts: Object.fromEntries(sorted),
      shares: Object.fromEntries(sorted.map(([pop, n]) => [pop, n / total])),
      dominant: dominantOf(counts, null),
      total,
      unidentified,
      changes,
    });
  }
  return out;
}

/** Most answers; a tie keeps `previous` when it is among the tied, else goes to the smallest id. */
function dominantOf(pops: ReadonlyMap<string, number>, previous: string | null): string | null {
  let best: string | null = null;
  let bestCount = 0;
  for (const [pop, n] of pops) {
    if (n <= 0) continue;
    if (n > bestCount || (n === bestCount && best !== null && compareStrings(pop, best) < 0)) {
      best = pop;
      bestCount = n;
    }
  }
  if (previous !== null && best !== null && (pops.get(previous) ?? 0) === bestCount) return previous;
  return best;
}
