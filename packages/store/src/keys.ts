// Key layout of the single table, v2 (see README.md for the design and the
// access patterns). Items are per region, not per series: results packed per
// round, rollups with every series of a period in one item. Components that
// come from outside (region, invocation id, target names in the series index)
// are escaped so that a `#` inside one cannot shift the meaning of the next.

import type { RollupGranularity, SeriesKey } from "@popwatch/core";

export const PARTITION_KEY = "pk";
export const SORT_KEY = "sk";
export const SERIES_PARTITION = "S";

/** Largest chunk index of a packed group (three digits in the sort key). */
export const MAX_CHUNK = 999;
const CHUNK_WIDTH = 3;

// DynamoDB limits: partition key ≤ 2048 bytes, sort key ≤ 1024 bytes (UTF-8).
export const MAX_PARTITION_KEY_BYTES = 2048;
export const MAX_SORT_KEY_BYTES = 1024;

export function escapeKeyPart(value: string): string {
  return value.replace(/%/g, "%25").replace(/#/g, "%23");
}

/** `<target>#<kind>#<region>`, escaped: a series' sort key in the series index. */
export function seriesKeyPart(series: SeriesKey): string {
  return `${escapeKeyPart(series.target)}#${escapeKeyPart(series.kind)}#${escapeKeyPart(series.region)}`;
}

/** Packed results of one region and UTC hour (`YYYY-MM-DDTHH`). */
export function rawPartitionKey(region: string, hour: string): string {
  return `R#${escapeKeyPart(region)}#${hour}`;
}

/**
 * `<minute>#<earliest result time>#<invocationId>#<chunk>`: minute first so a
 * time range is a BETWEEN on minutes; the earliest result time tells apart the
 * rounds one invocation writes within a minute; invocation id and chunk make
 * the key unique and the same on every retry.
 */
export function rawSortKey(minute: string, earliestIso: string, invocationId: string, chunk: number): string {
  return `${minute}#${earliestIso}#${escapeKeyPart(invocationId)}#${String(chunk).padStart(CHUNK_WIDTH, "0")}`;
}

/** The minute a raw sort key starts with (`YYYY-MM-DDTHH:MM`). */
export function minuteOfRawSortKey(sk: string): string {
  return sk.slice(0, 16);
}

/** Sort-key bounds (inclusive) of every raw item of the minutes first..last. */
export function rawSortKeyRange(firstMinute: string, lastMinute: string): { low: string; high: string } {
  // `$` sorts right after the `#` that follows the minute in every key.
  return { low: firstMinute, high: `${lastMinute}$` };
}

// Where a period key (`YYYY-MM-DDTHH:MM`, `YYYY-MM-DDTHH`, `YYYY-MM-DD`) is cut
// into partition and sort key: a day of minutes (1 440 items), a month of hours
// (≤ 744), a year of days (≤ 366) per partition.
const ROLLUP_SPLIT: Record<RollupGranularity, { prefix: string; at: number }> = {
  minute: { prefix: "M", at: 10 },
  hour: { prefix: "H", at: 7 },
  day: { prefix: "D", at: 4 },
};

/** Key of the item holding every series' rollup of one region and period. */
export function rollupItemKey(granularity: RollupGranularity, region: string, period: string): { pk: string; sk: string } {
  const { at } = ROLLUP_SPLIT[granularity];
  return { pk: rollupPartitionKey(granularity, region, period), sk: period.slice(at + 1) };
}

/** Partition of a region's rollup items that holds `period`. */
export function rollupPartitionKey(granularity: RollupGranularity, region: string, period: string): string {
  const { prefix, at } = ROLLUP_SPLIT[granularity];
  return `${prefix}#${escapeKeyPart(region)}#${period.slice(0, at)}`;
}

/** The period key a rollup item stands for, from its keys (the inverse of rollupItemKey). */
export function periodOfRollupKey(granularity: RollupGranularity, pk: string, sk: string): string {
  const { at } = ROLLUP_SPLIT[granularity];
  const separator = granularity === "minute" ? "T" : "-";
  return `${pk.slice(pk.length - at)}${separator}${sk}`;
}

export function utf8Bytes(value: string): number {
  return Buffer.byteLength(value, "utf8");
}

// ---------------------------------------------------------------- routing (BGP)
//
// Routing items start with `B`; no other item kind does. Prefixes and feed
// names are escaped like every other outside component: `/` and `:` in a
// prefix need nothing, since `#` is the only separator.

/** Route events of one watched prefix (and its more-specifics) in one UTC hour (`YYYY-MM-DDTHH`). */
export function routeEventPartitionKey(watchedPrefix: string, hour: string): string {
  return `BE#${escapeKeyPart(watchedPrefix)}#${hour}`;
}

/** Peer state events of one feed (collector, `bmp:<router>`) in one UTC hour. */
export function peerStatePartitionKey(source: string, hour: string): string {
  return `BP#${escapeKeyPart(source)}#${hour}`;
}

/**
 * `<second ISO, YYYY-MM-DDTHH:MM:SS>#<content digest>`: the second first so a
 * time range is a BETWEEN; the digest (source, peer, prefix, type, second,
 * attributes) makes the same update from any feed or any re-read the same key.
 */
export function bgpEventSortKey(secondIso: string, digest: string): string {
  return `${secondIso}#${digest}`;
}

/** Sort-key bounds (inclusive) of every event of the seconds first..last (`YYYY-MM-DDTHH:MM:SS`). */
export function bgpEventSortKeyRange(firstSecond: string, lastSecond: string): { low: string; high: string } {
  return { low: firstSecond, high: `${lastSecond}$` };
}

/** Every feed that ever wrote a peer state event: what queryEvents walks for them, without a Scan. */
export const ROUTING_SOURCE_INDEX_PARTITION = "BF";

/** The snapshot of one watched prefix: a head item and, past one item's size, chunks. */
export function routingSnapshotPartitionKey(watchedPrefix: string): string {
  return `BS#${escapeKeyPart(watchedPrefix)}`;
}
export const ROUTING_SNAPSHOT_HEAD = "head";
/** A chunk of the snapshot written under `token` (one per write attempt, so racing writers never share a chunk). */
export function routingSnapshotChunkKey(token: string, chunk: number): string {
  return `c#${token}#${String(chunk).padStart(CHUNK_WIDTH, "0")}`;
}

/** Routing minutes of one watched prefix and UTC day (`YYYY-MM-DD`); sort key `HH:MM`, as region minute rollups. */
export function routingMinutePartitionKey(watchedPrefix: string, day: string): string {
  return `BM#${escapeKeyPart(watchedPrefix)}#${day}`;
}

/** Archive cursors: one item per collector, the file time of the last update file fully ingested. */
export const ARCHIVE_CURSOR_PARTITION = "BC";
export function archiveCursorSortKey(archive: string, collector: string): string {
  return `${escapeKeyPart(archive)}#${escapeKeyPart(collector)}`;
}
