// Raw results: a round of a region packed into one compressed item per
// minute (split into chunks only past MAX_PAYLOAD_BYTES), and the series
// index that lists every series and region without a Scan. Key layout and
// sizes: README.md.

import {
  HOUR_MS,
  MAX_RESULT_SEQ,
  PROBE_KINDS,
  type ProbeKind,
  type RetentionDays,
  type SeriesKey,
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
  payloadOf,
  sortKeyRangeQuery,
} from "./items";
import {
  MAX_CHUNK,
  PARTITION_KEY,
  SERIES_PARTITION,
  SORT_KEY,
  minuteOfRawSortKey,
  rawPartitionKey,
  rawSortKey,
  rawSortKeyRange,
  seriesKeyPart,
  utf8Bytes,
} from "./keys";
import type { ResultBatch, ResultQuery, StoredResult, StoredResultRecord, WriteReport } from "./types";

/** A single result larger than this as JSON is refused (it could not share an item, nor fill one reliably). */
const MAX_RESULT_JSON_BYTES = 380 * 1024;

interface PackedEntry {
  result: StoredResult;
  index: number;
  iso: string;
  json: string;
}

/** A record and the key that orders it among every region's records. */
export interface OrderedRecord {
  order: string;
  record: StoredResultRecord;
}

export interface RegionResultsRead {
  limit?: number | undefined;
  consistent: boolean;
  keep?: (result: StoredResult) => boolean;
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
    if (typeof batch.region !== "string" || batch.region === "") throw invalid("batch.region must be a non-empty string");
    if (typeof batch.invocationId !== "string" || batch.invocationId === "") {
      throw invalid("batch.invocationId must be a non-empty string");
    }
    // Everything is validated and packed before anything is sent: a batch is refused whole, never half-written.
    const byMinute = new Map<string, PackedEntry[]>();
    const keys = new Set<string>();
    const series = new Map<string, SeriesKey>();
    batch.results.forEach((result, index) => {
      const entry = resultEntry(batch, result, index);
      const key = `${entry.iso}#${result.seq}`;
      if (keys.has(key)) throw invalid(`results[${index}] has the same slotAt (or startedAt) and seq as an earlier result of this batch`);
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
      // Time, then seq: a retried batch, in whatever order, packs to the same bytes.
      group.sort((a, b) => compareStrings(a.iso, b.iso) || a.result.seq - b.result.seq);
      requests.push(...this.packedItems(batch, minute, group));
    }
    return this.writeWithSeries(requests, series);
  }

  async query(query: ResultQuery, untilMs: number): Promise<StoredResultRecord[]> {
    const sinceMs = Math.max(instantMs(query.since, "since"), earliestRetainedMs(this.retention, "raw", untilMs));
    const limit = query.limit;
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) throw invalid("limit must be a positive integer");
    if (query.kind !== undefined && !(PROBE_KINDS as readonly string[]).includes(query.kind)) throw invalid(`unknown kind ${query.kind}`);
    if (untilMs <= sinceMs) return [];

    const { target, kind } = query;
    const regions = query.region !== undefined ? [query.region] : await this.listRegions();
    const perRegion = await mapWithConcurrency(regions, this.table.concurrency, (region) =>
      this.readRegion(region, sinceMs, untilMs, {
        limit,
        consistent: false,
        keep: (result) => (target === undefined || resultSeriesTarget(result) === target) && (kind === undefined || result.kind === kind),
      }),
    );
    const merged = perRegion.flat().sort((a, b) => compareStrings(a.order, b.order));
    return (limit === undefined ? merged : merged.slice(0, limit)).map((entry) => entry.record);
  }

  /**
   * Results of one region in [sinceMs, untilMs), walking its hour partitions
   * in order (and stopping at a partition boundary once `limit` is reached:
   * every later partition is later in time).
   */
  async readRegion(region: string, sinceMs: number, untilMs: number, options: RegionResultsRead): Promise<OrderedRecord[]> {
    if (toIsoInstant(sinceMs) === null || toIsoInstant(untilMs) === null) throw invalid("since/until out of range");
    const found: OrderedRecord[] = [];
    for (let hourStart = Math.floor(sinceMs / HOUR_MS) * HOUR_MS; hourStart < untilMs; hourStart += HOUR_MS) {
      if (options.limit !== undefined && found.length >= options.limit) break;
      const { low, high } = rawSortKeyRange(
        periodKey("minute", Math.max(sinceMs, hourStart))!,
        periodKey("minute", Math.min(untilMs, hourStart + HOUR_MS) - 1)!,
      );
      const items = await this.table.queryAll(sortKeyRangeQuery(rawPartitionKey(region, periodKey("hour", hourStart)!), low, high), {
        consistent: options.consistent,
      });
      for (const item of items) {
        for (const record of decodeResultItem(item, region)) {
          const ms = Date.parse(resultTime(record));
          if (ms < sinceMs || ms >= untilMs || (options.keep !== undefined && !options.keep(record))) continue;
          found.push({ order: recordOrder(record), record });
        }
      }
    }
    return found;
  }

  async listSeries(): Promise<SeriesKey[]> {
    const items = await this.table.queryAll(
      {
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": PARTITION_KEY },
        ExpressionAttributeValues: { ":pk": { S: SERIES_PARTITION } },
      },
      { consistent: false },
    );
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
  private packedItems(batch: ResultBatch, minute: string, group: PackedEntry[]): WeightedRequest[] {
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
    const pk = rawPartitionKey(batch.region!, minute.slice(0, 13));
    return chunks.map(({ entries, data }, chunk) => {
      const sk = rawSortKey(minute, earliest, batch.invocationId, chunk);
      checkKeySizes(pk, sk, `results of minute ${minute}`);
      const item: Item = {
        [PARTITION_KEY]: { S: pk },
        [SORT_KEY]: { S: sk },
        invocationId: { S: batch.invocationId },
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

function resultEntry(batch: ResultBatch, result: StoredResult, index: number): PackedEntry {
  const where = `results[${index}]`;
  const reason = unrollupableReason(result);
  if (reason !== null) throw invalid(`${where}: ${reason}`);
  if (result.region !== batch.region) throw invalid(`${where}.region differs from the batch's region ${batch.region}`);
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

function decodeResultItem(item: Item, region: string): StoredResultRecord[] {
  const payload = payloadOf(item);
  const invocationId = item.invocationId?.S;
  const sk = item[SORT_KEY]?.S ?? "";
  if (!Array.isArray(payload) || invocationId === undefined) throw corrupt(item, "does not hold an array of results and an invocationId");
  if (item.count?.N !== String(payload.length)) {
    throw corrupt(item, `holds ${payload.length} results, its count says ${item.count?.N ?? "nothing"}`);
  }
  const minute = minuteOfRawSortKey(sk);
  return payload.map((result: unknown, index) => {
    if (
      typeof result !== "object" ||
      result === null ||
      unrollupableReason(result) !== null ||
      (result as StoredResult).region !== region ||
      periodKey("minute", resultTime(result as StoredResult)) !== minute
    ) {
      throw corrupt(item, `result ${index} is not a valid result of ${region} in minute ${minute}`);
    }
    return { ...(result as StoredResult), invocationId };
  });
}
