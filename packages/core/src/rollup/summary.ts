// What a person reads first about a set of rollups: how many answered well,
// how fast (quantiles of the merged latency sketches) and which PoPs
// answered. Shared by the SLO rows and the per-series rows of a report.

import { compareStrings } from "../compare";
import type { Rollup } from "./rollup";
import { mergeSketches, quantile, sketchCount } from "./sketch";

export interface LatencySummary {
  /** Good results whose latency was sketched. */
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface PopShare {
  pop: string;
  /** Answers from this PoP. */
  count: number;
  /** Of the answers that identified a PoP. */
  share: number;
}

export function latencySummary(rollups: readonly Rollup[]): LatencySummary {
  const sketch = mergeSketches(...rollups.map((r) => r.latency));
  return { count: sketchCount(sketch), p50: quantile(sketch, 0.5), p95: quantile(sketch, 0.95), p99: quantile(sketch, 0.99) };
}

/** Answering PoPs by share, largest first (ties by id); at most `limit` of them. */
export function popShares(rollups: readonly Rollup[], limit = Number.POSITIVE_INFINITY): PopShare[] {
  const counts = new Map<string, number>();
  for (const rollup of rollups) for (const [pop, n] of Object.entries(rollup.pops)) counts.set(pop, (counts.get(pop) ?? 0) + n);
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || compareStrings(a[0], b[0]))
    .slice(0, limit)
    .map(([pop, count]) => ({ pop, count, share: count / total }));
}
