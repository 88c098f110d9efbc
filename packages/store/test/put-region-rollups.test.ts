// putPeriodRollups: rollups computed elsewhere, written with the same
// "never replace a fuller item" rule as rollUp and compact, read back like any other.
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

describe("putPeriodRollups", () => {
  const region = "eu-central-1";
  const hour = (n: number) =>
    rollupResults(resultSeries("2026-11-20T10:00:00.000Z", n, 60_000, { region }), { region, granularity: "hour" });

  it("writes an hour item that queryRollups and queryRegionRollups read back", async () => {
    const rollups = hour(30);
    expect(rollups).toHaveLength(1);
    expect(await store.putPeriodRollups("hour", "2026-11-20T10", rollups)).toBe(true);
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
    expect(await store.putPeriodRollups("hour", "2026-11-20T10", hour(10))).toBe(false);
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
    await expect(store.putPeriodRollups("hour", "2026-11-20T10", [{ ...hour(5)[0]!, good: -1 }])).rejects.toBeInstanceOf(StoreError);
    await expect(store.putPeriodRollups("hour", "2026-11-20T11", hour(5))).rejects.toThrow(/another period/);
    await expect(store.putPeriodRollups("day", "2026-11-20", hour(5))).rejects.toThrow(/another period or granularity/);
    await expect(store.putPeriodRollups("hour", "2026-11-20T10", [])).rejects.toThrow(/no rollups/);
  });

  it("writes minutes of several vantages as one item each, merged with what their agents wrote", async () => {
    const minute = (r: string, n: number) =>
      rollupResults(resultSeries("2026-11-20T12:00:00.000Z", n, 1_000, { region: r }), { region: r, granularity: "minute" });
    expect(await store.putPeriodRollups("minute", "2026-11-20T12:00", [...minute("atlas-1", 3), ...minute("atlas-2", 4)])).toBe(true);
    await store.putResults({
      region: "atlas-1",
      invocationId: "agent",
      results: resultSeries("2026-11-20T12:00:30.000Z", 2, 1_000, { region: "atlas-1" }),
    });
    await store.rollUp({ region: "atlas-1", granularity: "minute", from: "2026-11-20T12:00Z", to: "2026-11-20T12:01Z" });
    const read = await store.queryPeriodRollups({ granularity: "minute", from: "2026-11-20T12:00Z", to: "2026-11-20T12:01Z" });
    // The agent's own item and the put one are the same writer (the vantage): the fuller one stays.
    expect(read.map((p) => [p.region, p.rollups[0]!.total])).toEqual([
      ["atlas-1", 3],
      ["atlas-2", 4],
    ]);
  });
});
