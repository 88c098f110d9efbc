// Which periods a rollUp rebuilds, decided without a store. The store asks
// these functions what to build and answers only the questions they leave to
// it (which open periods, which hours are stored already).
//
// An hour rollup is built once, when its last minute has been rolled up, and
// a day once its last hour has: so a call over [from, to) builds the hours
// and days that end by `to`, and leaves the ones still open to a later call.
// Open periods that were already built (late data: a retried invocation
// re-rolling an old minute) are rebuilt too.

import { compareStrings } from "../compare";
import { PERIOD_MS, ROLLUP_GRANULARITIES, type RollupGranularity, isCoarser, periodKey, periodStartMs } from "./period";

export interface CascadePeriods {
  /** Periods overlapping [from, to) that end at or before `to`: build them now. */
  ended: string[];
  /** Periods overlapping [from, to) that end after `to`: rebuild only if already built. */
  open: string[];
}

/** One coarser level of a cascade and its periods overlapping the rolled-up range. */
export interface CascadeLevel extends CascadePeriods {
  level: RollupGranularity;
}

export interface RollUpPlan {
  /** The periods of the requested granularity to recompute, earliest first. */
  periods: string[];
  /** The coarser levels to rebuild after them, finest first (none without `cascade`). */
  cascade: CascadeLevel[];
}

/** What a rollUp of `granularity` over [fromMs, toMs) recomputes, and which coarser periods may follow. */
export function planRollUp(granularity: RollupGranularity, fromMs: number, toMs: number, cascade: boolean): RollUpPlan {
  if (!(toMs > fromMs)) return { periods: [], cascade: [] };
  const coarser = cascade ? ROLLUP_GRANULARITIES.filter((level) => isCoarser(level, granularity)) : [];
  return {
    periods: periodsOverlapping(granularity, fromMs, toMs),
    cascade: coarser.map((level) => ({ level, ...cascadePeriods(level, fromMs, toMs) })),
  };
}

/** The periods of a cascade level to rebuild: every ended one, and the open ones already stored; earliest first. */
export function periodsToRebuild(level: CascadePeriods, storedOpen: readonly string[]): string[] {
  const open = new Set(level.open);
  return [...level.ended, ...storedOpen.filter((period) => open.has(period))].sort(compareStrings);
}

/**
 * Whether building days after a minute rollUp must first build their hours
 * that were never built. An hour whose closing invocation never ran (skipped,
 * failed for good) has no item, and a day merged from hour items would
 * silently miss it.
 */
export function buildsUnbuiltHoursFirst(rolledUp: RollupGranularity, level: RollupGranularity): boolean {
  return level === "day" && rolledUp === "minute";
}

/** The hours of `days` that are not among `storedHours`, earliest first. */
export function unbuiltHours(days: readonly string[], storedHours: ReadonlySet<string>): string[] {
  return days.flatMap((day) => {
    const start = periodStartMs("day", day)!;
    return periodsOverlapping("hour", start, start + PERIOD_MS.day).filter((hour) => !storedHours.has(hour));
  });
}

/** The level hour and day rollups are merged from (minutes are rolled up from raw results). */
export function finerGranularity(granularity: "hour" | "day"): "minute" | "hour" {
  return granularity === "day" ? "hour" : "minute";
}

/** The periods of `granularity` overlapping [fromMs, toMs), split by whether they have ended by `toMs`. */
export function cascadePeriods(granularity: RollupGranularity, fromMs: number, toMs: number): CascadePeriods {
  const split: CascadePeriods = { ended: [], open: [] };
  for (const period of periodsOverlapping(granularity, fromMs, toMs)) {
    const endMs = periodStartMs(granularity, period)! + PERIOD_MS[granularity];
    (endMs <= toMs ? split.ended : split.open).push(period);
  }
  return split;
}

/** Every period of `granularity` overlapping [fromMs, toMs), earliest first; none when the range is empty or invalid. */
export function periodsOverlapping(granularity: RollupGranularity, fromMs: number, toMs: number): string[] {
  if (!(toMs > fromMs)) return [];
  const first = periodKey(granularity, fromMs);
  const last = periodKey(granularity, toMs - 1);
  if (first === null || last === null) return [];
  const periods: string[] = [];
  // Whole days and hours have fixed lengths in UTC (no leap seconds in epoch ms), so stepping by PERIOD_MS is exact.
  for (let start = periodStartMs(granularity, first)!; ; start += PERIOD_MS[granularity]) {
    const period = periodKey(granularity, start)!;
    periods.push(period);
    if (period === last) return periods;
  }
}
