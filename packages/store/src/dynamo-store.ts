// ResultStore on one DynamoDB table. The same code serves AWS and the embedded
// dynalite default, so it relies only on what both offer: no
// TransactWriteItems (dynalite lacks it), no TTL deletion (dynalite ignores
// it, hence deleteExpired), no Scan on any hot path. Layout v2 packs a round of
// results into one compressed item and every series' rollup of a region and
// period into another, so a write request unit carries dozens of probes
// instead of one. Key design and access patterns: README.md.

import {
  BatchWriteItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  type AttributeValue,
  type DynamoDBClient,
  type QueryCommandInput,
  type WriteRequest,
} from "@aws-sdk/client-dynamodb";
import {
  PERIOD_MS,
  PROBE_KINDS,
  ROLLUP_GRANULARITIES,
  canonicalRollup,
  isCoarser,
  isRollup,
  mergeRollups,
  periodKey,
  periodStartMs,
  resultSeriesTarget,
  resultTime,
  rollupMinute,
  rollupPeriod,
  toEpochMs,
  toIsoInstant,
  unrollupableReason,
  type ProbeKind,
  type Rollup,
  type RollupGranularity,
  type RollupOf,
  type SeriesKey,
} from "@popwatch/core";
import { cascadePeriods, periodsOverlapping } from "./cascade";
import { WRITE_CODEC, decodePayload, encodePayloadText } from "./codec";
import { mapSettledWithConcurrency, mapWithConcurrency } from "./concurrency";
import { StoreError, classifyFailure, describeFailure, type StoreErrorCode } from "./errors";
import {
  MAX_CHUNK,
  MAX_PARTITION_KEY_BYTES,
  MAX_SEQ,
  MAX_SORT_KEY_BYTES,
  PARTITION_KEY,
  SERIES_PARTITION,
  SORT_KEY,
  minuteOfRawSortKey,
  periodOfRollupKey,
  rawPartitionKey,
  rawSortKey,
  rawSortKeyRange,
  rollupItemKey,
  rollupPartitionKey,
  seriesKeyPart,
  utf8Bytes,
} from "./keys";
import { DEFAULT_RETRY_POLICY, DEFAULT_RETRY_RUNTIME, RetryBudget, sendWithRetry, type RetryPolicy, type RetryRuntime } from "./retry";
import type {
  DeleteExpiredReport,
  Instant,
  RebuildReport,
  RegionRollupQuery,
  RegionRollups,
  ResultBatch,
  ResultQuery,
  ResultStore,
  RollUpRequest,
  RollupQuery,
  StoredResult,
  StoredResultRecord,
  WriteReport,
} from "./types";

/** How long items live, in days, by kind. Expiry counts from the raw item's minute or the rollup period's start. */
export interface RetentionDays {
  raw: number;
  minute: number;
  hour: number;
  day: number;
}

/**
 * Raw results serve short windows and debugging; minute rollups the 5 m–6 h
 * burn-rate windows; hour rollups up to 30-day windows with slack; day
 * rollups long-term reports.
 */
export const DEFAULT_RETENTION_DAYS: Readonly<RetentionDays> = { raw: 7, minute: 14, hour: 90, day: 400 };

export interface DynamoResultStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  retentionDays?: Partial<RetentionDays>;
  retry?: Partial<RetryPolicy>;
  /** Requests in flight at once within one call (write chunks, fan-out queries, rollup puts). Default 4. */
  concurrency?: number;
  /** Epoch ms; the default `until` of queryResults. */
  clock?: () => number;
  /** Replaces sleep/random/monotonic clock of the retry loop (tests). */
  retryRuntime?: Partial<RetryRuntime>;
}

/** BatchWriteItem accepts at most 25 requests. */
export const BATCH_WRITE_LIMIT = 25;
/** A single result larger than this as JSON is refused (it could not share an item, nor fill one reliably). */
const MAX_RESULT_JSON_BYTES = 380 * 1024;
/**
 * Compressed payload per item. DynamoDB's item limit is 400 KB including
 * attribute names and keys; a packed group is split into chunks below this.
 */
export const MAX_PAYLOAD_BYTES = 350 * 1024;
const HOUR_MS = PERIOD_MS.hour;

type Item = Record<string, AttributeValue>;

/** A write request and how many results (or index items) it stands for in reports and errors. */
interface WeightedRequest {
  request: WriteRequest;
  weight: number;
}

