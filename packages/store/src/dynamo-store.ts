// ResultStore on one DynamoDB table. The same code serves AWS and the embedded
// dynalite default, so it relies only on what both offer: no
// TransactWriteItems (dynalite lacks it), no TTL deletion (dynalite ignores
// it, hence deleteExpired), no Scan on any hot path. Key design and access
// patterns: README.md.

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
import { mapSettledWithConcurrency, mapWithConcurrency } from "./concurrency";
import { StoreError, classifyFailure, describeFailure, type StoreErrorCode } from "./errors";
import {
  MAX_PARTITION_KEY_BYTES,
  MAX_SEQ,
  MAX_SORT_KEY_BYTES,
  PARTITION_KEY,
  SERIES_PARTITION,
  SORT_KEY,
  rawPartitionKey,
  rawSortKey,
  rollupPartitionKey,
  seriesKeyPart,
  utf8Bytes,
} from "./keys";
import { DEFAULT_RETRY_POLICY, DEFAULT_RETRY_RUNTIME, RetryBudget, sendWithRetry, type RetryPolicy, type RetryRuntime } from "./retry";
import type {
  DeleteExpiredReport,
  Instant,
  RebuildReport,
  RebuildRequest,
  ResultBatch,
  ResultQuery,
  ResultStore,
  RollupQuery,
  StoredResult,
  StoredResultRecord,
  WriteReport,
} from "./types";

/** How long items live, in days, by kind. Expiry counts from the result's startedAt or the rollup period's start. */
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
/** DynamoDB's item size limit is 400 KB; keep headroom for attribute names and keys. */
const MAX_RESULT_JSON_BYTES = 380 * 1024;
const DAY_MS = 86_400_000;

