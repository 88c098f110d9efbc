// Which coarser rollups a rollUp with `cascade` rebuilds. An hour rollup is
// built once, when its last minute has been rolled up, and a day once its
// last hour has: so a call over [from, to) builds the hours and days that end
// by `to`, and leaves the ones still open to a later call. Open periods that
// were already built (late data: a retried invocation re-rolling an old
// minute) are rebuilt too; whether one exists is the store's question, not
// this function's.

import { PERIOD_MS, periodKey, periodStartMs, type RollupGranularity } from "@popwatch/core";

export interface CascadePeriods {
  /** Periods overlapping [from, to) that end at or before `to`: build them now. */
  ended: string[];
  /** Periods overlapping [from, to) that end after `to`: rebuild only if already built. */
  open: string[];
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
