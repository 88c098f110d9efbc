// Key layout of the single table, v3 (see README.md for the design and the
// access patterns). Items are per time bucket, not per vantage: a time range
// reads the same partitions whether 3 or 10 000 vantages wrote into it.
// Components that come from outside (writer, invocation id, target names in
// the series index) are escaped so that a `#` inside one cannot shift the
// meaning of the next.

import type { SeriesKey } from "@popwatch/core";

export const PARTITION_KEY = "pk";
export const SORT_KEY = "sk";
export const SERIES_PARTITION = "S";
/** Vantage registry: sort key = the vantage name. */
export const VANTAGE_PARTITION = "V";
/** Pending markers: hours (per shard) and days whose buckets compact must (re)build. */
export const PENDING_PARTITION = "P";

/** Largest chunk or part index (three digits in the sort key). */
export const MAX_CHUNK = 999;
const CHUNK_WIDTH = 3;

// DynamoDB limits: partition key ≤ 2048 bytes, sort key ≤ 1024 bytes (UTF-8).
export const MAX_PARTITION_KEY_BYTES = 2048;
export const MAX_SORT_KEY_BYTES = 1024;

export function escapeKeyPart(value: string): string {
  return value.replace(/%/g, "%25").replace(/#/g, "%23");
}

export function unescapeKeyPart(value: string): string {
  return value.replace(/%23/g, "#").replace(/%25/g, "%");
}

/** `<target>#<kind>#<region>`, escaped: a series' sort key in the series index. */
export function seriesKeyPart(series: SeriesKey): string {
  return `${escapeKeyPart(series.target)}#${escapeKeyPart(series.kind)}#${escapeKeyPart(series.region)}`;
}

// Write sharding: raw and minute partitions of an hour are split in
// RAW_SHARDS by the writer, because one partition of DynamoDB takes about
// 1 000 writes a second and 10 000 vantages writing a round every 10 s into
// one hour partition would pass it. A reader of an hour reads every shard, so
// the count stays small and fixed: changing it would hide every item written
// under the old count.
export const RAW_SHARDS = 8;

/** The shard of a writer key: FNV-1a (32 bit) of its UTF-8 bytes, mod RAW_SHARDS. Stable across processes and versions. */
export function writerShard(writerKey: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(writerKey, "utf8")) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % RAW_SHARDS;
}

/**
 * The key component of a writer: an agent writes under its vantage name
 * ([a-z0-9-]), an import batch under `+<batch id>`, which no vantage name can
 * be, so the two never share items.
 */
export function writerKey(writer: { region: string } | { importBatch: string }): string {
  return "region" in writer ? escapeKeyPart(writer.region) : `+${escapeKeyPart(writer.importBatch)}`;
}

/** The vantage a writer key stands for, or null for an import batch (whose items hold many vantages). */
export function vantageOfWriterKey(key: string): string | null {
  return key.startsWith("+") ? null : unescapeKeyPart(key);
}

/** Packed results of one UTC hour (`YYYY-MM-DDTHH`) and shard. */
export function rawPartitionKey(hour: string, shard: number): string {
  return `R#${hour}#${shard}`;
}

/**
 * `<MM>#<writer>#<earliest result time>#<invocationId>#<chunk>`: the minute
 * first so a time range is a BETWEEN on minutes, the writer next so a writer's
 * items of a minute are one begins_with; the earliest result time tells apart
 * the rounds one invocation writes within a minute; invocation id and chunk
 * make the key unique and the same on every retry.
 */
export function rawSortKey(minute: string, writer: string, earliestIso: string, invocationId: string, chunk: number): string {
  return `${minuteOfHour(minute)}#${writer}#${earliestIso}#${escapeKeyPart(invocationId)}#${chunkPart(chunk)}`;
}

/** Sort-key prefix of one writer's raw items of one minute. */
export function rawWriterMinutePrefix(minute: string, writer: string): string {
  return `${minuteOfHour(minute)}#${writer}#`;
}