type Item = Record<string, AttributeValue>;

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
    // Everything is validated before anything is sent: a batch is refused whole, never half-written.
    const items: Item[] = [];
    const keys = new Set<string>();
    const series = new Map<string, SeriesKey>();
    batch.results.forEach((result, index) => {
      const item = this.resultItem(batch, result, index);
      const key = itemKeyString(item);
      if (keys.has(key)) throw invalid(`results[${index}] has the same slotAt (or startedAt) and seq as an earlier result of this batch`);
      keys.add(key);
      items.push(item);
      const resultSeries = { target: resultSeriesTarget(result), kind: result.kind, region: batch.region };
      series.set(seriesKeyPart(resultSeries), resultSeries);
    });
    return this.writeWithSeries(items, series);
  }

  async putRollups(rollups: readonly Rollup[]): Promise<WriteReport> {
    const items: Item[] = [];
    const keys = new Set<string>();
    const series = new Map<string, SeriesKey>();
    rollups.forEach((rollup, index) => {
      if (!isRollup(rollup)) throw invalid(`rollups[${index}] is not a well-formed rollup`);
      const item = this.rollupItem(rollup);
      const key = itemKeyString(item);
      if (keys.has(key)) throw invalid(`rollups[${index}] repeats the ${rollup.granularity} ${rollupPeriod(rollup)} of its series`);
      keys.add(key);
      items.push(item);
      const rollupSeries = { target: rollup.target, kind: rollup.kind, region: rollup.region };
      series.set(seriesKeyPart(rollupSeries), rollupSeries);
    });
    return this.writeWithSeries(items, series);
  }

  async queryResults(query: ResultQuery): Promise<StoredResultRecord[]> {
    const sinceMs = instantMs(query.since, "since");
    const untilMs = query.until === undefined ? this.clock() : instantMs(query.until, "until");
    const limit = query.limit;
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) throw invalid("limit must be a positive integer");
    if (query.kind !== undefined && !(PROBE_KINDS as readonly string[]).includes(query.kind)) throw invalid(`unknown kind ${query.kind}`);
    if (untilMs <= sinceMs) return [];

    const { target, kind, region } = query;
    const series =
      target !== undefined && kind !== undefined && region !== undefined
        ? [{ target, kind, region }]
        : (await this.listSeries()).filter(
            (s) =>
              (target === undefined || s.target === target) &&
              (kind === undefined || s.kind === kind) &&
              (region === undefined || s.region === region),
          );
    const perSeries = await mapWithConcurrency(series, this.concurrency, (s) =>
      this.queryRawSeries(s, sinceMs, untilMs, { limit, consistent: false }),
    );
    const merged = perSeries.flat().sort((a, b) => compareStrings(a.order, b.order));
    return (limit === undefined ? merged : merged.slice(0, limit)).map((entry) => entry.record);
  }

  async queryRollups<G extends RollupGranularity>(query: RollupQuery<G>): Promise<RollupOf<G>[]> {
    return this.readRollups(query, false);
  }

  async rebuildRollups(request: RebuildRequest): Promise<RebuildReport> {
    const series = validSeries(request);
    const granularity = validGranularity(request.granularity);
    const fromMs = instantMs(request.from, "from");
    const toMs = instantMs(request.to, "to");
    const report: RebuildReport = { written: [], kept: [] };
    if (toMs <= fromMs) return report;
    const levels = request.cascade ? ROLLUP_GRANULARITIES.filter((g) => !isCoarser(granularity, g)) : [granularity];
    for (const level of levels) {
      const rollups = await this.computeRollups(series, level, fromMs, toMs);
      const outcomes = await mapSettledWithConcurrency(rollups, this.concurrency, (rollup) => this.putRollupUnlessMoreComplete(rollup));
      const failures: StoreError[] = [];
      outcomes.forEach((outcome, index) => {
        if (outcome.status === "rejected") failures.push(asChunkFailure(outcome.reason, 1));
        else (outcome.value ? report.written : report.kept).push(rollups[index]!);
      });
      const [first] = failures;
      if (first !== undefined) {
        // A coarser level built on a failed finer one would be incomplete, so stop here.
        throw new StoreError(first.code, `${failures.length} of ${rollups.length} ${level} rollups not written: ${first.message}`, {
          cause: first.cause,
          unwrittenItems: failures.length,
          totalItems: rollups.length,
          attempts: first.attempts,
        });
      }
    }
    return report;
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
      const deletions: WriteRequest[] = (page.Items ?? []).map((item) => ({
        DeleteRequest: { Key: { [PARTITION_KEY]: item[PARTITION_KEY]!, [SORT_KEY]: item[SORT_KEY]! } },
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

  // ---------------------------------------------------------------- items

  private resultItem(batch: ResultBatch, result: StoredResult, index: number): Item {
    const where = `results[${index}]`;
    const reason = unrollupableReason(result);
    if (reason !== null) throw invalid(`${where}: ${reason}`);
    if (result.region !== batch.region) throw invalid(`${where}.region differs from the batch's region ${batch.region}`);
    if (!(Number.isSafeInteger(result.seq) && result.seq >= 0 && result.seq <= MAX_SEQ)) {
      throw invalid(`${where}.seq must be an integer in [0, ${MAX_SEQ}]`);
    }
    const startedIso = toIsoInstant(resultTime(result))!;
    const startedMs = Date.parse(startedIso);
    const series: SeriesKey = { target: resultSeriesTarget(result), kind: result.kind, region: batch.region };
    const pk = rawPartitionKey(series, startedIso.slice(0, 10));
    const sk = rawSortKey(startedIso, batch.invocationId, result.seq);
    checkKeySizes(pk, sk, where);
    let json: string;
    try {
      json = JSON.stringify(result);
    } catch (err) {
      throw new StoreError("store_invalid", `${where} cannot be serialised as JSON`, { cause: err });
    }
    if (utf8Bytes(json) > MAX_RESULT_JSON_BYTES) throw invalid(`${where} is larger than ${MAX_RESULT_JSON_BYTES} bytes as JSON`);
    return {
      [PARTITION_KEY]: { S: pk },
      [SORT_KEY]: { S: sk },
      invocationId: { S: batch.invocationId },
      ok: { BOOL: result.ok === true },
      result: { S: json },
      expiresAt: { N: String(expirySeconds(startedMs, this.retentionDays.raw)) },
    };
  }

  private rollupItem(rollup: Rollup): Item {
    const canonical = canonicalRollup(rollup);
    const period = rollupPeriod(canonical);
    const pk = rollupPartitionKey(canonical.granularity, canonical);
    checkKeySizes(pk, period, `${canonical.granularity} rollup ${period}`);
    const startMs = periodStartMs(canonical.granularity, period)!;
    return {
      [PARTITION_KEY]: { S: pk },
      [SORT_KEY]: { S: period },
      total: { N: String(canonical.total) },
      rollup: { S: JSON.stringify(canonical) },
      expiresAt: { N: String(expirySeconds(startMs, this.retentionDays[canonical.granularity])) },
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

  private async writeWithSeries(items: Item[], series: Map<string, SeriesKey>): Promise<WriteReport> {
    const newSeries = [...series].filter(([key]) => !this.registeredSeries.has(key));
    const all = [...items, ...newSeries.map(([, s]) => this.seriesItem(s))];
    const report = await this.writeRequests(all.map((Item) => ({ PutRequest: { Item } })));
    for (const [key] of newSeries) this.registeredSeries.add(key);
    return report;
  }

  /**
   * Writes every request or throws a StoreError saying how many were not
   * written. Chunks run with bounded concurrency and all run to the end, so
   * the count covers every chunk, not just the first that failed.
   */
  private async writeRequests(requests: readonly WriteRequest[]): Promise<WriteReport> {
    const chunks: WriteRequest[][] = [];
    for (let i = 0; i < requests.length; i += BATCH_WRITE_LIMIT) chunks.push(requests.slice(i, i + BATCH_WRITE_LIMIT));
    const settled = await mapSettledWithConcurrency(chunks, this.concurrency, (chunk) => this.writeChunk(chunk));
    let sent = 0;
    let unwritten = 0;
    let attempts = 0;
    let firstFailure: StoreError | undefined;
    settled.forEach((outcome, index) => {
      if (outcome.status === "fulfilled") {
        sent += outcome.value;
        return;
      }
      const failure = asChunkFailure(outcome.reason, chunks[index]!.length);
      unwritten += failure.unwrittenItems;
      sent += failure.attempts;
      attempts = Math.max(attempts, failure.attempts);
      firstFailure ??= failure;
    });
    if (firstFailure !== undefined) {
      throw new StoreError(
        firstFailure.code,
        `${unwritten} of ${requests.length} items not written: ${firstFailure.message}`,
        { cause: firstFailure.cause, unwrittenItems: unwritten, totalItems: requests.length, attempts },
      );
    }
    return { items: requests.length, requests: sent };
  }

  /** One chunk of ≤ 25 requests until none is left unprocessed; resolves to the number of requests sent. */
  private async writeChunk(chunk: WriteRequest[]): Promise<number> {
    const budget = new RetryBudget(this.policy, this.runtime);
    let pending = chunk;
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
        if (!classified.retryable) throw chunkFailure(failure, pending.length, budget.attempts);
      }
      if (!(await budget.backoff())) throw chunkFailure(failure, pending.length, budget.attempts);
    }
  }

  /**
   * PutItem that only replaces a stored rollup counting no more results than
   * this one. Rollups only ever grow while their inputs exist, so this stops a
   * slower concurrent rebuild, or one running after TTL removed part of the
   * inputs, from replacing a more complete rollup. Resolves to false when the
   * stored one was kept.
   */
  private async putRollupUnlessMoreComplete(rollup: Rollup): Promise<boolean> {
    const item = this.rollupItem(rollup);
    try {
      await sendWithRetry(
        `PutItem of ${rollup.granularity} rollup ${rollupPeriod(rollup)}`,
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

  // ---------------------------------------------------------------- reads

  private async readRollups<G extends RollupGranularity>(query: RollupQuery<G>, consistent: boolean): Promise<RollupOf<G>[]> {
    const series = validSeries(query);
    const granularity = validGranularity(query.granularity);
    const fromMs = instantMs(query.from, "from");
    const toMs = instantMs(query.to, "to");
    if (toMs <= fromMs) return [];
    const first = periodKey(granularity, fromMs);
    const last = periodKey(granularity, toMs - 1);
    if (first === null || last === null) throw invalid("from/to out of range");
    const items = await this.queryAll(
      {
        KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :first AND :last",
        ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#sk": SORT_KEY },
        ExpressionAttributeValues: {
          ":pk": { S: rollupPartitionKey(granularity, series) },
          ":first": { S: first },
          ":last": { S: last },
        },
      },
      { consistent },
    );
    return items.map((item) => {
      const rollup = parseJsonAttribute(item, "rollup");
      if (
        !isRollup(rollup) ||
        rollup.granularity !== granularity ||
        rollup.target !== series.target ||
        rollup.kind !== series.kind ||
        rollup.region !== series.region ||
        rollupPeriod(rollup) !== item[SORT_KEY]?.S
      ) {
        throw new StoreError("store_corrupt", `item ${describeKey(item)} does not hold a valid ${granularity} rollup of its series`);
      }
      return rollup as RollupOf<G>;
    });
  }

  private async computeRollups(series: SeriesKey, level: RollupGranularity, fromMs: number, toMs: number): Promise<Rollup[]> {
    const firstStart = periodStartMs(level, periodKey(level, fromMs)!)!;
    const lastStart = periodStartMs(level, periodKey(level, toMs - 1)!)!;
    const end = lastStart + PERIOD_MS[level];
    switch (level) {
      case "minute": {
        const results = await this.queryRawSeries(series, firstStart, end, { consistent: true });
        const rollups = rollupMinute(
          results.map((entry) => entry.record),
          { region: series.region },
        );
        return rollups.filter((rollup) => rollup.target === series.target && rollup.kind === series.kind);
      }
      case "hour":
        return mergeRollups(await this.readRollups({ ...series, granularity: "minute", from: firstStart, to: end }, true), "hour");
      case "day":
        return mergeRollups(await this.readRollups({ ...series, granularity: "hour", from: firstStart, to: end }, true), "day");
    }
  }

  /** Results of one series in [sinceMs, untilMs), walking its day partitions in order. */
  private async queryRawSeries(
    series: SeriesKey,
    sinceMs: number,
    untilMs: number,
    options: { limit?: number | undefined; consistent: boolean },
  ): Promise<{ order: string; record: StoredResultRecord }[]> {
    const sinceIso = toIsoInstant(sinceMs);
    const untilIso = toIsoInstant(untilMs);
    if (sinceIso === null || untilIso === null) throw invalid("since/until out of range");
    const seriesPart = seriesKeyPart(series);
    const found: { order: string; record: StoredResultRecord }[] = [];
    for (let dayStart = Math.floor(sinceMs / DAY_MS) * DAY_MS; dayStart < untilMs; dayStart += DAY_MS) {
      const remaining = options.limit === undefined ? undefined : options.limit - found.length;
      if (remaining !== undefined && remaining <= 0) break;
      // Sort keys start with the full slotAt (or startedAt), so BETWEEN on ISO strings is a
      // time range; a result started exactly at `until` sorts after untilIso
      // (its key continues with `#…`) and is excluded, as `until` is exclusive.
      const items = await this.queryAll(
        {
          KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :since AND :until",
          ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#sk": SORT_KEY },
          ExpressionAttributeValues: {
            ":pk": { S: rawPartitionKey(series, new Date(dayStart).toISOString().slice(0, 10)) },
            ":since": { S: sinceIso },
            ":until": { S: untilIso },
          },
        },
        { consistent: options.consistent, limit: remaining },
      );
      for (const item of items) {
        found.push({ order: `${item[SORT_KEY]?.S ?? ""}\u0000${seriesPart}`, record: decodeResult(item) });
      }
    }
    return found;
  }

  /** Every page of a Query (up to `limit` items), each page retried on its own. */
  private async queryAll(
    input: Omit<QueryCommandInput, "TableName" | "ExclusiveStartKey" | "Limit" | "ConsistentRead">,
    options: { consistent: boolean; limit?: number | undefined },
  ): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const remaining = options.limit === undefined ? undefined : options.limit - items.length;
      const page = await sendWithRetry(
        "Query",
        () =>
          this.client.send(
            new QueryCommand({
              ...input,
              TableName: this.tableName,
              ConsistentRead: options.consistent,
              ExclusiveStartKey: startKey,
              Limit: remaining,
            }),
          ),
        this.policy,
        this.runtime,
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined && (options.limit === undefined || items.length < options.limit));
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

function instantMs(value: Instant, name: string): number {
  const ms = toEpochMs(value);
  if (ms === null) throw invalid(`${name} is not a valid instant`);
  return ms;
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
    throw invalid(`${where}: key too long for DynamoDB (target, region or invocation id too long)`);
  }
}

function expirySeconds(startMs: number, days: number): number {
  return Math.floor(startMs / 1000) + Math.round(days * 86_400);
}

function itemKeyString(item: Item): string {
  return `${item[PARTITION_KEY]?.S ?? ""}\u0000${item[SORT_KEY]?.S ?? ""}`;
}

function describeKey(item: Item): string {
  return `${item[PARTITION_KEY]?.S ?? "?"} / ${item[SORT_KEY]?.S ?? "?"}`;
}

function parseJsonAttribute(item: Item, name: string): unknown {
  const text = item[name]?.S;
  if (text === undefined) throw new StoreError("store_corrupt", `item ${describeKey(item)} has no ${name} attribute`);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new StoreError("store_corrupt", `item ${describeKey(item)} holds invalid JSON in ${name}`, { cause: err });
  }
}

function decodeResult(item: Item): StoredResultRecord {
  const result = parseJsonAttribute(item, "result");
  const invocationId = item.invocationId?.S;
  if (typeof result !== "object" || result === null || unrollupableReason(result) !== null || invocationId === undefined) {
    throw new StoreError("store_corrupt", `item ${describeKey(item)} does not hold a valid result`);
  }
  return { ...(result as StoredResult), invocationId };
}

function chunkFailure(failure: { code: StoreErrorCode; detail: string; cause?: unknown }, unwritten: number, attempts: number): StoreError {
  return new StoreError(failure.code, `BatchWriteItem gave up after ${attempts} attempts: ${failure.detail}`, {
    cause: failure.cause,
    unwrittenItems: unwritten,
    totalItems: unwritten,
    attempts,
  });
}

function asChunkFailure(reason: unknown, chunkSize: number): StoreError {
  if (reason instanceof StoreError) return reason;
  // Not expected (writeChunk only throws StoreError), but a bug must not turn into silent loss.
  return new StoreError("store_unavailable", `BatchWriteItem failed: ${describeFailure(reason)}`, {
    cause: reason,
    unwrittenItems: chunkSize,
    attempts: 1,
  });
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
