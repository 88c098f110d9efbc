// Regressions found reviewing the data path: each test failed before its fix.
import { rollupResults } from "@popwatch/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoResultStore, StoreError } from "../src/index";
import { type MemoryTable, startMemoryTable } from "./support/memory-table";
import { FAST_RETRY, resultSeries } from "./support/store-fixtures";

let table: MemoryTable;
let store: DynamoResultStore;
beforeAll(async () => {
  table = await startMemoryTable();
  store = new DynamoResultStore({ client: table.client, tableName: table.tableName, retry: FAST_RETRY });
});
afterAll(async () => table?.close());

describe("putRegionRollups keeps region items readable", () => {
  const region = "eu-central-1";
  const hourOf = (target: string, start: string, n: number) =>
    rollupResults(resultSeries(start, n, 60_000, { region, name: target }), { region, granularity: "hour" });

  it("writes series given out of order in series order, so readers accept the item", async () => {
    const [a] = hourOf("alpha", "2026-11-20T10:00:00.000Z", 5);
    const [b] = hourOf("beta", "2026-11-20T10:00:00.000Z", 7);
    expect(await store.putRegionRollups("hour", region, "2026-11-20T10", [b!, a!])).toBe(true);
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
    const attempt = store.putRegionRollups("hour", region, "2026-11-20T12", [first!, second!]);
    await expect(attempt).rejects.toBeInstanceOf(StoreError);
    await expect(attempt).rejects.toMatchObject({ code: "store_invalid" });
    const items = await store.queryRegionRollups({ region, granularity: "hour", from: "2026-11-20T12:00Z", to: "2026-11-20T13:00Z" });
    expect(items).toEqual([]);
  });
});
