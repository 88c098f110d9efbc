// Layout v3: what a time-range read costs does not depend on how many
// vantages wrote into the range; import batches hold many vantages per item;
// minute items of several writers of one vantage merge; compact's buckets
// ignore stale parts and never shrink; the vantage registry.
import { DeleteItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { type Vantage, rollupMinute, rollupResults } from "@popwatch/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DynamoResultStore, type StoredResult, readRollups } from "../src/index";
import { RAW_SHARDS, bucketPartitionKey, bucketSortKey } from "../src/keys";
import { type MemoryTable, startMemoryTable } from "./support/memory-table";
import { FAST_RETRY, itemsWithPrefix, partitionItems, regionMinuteKey, resultSeries } from "./support/store-fixtures";

const HOUR = "2025-03-02T10";
const FROM = Date.parse("2025-03-02T10:00:00Z");
const TO = Date.parse("2025-03-02T11:00:00Z");
const vantage = (i: number) => `atlas-${1000 + i}`;

let table: MemoryTable;
let store: DynamoResultStore;
beforeEach(async () => {
  table = await startMemoryTable();
  store = new DynamoResultStore({ client: table.client, tableName: table.tableName, retry: FAST_RETRY, concurrency: 8 });
});
afterEach(async () => table?.close());

/** Two rounds a vantage in minute 10:05 (and one in 10:40), as its agent writes them. */
async function writeAgents(first: number, count: number): Promise<void> {
  for (let i = first; i < first + count; i++) {
    const region = vantage(i);
    const results = [
      ...resultSeries("2025-03-02T10:05:00.000Z", 2, 20_000, { region }),
      ...resultSeries("2025-03-02T10:40:00.000Z", 1, 1_000, { region }).map((r) => ({ ...r, seq: 2 })),
    ];
    await store.putResults({ region, invocationId: `inv-${region}`, results });
    // As the agent does: the minutes it wrote (a Query per minute).
    await store.rollUp({ region, granularity: "minute", from: "2025-03-02T10:05Z", to: "2025-03-02T10:06Z" });
    await store.rollUp({ region, granularity: "minute", from: "2025-03-02T10:40Z", to: "2025-03-02T10:41Z" });
  }
}

async function cost<T>(read: () => Promise<T>): Promise<{ value: T; queries: number; itemsRead: number }> {
  const before = store.readStats();
  const value = await read();
  const after = store.readStats();
  return { value, queries: after.queries - before.queries, itemsRead: after.itemsRead - before.itemsRead };
}

describe("reads cost the time range, not the vantages", () => {
  it("an hour of 20 or of 200 vantages: the same queries for results, minutes, hours and a readRollups plan", async () => {
    const reads = async () => ({
      results: await cost(() => store.queryResults({ since: FROM, until: TO })),
      minutes: await cost(() => store.queryPeriodRollups({ granularity: "minute", from: FROM, to: TO })),
      hours: await cost(() => store.queryPeriodRollups({ granularity: "hour", from: FROM, to: TO })),
      plan: await cost(() =>
        readRollups(
          store,
          Array.from({ length: 200 }, (_, i) => vantage(i)),
          { spans: [{ fromMs: FROM - 3_600_000, toMs: TO, finest: "hour" }] },
        ),
      ),
    });
    await writeAgents(0, 20);
    const few = await reads();
    await writeAgents(20, 180);
    const many = await reads();
    expect(few.results.value).toHaveLength(20 * 3);
    expect(many.results.value).toHaveLength(200 * 3);
    expect(many.minutes.value).toHaveLength(200 * 2);
    // One Query per shard of the hour, whatever the vantages.
    expect(few.results.queries).toBe(RAW_SHARDS);
    expect(many.results.queries).toBe(RAW_SHARDS);
    expect(many.minutes.queries).toBe(few.minutes.queries);
    expect(many.hours.queries).toBe(few.hours.queries);
    // Not compacted yet: the plan reads the day partition of hours, then falls back to each hour's minute shards, once for all.
    expect(many.plan.queries).toBe(few.plan.queries);
    expect(many.plan.value.queries).toBe(many.plan.queries);
    expect(many.plan.value.itemsRead).toBe(many.plan.itemsRead);
    expect(many.plan.value.view.span(vantage(150), { fromMs: FROM - 3_600_000, toMs: TO, finest: "hour" })).toHaveLength(2);

    // Compacted: 200 vantages' hour in one bucket item, read with one Query.
    expect(await store.compact({ now: TO + 3_600_000 })).toMatchObject({ hours: 1 });
    const hours = await cost(() => store.queryPeriodRollups({ granularity: "hour", from: FROM, to: TO }));
    expect(hours.queries).toBe(1);
    expect(hours.itemsRead).toBe(1);
    expect(hours.value).toHaveLength(200);
    expect(hours.value.every((entry) => entry.rollups[0]!.total === 3)).toBe(true);
    const plan = await cost(() => readRollups(store, [vantage(0), vantage(199)], { spans: [{ fromMs: FROM, toMs: TO, finest: "hour" }] }));
    expect(plan.queries).toBe(1);
    expect(plan.value.view.span(vantage(199), { fromMs: FROM, toMs: TO, finest: "hour" }).map((r) => r.total)).toEqual([3]);
  }, 120_000);

  it("queryResults with a limit reads only the first hours that hold enough", async () => {
    for (const hour of ["10", "11", "12"]) {
      await store.putResults({
        region: "eu-central-1",
        invocationId: hour,
        results: resultSeries(`2025-03-02T${hour}:10:00.000Z`, 5, 1_000),
      });
    }
    const limited = await cost(() => store.queryResults({ since: FROM, until: FROM + 3 * 3_600_000, limit: 3 }));
    expect(limited.value.map((r) => r.startedAt)).toEqual(resultSeries("2025-03-02T10:10:00.000Z", 3, 1_000).map((r) => r.startedAt));
    expect(limited.queries).toBe(RAW_SHARDS);
    const spanning = await cost(() => store.queryResults({ since: FROM, until: FROM + 3 * 3_600_000, limit: 7 }));
    expect(spanning.value).toHaveLength(7);
    expect(spanning.queries).toBe(2 * RAW_SHARDS);
    const all = await cost(() => store.queryResults({ since: FROM, until: FROM + 3 * 3_600_000 }));
    expect(all.value).toHaveLength(15);
    expect(all.queries).toBe(3 * RAW_SHARDS);
  });
});

describe("import batches", () => {
  const imported = (count: number, minute = "2025-03-02T10:05"): StoredResult[] =>
    Array.from({ length: count }, (_, i) =>
      resultSeries(`${minute}:00.000Z`, 2, 10_000, { region: vantage(i) }).map((r, k) => ({ ...r, seq: i * 2 + k })),
    ).flat();

  it("holds many vantages per item, rolls up every vantage of the batch, and re-imports without duplicates", async () => {
    const results = [...imported(150), ...imported(150, "2025-03-02T10:06")];
    const report = await store.putResults({ writer: "atlas-batch-1", invocationId: "file-1", results });
    expect(report.items).toBe(600 + 150); // results + series index items
    const raw = await itemsWithPrefix(table.client, table.tableName, "R#");
    expect(raw).toHaveLength(2); // one item per minute, not per vantage
    expect(raw.every((item) => item.sk!.S!.includes("#+atlas-batch-1#"))).toBe(true);

    const rolled = await store.rollUp({ writer: "atlas-batch-1", granularity: "minute", from: FROM, to: TO });
    expect(rolled.items).toEqual({ written: 2, kept: 0 });
    expect(rolled.written).toHaveLength(300);
    const minutes = await store.queryPeriodRollups({ granularity: "minute", from: FROM, to: TO, regions: [vantage(7)] });
    expect(minutes.map((m) => [m.period, m.rollups[0]!.total])).toEqual([
      ["2025-03-02T10:05", 2],
      ["2025-03-02T10:06", 2],
    ]);

    const before = await itemsWithPrefix(table.client, table.tableName, "R#");
    const fresh = new DynamoResultStore({ client: table.client, tableName: table.tableName, retry: FAST_RETRY });
    await fresh.putResults({ writer: "atlas-batch-1", invocationId: "file-1", results: [...results].reverse() });
    expect(await itemsWithPrefix(table.client, table.tableName, "R#")).toEqual(before);
    expect(await store.queryResults({ since: FROM, until: TO, region: vantage(149) })).toHaveLength(4);
  });

  it("refuses a batch with both or neither of region and writer, or a result that is not of a vantage", async () => {
    const good = imported(1);
    for (const batch of [
      { region: vantage(0), writer: "b", invocationId: "i", results: good },
      { invocationId: "i", results: good },
      { writer: "B#1", invocationId: "i", results: good },
      { writer: "b", invocationId: "i", results: [{ ...good[0]!, region: "Not A Vantage" }] },
    ]) {
      await expect(store.putResults(batch)).rejects.toMatchObject({ name: "StoreError", code: "store_invalid" });
    }
    expect(await itemsWithPrefix(table.client, table.tableName, "R#")).toEqual([]);
  });

  it("merges minute items of one vantage from two writers, and compact's hour equals rolling up all their results", async () => {
    const agentResults = resultSeries("2025-03-02T10:05:30.000Z", 3, 5_000, { region: vantage(0), pop: "ams" });
    await store.putResults({ region: vantage(0), invocationId: "agent", results: agentResults });
    await store.rollUp({ region: vantage(0), granularity: "minute", from: FROM, to: TO });
    const batch = imported(3);
    await store.putResults({ writer: "batch-2", invocationId: "file", results: batch });
    await store.rollUp({ writer: "batch-2", granularity: "minute", from: FROM, to: TO });

    const everything = [...agentResults, ...batch.filter((r) => r.region === vantage(0))];
    const [minute] = await store.queryPeriodRollups({ granularity: "minute", from: FROM, to: TO, regions: [vantage(0)] });
    const [direct] = rollupMinute(everything, { region: vantage(0) });
    expect(minute!.rollups).toHaveLength(1);
    // Counts merge exactly; the order of PoPs across writers is not known (popChanges, firstPop, lastPop are a bound).
    const counts = ({ total, good, failures, latency, pops }: NonNullable<typeof direct>) => ({ total, good, failures, latency, pops });
    expect(counts(minute!.rollups[0]!)).toEqual(counts(direct!));

    await store.compact({ now: TO + 600_000 });
    const [hour] = await store.queryRollups({
      target: "anycast-dns",
      kind: "dns",
      region: vantage(0),
      granularity: "hour",
      from: FROM,
      to: TO,
    });
    expect(hour?.total).toBe(5);
    expect(hour?.pops).toEqual(rollupResults(everything, { region: vantage(0), granularity: "hour" })[0]!.pops);
  });
});

describe("buckets", () => {
  const hourOf = (region: string, n: number) =>
    rollupResults(resultSeries("2025-03-02T10:00:00.000Z", n, 60_000, { region }), { region, granularity: "hour" });

  it("ignores parts of another build, and reads a bucket missing a part as not built (readers fall back to minutes)", async () => {
    expect(await store.putPeriodRollups("hour", HOUR, [...hourOf("eu-central-1", 5), ...hourOf("us-east-1", 7)])).toBe(true);
    const pk = bucketPartitionKey("hour", HOUR);
    const [head] = await partitionItems(table.client, table.tableName, pk);
    const read = () => store.queryPeriodRollups({ granularity: "hour", from: FROM, to: TO });
    expect((await read()).map((e) => [e.region, e.rollups[0]!.total])).toEqual([
      ["eu-central-1", 5],
      ["us-east-1", 7],
    ]);
    // A part 001 left over from an older, larger build: beyond the head's count and of another build.
    const stale = { ...head!, sk: { S: bucketSortKey("hour", HOUR, 1) }, build: { S: "0123456789abcdef" } };
    delete (stale as Record<string, unknown>).parts;
    await table.client.send(new PutItemCommand({ TableName: table.tableName, Item: stale }));
    expect((await read()).map((e) => e.region)).toEqual(["eu-central-1", "us-east-1"]);
    // A head that counts two parts whose part 001 is of another build (a racing builder): the bucket is not complete.
    await table.client.send(new PutItemCommand({ TableName: table.tableName, Item: { ...head!, parts: { N: "2" } } }));
    expect(await read()).toEqual([]);
  });

  it("never replaces a bucket with one counting fewer results, also when compact rebuilds from fewer minutes", async () => {
    for (const region of ["eu-central-1", "us-east-1"]) {
      await store.putResults({ region, invocationId: "i", results: resultSeries("2025-03-02T10:00:00.000Z", 4, 60_000, { region }) });
      await store.rollUp({ region, granularity: "minute", from: FROM, to: TO });
    }
    expect(await store.compact({ now: TO + 600_000 })).toMatchObject({ hours: 1, rollups: 2 });
    const before = await itemsWithPrefix(table.client, table.tableName, "H#");
    // A minute item vanishes (TTL), the hour is marked again: the rebuild counts fewer and is kept out.
    const { pk, sk } = regionMinuteKey("us-east-1", "2025-03-02T10:00");
    await table.client.send(new DeleteItemCommand({ TableName: table.tableName, Key: { pk: { S: pk }, sk: { S: sk } } }));
    await store.rollUp({ region: "us-east-1", granularity: "hour", from: FROM, to: TO });
    expect(await store.compact({ now: TO + 600_000 })).toMatchObject({ hours: 0 });
    expect(await itemsWithPrefix(table.client, table.tableName, "H#")).toEqual(before);
    expect(await store.putPeriodRollups("hour", HOUR, hourOf("eu-central-1", 4))).toBe(false);
    // Nothing left pending: the kept bucket is complete.
    expect(await store.compact({ now: TO + 7_200_000 })).toMatchObject({ hours: 0 });
  });
});

describe("vantage registry", () => {
  const atlas: Vantage = {
    name: "atlas-6001",
    source: "atlas",
    claimed: { lat: 52.37, lon: 4.9 },
    country: "NL",
    asn: 3333,
    atlasProbeId: 6001,
  };
  const home: Vantage = { name: "home-lab", source: "self-hosted", claimed: { iata: "FRA" }, country: null, asn: null };

  it("lists every registered vantage sorted by name, a later put replacing an earlier one", async () => {
    await store.putVantages([home, atlas]);
    await store.putVantages([{ ...home, country: "DE" }]);
    const listed = await cost(() => store.listVantages());
    expect(listed.value).toEqual([atlas, { ...home, country: "DE" }]);
    expect(listed.queries).toBe(1);
  });

  it("registers thousands of vantages in batches; a name given twice in one call keeps its last entry", async () => {
    const many = Array.from({ length: 1200 }, (_, i): Vantage => ({ ...atlas, name: `atlas-${i + 1}`, atlasProbeId: i + 1 }));
    await store.putVantages([...many, { ...many[0]!, country: "ZZ" }]);
    const listed = await store.listVantages();
    expect(listed).toHaveLength(1200);
    expect(listed.find((v) => v.name === "atlas-1")).toEqual({ ...many[0]!, country: "ZZ" });
  });

  it("refuses what is not a vantage before writing, and reads a damaged item as store_corrupt", async () => {
    for (const bad of [
      { ...home, name: "Home Lab" },
      { ...home, source: "cloud" },
      { ...atlas, asn: 1.5 },
      { ...home, claimed: { lat: 1 } },
    ]) {
      await expect(store.putVantages([atlas, bad as Vantage])).rejects.toMatchObject({ code: "store_invalid" });
    }
    expect(await store.listVantages()).toEqual([]);
    await table.client.send(
      new PutItemCommand({ TableName: table.tableName, Item: { pk: { S: "V" }, sk: { S: "x" }, vantage: { S: "{not json" } } }),
    );
    await expect(store.listVantages()).rejects.toMatchObject({ code: "store_corrupt" });
  });
});