interface PackedEntry {
  result: StoredResult;
  index: number;
  iso: string;
  json: string;
}

interface OrderedRecord {
  order: string;
  record: StoredResultRecord;
}

export class DynamoResultStore implements ResultStore {
  readonly tableName: string;
  readonly retentionDays: Readonly<RetentionDays>;
  private readonly client: DynamoDBClient;
  private readonly policy: RetryPolicy;
  private readonly runtime: RetryRuntime;
  private readonly concurrency: number;
  private readonly clock: () => number;
  // Series index items are identical on every write, so one write per series
  // per process is enough; a warm Lambda skips them entirely.
  private readonly registeredSeries = new Set<string>();

  constructor(options: DynamoResultStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.retentionDays = { ...DEFAULT_RETENTION_DAYS, ...definedOnly(options.retentionDays) };
    this.policy = { ...DEFAULT_RETRY_POLICY, ...definedOnly(options.retry) };
    this.runtime = { ...DEFAULT_RETRY_RUNTIME, ...definedOnly(options.retryRuntime) };
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.clock = options.clock ?? Date.now;
    for (const [name, days] of Object.entries(this.retentionDays)) {
      if (!(typeof days === "number" && days > 0 && Number.isFinite(days))) {
        throw new StoreError("store_invalid", `retentionDays.${name} must be a positive number of days`);
      }
    }
  }

