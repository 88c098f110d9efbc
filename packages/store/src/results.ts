// Raw results: a writer's results of one minute packed into one compressed
// item (split into chunks only past MAX_PAYLOAD_BYTES), filed under the hour
// and the writer's shard, and the series index that lists every series and
// region without a Scan. An agent writes its own vantage's results; an import
// batch writes many vantages' results into the same items. Key layout and
// sizes: README.md.

import {
  HOUR_MS,
  MAX_RESULT_SEQ,
  PROBE_KINDS,
  type ProbeKind,
  type RetentionDays,
  type SeriesKey,
  VANTAGE_NAME_PATTERN,
  compareStrings,
  earliestRetainedMs,
  expiresAtSeconds,
  periodKey,
  periodStartMs,
  resultSeriesTarget,
  resultTime,
  toIsoInstant,
  unrollupableReason,
} from "@popwatch/core";
import { WRITE_CODEC, encodePayloadText } from "./codec";
import { mapWithConcurrency } from "./concurrency";
import { StoreError } from "./errors";
import {
  type Item,
  type ItemTable,
  MAX_PAYLOAD_BYTES,
  type WeightedRequest,
  checkKeySizes,
  corrupt,
  instantMs,
  invalid,
  partitionQuery,
  payloadOf,
  sortKeyPrefixQuery,
  sortKeyRangeQuery,
} from "./items";
import {
  MAX_CHUNK,
  PARTITION_KEY,
  RAW_SHARDS,
  SERIES_PARTITION,
  SORT_KEY,
  minuteAndWriterOfKey,
  minuteSortKeyRange,
  rawPartitionKey,
  rawSortKey,
  rawWriterMinutePrefix,
  seriesKeyPart,
  utf8Bytes,
  vantageOfWriterKey,
  writerKey,
  writerShard,
} from "./keys";
import type { ResultBatch, ResultQuery, StoredResult, StoredResultRecord, WriteReport } from "./types";

/** A single result larger than this as JSON is refused (it could not share an item, nor fill one reliably). */
const MAX_RESULT_JSON_BYTES = 380 * 1024;
/** Import batch ids: like vantage names, a little longer (a content digest). */
const IMPORT_BATCH_PATTERN = /^[a-z0-9-]{1,64}$/;

interface PackedEntry {
  result: StoredResult;
  index: number;
  iso: string;
  json: string;
}

/** Who writes a batch or a rollUp: its writer key (sort-key component) and shard. */
export interface Writer {
  key: string;
  shard: number;
  /** The vantage an agent writes as; null for an import batch. */
  region: string | null;
}

/** The writer of a batch or rollUp: `region` (an agent) XOR `writer` (an import batch); store_invalid otherwise. */
export function writerOf(request: { region?: string | undefined; writer?: string | undefined }): Writer {
  const { region, writer } = request;
  if ((region === undefined) === (writer === undefined)) throw invalid("exactly one of region and writer must be given");
  if (region !== undefined) {
    if (typeof region !== "string" || !VANTAGE_NAME_PATTERN.test(region)) {
      throw invalid(`region ${String(region)} is not a vantage name (${VANTAGE_NAME_PATTERN.source})`);
    }
    const key = writerKey({ region });
    return { key, shard: writerShard(key), region };
  }
  if (typeof writer !== "string" || !IMPORT_BATCH_PATTERN.test(writer)) {
    throw invalid(`writer ${String(writer)} is not an import batch id (${IMPORT_BATCH_PATTERN.source})`);
  }
  const key = writerKey({ importBatch: writer });
  return { key, shard: writerShard(key), region: null };
}

/** Packed raw result items and the series index, on one table. */
export class ResultItems {
  // Series index items are identical on every write, so one write per series
  // per process is enough; a warm Lambda skips them entirely.
  private readonly registeredSeries = new Set<string>();

  constructor(
    private readonly table: ItemTable,
    private readonly retention: Readonly<RetentionDays>,
  ) {}

