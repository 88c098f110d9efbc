// The item plumbing results and rollups share: paged queries, batch writes
// that retry until every request is written or say exactly how much was not,
// conditional puts, the expiry sweep, and the checks and errors every item
// kind needs. Nothing here knows what an item means.

import {
  type AttributeValue,
  BatchWriteItemCommand,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  type PutItemCommandInput,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  type WriteRequest,
} from "@aws-sdk/client-dynamodb";
import { ROLLUP_GRANULARITIES, type RollupGranularity, toEpochMs } from "@popwatch/core";
import { decodePayload } from "./codec";
import { mapSettledWithConcurrency } from "./concurrency";
import { StoreError, type StoreErrorCode, classifyFailure, describeFailure } from "./errors";
import { MAX_PARTITION_KEY_BYTES, MAX_SORT_KEY_BYTES, PARTITION_KEY, SORT_KEY, utf8Bytes } from "./keys";
import { RetryBudget, type RetryPolicy, type RetryRuntime, sendWithRetry } from "./retry";
import type { Instant, WriteReport } from "./types";

export type Item = Record<string, AttributeValue>;

/** A write request and how many results (or index items) it stands for in reports and errors. */
export interface WeightedRequest {
  request: WriteRequest;
  weight: number;
}

export type ItemQuery = Omit<QueryCommandInput, "TableName" | "ExclusiveStartKey" | "ConsistentRead">;

/** BatchWriteItem accepts at most 25 requests. */
export const BATCH_WRITE_LIMIT = 25;
/**
 * Compressed payload per item. DynamoDB's item limit is 400 KB including
 * attribute names and keys; a packed group is split into chunks below this.
 */
export const MAX_PAYLOAD_BYTES = 350 * 1024;

export interface ItemTableOptions {
  client: DynamoDBClient;
  tableName: string;
  policy: RetryPolicy;
  runtime: RetryRuntime;
  /** Requests in flight at once within one call. */
  concurrency: number;
}

/** One table, one client and one retry policy: every request the result and rollup items send goes through here. */
export class ItemTable {
  readonly tableName: string;
  readonly concurrency: number;
  private readonly client: DynamoDBClient;
  private readonly policy: RetryPolicy;
  private readonly runtime: RetryRuntime;
  // Every Query page goes through queryAll, so these are the store's real read costs (ReadStats).
  private queries = 0;
  private itemsRead = 0;

  constructor(options: ItemTableOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.policy = options.policy;
    this.runtime = options.runtime;
    this.concurrency = options.concurrency;
  }

  /** Every page of a Query, each page retried on its own. */
  async queryAll(input: ItemQuery, options: { consistent: boolean }): Promise<Item[]> {
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
      this.queries++;
      this.itemsRead += page.Items?.length ?? 0;
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }

  /** Query requests (pages) sent and items they returned since the table was opened. */
  readStats(): { queries: number; itemsRead: number } {
    return { queries: this.queries, itemsRead: this.itemsRead };
  }

  /** A DeleteItem of `key` only while attribute `name` still holds `value`; false when it changed (or is gone). */
  async deleteIfUnchanged(what: string, key: Item, name: string, value: AttributeValue): Promise<boolean> {
    try {
      const remove = () =>
        this.client.send(
          new DeleteItemCommand({
            TableName: this.tableName,
            Key: key,
            ConditionExpression: "#value = :value",
            ExpressionAttributeNames: { "#value": name },
            ExpressionAttributeValues: { ":value": value },
          }),
        );
      await sendWithRetry(`DeleteItem of ${what}`, remove, this.policy, this.runtime);
      return true;
    } catch (err) {
      if (err instanceof StoreError && err.code === "store_conflict") return false;
      throw err;
    }
  }

  /** A PutItem under a condition; resolves to false when the condition kept the stored item. */
  async putUnless(what: string, input: Omit<PutItemCommandInput, "TableName">): Promise<boolean> {
    try {
      const put = () => this.client.send(new PutItemCommand({ ...input, TableName: this.tableName }));
      await sendWithRetry(`PutItem of ${what}`, put, this.policy, this.runtime);
      return true;
    } catch (err) {
      if (err instanceof StoreError && err.code === "store_conflict") return false;
      throw err;
    }
  }

