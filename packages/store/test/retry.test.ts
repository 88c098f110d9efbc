import {
  DynamoDBClient,
  DynamoDBServiceException,
  InternalServerError,
  ProvisionedThroughputExceededException,
  ResourceNotFoundException,
} from "@aws-sdk/client-dynamodb";
import { MINUTE_MS } from "@popwatch/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { classifyFailure } from "../src/errors";
import { DynamoResultStore, type EmbeddedStore, StoreError, startEmbeddedStore } from "../src/index";
import { fullJitterDelayMs } from "../src/retry";
import {
  FAST_RETRY,
  injectBatchWriteFaults,
  makeTempDir,
  partitionItems,
  regionRawPartition,
  resultSeries,
} from "./support/store-fixtures";

const START = "2025-03-02T10:00:00.000Z";
const PK = regionRawPartition("eu-central-1", "2025-03-02T10");

let dir: { path: string; remove(): Promise<void> };
let embedded: EmbeddedStore;
let clients: DynamoDBClient[];

beforeEach(async () => {
  dir = await makeTempDir();
  embedded = await startEmbeddedStore({ dataDir: dir.path });
  clients = [];
});

afterEach(async () => {
  for (const client of clients) client.destroy();
  await embedded.close();
  await dir.remove();
});

/** A store with its own client, so fault middleware does not leak into other stores. */
function faultyStore(retry = FAST_RETRY): { store: DynamoResultStore; client: DynamoDBClient; sleeps: number[] } {
  const client = new DynamoDBClient({
    endpoint: embedded.endpoint,
    region: "local",
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
    maxAttempts: 1,
  });
  clients.push(client);
  const sleeps: number[] = [];
  const store = new DynamoResultStore({
    client,
    tableName: "popwatch",
    retry,
    retryRuntime: { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 },
  });
  return { store, client, sleeps };
}

const throttled = (): Error => new ProvisionedThroughputExceededException({ message: "slow down", $metadata: { httpStatusCode: 400 } });

async function storedCount(): Promise<number> {
  return (await partitionItems(embedded.client, "popwatch", PK)).length;
}