  async put(batch: ResultBatch): Promise<WriteReport> {
    const writer = writerOf(batch);
    if (typeof batch.invocationId !== "string" || batch.invocationId === "") {
      throw invalid("batch.invocationId must be a non-empty string");
    }
    // Everything is validated and packed before anything is sent: a batch is refused whole, never half-written.
    const byMinute = new Map<string, PackedEntry[]>();
    const keys = new Set<string>();
    const series = new Map<string, SeriesKey>();
    batch.results.forEach((result, index) => {
      const entry = resultEntry(writer, result, index);
      const key = `${result.region}#${entry.iso}#${result.seq}`;
      if (keys.has(key)) {
        throw invalid(`results[${index}] has the same region, slotAt (or startedAt) and seq as an earlier result of this batch`);
      }
      keys.add(key);
      const minute = entry.iso.slice(0, 16);
      const group = byMinute.get(minute);
      if (group === undefined) byMinute.set(minute, [entry]);
      else group.push(entry);
      const resultSeries = { target: resultSeriesTarget(result), kind: result.kind, region: result.region };
      series.set(seriesKeyPart(resultSeries), resultSeries);
    });
    const requests: WeightedRequest[] = [];
    for (const [minute, group] of [...byMinute].sort(([a], [b]) => compareStrings(a, b))) {
      // Time, then region, then seq: a retried batch, in whatever order, packs to the same bytes.
      group.sort((a, b) => compareStrings(a.iso, b.iso) || compareStrings(a.result.region, b.result.region) || a.result.seq - b.result.seq);
      requests.push(...this.packedItems(batch.invocationId, writer, minute, group));
    }
    return this.writeWithSeries(requests, series);
  }

  /**
   * Results in [since, until) matching the filters, earliest first. Reads
   * each hour's shards (one Query each, per 1 MB page), hour by hour in
   * order, and with `limit` stops after the first hours that hold enough.
   */
  async query(query: ResultQuery, untilMs: number): Promise<StoredResultRecord[]> {
    const sinceMs = Math.max(instantMs(query.since, "since"), earliestRetainedMs(this.retention, "raw", untilMs));
    const limit = query.limit;
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) throw invalid("limit must be a positive integer");
    if (query.kind !== undefined && !(PROBE_KINDS as readonly string[]).includes(query.kind)) throw invalid(`unknown kind ${query.kind}`);
    if (untilMs <= sinceMs) return [];
    if (toIsoInstant(sinceMs) === null || toIsoInstant(untilMs) === null) throw invalid("since/until out of range");
    const { target, kind, region } = query;
    const keep = (result: StoredResult) =>
      (region === undefined || result.region === region) &&
      (target === undefined || resultSeriesTarget(result) === target) &&
      (kind === undefined || result.kind === kind);

