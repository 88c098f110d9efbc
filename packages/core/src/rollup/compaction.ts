// When the store's cross-vantage hour and day buckets are (re)built, decided
// without a store. Writers mark the hours they add minute rollups to as
// pending; compaction builds the pending periods that have ended (plus a grace
// for late rounds of their closing minute), and a built hour marks its day.
// The store only reads and writes the markers these functions judge.

import { compareStrings } from "../compare";
import { PERIOD_MS, type RollupGranularity, periodStartMs } from "./period";

/** Late rounds of a period's closing minute arrive within this: compaction waits for them. */
export const DEFAULT_COMPACTION_GRACE_MS = 2 * 60_000;

/**
 * Whether a writer adding a minute rollup to `hour` must write its pending
 * marker: once per process while the hour is open (compaction does not build
 * it before it ends, so the marker stays), and on every write once it has
 * ended (late data: compaction may have built the hour and removed the
 * marker since).
 */
export function marksPending(hour: string, nowMs: number, markedByThisProcess: boolean): boolean {
  return !markedByThisProcess || !periodOpen("hour", hour, nowMs);
}

/** The pending periods compaction builds now: those that ended at least `graceMs` before `nowMs`, each once, earliest first. */
export function duePeriods(granularity: "hour" | "day", pending: readonly string[], nowMs: number, graceMs: number): string[] {
  const due = new Set<string>();
  for (const period of pending) {
    const startMs = periodStartMs(granularity, period);
    if (startMs !== null && startMs + PERIOD_MS[granularity] + graceMs <= nowMs) due.add(period);
  }
  return [...due].sort(compareStrings);
}

/** The day a built hour marks pending (its bucket merges the day's hour buckets). */
export function dayOfHour(hour: string): string {
  return hour.slice(0, 10);
}

/** Whether `period` has not ended at `nowMs` (an unparsable period counts as ended). */
export function periodOpen(granularity: RollupGranularity, period: string, nowMs: number): boolean {
  const startMs = periodStartMs(granularity, period);
  return startMs !== null && startMs + PERIOD_MS[granularity] > nowMs;
}
