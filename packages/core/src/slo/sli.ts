// Good and bad events of an SLO, counted from rollups (which is all that is
// kept for windows beyond a few days).

import type { RollupCounts } from "../rollup/rollup";
import { type LatencySketch, MIN_TRACKED_MS, SKETCH_GAMMA, ZERO_BUCKET_KEY } from "../rollup/sketch";
import type { EventCounts } from "./budget";
import type { SloConfig } from "./model";

/** Largest latency a sketch bucket can hold: bucket i holds (γ^(i−1), γ^i], the zero bucket up to MIN_TRACKED_MS. */
export function sketchBucketUpperBound(key: string): number {
  return key === ZERO_BUCKET_KEY ? MIN_TRACKED_MS : SKETCH_GAMMA ** Number(key);
}

/**
 * Latencies in the sketch that are certainly ≤ thresholdMs: the counts of
 * buckets whose upper bound is ≤ thresholdMs. A slow result is never counted
 * as fast. The bucket straddling the threshold counts as slow, so results in
 * (thresholdMs/γ, thresholdMs] may be miscounted as slow: a band of
 * 1 − 1/γ = 2α/(1+α) ≈ 1.98 % of the threshold below it (α = 1 %, the sketch's
 * relative accuracy; a quantile read from the same sketch is within 1 %).
 */
export function sketchCountAtMost(sketch: LatencySketch, thresholdMs: number): number {
  let count = 0;
  for (const [key, n] of Object.entries(sketch)) {
    if (sketchBucketUpperBound(key) <= thresholdMs) count += n;
  }
  return count;
}

/**
 * An SLO's events from rollups of any granularity (per region or already
 * merged). Only rollups of the SLO's target and kinds count (every kind when
 * the SLO names none). Availability: bad = total − good. Latency: good = ok
 * results no slower than thresholdMs per sketchCountAtMost; ok results without
 * a recorded latency count as bad, since they cannot show they were fast.
 */
export function sloCountsFromRollups(
  slo: Pick<SloConfig, "target" | "kinds" | "sli">,
  rollups: readonly Pick<RollupCounts, "target" | "kind" | "total" | "good" | "latency">[],
): EventCounts {
  let total = 0;
  let good = 0;
  for (const rollup of rollups) {
    if (rollup.target !== slo.target) continue;
    if (slo.kinds !== undefined && !slo.kinds.includes(rollup.kind)) continue;
    total += rollup.total;
    good += slo.sli.type === "availability" ? rollup.good : Math.min(rollup.good, sketchCountAtMost(rollup.latency, slo.sli.thresholdMs));
  }
  return { bad: total - good, total };
}
