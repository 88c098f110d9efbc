// The store process dies (SIGKILL: no flush, no cleanup) while a writer keeps
// going. Writes must fail as classified StoreErrors, nothing acknowledged may
// be lost, and after a restart on the same data dir re-putting completes the
// data without duplicates.

import { type BatchWriteItemCommandInput, type BatchWriteItemCommandOutput, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DynamoResultStore, type ResultBatch, StoreError } from "../src/index";
import { type ChildStore, itemsWithPrefix, makeTempDir, resultSeries, spawnChildStore } from "./support/store-fixtures";

const REGION = "eu-central-1";
const SERIES = { target: "anycast-dns", kind: "dns" as const, region: REGION };
const START = "2025-03-02T10:00:00.000Z";
const UNTIL = "2025-03-02T12:00:00.000Z";
const ROLLUP = { region: REGION, granularity: "minute" as const, from: START, to: UNTIL };

let dir: { path: string; remove(): Promise<void> };
const children: ChildStore[] = [];
const clients: DynamoDBClient[] = [];

beforeEach(async () => {
  dir = await makeTempDir();
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  for (const { child, exited } of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  }
  await dir.remove();
});

async function startChild(port: number): Promise<{ endpoint: string; child: ChildStore }> {
  const child = await spawnChildStore(dir.path, port);
  children.push(child);
  const ready = await child.ready;
  if (!ready.ready || ready.endpoint === undefined) throw new Error(`child store did not start: ${JSON.stringify(ready)}`);
  return { endpoint: ready.endpoint, child };
}

async function killChild(child: ChildStore): Promise<void> {
  child.child.kill("SIGKILL");
  expect((await child.exited).signal).toBe("SIGKILL");
}

function storeFor(endpoint: string, concurrency?: number): { store: DynamoResultStore; client: DynamoDBClient } {
  const client = new DynamoDBClient({ endpoint, region: "local", credentials: { accessKeyId: "x", secretAccessKey: "x" }, maxAttempts: 1 });
  clients.push(client);
  const store = new DynamoResultStore({
    client,
    tableName: "popwatch",
    retry: { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 40, maxElapsedMs: 2_000 },
    ...(concurrency === undefined ? {} : { concurrency }),
  });
  return { store, client };
}

function batch(invocationId: string, start: string, count: number, everyMs = 500): ResultBatch {
  return { region: REGION, invocationId, results: resultSeries(start, count, everyMs) };
}

const itemKey = (item: Record<string, { S?: string }>) => `${item.pk?.S}/${item.sk?.S}`;

describe("store process dying mid-run", () => {
  it("between batches: the failed batch is reported, acknowledged ones survive, a re-put completes it", async () => {
    const first = await startChild(0);
    const port = Number(new URL(first.endpoint).port);
    const { store, client } = storeFor(first.endpoint);
    const one = batch("one", START, 30);
    const two = batch("two", "2025-03-02T10:01:00.000Z", 30);
    const three = batch("three", "2025-03-02T10:02:00.000Z", 30);
    await store.putResults(one);
    await store.putResults(two);
    await store.rollUp(ROLLUP);
    await store.compact({ now: UNTIL });
    const rollupsBefore = await store.queryRollups({ ...SERIES, granularity: "hour", from: START, to: UNTIL });
    expect(rollupsBefore.map((r) => r.total)).toEqual([60]);

    await killChild(first.child);
    const failure = await store.putResults(three).then(
      () => null,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(StoreError);
    expect(failure).toMatchObject({ code: "store_unavailable", unwrittenItems: 30, totalItems: 30 });
    await expect(store.rollUp(ROLLUP)).rejects.toBeInstanceOf(StoreError);

    await startChild(port);
    expect(await store.queryResults({ since: START, until: UNTIL })).toHaveLength(60);
    expect(await store.queryRollups({ ...SERIES, granularity: "hour", from: START, to: UNTIL })).toEqual(rollupsBefore);

    await store.putResults(three);
    await store.rollUp(ROLLUP);
    await store.compact({ now: UNTIL });
    expect(await itemsWithPrefix(client, "popwatch", "R#")).toHaveLength(3);
    expect(await store.queryResults({ since: START, until: UNTIL })).toHaveLength(90);
    const [hour] = await store.queryRollups({ ...SERIES, granularity: "hour", from: START, to: UNTIL });
    expect(hour!.total).toBe(90);
  });

  it("during a batch: the error counts every item not known written; after restart a re-put leaves exactly one copy", async () => {
    const first = await startChild(0);
    const port = Number(new URL(first.endpoint).port);
    // Two chunks in flight at a time: when the second is acknowledged and the
    // server is dead, at least two chunks are still to be sent, so the batch
    // must fail however fast the in-flight ones were (with four in flight the
    // last could be answered before the kill landed, and nothing failed).
    const { store, client } = storeFor(first.endpoint, 2);
    // A result a minute, so one packed item each: 100 items in 4 BatchWriteItem chunks (5 with the series item's).
    const big = batch("big", START, 100, 60_000);
    const acknowledged = new Set<string>();
    // Kill the server the moment the second chunk is acknowledged; the rest are in flight or not yet sent.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === "BatchWriteItemCommand") {
          const input = args.input as BatchWriteItemCommandInput;
          const output = result.output as BatchWriteItemCommandOutput;
          const unprocessed = new Set(
            Object.values(output.UnprocessedItems ?? {})
              .flat()
              .map((r) => itemKey(r.PutRequest?.Item ?? {})),
          );
          for (const request of Object.values(input.RequestItems ?? {}).flat()) {
            const item = request.PutRequest?.Item;
            if (item?.pk?.S?.startsWith("R#") && !unprocessed.has(itemKey(item))) acknowledged.add(itemKey(item));
          }
          if (acknowledged.size >= 50 && first.child.child.exitCode === null) {
            first.child.child.kill("SIGKILL");
            // Hold this response until the server is gone, so no chunk is sent to it after the kill.
            await first.child.exited;
          }
        }
        return result;
      },
      { step: "initialize", name: "killAfterSecondChunk", priority: "low" },
    );

    const failure = (await store.putResults(big).then(
      () => null,
      (err: unknown) => err,
    )) as StoreError;
    expect(failure).toBeInstanceOf(StoreError);
    expect(failure.code).toBe("store_unavailable");
    expect(failure.totalItems).toBe(101);
    expect(failure.unwrittenItems).toBeGreaterThan(0);
    await first.child.exited;

    await startChild(port);
    const survived = await itemsWithPrefix(client, "popwatch", "R#");
    // Every acknowledged write survived the kill; whatever the error did not count as unwritten is there too.
    const survivedKeys = new Set(survived.map(itemKey));
    expect(acknowledged.size).toBeGreaterThanOrEqual(50);
    expect([...acknowledged].filter((key) => !survivedKeys.has(key))).toEqual([]);
    expect(survived.length + failure.unwrittenItems).toBeGreaterThanOrEqual(100);

    await store.putResults(big);
    const items = await itemsWithPrefix(client, "popwatch", "R#");
    expect(items).toHaveLength(100);
    expect(new Set(items.map(itemKey)).size).toBe(100);
    expect((await store.queryResults({ since: START, until: UNTIL })).map((r) => r.seq)).toEqual(big.results.map((r) => r.seq));
  });
});