describe("BatchWriteItem retries", () => {
  it("writes in chunks of 25 and retries UnprocessedItems until all are written, without duplicates", async () => {
    const { store, client, sleeps } = faultyStore();
    const counters = injectBatchWriteFaults(client, (call) => (call <= 6 ? "drop-half" : null));
    // Results a minute apart pack one item each, so a batch spans several 25-request BatchWriteItem chunks.
    const results = resultSeries(START, 60, MINUTE_MS);
    const report = await store.putResults({ region: "eu-central-1", invocationId: "i", results });
    expect(report.items).toBe(61);
    expect(counters.faults).toBe(6);
    expect(report.requests).toBe(counters.calls);
    expect(report.requests).toBeGreaterThan(3); // 61 items = 3 chunks, plus retries of what was dropped
    expect(sleeps.length).toBe(report.requests - 3);
    expect(await storedCount()).toBe(60);
    const read = await store.queryResults({ since: START, until: "2025-03-02T11:00:00Z" });
    expect(read.map((r) => r.seq)).toEqual(results.map((r) => r.seq));
  });

  it("retries throttling errors with growing, jittered backoff", async () => {
    const { store, client, sleeps } = faultyStore();
    const counters = injectBatchWriteFaults(client, (call) => (call <= 3 ? throttled() : null));
    await store.putResults({ region: "eu-central-1", invocationId: "i", results: resultSeries(START, 10, MINUTE_MS) });
    expect(counters.calls).toBe(4);
    // random() = 0.5 of caps 1, 2, 4 ms (base 1 ms, doubling).
    expect(sleeps).toEqual([0, 1, 2]);
    expect(await storedCount()).toBe(10);
  });

  it("retries 5xx answers", async () => {
    const { store, client } = faultyStore();
    injectBatchWriteFaults(client, (call) =>
      call === 1 ? new InternalServerError({ message: "oops", $metadata: { httpStatusCode: 500 } }) : null,
    );
    await store.putResults({ region: "eu-central-1", invocationId: "i", results: resultSeries(START, 3, MINUTE_MS) });
    expect(await storedCount()).toBe(3);
  });

  it("gives up with a StoreError counting every unwritten item when throttling persists", async () => {
    const { store, client } = faultyStore();
    const counters = injectBatchWriteFaults(client, () => throttled());
    const attempt = store.putResults({ region: "eu-central-1", invocationId: "i", results: resultSeries(START, 30, MINUTE_MS) });
    const err = await attempt.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreError);
    const storeError = err as StoreError;
    expect(storeError.code).toBe("store_throttled");
    expect(storeError.unwrittenItems).toBe(31);
    expect(storeError.totalItems).toBe(31);
    expect(storeError.attempts).toBe(FAST_RETRY.maxAttempts);
    expect(storeError.message).toMatch(/31 of 31 items not written/);
    expect((storeError.cause as Error).name).toBe("ProvisionedThroughputExceededException");
    expect(counters.calls).toBe(2 * FAST_RETRY.maxAttempts!);
    expect(await storedCount()).toBe(0);
  });

  it("reports exactly the items still unprocessed when the budget runs out mid-way", async () => {
    const { store, client } = faultyStore({ ...FAST_RETRY, maxAttempts: 3 });
    injectBatchWriteFaults(client, () => "drop-half");
    const err = (await store
      .putResults({ region: "eu-central-1", invocationId: "i", results: resultSeries(START, 60, MINUTE_MS) })
      .catch((e: unknown) => e)) as StoreError;
    expect(err).toBeInstanceOf(StoreError);
    expect(err.code).toBe("store_throttled");
    // Chunks of 25, 25 and 11 halve three times: 3 + 3 + 1 items left.
    expect(err.unwrittenItems).toBe(7);
    // Nothing vanishes: what was not reported unwritten is in the table (60 results + 1 series item).
    const seriesItems = (await partitionItems(embedded.client, "popwatch", "S")).length;
    expect((await storedCount()) + seriesItems + err.unwrittenItems).toBe(61);

    // Writing the batch again completes it, with no duplicates.
    const { store: healthy } = faultyStore();
    await healthy.putResults({ region: "eu-central-1", invocationId: "i", results: resultSeries(START, 60, MINUTE_MS) });
    expect(await storedCount()).toBe(60);
  });

  it("gives up on a failing chunk but finishes the others", async () => {
    const { store, client } = faultyStore();
    // Fail only requests that carry the item of minute 10:30, the result with seq 30 (the second chunk).
    injectBatchWriteFaults(client, (_call, input) => {
      const requests = Object.values(input.RequestItems ?? {})[0] ?? [];
      return requests.some((r) => r.PutRequest?.Item?.sk?.S?.startsWith("30#eu-central-1#")) ? throttled() : null;
    });
    const err = (await store
      .putResults({ region: "eu-central-1", invocationId: "i", results: resultSeries(START, 60, MINUTE_MS) })
      .catch((e: unknown) => e)) as StoreError;
    expect(err.code).toBe("store_throttled");
    expect(err.unwrittenItems).toBe(25);
    expect(await storedCount()).toBe(35);
  });

  it("does not retry what retrying cannot fix", async () => {
    const { store, client } = faultyStore();
    const counters = injectBatchWriteFaults(
      client,
      () =>
        // DynamoDB's ValidationException has no model class; the SDK raises it as a generic service exception.
        new DynamoDBServiceException({ name: "ValidationException", $fault: "client", message: "bad", $metadata: { httpStatusCode: 400 } }),
    );
    const err = (await store
      .putResults({ region: "eu-central-1", invocationId: "i", results: resultSeries(START, 5, 1_000) })
      .catch((e: unknown) => e)) as StoreError;
    expect(err.code).toBe("store_invalid");
    // One packed item of 5 results plus the series item: counted as the results it holds.
    expect(err.unwrittenItems).toBe(6);
    expect(counters.calls).toBe(1);
  });

  it("counts the results of a packed item left unprocessed, not the item", async () => {
    const { store, client } = faultyStore({ ...FAST_RETRY, maxAttempts: 3 });
    // Nothing gets through: one packed item (40 results of one minute) and the series item, reported as 40 + 1.
    const counters = injectBatchWriteFaults(client, () => "drop-all");
    const results = resultSeries(START, 40, 1_000);
    const err = (await store.putResults({ region: "eu-central-1", invocationId: "i", results }).catch((e: unknown) => e)) as StoreError;
    expect(err).toMatchObject({ code: "store_throttled", unwrittenItems: 41, totalItems: 41 });
    expect(counters.calls).toBe(3);
    expect(await storedCount()).toBe(0);

    const { store: healthy } = faultyStore();
    expect(await healthy.putResults({ region: "eu-central-1", invocationId: "i", results })).toMatchObject({ items: 41 });
    expect((await healthy.queryResults({ since: START, until: "2025-03-02T11:00:00Z" })).map((r) => r.seq)).toEqual(
      results.map((r) => r.seq),
    );
  });

  it("stops at the elapsed-time bound even with attempts left", async () => {
    let now = 0;
    const client = new DynamoDBClient({
      endpoint: embedded.endpoint,
      region: "local",
      credentials: { accessKeyId: "x", secretAccessKey: "x" },
      maxAttempts: 1,
    });
    clients.push(client);
    const store = new DynamoResultStore({
      client,
      tableName: "popwatch",
      retry: { maxAttempts: 100, baseDelayMs: 100, maxDelayMs: 1_000, maxElapsedMs: 2_000 },
      retryRuntime: {
        sleep: async (ms) => {
          now += ms;
        },
        random: () => 1,
        monotonicNow: () => now,
      },
    });
    const counters = injectBatchWriteFaults(client, () => throttled());
    const err = (await store
      .putResults({ region: "eu-central-1", invocationId: "i", results: resultSeries(START, 1, 1_000) })
      .catch((e: unknown) => e)) as StoreError;
    expect(err.code).toBe("store_throttled");
    // Waits 100, 200, 400, 800 (1500 ms); the next 1000 ms wait would pass 2000 ms.
    expect(counters.calls).toBe(5);
    expect(now).toBe(1_500);
  });
});

