// What the analytics read: raw results tagged with the region that probed
// them (what ResultStore.queryResults returns), or rollups. Helpers here put
// either into time order the same way the rollups do, so an analysis of raw
// results and of their rollups agree.

import { compareStrings } from "../compare";
import { PopwatchCoreError } from "../errors";
import type { ProbeKind, ProbeResult } from "../result";
import { toEpochMs } from "../rollup/period";
import { type Rollup, resultSeriesTarget, resultTime, unrollupableReason } from "../rollup/rollup";

/** A probe result and where it was probed from; slotAt is its scheduled round when it has one. */
export type RegionalResult = ProbeResult & { region: string; slotAt?: string };

/** An instant: Date, epoch milliseconds or an ISO 8601 string. */
export type AnalyticsInstant = Date | number | string;

/** [from, to): from inclusive, to exclusive. */
export interface AnalyticsWindow {
  from: AnalyticsInstant;
  to: AnalyticsInstant;
}

/** One result reduced to what the analytics use. */
export interface Sample {
  target: string;
  kind: ProbeKind;
  region: string;
  /** resultTime (slotAt, else startedAt) in epoch ms. */
  ms: number;
  ok: boolean;
  pop: string | null;
  iata: string | null;
  result: RegionalResult;
}

export function isRollupInput(value: Rollup | RegionalResult): value is Rollup {
  return typeof (value as { granularity?: unknown }).granularity === "string";
}

/** Results as samples, skipping what rollups skip too (no known kind, no valid time) and results without a region. */
export function toSamples(results: Iterable<RegionalResult>): Sample[] {
  const samples: Sample[] = [];
  for (const result of results) {
    if (unrollupableReason(result) !== null || typeof result.region !== "string") continue;
    const pop = result.pop as { id?: unknown; iata?: unknown } | null | undefined;
    const popId = typeof pop?.id === "string" && pop.id !== "" ? pop.id : null;
    samples.push({
      target: resultSeriesTarget(result),
      kind: result.kind,
      region: result.region,
      ms: toEpochMs(resultTime(result))!,
      ok: result.ok === true,
      pop: popId,
      iata: popId !== null && typeof pop?.iata === "string" ? pop.iata : null,
      result,
    });
  }
  return samples;
}

/**
 * Time order, ties broken by PoP id (as the rollups break them, so PoP changes
 * counted either way agree), then successes first: input order never matters.
 */
export function compareSamples(a: Sample, b: Sample): number {
  return a.ms - b.ms || compareStrings(a.pop ?? "", b.pop ?? "") || Number(b.ok) - Number(a.ok);
}

/** Groups by a key, preserving first-seen order of keys (callers sort). */
export function groupBy<T>(items: Iterable<T>, keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [item]);
    else group.push(item);
  }
  return groups;
}

export function seriesKeyOf(item: { target: string; kind: string; region: string }): string {
  return JSON.stringify([item.target, item.kind, item.region]);
}

/** The window in epoch ms; the whole time line when absent. Throws on an invalid or empty window. */
export function resolveWindow(window: AnalyticsWindow | undefined): { fromMs: number; toMs: number } {
  if (window === undefined) return { fromMs: Number.NEGATIVE_INFINITY, toMs: Number.POSITIVE_INFINITY };
  const fromMs = toEpochMs(window.from);
  const toMs = toEpochMs(window.to);
  if (fromMs === null || toMs === null) {
    throw new PopwatchCoreError("analytics_input_invalid", `window: ${fromMs === null ? "from" : "to"} is not a valid instant`);
  }
  if (toMs <= fromMs) throw new PopwatchCoreError("analytics_input_invalid", "window: to must be later than from");
  return { fromMs, toMs };
}

export function isoOf(ms: number): string {
  return new Date(ms).toISOString();
}
