// Key layout of the single table (see README.md for the design and the access
// patterns). Every component is escaped so that a `#` inside a target name or
// invocation id cannot shift the meaning of the next component.

import type { RollupGranularity, SeriesKey } from "@popwatch/core";

export const PARTITION_KEY = "pk";
export const SORT_KEY = "sk";
export const SERIES_PARTITION = "S";

const ROLLUP_PREFIX: Record<RollupGranularity, string> = { minute: "M", hour: "H", day: "D" };

/** Largest seq that keeps the zero-padded sort key in time-then-seq order. */
export const MAX_SEQ = 999_999;
const SEQ_WIDTH = 6;

// DynamoDB limits: partition key ≤ 2048 bytes, sort key ≤ 1024 bytes (UTF-8).
export const MAX_PARTITION_KEY_BYTES = 2048;
export const MAX_SORT_KEY_BYTES = 1024;

export function escapeKeyPart(value: string): string {
  return value.replace(/%/g, "%25").replace(/#/g, "%23");
}

export function unescapeKeyPart(value: string): string {
  return value.replace(/%23/g, "#").replace(/%25/g, "%");
}

/** `<target>#<kind>#<region>`, escaped: the series' identity inside every key. */
export function seriesKeyPart(series: SeriesKey): string {
  return `${escapeKeyPart(series.target)}#${escapeKeyPart(series.kind)}#${escapeKeyPart(series.region)}`;
}

/** Raw results of one series on one UTC day (`YYYY-MM-DD`). */
export function rawPartitionKey(series: SeriesKey, day: string): string {
  return `R#${seriesKeyPart(series)}#${day}`;
}

/** `<startedAt ISO>#<invocationId>#<seq>`: time order first, then a retry-stable tie-break. */
export function rawSortKey(startedAtIso: string, invocationId: string, seq: number): string {
  return `${startedAtIso}#${escapeKeyPart(invocationId)}#${String(seq).padStart(SEQ_WIDTH, "0")}`;
}

export function rollupPartitionKey(granularity: RollupGranularity, series: SeriesKey): string {
  return `${ROLLUP_PREFIX[granularity]}#${seriesKeyPart(series)}`;
}

export function utf8Bytes(value: string): number {
  return Buffer.byteLength(value, "utf8");
}