describe("classification", () => {
  it("reads names, errno codes and HTTP status, never message text", () => {
    const sdkError = (name: string, status?: number): unknown => ({
      name,
      message: "Rate exceeded; throttled",
      $metadata: { httpStatusCode: status },
    });
    expect(classifyFailure(sdkError("ProvisionedThroughputExceededException", 400))).toEqual({ code: "store_throttled", retryable: true });
    expect(classifyFailure(sdkError("ThrottlingException", 400))).toEqual({ code: "store_throttled", retryable: true });
    expect(classifyFailure(sdkError("RequestLimitExceeded", 400))).toEqual({ code: "store_throttled", retryable: true });
    expect(classifyFailure(sdkError("SomethingNew", 503))).toEqual({ code: "store_unavailable", retryable: true });
    expect(classifyFailure(sdkError("SomethingNew", 429))).toEqual({ code: "store_throttled", retryable: true });
    expect(classifyFailure(sdkError("ValidationException", 400))).toEqual({ code: "store_invalid", retryable: false });
    expect(classifyFailure(sdkError("ConditionalCheckFailedException", 400))).toEqual({ code: "store_conflict", retryable: false });
    expect(classifyFailure(new ResourceNotFoundException({ message: "x", $metadata: {} }))).toEqual({
      code: "store_misconfigured",
      retryable: false,
    });
    expect(classifyFailure(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))).toEqual({
      code: "store_unavailable",
      retryable: true,
    });
    expect(classifyFailure({ name: "TimeoutError", code: "ECONNRESET", $metadata: {} })).toEqual({
      code: "store_unavailable",
      retryable: true,
    });
    // A message that mentions throttling is not throttling.
    expect(classifyFailure(new TypeError("ProvisionedThroughputExceededException"))).toEqual({
      code: "store_unavailable",
      retryable: false,
    });
  });

  it("draws full-jitter delays below a doubling, capped ceiling", () => {
    const policy = { maxAttempts: 10, baseDelayMs: 50, maxDelayMs: 1_000, maxElapsedMs: 60_000 };
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => fullJitterDelayMs(policy, n, () => 0.999999))).toEqual([49, 99, 199, 399, 799, 999, 999]);
    expect(fullJitterDelayMs(policy, 3, () => 0)).toBe(0);
  });
});
