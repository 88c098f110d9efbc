import { existsSync } from "node:fs";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DynamoResultStore, type EmbeddedStore, StoreError, startEmbeddedStore } from "../src/index";
import { makeTempDir, resultSeries, spawnChildStore } from "./support/store-fixtures";

const START = "2025-03-02T10:00:00.000Z";
const UNTIL = "2025-03-02T11:00:00.000Z";

let dir: { path: string; remove(): Promise<void> };
const cleanups: (() => Promise<void> | void)[] = [];

beforeEach(async () => {
  dir = await makeTempDir();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await dir.remove();
});

async function start(port = 0): Promise<EmbeddedStore> {
  const embedded = await startEmbeddedStore({ dataDir: dir.path, port });
  cleanups.push(() => embedded.close());
  return embedded;
}

/** A store in the test process talking to whatever listens on `endpoint`, with a short retry budget. */
function remoteStore(endpoint: string): DynamoResultStore {
  const client = new DynamoDBClient({ endpoint, region: "local", credentials: { accessKeyId: "x", secretAccessKey: "x" }, maxAttempts: 1 });
  cleanups.push(() => client.destroy());
  return new DynamoResultStore({
    client,
    tableName: "popwatch",
    retry: { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 20, maxElapsedMs: 2_000 },
  });
}

describe("startEmbeddedStore", () => {
  it("keeps its data under <dataDir>/dynamo and creates the table once", async () => {
    const first = await start();
    expect(first.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(existsSync(join(dir.path, "dynamo"))).toBe(true);
    await first.store.putResults({ region: "eu-central-1", invocationId: "i", results: resultSeries(START, 5, 1_000) });
    await first.close();
    const second = await start();
    expect(await second.store.queryResults({ since: START, until: UNTIL })).toHaveLength(5);
  });

  it("refuses a second store on the same data dir in this process with store_locked, leaving the first working", async () => {
    const first = await start();
    const second = startEmbeddedStore({ dataDir: dir.path });
    await expect(second).rejects.toSatisfy((err) => err instanceof StoreError && err.code === "store_locked");
    await first.store.putResults({ region: "eu-central-1", invocationId: "i", results: resultSeries(START, 3, 1_000) });
    expect(await first.store.queryResults({ since: START, until: UNTIL })).toHaveLength(3);
  });

  it("gives another process a clear store_locked error instead of a crash", async () => {
    const first = await start();
    const contender = await spawnChildStore(dir.path, 0, "exit");
    expect(await contender.ready).toMatchObject({ ready: false, code: "store_locked" });
    expect(await contender.exited).toEqual({ code: 3, signal: null });

    await first.close();
    const successor = await spawnChildStore(dir.path, 0, "exit");
    expect(await successor.ready).toMatchObject({ ready: true });
    expect((await successor.exited).code).toBe(0);
  });

  it("survives being closed mid-run: writes fail with a StoreError, acknowledged data stays, a re-put completes", async () => {
    const first = await start();
    const port = Number(new URL(first.endpoint).port);
    const store = remoteStore(first.endpoint);
    const batch1 = { region: "eu-central-1", invocationId: "one", results: resultSeries(START, 20, 1_000) };
    const batch2 = { region: "eu-central-1", invocationId: "two", results: resultSeries("2025-03-02T10:00:30.000Z", 20, 1_000) };
    await store.putResults(batch1);
    await first.close();

    const failed = await store.putResults(batch2).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(StoreError);
    expect(failed).toMatchObject({ code: "store_unavailable", unwrittenItems: 20, totalItems: 20 });
    await expect(store.queryResults({ since: START, until: UNTIL })).rejects.toMatchObject({ code: "store_unavailable" });

    await start(port);
    expect(await store.queryResults({ since: START, until: UNTIL })).toHaveLength(20);
    await store.putResults(batch2);
    await store.putResults(batch1);
    const all = await store.queryResults({ since: START, until: UNTIL });
    expect(all).toHaveLength(40);
    expect(new Set(all.map((r) => `${r.invocationId}/${r.seq}`)).size).toBe(40);
  });
});
