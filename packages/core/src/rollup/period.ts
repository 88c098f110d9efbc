// UTC periods a rollup covers, named by fixed-length ISO prefixes so that
// lexical order is time order (storage sort keys rely on this).

import { DAY_MS, HOUR_MS, MINUTE_MS } from "../time";

export const ROLLUP_GRANULARITIES = ["minute", "hour", "day"] as const;
export type RollupGranularity = (typeof ROLLUP_GRANULARITIES)[number];

const KEY_LENGTH: Record<RollupGranularity, number> = { minute: 16, hour: 13, day: 10 };
const START_SUFFIX: Record<RollupGranularity, string> = { minute: ":00.000Z", hour: ":00:00.000Z", day: "T00:00:00.000Z" };
export const PERIOD_MS: Record<RollupGranularity, number> = { minute: MINUTE_MS, hour: HOUR_MS, day: DAY_MS };

// toISOString only yields the plain `YYYY-...` form for years 0000–9999.
const FIRST_REPRESENTABLE_MS = -62_167_219_200_000; // 0000-01-01T00:00:00.000Z
const LAST_REPRESENTABLE_MS = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

/** Epoch ms of an instant given as Date, epoch ms or a string Date.parse accepts; null when invalid or outside years 0000–9999. */
export function toEpochMs(time: Date | number | string): number | null {
  const ms =
    time instanceof Date ? time.getTime() : typeof time === "number" ? time : typeof time === "string" ? Date.parse(time) : Number.NaN;
  if (!Number.isFinite(ms) || ms < FIRST_REPRESENTABLE_MS || ms > LAST_REPRESENTABLE_MS) return null;
  return Math.trunc(ms);
}

/** Canonical UTC ISO form with milliseconds, or null for an invalid instant. */
export function toIsoInstant(time: Date | number | string): string | null {
  const ms = toEpochMs(time);
  return ms === null ? null : new Date(ms).toISOString();
}

/** The period containing an instant: `YYYY-MM-DDTHH:MM`, `YYYY-MM-DDTHH` or `YYYY-MM-DD`; null for an invalid instant. */
export function periodKey(granularity: RollupGranularity, time: Date | number | string): string | null {
  const iso = toIsoInstant(time);
  return iso === null ? null : iso.slice(0, KEY_LENGTH[granularity]);
}

/** Epoch ms at which a period key starts; null when the key is not of that granularity's form. */
export function periodStartMs(granularity: RollupGranularity, key: string): number | null {
  if (key.length !== KEY_LENGTH[granularity]) return null;
  const ms = toEpochMs(key + START_SUFFIX[granularity]);
  if (ms === null || periodKey(granularity, ms) !== key) return null;
  return ms;
}

export function isCoarser(granularity: RollupGranularity, than: RollupGranularity): boolean {
  return ROLLUP_GRANULARITIES.indexOf(granularity) > ROLLUP_GRANULARITIES.indexOf(than);
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
