// Which rollups make up a time window. Burn rates over 5 minutes to 30 days
// are read from rollups, never from raw results: a window is cut into minute,
// hour and day periods, the fewest items that cover it. Windows up to
// MINUTE_EXACT_MAX_MS (3 days, the longest alert window) are exact to the
// minute: whole hours and days in the middle, minutes at both edges. Longer
// ones (the SLO period) start at the next full hour, because minute rollups
// are not kept that long (14 days by default); they cover their length minus
// less than an hour (0.14 % of 30 days).
//
// Everything is pure: the caller says where windows end.

import { PERIOD_MS, type RollupGranularity } from "./period";

/** Windows up to this long are cut exactly to the minute (minute rollups must be kept at least this long). */
export const MINUTE_EXACT_MAX_MS = 3 * PERIOD_MS.day;

export interface PeriodRange {
  granularity: RollupGranularity;
  /** Inclusive, aligned to the granularity. */
  fromMs: number;
  /** Exclusive, aligned to the granularity. */
  toMs: number;
}

const floorTo = (ms: number, unit: number) => Math.floor(ms / unit) * unit;
const ceilTo = (ms: number, unit: number) => Math.ceil(ms / unit) * unit;

/** The instant a window cut by windowPeriods actually starts (a long window may start up to an hour late). */
export function windowCoveredFromMs(endMs: number, lengthMs: number): number {
  const startMs = endMs - lengthMs;
  return lengthMs <= MINUTE_EXACT_MAX_MS ? startMs : ceilTo(startMs, PERIOD_MS.hour);
}

/**
 * Periods covering the window of `lengthMs` that ends at `endMs` (a minute
 * boundary: the last minute known to be rolled up). Ranges never overlap and
 * are never empty; their union is [windowCoveredFromMs, endMs).
 */
export function windowPeriods(endMs: number, lengthMs: number): PeriodRange[] {
  if (!Number.isInteger(endMs) || endMs % PERIOD_MS.minute !== 0) throw new RangeError(`window end ${endMs} is not a minute boundary`);
  if (!(lengthMs > 0) || lengthMs % PERIOD_MS.minute !== 0)
    throw new RangeError(`window length ${lengthMs} ms is not a positive number of minutes`);
  const fromMs = windowCoveredFromMs(endMs, lengthMs);
  const hoursFrom = ceilTo(fromMs, PERIOD_MS.hour);
  const hoursTo = floorTo(endMs, PERIOD_MS.hour);
  if (hoursFrom >= hoursTo) return [{ granularity: "minute", fromMs, toMs: endMs }];

  const ranges: PeriodRange[] = [];
  const push = (granularity: RollupGranularity, from: number, to: number) => {
    if (from < to) ranges.push({ granularity, fromMs: from, toMs: to });
  };
  push("minute", fromMs, hoursFrom);
  const daysFrom = ceilTo(hoursFrom, PERIOD_MS.day);
  const daysTo = floorTo(hoursTo, PERIOD_MS.day);
  if (daysFrom < daysTo) {
    push("hour", hoursFrom, daysFrom);
    push("day", daysFrom, daysTo);
    push("hour", daysTo, hoursTo);
  } else {
    push("hour", hoursFrom, hoursTo);
  }
  push("minute", hoursTo, endMs);
  return ranges;
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