/** The minute (`YYYY-MM-DDTHH:MM`) and writer key of a raw or minute item, from its keys. */
export function minuteAndWriterOfKey(pk: string, sk: string): { minute: string; writer: string } {
  const hour = pk.split("#")[1] ?? "";
  const [mm = "", writer = ""] = sk.split("#");
  return { minute: `${hour}:${mm}`, writer };
}

/** Sort-key bounds (inclusive) of every raw or minute item of the minutes first..last of one hour. */
export function minuteSortKeyRange(firstMinute: string, lastMinute: string): { low: string; high: string } {
  // `$` sorts right after the `#` that follows the minute in every key.
  return { low: minuteOfHour(firstMinute), high: `${minuteOfHour(lastMinute)}$` };
}

/** Minute rollups of one UTC hour and shard: one item per writer and minute. */
export function minutePartitionKey(hour: string, shard: number): string {
  return `M#${hour}#${shard}`;
}

/** `<MM>#<writer>`: a writer's minute item. */
export function minuteSortKey(minute: string, writer: string): string {
  return `${minuteOfHour(minute)}#${writer}`;
}

// Hour buckets live in a day partition (`H#<YYYY-MM-DD>`, sort key
// `<HH>#<part>`), day buckets in a month partition (`D#<YYYY-MM>`, `<DD>#<part>`):
// every vantage of the period, in parts under the item size limit.
const BUCKET_SPLIT = { hour: { prefix: "H", at: 10 }, day: { prefix: "D", at: 7 } } as const;
export type BucketGranularity = keyof typeof BUCKET_SPLIT;

/** The partition holding the bucket of `period` (`YYYY-MM-DDTHH` or `YYYY-MM-DD`). */
export function bucketPartitionKey(granularity: BucketGranularity, period: string): string {
  const { prefix, at } = BUCKET_SPLIT[granularity];
  return `${prefix}#${period.slice(0, at)}`;
}

/** `<HH>#<part>` or `<DD>#<part>`. */
export function bucketSortKey(granularity: BucketGranularity, period: string, part: number): string {
  return `${bucketUnit(granularity, period)}#${chunkPart(part)}`;
}

/** Sort-key bounds (inclusive) of every part of the buckets first..last (which share a partition). */
export function bucketSortKeyRange(granularity: BucketGranularity, first: string, last: string): { low: string; high: string } {
  return { low: `${bucketUnit(granularity, first)}#`, high: `${bucketUnit(granularity, last)}$` };
}

/** The period and part a bucket item stands for, from its keys. */
export function bucketOfKey(granularity: BucketGranularity, pk: string, sk: string): { period: string; part: number } {
  const [unit = "", part = ""] = sk.split("#");
  const separator = granularity === "hour" ? "T" : "-";
  return { period: `${pk.slice(2)}${separator}${unit}`, part: /^\d{3}$/.test(part) ? Number(part) : -1 };
}

/** A pending hour of one shard (`H#<hour>#<shard>`), or a pending day (`D#<day>`). */
export function pendingSortKey(granularity: BucketGranularity, period: string, shard?: number): string {
  return granularity === "hour" ? `H#${period}#${shard ?? 0}` : `D#${period}`;
}

export function pendingOfSortKey(sk: string): { granularity: BucketGranularity; period: string } | null {
  const [kind, period = ""] = sk.split("#");
  if (kind === "H" && period.length === 13) return { granularity: "hour", period };
  if (kind === "D" && period.length === 10) return { granularity: "day", period };
  return null;
}

function bucketUnit(granularity: BucketGranularity, period: string): string {
  return granularity === "hour" ? period.slice(11, 13) : period.slice(8, 10);
}

function minuteOfHour(minute: string): string {
  return minute.slice(14, 16);
}

function chunkPart(chunk: number): string {
  return String(chunk).padStart(CHUNK_WIDTH, "0");
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
