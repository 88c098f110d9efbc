// How long stored items live and how far back a read may usefully reach.
// Expiry counts from an item's own time (a raw item's minute, a rollup
// period's start), never from the time of writing, so a retried write
// produces the same item.

import type { RollupGranularity } from "./rollup/period";
import { DAY_MS, SECOND_MS } from "./time";

/** Days items live, by kind: raw results and each rollup granularity. */
export interface RetentionDays {
  raw: number;
  minute: number;
  hour: number;
  day: number;
}

/** A kind of stored item that expires. */
export type RetainedKind = "raw" | RollupGranularity;

/**
 * Raw results serve short windows and debugging; minute rollups the 5 m–6 h
 * burn-rate windows; hour rollups up to 30-day windows with slack; day
 * rollups long-term reports.
 */
export const DEFAULT_RETENTION_DAYS: Readonly<RetentionDays> = { raw: 7, minute: 14, hour: 90, day: 400 };

/** DynamoDB deletes expired items within about two days of their expiry. */
export const TTL_LAG_DAYS = 2;

/**
 * The defaults overlaid with the given days (a key set to undefined keeps its
 * default). Throws a RangeError naming the first kind that is not a positive
 * number of days.
 */
export function resolveRetentionDays(overrides: Partial<RetentionDays> = {}): RetentionDays {
  const resolved = { ...DEFAULT_RETENTION_DAYS };
  for (const [kind, days] of Object.entries(overrides) as [keyof RetentionDays, number | undefined][]) {
    if (days !== undefined) resolved[kind] = days;
  }
  for (const [kind, days] of Object.entries(resolved)) {
    if (!(typeof days === "number" && days > 0 && Number.isFinite(days))) {
      throw new RangeError(`retentionDays.${kind} must be a positive number of days`);
    }
  }
  return resolved;
}

/** `expiresAt` (epoch seconds) of an item of `kind` whose time starts at `startMs`. */
export function expiresAtSeconds(retention: Readonly<RetentionDays>, kind: RetainedKind, startMs: number): number {
  return Math.floor(startMs / SECOND_MS) + Math.round(retention[kind] * (DAY_MS / SECOND_MS));
}

/**
 * The earliest instant a read of `kind` ending at `untilMs` can find data
 * for: nothing older than the retention plus TTL's deletion lag is kept, so a
 * range reaching further back would only query empty partitions.
 */
export function earliestRetainedMs(retention: Readonly<RetentionDays>, kind: RetainedKind, untilMs: number): number {
  return untilMs - (retention[kind] + TTL_LAG_DAYS) * DAY_MS;
}

/** What a read of a requested range can cover, and whether retention cut its start. */
export interface RetainedRange {
  /** Start actually read: the requested start, or the earliest retained instant when that is later (at most toMs). */
  fromMs: number;
  /** End actually read: the requested end, or now when that is later (nothing is stored from the future). */
  toMs: number;
  /** The requested start lay before anything kept: the read starts later than asked. */
  narrowed: boolean;
  /** The retention of `kind`, days (without TTL's deletion lag). */
  retentionDays: number;
}

/**
 * The part of [fromMs, toMs) a read of `kind` at `nowMs` can find data in.
 * Expiry runs with the clock, so retention counts back from now, never from
 * the requested end (an end in the future would cut the start for nothing);
 * a read ending later than now ends at now, and a range wholly expired reads
 * nothing (fromMs = toMs). `narrowed` is what a command must say out loud.
 */
export function retainedRange(
  retention: Readonly<RetentionDays>,
  kind: RetainedKind,
  range: { fromMs: number; toMs: number },
  nowMs: number,
): RetainedRange {
  const toMs = Math.min(range.toMs, nowMs);
  const earliestMs = earliestRetainedMs(retention, kind, nowMs);
  return {
    fromMs: Math.min(Math.max(range.fromMs, earliestMs), toMs),
    toMs,
    narrowed: range.fromMs < earliestMs,
    retentionDays: retention[kind],
  };
}
