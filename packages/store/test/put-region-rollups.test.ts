// putRegionRollups: region items computed elsewhere, written with the same
// "never replace a fuller item" rule as rollUp, read back like any other.
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

describe("putRegionRollups", () => {
  const region = "eu-central-1";
  const hour = (n: number) =>
    rollupResults(resultSeries("2026-11-20T10:00:00.000Z", n, 60_000, { region }), { region, granularity: "hour" });

  it("writes an hour item that queryRollups and queryRegionRollups read back", async () => {
    const rollups = hour(30);
    expect(rollups).toHaveLength(1);
    expect(await store.putRegionRollups("hour", region, "2026-11-20T10", rollups)).toBe(true);
    const [series] = await store.queryRollups({
      target: "anycast-dns",
      kind: "dns",
      region,
      granularity: "hour",
      from: "2026-11-20T10:00Z",
      to: "2026-11-20T11:00Z",
    });
    expect(series).toEqual(rollups[0]);
    const items = await store.queryRegionRollups({ region, granularity: "hour", from: "2026-11-20T00:00Z", to: "2026-11-21T00:00Z" });
    expect(items.map((i) => [i.period, i.rollups.length])).toEqual([["2026-11-20T10", 1]]);
  });

  it("keeps a stored item that counts more results", async () => {
    expect(await store.putRegionRollups("hour", region, "2026-11-20T10", hour(10))).toBe(false);
    const [series] = await store.queryRollups({
      target: "anycast-dns",
      kind: "dns",
      region,
      granularity: "hour",
      from: "2026-11-20T10:00Z",
      to: "2026-11-20T11:00Z",
    });
    expect(series?.total).toBe(30);
  });

  it("refuses rollups that do not belong to the item, and empty items", async () => {
    await expect(store.putRegionRollups("hour", "us-east-1", "2026-11-20T10", hour(5))).rejects.toBeInstanceOf(StoreError);
    await expect(store.putRegionRollups("hour", region, "2026-11-20T11", hour(5))).rejects.toThrow(/another period/);
    await expect(store.putRegionRollups("day", region, "2026-11-20", hour(5))).rejects.toThrow(/another period, region or granularity/);
    await expect(store.putRegionRollups("hour", region, "2026-11-20T10", [])).rejects.toThrow(/no rollups/);
  });
});