  /**
   * Writes every request or throws a StoreError saying how much was not
   * written (by weight: results, or index items). Chunks run with bounded
   * concurrency and all run to the end, so the count covers every chunk, not
   * just the first that failed.
   */
  async writeRequests(requests: readonly WeightedRequest[]): Promise<WriteReport> {
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
      const failure = asChunkFailure(
        outcome.reason,
        chunks[index]!.reduce((sum, r) => sum + r.weight, 0),
      );
      unwritten += failure.unwrittenItems;
      sent += failure.attempts;
      attempts = Math.max(attempts, failure.attempts);
      firstFailure ??= failure;
    });
    if (firstFailure !== undefined) {
      throw new StoreError(firstFailure.code, `${unwritten} of ${total} items not written: ${firstFailure.message}`, {
        cause: firstFailure.cause,
        unwrittenItems: unwritten,
        totalItems: total,
        attempts,
      });
    }
    return { items: total, requests: sent };
  }

  /** Deletes every item whose expiresAt is at or before `nowSeconds`. */
  async deleteExpired(nowSeconds: number): Promise<number> {
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
    return deleted;
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
}

// ---------------------------------------------------------------- queries

/** A Query of partition `pk`, its sort keys between `low` and `high` (inclusive; either bound may be absent). */
export function sortKeyRangeQuery(pk: string, low: string | undefined, high: string | undefined): ItemQuery {
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

/** A Query of every item of partition `pk` (the index partitions: series, vantages, pending markers). */
export function partitionQuery(pk: string): ItemQuery {
  return sortKeyRangeQuery(pk, undefined, undefined);
}

/** A Query of partition `pk`, its sort keys starting with `prefix`. */
export function sortKeyPrefixQuery(pk: string, prefix: string): ItemQuery {
  return {
    KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
    ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#sk": SORT_KEY },
    ExpressionAttributeValues: { ":pk": { S: pk }, ":prefix": { S: prefix } },
  };
}

// ---------------------------------------------------------------- payloads and checks

/** The decoded `data` attribute of an item, by its `codec`. */
export function payloadOf(item: Item): unknown {
  return decodePayload(item.codec?.S, item.data?.B, `item ${describeKey(item)}`);
}

export function invalid(message: string): StoreError {
  return new StoreError("store_invalid", message);
}

export function corrupt(item: Item, detail: string, cause?: unknown): StoreError {
  return new StoreError("store_corrupt", `item ${describeKey(item)} ${detail}`, cause === undefined ? {} : { cause });
}

export function instantMs(value: Instant, name: string): number {
  const ms = toEpochMs(value);
  if (ms === null) throw invalid(`${name} is not a valid instant`);
  return ms;
}

export function validRegion(region: unknown): string {
  if (typeof region !== "string" || region === "") throw invalid("region must be a non-empty string");
  return region;
}

export function validGranularity<G extends RollupGranularity>(granularity: G): G {
  if (!(ROLLUP_GRANULARITIES as readonly string[]).includes(granularity)) throw invalid(`unknown granularity ${String(granularity)}`);
  return granularity;
}

export function checkKeySizes(pk: string, sk: string, where: string): void {
  if (utf8Bytes(pk) > MAX_PARTITION_KEY_BYTES || utf8Bytes(sk) > MAX_SORT_KEY_BYTES) {
    throw invalid(`${where}: key too long for DynamoDB (region or invocation id too long)`);
  }
}

/** A failed task of a batch as a StoreError, whatever it threw: a bug must not turn into silent loss. */
export function asChunkFailure(reason: unknown, chunkWeight: number): StoreError {
  if (reason instanceof StoreError) return reason;
  return new StoreError("store_unavailable", `BatchWriteItem failed: ${describeFailure(reason)}`, {
    cause: reason,
    unwrittenItems: chunkWeight,
    attempts: 1,
  });
}

function chunkFailure(failure: { code: StoreErrorCode; detail: string; cause?: unknown }, unwritten: number, attempts: number): StoreError {
  return new StoreError(failure.code, `BatchWriteItem gave up after ${attempts} attempts: ${failure.detail}`, {
    cause: failure.cause,
    unwrittenItems: unwritten,
    totalItems: unwritten,
    attempts,
  });
}

function requestKey(request: WriteRequest): string {
  const key = request.PutRequest?.Item ?? request.DeleteRequest?.Key ?? {};
  return `${key[PARTITION_KEY]?.S ?? ""}\u0000${key[SORT_KEY]?.S ?? ""}`;
}

function describeKey(item: Item): string {
  return `${item[PARTITION_KEY]?.S ?? "?"} / ${item[SORT_KEY]?.S ?? "?"}`;
}
