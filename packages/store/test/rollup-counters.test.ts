// The truncation counters of rollups (truncated, tcpFallback): counted from
// the results, kept through minute items and compact's hour and day buckets, and read as 0
// from items written before the counters existed.
import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import { type RollupGranularity, isRollup } from "@popwatch/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodePayloadText } from "../src/codec";
import { DynamoResultStore } from "../src/index";
import { bucketPartitionKey, bucketSortKey } from "../src/keys";
import { type MemoryTable, startMemoryTable } from "./support/memory-table";
import { FAST_RETRY, partitionItems, resultSeries } from "./support/store-fixtures";

const region = "eu-central-1";
let table: MemoryTable;
let store: DynamoResultStore;
beforeAll(async () => {
  table = await startMemoryTable();
  store = new DynamoResultStore({ client: table.client, tableName: table.tableName, retry: FAST_RETRY });
});
afterAll(async () => table?.close());

/** The rollups of the one series the tests write. */
function seriesRollups(granularity: RollupGranularity, from: string, to: string) {
  return store.queryRollups({ target: "anycast-dns", kind: "dns", region, granularity, from, to });
}

/** Every third result had TC=1; every sixth of them was not retried (fallback off), the rest were. */
function truncatingSeries(start: string, count: number) {
  return resultSeries(start, count, 20_000, { region }).map((result, i) => ({
    ...result,
    transport: i % 6 === 3 || i % 3 !== 0 ? ("udp" as const) : ("tcp" as const),
    truncated: i % 3 === 0,
    tcpFallback: i % 3 === 0 && i % 6 !== 3,
  }));
}

describe("rollup truncation counters", () => {
  it("counts TC=1 and TCP retries per series and keeps them through compaction", async () => {
    const results = truncatingSeries("2026-11-20T10:00:00.000Z", 12); // four minutes, 3 results each
    await store.putResults({ region, invocationId: "trunc", results });
    await store.rollUp({ region, granularity: "minute", from: "2026-11-20T10:00Z", to: "2026-11-20T10:04Z" });
    await store.compact({ now: "2026-11-20T12:00Z" });
    const query = { target: "anycast-dns", kind: "dns" as const, region, from: "2026-11-20T10:00Z", to: "2026-11-20T10:04Z" };
    const minutes = await store.queryRollups({ ...query, granularity: "minute" });
    expect(minutes.map((m) => [m.minute, m.total, m.truncated, m.tcpFallback])).toEqual([
      ["2026-11-20T10:00", 3, 1, 1], // i=0: retried
      ["2026-11-20T10:01", 3, 1, 0], // i=3: TC=1, not retried
      ["2026-11-20T10:02", 3, 1, 1],
      ["2026-11-20T10:03", 3, 1, 0],
    ]);
    const [hour] = await store.queryRollups({ ...query, granularity: "hour", to: "2026-11-20T11:00Z" });
    expect(hour).toMatchObject({ total: 12, truncated: 4, tcpFallback: 2 });
  });

  it("reads an item written before the counters existed as counting none, and merges it", async () => {
    // Hours 10 and 11 of 2026-11-21: 10 in today's format, 11 rewritten as an older writer left it.
    await store.putResults({ region, invocationId: "old", results: truncatingSeries("2026-11-21T10:00:00.000Z", 6) });
    await store.putResults({ region, invocationId: "old2", results: truncatingSeries("2026-11-21T11:00:00.000Z", 6) });
    await store.rollUp({ region, granularity: "minute", from: "2026-11-21T10:00Z", to: "2026-11-21T12:00Z" });
    await store.compact({ now: "2026-11-21T12:05Z" });
    const pk = bucketPartitionKey("hour", "2026-11-21T11");
    const sk = bucketSortKey("hour", "2026-11-21T11", 0);
    const stored = (await partitionItems(table.client, table.tableName, pk)).find((item) => item.sk?.S === sk)!;
    const [current] = await seriesRollups("hour", "2026-11-21T11:00Z", "2026-11-21T12:00Z");
    expect(current).toMatchObject({ truncated: 2, tcpFallback: 1 });
    const { truncated: _t, tcpFallback: _f, ...older } = current!;
    expect(isRollup(older)).toBe(true);
    await table.client.send(
      new PutItemCommand({ TableName: table.tableName, Item: { ...stored, data: { B: encodePayloadText(JSON.stringify([older])) } } }),
    );

    const [read] = await seriesRollups("hour", "2026-11-21T11:00Z", "2026-11-21T12:00Z");
    expect(read).toEqual({ ...older, truncated: 0, tcpFallback: 0 });
    // A day built from one current and one older hour counts what the current one counted.
    await store.compact({ now: "2026-11-22T00:05Z" });
    const [day] = await seriesRollups("day", "2026-11-21T00:00Z", "2026-11-22T00:00Z");
    expect(day).toMatchObject({ total: 12, truncated: 2, tcpFallback: 1 });
  });

  it("refuses a stored counter above the total as corrupt", async () => {
    const pk = bucketPartitionKey("hour", "2026-11-21T10");
    const sk = bucketSortKey("hour", "2026-11-21T10", 0);
    const stored = (await partitionItems(table.client, table.tableName, pk)).find((item) => item.sk?.S === sk)!;
    const [rollup] = await seriesRollups("hour", "2026-11-21T10:00Z", "2026-11-21T11:00Z");
    const bad = { ...rollup!, truncated: rollup!.total + 1 };
    await table.client.send(
      new PutItemCommand({ TableName: table.tableName, Item: { ...stored, data: { B: encodePayloadText(JSON.stringify([bad])) } } }),
    );
    await expect(
      store.queryRegionRollups({ region, granularity: "hour", from: "2026-11-21T10:00Z", to: "2026-11-21T11:00Z" }),
    ).rejects.toMatchObject({ code: "store_corrupt" });
  });
});