  async putResults(batch: ResultBatch): Promise<WriteReport> {
    if (typeof batch.region !== "string" || batch.region === "") throw invalid("batch.region must be a non-empty string");
    if (typeof batch.invocationId !== "string" || batch.invocationId === "") {
      throw invalid("batch.invocationId must be a non-empty string");
    }
    // Everything is validated and packed before anything is sent: a batch is refused whole, never half-written.
    const byMinute = new Map<string, PackedEntry[]>();
    const keys = new Set<string>();
    const series = new Map<string, SeriesKey>();
    batch.results.forEach((result, index) => {
      const entry = this.resultEntry(batch, result, index);
      const key = `${entry.iso}#${result.seq}`;
      if (keys.has(key)) throw invalid(`results[${index}] has the same slotAt (or startedAt) and seq as an earlier result of this batch`);
      keys.add(key);
      const minute = entry.iso.slice(0, 16);
      const group = byMinute.get(minute);
      if (group === undefined) byMinute.set(minute, [entry]);
      else group.push(entry);
      const resultSeries = { target: resultSeriesTarget(result), kind: result.kind, region: batch.region };
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

  async queryResults(query: ResultQuery): Promise<StoredResultRecord[]> {
    const untilMs = query.until === undefined ? this.clock() : instantMs(query.until, "until");
    // Nothing older than the retention (plus TTL's deletion lag) is kept: a
    // range reaching further back would only add a Query per empty hour.
    const sinceMs = Math.max(instantMs(query.since, "since"), untilMs - (this.retentionDays.raw + TTL_LAG_DAYS) * DAY_MS);
    const limit = query.limit;
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) throw invalid("limit must be a positive integer");
    if (query.kind !== undefined && !(PROBE_KINDS as readonly string[]).includes(query.kind)) throw invalid(`unknown kind ${query.kind}`);
    if (untilMs <= sinceMs) return [];

    const { target, kind } = query;
    const regions = query.region !== undefined ? [query.region] : await this.listRegions();
    const perRegion = await mapWithConcurrency(regions, this.concurrency, (region) =>
      this.readRegionResults(region, sinceMs, untilMs, {
        limit,
        consistent: false,
        keep: (result) => (target === undefined || resultSeriesTarget(result) === target) && (kind === undefined || result.kind === kind),
      }),
    );
    const merged = perRegion.flat().sort((a, b) => compareStrings(a.order, b.order));
    return (limit === undefined ? merged : merged.slice(0, limit)).map((entry) => entry.record);
  }

  async queryRollups<G extends RollupGranularity>(query: RollupQuery<G>): Promise<RollupOf<G>[]> {
    const series = validSeries(query);
    const periods = await this.queryRegionRollups({ region: series.region, granularity: query.granularity, from: query.from, to: query.to });
    return periods.flatMap(({ rollups }) => rollups.filter((r) => r.target === series.target && r.kind === series.kind));
  }

  async queryRegionRollups<G extends RollupGranularity>(query: RegionRollupQuery<G>): Promise<RegionRollups<G>[]> {
    const region = validRegion(query.region);
    const granularity = validGranularity(query.granularity);
    const toMs = instantMs(query.to, "to");
    const fromMs = Math.max(instantMs(query.from, "from"), toMs - (this.retentionDays[granularity] + TTL_LAG_DAYS) * DAY_MS);
    if (toMs <= fromMs) return [];
    const first = periodKey(granularity, fromMs);
    const last = periodKey(granularity, toMs - 1);
    if (first === null || last === null) throw invalid("from/to out of range");
    return this.readRegionPeriods(region, granularity, first, last, false);
  }

  async rollUp(request: RollUpRequest): Promise<RebuildReport> {
    const region = validRegion(request.region);
    const granularity = validGranularity(request.granularity);
    const fromMs = instantMs(request.from, "from");
    const toMs = instantMs(request.to, "to");
    const report: RebuildReport = { written: [], kept: [], items: { written: 0, kept: 0 } };
    if (toMs <= fromMs) return report;
    const coarser = request.cascade ? ROLLUP_GRANULARITIES.filter((g) => isCoarser(g, granularity)) : [];
    const plans = coarser.map((level) => ({ level, ...cascadePeriods(level, fromMs, toMs) }));
    // Which still-open coarser periods are stored already is asked alongside
    // the first level, not after it: one round trip less for the agent.
    const [, storedOpen] = await Promise.all([
      this.rollUpPeriods(region, granularity, periodsOverlapping(granularity, fromMs, toMs), report),
      Promise.all(plans.map((plan) => this.storedPeriods(region, plan.level, plan.open))),
    ]);
    for (const [index, plan] of plans.entries()) {
      const targets = [...plan.ended, ...storedOpen[index]!].sort(compareStrings);
      if (plan.level === "day" && granularity === "minute" && targets.length > 0) {
        // An hour whose closing invocation never ran (skipped, failed for good)
        // was never built; the day would silently miss it. Build such hours
        // from their minutes first.
        await this.rollUpPeriods(region, "hour", await this.missingHours(region, targets), report);
      }
      await this.rollUpPeriods(region, plan.level, targets, report);
    }
    return report;
  }

  /**
   * Writes one region item of rollups computed elsewhere (a back-fill from
   * another system, a benchmark's 30 days of history). rollUp is the normal
   * path; this one takes the same care: every rollup must belong to the item
   * (granularity, period, region), and a stored item counting more results
   * is kept. Resolves to false when it was kept.
   */
  async putRegionRollups(granularity: RollupGranularity, region: string, period: string, rollups: readonly Rollup[]): Promise<boolean> {
    if (rollups.length === 0) throw invalid(`${granularity} ${period} of ${region}: no rollups to write`);
    for (const rollup of rollups) {
      if (!isRollup(rollup) || rollup.granularity !== granularity || rollupPeriod(rollup) !== period || rollup.region !== region) {
        throw invalid(`${granularity} ${period} of ${region}: a rollup of another period, region or granularity, or not a rollup`);
      }
    }
    // Readers accept one rollup per series in series order (decodeRollupItem), as rollUp writes them.
    const ordered = [...rollups].sort((a, b) => compareStrings(a.target, b.target) || compareStrings(a.kind, b.kind));
    for (let i = 1; i < ordered.length; i++) {
      if (ordered[i - 1]!.target === ordered[i]!.target && ordered[i - 1]!.kind === ordered[i]!.kind) {
        throw invalid(`${granularity} ${period} of ${region}: two rollups of series ${ordered[i]!.target}/${ordered[i]!.kind}`);
      }
    }
    return this.putRollupItemUnlessMoreComplete(granularity, region, period, ordered);
  }

  async deleteExpired(now: Instant): Promise<DeleteExpiredReport> {
    const nowSeconds = Math.floor(instantMs(now, "now") / 1000);
    let deleted = 0;
    let startKey: Item | undefined;
    // The one Scan: DynamoDB TTL does this on AWS; the embedded store has no
    // TTL, is local and small, and calls this from maintenance, not per probe.
    do {
      const page = await sendWithRetry(
        "Scan for expired items",
        () =>
          this.client.send(
            new ScanCommand({
              TableName: this.tableName,
              ProjectionExpression: "#pk, #sk",
              FilterExpression: "#expiresAt <= :now",
              ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#sk": SORT_KEY, "#expiresAt": "expiresAt" },
              ExpressionAttributeValues: { ":now": { N: String(nowSeconds) } },
              ExclusiveStartKey: startKey,
            }),
          ),
        this.policy,
        this.runtime,
      );
      const deletions: WeightedRequest[] = (page.Items ?? []).map((item) => ({
        request: { DeleteRequest: { Key: { [PARTITION_KEY]: item[PARTITION_KEY]!, [SORT_KEY]: item[SORT_KEY]! } } },
        weight: 1,
      }));
      await this.writeRequests(deletions);
      deleted += deletions.length;
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return { deleted };
  }

  async listSeries(): Promise<SeriesKey[]> {
    const items = await this.queryAll(
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

  // ---------------------------------------------------------------- items

  private resultEntry(batch: ResultBatch, result: StoredResult, index: number): PackedEntry {
    const where = `results[${index}]`;
    const reason = unrollupableReason(result);
    if (reason !== null) throw invalid(`${where}: ${reason}`);
    if (result.region !== batch.region) throw invalid(`${where}.region differs from the batch's region ${batch.region}`);
    if (!(Number.isSafeInteger(result.seq) && result.seq >= 0 && result.seq <= MAX_SEQ)) {
      throw invalid(`${where}.seq must be an integer in [0, ${MAX_SEQ}]`);
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
    const minuteStartMs = periodStartMs("minute", minute)!;
    const pk = rawPartitionKey(batch.region, minute.slice(0, 13));
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
        expiresAt: { N: String(expirySeconds(minuteStartMs, this.retentionDays.raw)) },
      };
      return { request: { PutRequest: { Item: item } }, weight: entries.length };
    });
  }

  private rollupItem(granularity: RollupGranularity, region: string, period: string, rollups: readonly Rollup[]): Item {
    const canonical = rollups.map((rollup) => canonicalRollup(rollup));
    const data = encodePayloadText(JSON.stringify(canonical));
    if (data.length > MAX_PAYLOAD_BYTES) {
      throw invalid(`${granularity} ${period} of ${region}: ${canonical.length} series do not fit in one item (${data.length} bytes compressed)`);
    }
    const { pk, sk } = rollupItemKey(granularity, region, period);
    checkKeySizes(pk, sk, `${granularity} rollup ${period}`);
    const startMs = periodStartMs(granularity, period)!;
    return {
      [PARTITION_KEY]: { S: pk },
      [SORT_KEY]: { S: sk },
      total: { N: String(canonical.reduce((sum, rollup) => sum + rollup.total, 0)) },
      series: { N: String(canonical.length) },
      codec: { S: WRITE_CODEC },
      data: { B: data },
      expiresAt: { N: String(expirySeconds(startMs, this.retentionDays[granularity])) },
    };
  }

  private seriesItem(series: SeriesKey): Item {
    return {
      [PARTITION_KEY]: { S: SERIES_PARTITION },
      [SORT_KEY]: { S: seriesKeyPart(series) },
      target: { S: series.target },
      kind: { S: series.kind },
      region: { S: series.region },
    };
  }

  // ---------------------------------------------------------------- writes

  private async writeWithSeries(requests: WeightedRequest[], series: Map<string, SeriesKey>): Promise<WriteReport> {
    const newSeries = [...series].filter(([key]) => !this.registeredSeries.has(key));
    const all = [...requests, ...newSeries.map(([, s]) => ({ request: { PutRequest: { Item: this.seriesItem(s) } }, weight: 1 }))];
    const report = await this.writeRequests(all);
    for (const [key] of newSeries) this.registeredSeries.add(key);
    return report;
  }

  /**
   * Writes every request or throws a StoreError saying how much was not
   * written (by weight: results, or index items). Chunks run with bounded
   * concurrency and all run to the end, so the count covers every chunk, not
   * just the first that failed.
   */
  private async writeRequests(requests: readonly WeightedRequest[]): Promise<WriteReport> {
    const chunks: WeightedRequest[][] = [];
    for (let i = 0; i < requests.length; i += BATCH_WRITE_LIMIT) chunks.push(requests.slice(i, i + BATCH_WRITE_LIMIT));
    const settled = await mapSettledWithConcurrency(chunks, this.concurrency, (chunk) => this.writeChunk(chunk));
    const total = requests.reduce((sum, r) => sum + r.weight, 0);
    let sent = 0;
    let unwritten = 0;
    let attempts = 0;
    let firstFailure: StoreError | undefined;
    settled.forEach((outcome, index) => {
      if (outcome.status === "fulfilled") {
        sent += outcome.value;
        return;
      }
      const failure = asChunkFailure(outcome.reason, chunks[index]!.reduce((sum, r) => sum + r.weight, 0));
      unwritten += failure.unwrittenItems;
      sent += failure.attempts;
      attempts = Math.max(attempts, failure.attempts);
      firstFailure ??= failure;
    });
    if (firstFailure !== undefined) {
      throw new StoreError(
        firstFailure.code,
        `${unwritten} of ${total} items not written: ${firstFailure.message}`,
        { cause: firstFailure.cause, unwrittenItems: unwritten, totalItems: total, attempts },
      );
    }
    return { items: total, requests: sent };
  }

  /** One chunk of ≤ 25 requests until none is left unprocessed; resolves to the number of requests sent. */
  private async writeChunk(chunk: WeightedRequest[]): Promise<number> {
    // UnprocessedItems come back as new objects: their keys find their weights.
    const weights = new Map(chunk.map(({ request, weight }) => [requestKey(request), weight]));
    const weightOf = (requests: readonly WriteRequest[]) => requests.reduce((sum, r) => sum + (weights.get(requestKey(r)) ?? 1), 0);
    const budget = new RetryBudget(this.policy, this.runtime);
    let pending = chunk.map(({ request }) => request);
    for (;;) {
      budget.recordAttempt();
      let failure: { code: StoreErrorCode; detail: string; cause?: unknown };
      try {
        const output = await this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.tableName]: pending } }));
        pending = output.UnprocessedItems?.[this.tableName] ?? [];
        if (pending.length === 0) return budget.attempts;
        failure = { code: "store_throttled", detail: `${pending.length} items still unprocessed` };
      } catch (err) {
        const classified = classifyFailure(err);
        failure = { code: classified.code, detail: describeFailure(err), cause: err };
        if (!classified.retryable) throw chunkFailure(failure, weightOf(pending), budget.attempts);
      }
      if (!(await budget.backoff())) throw chunkFailure(failure, weightOf(pending), budget.attempts);
    }
  }

  /**
   * PutItem that only replaces a stored region item counting no more results
   * than this one. Rollups only ever grow while their inputs exist, so this
   * stops a slower concurrent rollUp, or one running after TTL removed part of
   * the inputs, from replacing a more complete item. Resolves to false when
   * the stored one was kept.
   */
  private async putRollupItemUnlessMoreComplete(
    granularity: RollupGranularity,
    region: string,
    period: string,
    rollups: readonly Rollup[],
  ): Promise<boolean> {
    const item = this.rollupItem(granularity, region, period, rollups);
    try {
      await sendWithRetry(
        `PutItem of ${granularity} rollup ${period}`,
        () =>
          this.client.send(
            new PutItemCommand({
              TableName: this.tableName,
              Item: item,
              ConditionExpression: "attribute_not_exists(#pk) OR #total <= :total",
              ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#total": "total" },
              ExpressionAttributeValues: { ":total": item.total! },
            }),
          ),
        this.policy,
        this.runtime,
      );
      return true;
    } catch (err) {
      if (err instanceof StoreError && err.code === "store_conflict") return false;
      throw err;
    }
  }

  // ---------------------------------------------------------------- rollups

  /** Recomputes the given periods (those with data) of one level and writes them, adding the outcome to `report`. */
  private async rollUpPeriods(region: string, level: RollupGranularity, periods: readonly string[], report: RebuildReport): Promise<void> {
    if (periods.length === 0) return;
    const computed = [...(await this.computePeriods(region, level, periods))].sort(([a], [b]) => compareStrings(a, b));
    const outcomes = await mapSettledWithConcurrency(computed, this.concurrency, ([period, rollups]) =>
      this.putRollupItemUnlessMoreComplete(level, region, period, rollups),
    );
    const failures: StoreError[] = [];
    outcomes.forEach((outcome, index) => {
      const rollups = computed[index]![1];
      if (outcome.status === "rejected") failures.push(asChunkFailure(outcome.reason, 1));
      else if (outcome.value) {
        report.written.push(...rollups);
        report.items.written++;
      } else {
        report.kept.push(...rollups);
        report.items.kept++;
      }
    });
    const [first] = failures;
    if (first !== undefined) {
      // A coarser level built on a failed finer one would be incomplete, so stop here.
      throw new StoreError(first.code, `${failures.length} of ${computed.length} ${level} rollup items not written: ${first.message}`, {
        cause: first.cause,
        unwrittenItems: failures.length,
        totalItems: computed.length,
        attempts: first.attempts,
      });
    }
  }

  /** Every series' rollup of each period (sorted ascending) that has data at the next finer level. */
  private async computePeriods(region: string, level: RollupGranularity, periods: readonly string[]): Promise<Map<string, Rollup[]>> {
    const wanted = new Set(periods);
    const startMs = periodStartMs(level, periods[0]!)!;
    const endMs = periodStartMs(level, periods[periods.length - 1]!)! + PERIOD_MS[level];
    let rollups: Rollup[];
    switch (level) {
      case "minute": {
        const records = await this.readRegionResults(region, startMs, endMs, { consistent: true });
        rollups = rollupMinute(
          records.map((entry) => entry.record),
          { region },
        );
        break;
      }
      case "hour":
      case "day": {
        const finer = level === "hour" ? "minute" : "hour";
        const children = await this.readRegionPeriods(region, finer, periodKey(finer, startMs)!, periodKey(finer, endMs - 1)!, true);
        rollups = mergeRollups(
          children.flatMap((child) => child.rollups),
          level,
        );
        break;
      }
    }
    // rollupResults and mergeRollups sort by series, then period: each period's list stays in series order.
    const byPeriod = new Map<string, Rollup[]>();
    for (const rollup of rollups) {
      const period = rollupPeriod(rollup);
      if (!wanted.has(period)) continue;
      const list = byPeriod.get(period);
      if (list === undefined) byPeriod.set(period, [rollup]);
      else list.push(rollup);
    }
    return byPeriod;
  }

  /** The periods among `periods` whose region item exists (consistent reads, keys only). */
  private async storedPeriods(region: string, granularity: RollupGranularity, periods: readonly string[]): Promise<string[]> {
    const found = await mapWithConcurrency(periods, this.concurrency, async (period) => {
      const { pk, sk } = rollupItemKey(granularity, region, period);
      const items = await this.queryAll(
        {
          KeyConditionExpression: "#pk = :pk AND #sk = :sk",
          ProjectionExpression: "#pk",
          ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#sk": SORT_KEY },
          ExpressionAttributeValues: { ":pk": { S: pk }, ":sk": { S: sk } },
        },
        { consistent: true },
      );
      return items.length > 0 ? [period] : [];
    });
    return found.flat();
  }

  /** The hours of these days that have no hour item (consistent reads, keys only). */
  private async missingHours(region: string, days: readonly string[]): Promise<string[]> {
    const missing: string[] = [];
    for (const day of days) {
      const first = rollupItemKey("hour", region, `${day}T00`);
      const last = rollupItemKey("hour", region, `${day}T23`);
      const items = await this.queryAll(
        { ...sortKeyRangeQuery(first.pk, first.sk, last.sk), ProjectionExpression: "#pk, #sk" },
        { consistent: true },
      );
      const stored = new Set(items.map((item) => periodOfRollupKey("hour", first.pk, item[SORT_KEY]?.S ?? "")));
      const start = periodStartMs("day", day)!;
      missing.push(...periodsOverlapping("hour", start, start + PERIOD_MS.day).filter((hour) => !stored.has(hour)));
    }
    return missing;
  }

  // ---------------------------------------------------------------- reads

  /** Region items of the periods first..last (inclusive), earliest first, walking their partitions in order. */
  private async readRegionPeriods<G extends RollupGranularity>(
    region: string,
    granularity: G,
    first: string,
    last: string,
    consistent: boolean,
  ): Promise<RegionRollups<G>[]> {
    const startMs = periodStartMs(granularity, first)!;
    const endMs = periodStartMs(granularity, last)! + PERIOD_MS[granularity];
    const firstKey = rollupItemKey(granularity, region, first);
    const lastKey = rollupItemKey(granularity, region, last);
    // Partitions hold a day of minutes, a month of hours, a year of days: walking days finds them all.
    const partitions = [...new Set(periodsOverlapping("day", startMs, endMs).map((day) => rollupPartitionKey(granularity, region, day)))];
    const found: RegionRollups<G>[] = [];
    for (const pk of partitions) {
      const low = pk === firstKey.pk ? firstKey.sk : undefined;
      const high = pk === lastKey.pk ? lastKey.sk : undefined;
      const items = await this.queryAll(sortKeyRangeQuery(pk, low, high), { consistent });
      for (const item of items) found.push(decodeRollupItem(item, granularity, region));
    }
    return found;
  }

  /**
   * Results of one region in [sinceMs, untilMs), walking its hour partitions
   * in order (and stopping at a partition boundary once `limit` is reached:
   * every later partition is later in time).
   */
  private async readRegionResults(
    region: string,
    sinceMs: number,
    untilMs: number,
    options: { limit?: number | undefined; consistent: boolean; keep?: (result: StoredResult) => boolean },
  ): Promise<OrderedRecord[]> {
    if (toIsoInstant(sinceMs) === null || toIsoInstant(untilMs) === null) throw invalid("since/until out of range");
    const found: OrderedRecord[] = [];
    for (let hourStart = Math.floor(sinceMs / HOUR_MS) * HOUR_MS; hourStart < untilMs; hourStart += HOUR_MS) {
      if (options.limit !== undefined && found.length >= options.limit) break;
      const { low, high } = rawSortKeyRange(
        periodKey("minute", Math.max(sinceMs, hourStart))!,
        periodKey("minute", Math.min(untilMs, hourStart + HOUR_MS) - 1)!,
      );
      const items = await this.queryAll(sortKeyRangeQuery(rawPartitionKey(region, periodKey("hour", hourStart)!), low, high), {
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

  /** Every page of a Query, each page retried on its own. */
  private async queryAll(
    input: Omit<QueryCommandInput, "TableName" | "ExclusiveStartKey" | "ConsistentRead">,
    options: { consistent: boolean },
  ): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const page = await sendWithRetry(
        "Query",
        () =>
          this.client.send(
            new QueryCommand({ ...input, TableName: this.tableName, ConsistentRead: options.consistent, ExclusiveStartKey: startKey }),
          ),
        this.policy,
        this.runtime,
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }
}

// ---------------------------------------------------------------- helpers

/** Drops keys set to undefined, so `{ raw: undefined }` keeps the default instead of erasing it. */
function definedOnly<T extends object>(partial: Partial<T> | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(partial ?? {}).filter(([, value]) => value !== undefined)) as Partial<T>;
}

function invalid(message: string): StoreError {
  return new StoreError("store_invalid", message);
}

function corrupt(item: Item, detail: string, cause?: unknown): StoreError {
  return new StoreError("store_corrupt", `item ${describeKey(item)} ${detail}`, cause === undefined ? {} : { cause });
}

function instantMs(value: Instant, name: string): number {
  const ms = toEpochMs(value);
  if (ms === null) throw invalid(`${name} is not a valid instant`);
  return ms;
}

function validRegion(region: unknown): string {
  if (typeof region !== "string" || region === "") throw invalid("region must be a non-empty string");
  return region;
}

function validSeries(series: SeriesKey): SeriesKey {
  if (typeof series.target !== "string" || typeof series.region !== "string") throw invalid("target and region must be strings");
  if (!(PROBE_KINDS as readonly string[]).includes(series.kind)) throw invalid(`unknown kind ${String(series.kind)}`);
  return { target: series.target, kind: series.kind, region: series.region };
}

function validGranularity<G extends RollupGranularity>(granularity: G): G {
  if (!(ROLLUP_GRANULARITIES as readonly string[]).includes(granularity)) throw invalid(`unknown granularity ${String(granularity)}`);
  return granularity;
}

function checkKeySizes(pk: string, sk: string, where: string): void {
  if (utf8Bytes(pk) > MAX_PARTITION_KEY_BYTES || utf8Bytes(sk) > MAX_SORT_KEY_BYTES) {
    throw invalid(`${where}: key too long for DynamoDB (region or invocation id too long)`);
  }
}

const DAY_MS = 86_400_000;
/** DynamoDB deletes expired items within about two days of their expiry. */
const TTL_LAG_DAYS = 2;

function expirySeconds(startMs: number, days: number): number {
  return Math.floor(startMs / 1000) + Math.round(days * 86_400);
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

function sortKeyRangeQuery(
  pk: string,
  low: string | undefined,
  high: string | undefined,
): Omit<QueryCommandInput, "TableName" | "ExclusiveStartKey" | "ConsistentRead"> {
  const values: Record<string, AttributeValue> = { ":pk": { S: pk } };
  if (low !== undefined) values[":low"] = { S: low };
  if (high !== undefined) values[":high"] = { S: high };
  const range =
    low !== undefined && high !== undefined
      ? " AND #sk BETWEEN :low AND :high"
      : low !== undefined
        ? " AND #sk >= :low"
        : high !== undefined
          ? " AND #sk <= :high"
          : "";
  return {
    KeyConditionExpression: `#pk = :pk${range}`,
    ExpressionAttributeNames: range === "" ? { "#pk": PARTITION_KEY } : { "#pk": PARTITION_KEY, "#sk": SORT_KEY },
    ExpressionAttributeValues: values,
  };
}

function requestKey(request: WriteRequest): string {
  const key = request.PutRequest?.Item ?? request.DeleteRequest?.Key ?? {};
  return `${key[PARTITION_KEY]?.S ?? ""}\u0000${key[SORT_KEY]?.S ?? ""}`;
}

function describeKey(item: Item): string {
  return `${item[PARTITION_KEY]?.S ?? "?"} / ${item[SORT_KEY]?.S ?? "?"}`;
}

function payloadOf(item: Item): unknown {
  return decodePayload(item.codec?.S, item.data?.B, `item ${describeKey(item)}`);
}

/** Earliest first; ties (same instant) by invocation, seq, then region, so the order is total and stable. */
function recordOrder(record: StoredResultRecord): string {
  return `${toIsoInstant(resultTime(record))}\u0000${record.invocationId}\u0000${String(record.seq).padStart(6, "0")}\u0000${record.region}`;
}

function decodeResultItem(item: Item, region: string): StoredResultRecord[] {
  const payload = payloadOf(item);
  const invocationId = item.invocationId?.S;
  const sk = item[SORT_KEY]?.S ?? "";
  if (!Array.isArray(payload) || invocationId === undefined) throw corrupt(item, "does not hold an array of results and an invocationId");
  if (item.count?.N !== String(payload.length)) throw corrupt(item, `holds ${payload.length} results, its count says ${item.count?.N ?? "nothing"}`);
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

function decodeRollupItem<G extends RollupGranularity>(item: Item, granularity: G, region: string): RegionRollups<G> {
  const period = periodOfRollupKey(granularity, item[PARTITION_KEY]?.S ?? "", item[SORT_KEY]?.S ?? "");
  const payload = payloadOf(item);
  if (!Array.isArray(payload)) throw corrupt(item, `does not hold a list of ${granularity} rollups`);
  let total = 0;
  let previous: Rollup | undefined;
  for (const rollup of payload as unknown[]) {
    if (!isRollup(rollup) || rollup.granularity !== granularity || rollup.region !== region || rollupPeriod(rollup) !== period) {
      throw corrupt(item, `does not hold valid ${granularity} rollups of ${region} for ${period}`);
    }
    // One rollup per series, in series order: what rollUp writes, and what mergeRollups needs to not double-count.
    if (previous !== undefined) {
      const order = compareStrings(previous.target, rollup.target) || compareStrings(previous.kind, rollup.kind);
      if (order >= 0) throw corrupt(item, order === 0 ? `repeats series ${rollup.target}/${rollup.kind}` : "lists series out of order");
    }
    total += rollup.total;
    previous = rollup;
  }
  if (item.total?.N !== String(total) || item.series?.N !== String(payload.length)) {
    throw corrupt(item, "has total or series attributes that do not match its rollups");
  }
  return { period, rollups: payload as RollupOf<G>[] };
}

function chunkFailure(failure: { code: StoreErrorCode; detail: string; cause?: unknown }, unwritten: number, attempts: number): StoreError {
  return new StoreError(failure.code, `BatchWriteItem gave up after ${attempts} attempts: ${failure.detail}`, {
    cause: failure.cause,
    unwrittenItems: unwritten,
    totalItems: unwritten,
    attempts,
  });
}

function asChunkFailure(reason: unknown, chunkWeight: number): StoreError {
  if (reason instanceof StoreError) return reason;
  // Not expected (writeChunk only throws StoreError), but a bug must not turn into silent loss.
  return new StoreError("store_unavailable", `BatchWriteItem failed: ${describeFailure(reason)}`, {
    cause: reason,
    unwrittenItems: chunkWeight,
    attempts: 1,
  });
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