    const found: { order: string; record: StoredResultRecord }[] = [];
    for (let hourStart = Math.floor(sinceMs / HOUR_MS) * HOUR_MS; hourStart < untilMs; hourStart += HOUR_MS) {
      // Every later hour is later in time: enough results already means none of them can be among the first `limit`.
      if (limit !== undefined && found.length >= limit) break;
      const { low, high } = minuteSortKeyRange(
        periodKey("minute", Math.max(sinceMs, hourStart))!,
        periodKey("minute", Math.min(untilMs, hourStart + HOUR_MS) - 1)!,
      );
      const hour = periodKey("hour", hourStart)!;
      const shards = await mapWithConcurrency(shardNumbers(), this.table.concurrency, (shard) =>
        this.table.queryAll(sortKeyRangeQuery(rawPartitionKey(hour, shard), low, high), { consistent: false }),
      );
      for (const item of shards.flat()) {
        for (const record of decodeResultItem(item)) {
          const ms = Date.parse(resultTime(record));
          if (ms < sinceMs || ms >= untilMs || !keep(record)) continue;
          found.push({ order: recordOrder(record), record });
        }
      }
    }
    found.sort((a, b) => compareStrings(a.order, b.order));
    return (limit === undefined ? found : found.slice(0, limit)).map((entry) => entry.record);
  }

  /** One writer's results of one minute (`YYYY-MM-DDTHH:MM`): one consistent Query of its items, nobody else's. */
  async readWriterMinute(writer: Writer, minute: string): Promise<StoredResultRecord[]> {
    const items = await this.table.queryAll(
      sortKeyPrefixQuery(rawPartitionKey(minute.slice(0, 13), writer.shard), rawWriterMinutePrefix(minute, writer.key)),
      { consistent: true },
    );
    return items.flatMap((item) => decodeResultItem(item));
  }

  async listSeries(): Promise<SeriesKey[]> {
    const items = await this.table.queryAll(partitionQuery(SERIES_PARTITION), { consistent: false });
    const series = items.map((item) => {
      const target = item.target?.S;
      const kind = item.kind?.S;
      const region = item.region?.S;
      if (target === undefined || region === undefined || !(PROBE_KINDS as readonly (string | undefined)[]).includes(kind)) {
        throw new StoreError("store_corrupt", `series index item ${item[SORT_KEY]?.S ?? "?"} lacks target, kind or region`);
      }
      return { target, kind: kind as ProbeKind, region };
    });
    // Escaped sort keys do not order like the names themselves (`a b` < `a#…`).
    return series.sort(
      (a, b) => compareStrings(a.target, b.target) || compareStrings(a.kind, b.kind) || compareStrings(a.region, b.region),
    );
  }

  async listRegions(): Promise<string[]> {
    return [...new Set((await this.listSeries()).map((s) => s.region))].sort(compareStrings);
  }

  /** One minute's results of a batch, sorted, as one item, or as few chunks as keep each payload under MAX_PAYLOAD_BYTES. */
  private packedItems(invocationId: string, writer: Writer, minute: string, group: PackedEntry[]): WeightedRequest[] {
    const encode = (entries: readonly PackedEntry[]) => encodePayloadText(`[${entries.map((e) => e.json).join(",")}]`);
    let chunks: { entries: PackedEntry[]; data: Buffer }[] = [];
    // The chunk count only grows with the input's size, and slices are
    // contiguous and even: the same input always splits the same way.
    for (let count = 1; ; ) {
      const slices = evenSlices(group, count);
      chunks = slices.map((entries) => ({ entries, data: encode(entries) }));
      const largest = Math.max(...chunks.map((c) => c.data.length));
      if (largest <= MAX_PAYLOAD_BYTES) break;
      const oversized = chunks.find((c) => c.entries.length === 1 && c.data.length > MAX_PAYLOAD_BYTES);
      if (oversized !== undefined) {
        throw invalid(`results[${oversized.entries[0]!.index}] is larger than ${MAX_PAYLOAD_BYTES} bytes compressed`);
      }
      count = Math.min(group.length, Math.max(count + 1, Math.ceil((count * largest) / MAX_PAYLOAD_BYTES)));
    }
    if (chunks.length > MAX_CHUNK + 1) throw invalid(`the results of minute ${minute} need more than ${MAX_CHUNK + 1} items`);

    const earliest = group[0]!.iso;
    const expiresAt = expiresAtSeconds(this.retention, "raw", periodStartMs("minute", minute)!);
    const pk = rawPartitionKey(minute.slice(0, 13), writer.shard);
    return chunks.map(({ entries, data }, chunk) => {
      const sk = rawSortKey(minute, writer.key, earliest, invocationId, chunk);
      checkKeySizes(pk, sk, `results of minute ${minute}`);
      const item: Item = {
        [PARTITION_KEY]: { S: pk },
        [SORT_KEY]: { S: sk },
        invocationId: { S: invocationId },
        count: { N: String(entries.length) },
        codec: { S: WRITE_CODEC },
        data: { B: data },
        expiresAt: { N: String(expiresAt) },
      };
      return { request: { PutRequest: { Item: item } }, weight: entries.length };
    });
  }

  private async writeWithSeries(requests: WeightedRequest[], series: Map<string, SeriesKey>): Promise<WriteReport> {
    const newSeries = [...series].filter(([key]) => !this.registeredSeries.has(key));
    const all = [...requests, ...newSeries.map(([, s]) => ({ request: { PutRequest: { Item: seriesItem(s) } }, weight: 1 }))];
    const report = await this.table.writeRequests(all);
    for (const [key] of newSeries) this.registeredSeries.add(key);
    return report;
  }
}

