// A mergeable latency sketch in the style of DDSketch (Masson et al., VLDB 2019):
// logarithmic buckets whose width guarantees a relative error of at most
// RELATIVE_ACCURACY on every quantile. Rollups for minutes, hours and days merge
// by adding bucket counts, so a 30-day p99 never needs the raw results.
//
// Serialised form: `{ [bucketIndex]: count }`, plus the key `z` for the zero
// bucket (values ≤ MIN_TRACKED_MS). Index i holds values in (γ^(i-1), γ^i].

import { DAY_MS } from "../time";

export type LatencySketch = Readonly<Record<string, number>>;

/** α: every quantile estimate is within this fraction of the true value. */
export const RELATIVE_ACCURACY = 0.01;
/** γ = (1 + α) / (1 − α). */
export const SKETCH_GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
/** Below one microsecond the monotonic clock says nothing useful, so such values share one bucket reported as 0. */
export const MIN_TRACKED_MS = 0.001;
/**
 * Larger values are recorded as this one. Probes time out after seconds, so
 * anything above a day is a clock fault; clamping keeps a hostile or broken
 * input from spreading counts over thousands of buckets (item size limits).
 */
export const MAX_TRACKED_MS = DAY_MS;
export const ZERO_BUCKET_KEY = "z";

const LOG_GAMMA = Math.log(SKETCH_GAMMA);

/** The bucket a latency falls in, or null when the value is not a number at all. */
export function sketchBucketKey(ms: number): string | null {
  if (typeof ms !== "number" || Number.isNaN(ms)) return null;
  if (ms <= MIN_TRACKED_MS) return ZERO_BUCKET_KEY;
  const clamped = Math.min(ms, MAX_TRACKED_MS);
  return String(Math.ceil(Math.log(clamped) / LOG_GAMMA));
}

/** The value a bucket reports: the point whose relative distance to both bucket edges is α. */
export function sketchBucketValue(key: string): number {
  if (key === ZERO_BUCKET_KEY) return 0;
  const index = Number(key);
  return (2 * SKETCH_GAMMA ** index) / (SKETCH_GAMMA + 1);
}

export function emptySketch(): LatencySketch {
  return {};
}

/** A new sketch with `ms` added. NaN is ignored: it carries no latency. */
export function addLatency(sketch: LatencySketch, ms: number): LatencySketch {
  const key = sketchBucketKey(ms);
  if (key === null) return normaliseSketch(sketch);
  const counts = toCountMap(sketch);
  counts.set(key, (counts.get(key) ?? 0) + 1);
  return fromCountMap(counts);
}

export function sketchFromLatencies(values: Iterable<number>): LatencySketch {
  const counts = new Map<string, number>();
  for (const ms of values) {
    const key = sketchBucketKey(ms);
    if (key !== null) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return fromCountMap(counts);
}

/** Bucket-wise sum. Associative and commutative; the result is in canonical key order. */
export function mergeSketches(...sketches: readonly LatencySketch[]): LatencySketch {
  const counts = new Map<string, number>();
  for (const sketch of sketches) {
    for (const [key, count] of Object.entries(sketch)) {
      counts.set(key, (counts.get(key) ?? 0) + count);
    }
  }
  return fromCountMap(counts);
}

export function sketchCount(sketch: LatencySketch): number {
  let total = 0;
  for (const count of Object.values(sketch)) total += count;
  return total;
}

/**
 * The nearest-rank quantile (rank ⌈q·n⌉, at least 1) within α relative error;
 * 0 when the value lies in the zero bucket; null for an empty sketch.
 * Throws RangeError when q is outside [0, 1] (a caller bug, not data).
 */
export function quantile(sketch: LatencySketch, q: number): number | null {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be within [0, 1], got ${q}`);
  const keys = sortedSketchKeys(sketch);
  const n = sketchCount(sketch);
  if (n === 0) return null;
  const rank = Math.max(1, Math.ceil(q * n));
  let seen = 0;
  for (const key of keys) {
    seen += sketch[key] ?? 0;
    if (seen >= rank) return sketchBucketValue(key);
  }
  // Only reachable if counts are not integers; answer with the largest bucket.
  const last = keys[keys.length - 1];
  return last === undefined ? null : sketchBucketValue(last);
}

/** Zero bucket first, then indexes ascending. Numeric order, not string order. */
export function sortedSketchKeys(sketch: LatencySketch): string[] {
  return Object.keys(sketch).sort(compareSketchKeys);
}

/** Same counts, canonical key order, empty buckets dropped: equal sketches serialise identically. */
export function normaliseSketch(sketch: LatencySketch): LatencySketch {
  return fromCountMap(toCountMap(sketch));
}

/** True for a well-formed serialised sketch (e.g. one read back from storage). */
export function isLatencySketch(value: unknown): value is LatencySketch {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  for (const [key, count] of Object.entries(value)) {
    if (key !== ZERO_BUCKET_KEY && !/^-?\d{1,6}$/.test(key)) return false;
    if (typeof count !== "number" || !Number.isSafeInteger(count) || count <= 0) return false;
  }
  return true;
}

function compareSketchKeys(a: string, b: string): number {
  if (a === b) return 0;
  if (a === ZERO_BUCKET_KEY) return -1;
  if (b === ZERO_BUCKET_KEY) return 1;
  return Number(a) - Number(b);
}

function toCountMap(sketch: LatencySketch): Map<string, number> {
  return new Map(Object.entries(sketch));
}

function fromCountMap(counts: Map<string, number>): LatencySketch {
  const keys = [...counts.keys()].filter((key) => (counts.get(key) ?? 0) > 0).sort(compareSketchKeys);
  return Object.fromEntries(keys.map((key) => [key, counts.get(key) ?? 0]));
}
