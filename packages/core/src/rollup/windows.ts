// Which rollups make up a time window. Burn rates over 5 minutes to 30 days
// are read from rollups, never from raw results: a window is cut into minute,
// hour and day periods, the fewest items that cover it. Short windows (up to
// MINUTE_PRECISE_MS) are exact to the minute; longer ones start at the next
// full hour (they cover their length minus less than an hour: at most 4 % of
// a 1-day window, 0.14 % of 30 days), because minute rollups are not kept
// that long and a few hundred minute items per window would defeat the point.
//
// Everything is pure: the caller says where windows end.

import { PERIOD_MS, type RollupGranularity } from "./period";

/** Windows up to this long are cut into minutes exactly. */
export const MINUTE_PRECISE_MS = 6 * 3_600_000;

export interface PeriodRange {
  granularity: RollupGranularity;
  /** Inclusive, aligned to the granularity. */
  fromMs: number;
  /** Exclusive, aligned to the granularity. */
  toMs: number;
}

const floorTo = (ms: number, unit: number) => Math.floor(ms / unit) * unit;
const ceilTo = (ms: number, unit: number) => Math.ceil(ms / unit) * unit;

/**
 * Periods covering the window of `lengthMs` that ends at `endMs` (a minute
 * boundary: the last minute known to be rolled up). Ordered coarse to fine is
 * not promised; ranges never overlap and are never empty.
 */
export function windowPeriods(endMs: number, lengthMs: number): PeriodRange[] {
  if (!Number.isInteger(endMs) || endMs % PERIOD_MS.minute !== 0) throw new RangeError(`window end ${endMs} is not a minute boundary`);
  if (!(lengthMs > 0) || lengthMs % PERIOD_MS.minute !== 0) throw new RangeError(`window length ${lengthMs} ms is not a positive number of minutes`);
  const startMs = endMs - lengthMs;
  if (lengthMs <= MINUTE_PRECISE_MS) return [{ granularity: "minute", fromMs: startMs, toMs: endMs }];

  const ranges: PeriodRange[] = [];
  const push = (granularity: RollupGranularity, fromMs: number, toMs: number) => {
    if (fromMs < toMs) ranges.push({ granularity, fromMs, toMs });
  };
  const hoursFrom = ceilTo(startMs, PERIOD_MS.hour);
  const hoursTo = floorTo(endMs, PERIOD_MS.hour);
  push("minute", hoursTo, endMs);
  const daysFrom = ceilTo(hoursFrom, PERIOD_MS.day);
  const daysTo = floorTo(hoursTo, PERIOD_MS.day);
  if (daysFrom < daysTo) {
    push("hour", hoursFrom, daysFrom);
    push("day", daysFrom, daysTo);
    push("hour", daysTo, hoursTo);
  } else {
    push("hour", hoursFrom, hoursTo);
  }
  return ranges;
}

/** The instant a window cut by windowPeriods actually starts (its length may be up to an hour short of the one asked for). */
export function windowCoveredFromMs(endMs: number, lengthMs: number): number {
  const startMs = endMs - lengthMs;
  return lengthMs <= MINUTE_PRECISE_MS ? startMs : ceilTo(startMs, PERIOD_MS.hour);
}

/**
 * The reads that fetch every period of several windows: per granularity, the
 * union of their ranges with overlapping or touching ranges merged. One read
 * per range then serves every window (and every series, when rollup items
 * hold a whole region).
 */
export function mergePeriodReads(ranges: readonly PeriodRange[]): PeriodRange[] {
  const merged: PeriodRange[] = [];
  for (const granularity of ["day", "hour", "minute"] as const) {
    const sorted = ranges.filter((r) => r.granularity === granularity).sort((a, b) => a.fromMs - b.fromMs);
    let current: PeriodRange | undefined;
    for (const range of sorted) {
      if (current && range.fromMs <= current.toMs) current.toMs = Math.max(current.toMs, range.toMs);
      else {
        current = { ...range };
        merged.push(current);
      }
    }
  }
  return merged;
}

/** Whether a period (its granularity and start) lies inside any of the ranges. */
export function periodInRanges(granularity: RollupGranularity, periodStart: number, ranges: readonly PeriodRange[]): boolean {
  return ranges.some((r) => r.granularity === granularity && periodStart >= r.fromMs && periodStart + PERIOD_MS[granularity] <= r.toMs);
}