/** 0 .. RAW_SHARDS - 1: every shard of an hour. */
export function shardNumbers(): number[] {
  return Array.from({ length: RAW_SHARDS }, (_, shard) => shard);
}

function resultEntry(writer: Writer, result: StoredResult, index: number): PackedEntry {
  const where = `results[${index}]`;
  const reason = unrollupableReason(result);
  if (reason !== null) throw invalid(`${where}: ${reason}`);
  if (writer.region !== null && result.region !== writer.region) {
    throw invalid(`${where}.region differs from the batch's region ${writer.region}`);
  }
  if (writer.region === null && !(typeof result.region === "string" && VANTAGE_NAME_PATTERN.test(result.region))) {
    throw invalid(`${where}.region ${String(result.region)} is not a vantage name (${VANTAGE_NAME_PATTERN.source})`);
  }
  if (!(Number.isSafeInteger(result.seq) && result.seq >= 0 && result.seq <= MAX_RESULT_SEQ)) {
    throw invalid(`${where}.seq must be an integer in [0, ${MAX_RESULT_SEQ}]`);
  }
  let json: string;
  try {
    json = JSON.stringify(result);
  } catch (err) {
    throw new StoreError("store_invalid", `${where} cannot be serialised as JSON`, { cause: err });
  }
  if (utf8Bytes(json) > MAX_RESULT_JSON_BYTES) throw invalid(`${where} is larger than ${MAX_RESULT_JSON_BYTES} bytes as JSON`);
  return { result, index, iso: toIsoInstant(resultTime(result))!, json };
}

function seriesItem(series: SeriesKey): Item {
  return {
    [PARTITION_KEY]: { S: SERIES_PARTITION },
    [SORT_KEY]: { S: seriesKeyPart(series) },
    target: { S: series.target },
    kind: { S: series.kind },
    region: { S: series.region },
  };
}

/** `count` contiguous slices of near-equal length (the first ones one longer). */
function evenSlices<T>(items: readonly T[], count: number): T[][] {
  const slices: T[][] = [];
  const base = Math.floor(items.length / count);
  const extra = items.length % count;
  let start = 0;
  for (let i = 0; i < count; i++) {
    const length = base + (i < extra ? 1 : 0);
    slices.push(items.slice(start, start + length));
    start += length;
  }
  return slices;
}

const SEQ_WIDTH = String(MAX_RESULT_SEQ).length;

/** Earliest first; ties (same instant) by invocation, seq, then region, so the order is total and stable. */
function recordOrder(record: StoredResultRecord): string {
  const seq = String(record.seq).padStart(SEQ_WIDTH, "0");
  return `${toIsoInstant(resultTime(record))}\u0000${record.invocationId}\u0000${seq}\u0000${record.region}`;
}

/** A raw item's results; an agent's item must hold only its own vantage's, an import batch's any vantage's. */
function decodeResultItem(item: Item): StoredResultRecord[] {
  const payload = payloadOf(item);
  const invocationId = item.invocationId?.S;
  if (!Array.isArray(payload) || invocationId === undefined) throw corrupt(item, "does not hold an array of results and an invocationId");
  if (item.count?.N !== String(payload.length)) {
    throw corrupt(item, `holds ${payload.length} results, its count says ${item.count?.N ?? "nothing"}`);
  }
  const { minute, writer } = minuteAndWriterOfKey(item[PARTITION_KEY]?.S ?? "", item[SORT_KEY]?.S ?? "");
  const vantage = vantageOfWriterKey(writer);
  return payload.map((result: unknown, index) => {
    if (
      typeof result !== "object" ||
      result === null ||
      unrollupableReason(result) !== null ||
      typeof (result as StoredResult).region !== "string" ||
      (vantage !== null && (result as StoredResult).region !== vantage) ||
      periodKey("minute", resultTime(result as StoredResult)) !== minute
    ) {
      throw corrupt(item, `result ${index} is not a valid result of writer ${writer} in minute ${minute}`);
    }
    return { ...(result as StoredResult), invocationId };
  });
}
