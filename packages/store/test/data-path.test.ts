// Regressions found reviewing the data path: each test failed before its fix.
import { rollupResults } from "@popwatch/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoResultStore, StoreError } from "../src/index";
import { RAW_SHARDS } from "../src/keys";
import { type MemoryTable, startMemoryTable } from "./support/memory-table";
import { FAST_RETRY, resultSeries } from "./support/store-fixtures";

let table: MemoryTable;
let store: DynamoResultStore;
beforeAll(async () => {
  table = await startMemoryTable();
  store = new DynamoResultStore({ client: table.client, tableName: table.tableName, retry: FAST_RETRY });
});
afterAll(async () => table?.close());

describe("putPeriodRollups keeps bucket items readable", () => {
  const region = "eu-central-1";
  const hourOf = (target: string, start: string, n: number) =>
    rollupResults(resultSeries(start, n, 60_000, { region, name: target }), { region, granularity: "hour" });

  it("writes series given out of order in series order, so readers accept the item", async () => {
    const [a] = hourOf("alpha", "2026-11-20T10:00:00.000Z", 5);
    const [b] = hourOf("beta", "2026-11-20T10:00:00.000Z", 7);
    expect(await store.putPeriodRollups("hour", "2026-11-20T10", [b!, a!])).toBe(true);
    const items = await store.queryRegionRollups({ region, granularity: "hour", from: "2026-11-20T10:00Z", to: "2026-11-20T11:00Z" });
    expect(items.map((item) => item.rollups.map((r) => [r.target, r.total]))).toEqual([
      [
        ["alpha", 5],
        ["beta", 7],
      ],
    ]);
  });

  it("refuses two rollups of one series (they would double-count) before writing anything", async () => {
    const [first] = hourOf("gamma", "2026-11-20T12:00:00.000Z", 5);
    const [second] = hourOf("gamma", "2026-11-20T12:00:00.000Z", 3);
    const attempt = store.putPeriodRollups("hour", "2026-11-20T12", [first!, second!]);
    await expect(attempt).rejects.toBeInstanceOf(StoreError);
    await expect(attempt).rejects.toMatchObject({ code: "store_invalid" });
    const items = await store.queryRegionRollups({ region, granularity: "hour", from: "2026-11-20T12:00Z", to: "2026-11-20T13:00Z" });
    expect(items).toEqual([]);
  });
});

describe("queries are bounded by the retention", () => {
  it("a range reaching back to 1970 reads only the hours that can still hold data, and finds what is there", async () => {
    const queries: number[] = [];
    const client = table.newClient();
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "QueryCommand") queries.push(1);
        return next(args);
      },
      { step: "initialize", name: "countQueries" },
    );
    const now = Date.parse("2026-11-22T12:00:00.000Z");
    const bounded = new DynamoResultStore({
      client,
      tableName: table.tableName,
      retry: FAST_RETRY,
      clock: () => now,
      // Short retentions keep the count of (empty) hour partitions read small enough to run quickly.
      retentionDays: { raw: 1, minute: 1 },
    });
    const region = "sa-east-1";
    await bounded.putResults({
      region,
      invocationId: "old-range",
      results: resultSeries("2026-11-21T10:00:00.000Z", 3, 60_000, { region }),
    });
    queries.length = 0;
    const found = await bounded.queryResults({ since: 0, region });
    expect(found).toHaveLength(3);
    // (1 day + 2 days of TTL lag) × 24 hours, plus the partial hour at each end, each hour's shards.
    expect(queries.length).toBeLessThanOrEqual((3 * 24 + 2) * RAW_SHARDS);
    queries.length = 0;
    expect(await bounded.queryRegionRollups({ region, granularity: "minute", from: 0, to: now })).toEqual([]);
    expect(queries.length).toBeLessThanOrEqual((3 * 24 + 2) * RAW_SHARDS);
    queries.length = 0;
    expect(await bounded.queryRegionRollups({ region, granularity: "hour", from: 0, to: now })).toEqual([]);
    // Hour buckets: one partition a day, 90 days + 2 of TTL lag.
    expect(queries.length).toBeLessThanOrEqual(92 + 2);
  }, 60_000);
});
