// popwatch store migrate: a table at layout v2 (the fixture v2's own store
// wrote, test/fixtures/README.md) read by migrate-v2.ts and written through
// the v3 store, against dynalite. Each run walks every hour of raw retention
// for each region (one Query each), so a run is a few hundred requests: the
// runs that write are shared by the tests of one describe, in order.
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { DAY_MS, DEFAULT_RETENTION_DAYS, ROLLUP_GRANULARITIES, earliestRetainedMs, periodStartMs } from "@popwatch/core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DynamoResultStore } from "../src/dynamo-store";
import { type MigrationProgress, type MigrationReport, migrateFromV2 } from "../src/migrate-v2";
import type { RegionRollups } from "../src/types";
import { type MemoryTable, startMemoryTable } from "./support/memory-table";
import { FAST_RETRY, injectBatchWriteFaults } from "./support/store-fixtures";
import { type FixtureItem, type V2Expected, isV2Item, loadV2Fixture, v2Expected, v2FixtureItems } from "./support/v2-fixture";

// A run is ~1 000 requests to an in-process dynalite: seconds on a quiet machine, more on a loaded CI runner.
const RUN_TIMEOUT_MS = 180_000;

async function scanAll(table: MemoryTable): Promise<FixtureItem[]> {
  const items: FixtureItem[] = [];
  let startKey: FixtureItem | undefined;
  do {
    const page = await table.client.send(
      new ScanCommand({ TableName: table.tableName, ExclusiveStartKey: startKey, ConsistentRead: true }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  const key = (item: FixtureItem) => `${item.pk?.S}\u0000${item.sk?.S}`;
  return items.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** Rollups per level and the distinct periods, as v2 returned them. */
function expectedRollups(expected: V2Expected, level: "minute" | "hour" | "day"): { rollups: number; periods: number } {
  const periods = new Set<string>();
  let rollups = 0;
  for (const region of expected.regions) {
    for (const item of expected.rollups[region]![level]) {
      periods.add(item.period);
      rollups += item.rollups.length;
    }
  }
  return { rollups, periods: periods.size };
}

function v3Store(table: MemoryTable, nowMs: number): DynamoResultStore {
  return new DynamoResultStore({ client: table.client, tableName: table.tableName, retry: FAST_RETRY, clock: () => nowMs });
}

/** What the v3 store returns per region and period, in the shape of v2's queryRegionRollups (periods earliest first). */
async function v3Rollups(store: DynamoResultStore, nowMs: number): Promise<V2Expected["rollups"]> {
  const byRegion: V2Expected["rollups"] = {};
  for (const granularity of ROLLUP_GRANULARITIES) {
    const periods = await store.queryPeriodRollups({ granularity, from: nowMs - 500 * DAY_MS, to: nowMs });
    for (const { region, period, rollups } of periods) {
      byRegion[region] ??= { minute: [], hour: [], day: [] };
      (byRegion[region][granularity] as RegionRollups[]).push({ period, rollups });
    }
  }
  return byRegion;
}

describe("migrateFromV2 --dry-run", () => {
  let table: MemoryTable;
  beforeEach(async () => {
    table = await startMemoryTable();
  });
  afterEach(async () => table?.close());

  it(
    "counts every v2 result and rollup within retention, as v2 read them, and writes nothing",
    async () => {
      const [items, expected] = await Promise.all([v2FixtureItems(), v2Expected()]);
      await loadV2Fixture(table.client, table.tableName, items);
      const before = await scanAll(table);
      const nowMs = Date.parse(expected.now);
      const store = v3Store(table, nowMs);
      const progress: MigrationProgress[] = [];
      const report = await migrateFromV2(table.client, table.tableName, store, {
        now: nowMs,
        dryRun: true,
        deleteV2: true,
        retry: FAST_RETRY,
        onProgress: (p) => progress.push(p),
      });

      expect(report.dryRun).toBe(true);
      expect(report.regions).toEqual(expected.regions);
      expect(report.skipped).toBe(0);
      expect(report.compacted).toBeNull();
      expect(report.deleted).toBeNull();
      // Raw: every result v2 returned; one write per v2 batch and minute (two rounds a minute: two items, two batches).
      const rawInRetention = items.filter(
        (item) =>
          item.pk!.S!.startsWith("R#") &&
          periodStartMs("minute", item.sk!.S!.slice(0, 16))! >= earliestRetainedMs(DEFAULT_RETENTION_DAYS, "raw", nowMs),
      );
      expect(report.levels.raw).toEqual({
        itemsRead: rawInRetention.length,
        migrated: expected.results.length,
        writes: rawInRetention.length,
      });
      for (const level of ["minute", "hour", "day"] as const) {
        const { rollups, periods } = expectedRollups(expected, level);
        const v2Items = expected.regions.reduce((sum, region) => sum + expected.rollups[region]![level].length, 0);
        expect(report.levels[level], level).toEqual({ itemsRead: v2Items, migrated: rollups, writes: periods });
      }
      // The fixture holds data past each retention: those items were not read.
      expect(report.levels.raw.itemsRead).toBeLessThan(items.filter((item) => item.pk!.S!.startsWith("R#")).length);
      expect(report.levels.hour.itemsRead).toBeLessThan(items.filter((item) => item.pk!.S!.startsWith("H#")).length);

      for (const level of ["raw", "minute", "hour", "day"] as const) {
        const ofLevel = progress.filter((p) => p.level === level);
        expect(ofLevel.map((p) => p.windowsDone)).toEqual(ofLevel.map((_, i) => i + 1));
        expect(ofLevel.at(-1)).toMatchObject({ windowsDone: ofLevel[0]!.windowsTotal, migrated: report.levels[level].migrated });
      }
      expect(await scanAll(table)).toEqual(before);
      expect(await store.queryResults({ since: nowMs - 30 * DAY_MS, until: nowMs })).toEqual([]);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    "counts a corrupt v2 item as skipped, by code and key, and reads the rest",
    async () => {
      const [items, expected] = await Promise.all([v2FixtureItems(), v2Expected()]);
      const nowMs = Date.parse(expected.now);
      const damagedRaw = items.find((item) => item.pk!.S === "R#us-east-1#2026-12-05T00")!;
      damagedRaw.data = { B: Buffer.from("not deflate at all") };
      const wrongCount = items.find((item) => item.pk!.S === "R#eu-central-1#2026-12-05T00")!;
      wrongCount.count = { N: "99" };
      const damagedMinute = items.find((item) => item.pk!.S === "M#ap-southeast-2#2026-12-04")!;
      damagedMinute.codec = { S: "zz" };
      await loadV2Fixture(table.client, table.tableName, items);
      const report = await migrateFromV2(table.client, table.tableName, v3Store(table, nowMs), {
        now: nowMs,
        dryRun: true,
        retry: FAST_RETRY,
      });
      expect(report.skipped).toBe(3);
      expect(report.skips.map((s) => [s.code, s.pk, s.sk])).toEqual([
        ["v2_corrupt", "R#eu-central-1#2026-12-05T00", wrongCount.sk!.S],
        ["v2_corrupt", "R#us-east-1#2026-12-05T00", damagedRaw.sk!.S],
        ["v2_corrupt", "M#ap-southeast-2#2026-12-04", damagedMinute.sk!.S],
      ]);
      expect(report.skips[0]!.message).toMatch(/holds 3 results, its count says 99/);
      expect(report.skips[1]!.message).toMatch(/does not decompress/);
      expect(report.skips[2]!.message).toMatch(/unknown payload codec/);
      expect(report.levels.raw.migrated).toBe(expected.results.length - 3 - Number(damagedRaw.count!.N));
      expect(report.levels.minute.migrated).toBe(expectedRollups(expected, "minute").rollups - 3);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    "with regions, walks only those regions",
    async () => {
      const expected = await v2Expected();
      await loadV2Fixture(table.client, table.tableName);
      const nowMs = Date.parse(expected.now);
      const report = await migrateFromV2(table.client, table.tableName, v3Store(table, nowMs), {
        now: nowMs,
        dryRun: true,
        regions: ["ap-southeast-2", "ap-southeast-2"],
        retry: FAST_RETRY,
      });
      expect(report.regions).toEqual(["ap-southeast-2"]);
      expect(report.levels.raw.migrated).toBe(expected.results.filter((r) => r.region === "ap-southeast-2").length);
      expect(report.levels.minute.migrated).toBe(
        expected.rollups["ap-southeast-2"]!.minute.reduce((sum, period) => sum + period.rollups.length, 0),
      );
    },
    RUN_TIMEOUT_MS,
  );

  it("reads nothing from a table without v2 data", async () => {
    const nowMs = Date.parse("2026-12-06T12:00Z");
    const report = await migrateFromV2(table.client, table.tableName, v3Store(table, nowMs), { now: nowMs, dryRun: true });
    expect(report.regions).toEqual([]);
    expect(Object.values(report.levels).every((l) => l.itemsRead === 0 && l.migrated === 0)).toBe(true);
  });
});

describe("migrateFromV2 into the v3 store (one table, runs in order)", () => {
  let table: MemoryTable;
  let items: FixtureItem[];
  let expected: V2Expected;
  let nowMs: number;
  let store: DynamoResultStore;
  let first: MigrationReport;
  beforeAll(async () => {
    table = await startMemoryTable();
    [items, expected] = await Promise.all([v2FixtureItems(), v2Expected()]);
    await loadV2Fixture(table.client, table.tableName, items);
    nowMs = Date.parse(expected.now);
    store = v3Store(table, nowMs);
    first = await migrateFromV2(table.client, table.tableName, store, { now: nowMs, retry: FAST_RETRY });
  }, RUN_TIMEOUT_MS);
  afterAll(async () => table?.close());

  const v2Left = async () => (await scanAll(table)).filter((item) => isV2Item(item, expected.regions));

  // Reading back every retained minute is one Query per hour and shard in v3 (16 days × 24 h × shards): give it time too.
  it("returns the same results, and the same rollups per region and period, as v2 did", { timeout: RUN_TIMEOUT_MS }, async () => {
    expect(first.skipped).toBe(0);
    expect(first.levels.raw.migrated).toBe(expected.results.length);
    expect(first.compacted).not.toBeNull();
    expect(await store.queryResults({ since: nowMs - 30 * DAY_MS, until: nowMs })).toEqual(expected.results);
    expect(await v3Rollups(store, nowMs)).toEqual(expected.rollups);
    expect(await store.listRegions()).toEqual(expected.regions);
    // v2 items are kept by default (they expire by TTL).
    expect((await v2Left()).length).toBe(items.filter((item) => isV2Item(item, expected.regions)).length);
  });

  it(
    "migrates nothing new when run again: every item stays identical",
    async () => {
      const before = await scanAll(table);
      const again = await migrateFromV2(table.client, table.tableName, store, { now: nowMs, retry: FAST_RETRY });
      expect(again.levels).toEqual(first.levels);
      expect(await scanAll(table)).toEqual(before);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    "with deleteV2 leaves no v2 item within retention, and v3 reads stay the same",
    async () => {
      const report = await migrateFromV2(table.client, table.tableName, store, { now: nowMs, retry: FAST_RETRY, deleteV2: true });
      const v2Read = Object.values(report.levels).reduce((sum, level) => sum + level.itemsRead, 0);
      expect(report.deleted).toBe(v2Read);
      // What is left is past retention: already expired, so TTL (on dynalite, deleteExpired) removes it.
      const left = await v2Left();
      expect(left.length).toBeGreaterThan(0);
      expect(left.every((item) => Number(item.expiresAt!.N) <= nowMs / 1000)).toBe(true);
      await store.deleteExpired(nowMs);
      expect(await v2Left()).toEqual([]);
      expect(await store.queryResults({ since: nowMs - 30 * DAY_MS, until: nowMs })).toEqual(expected.results);
      expect(await v3Rollups(store, nowMs)).toEqual(expected.rollups);
      // Nothing v2 left to read: a further run finds nothing.
      const after = await migrateFromV2(table.client, table.tableName, store, { now: nowMs, retry: FAST_RETRY, dryRun: true });
      expect(Object.values(after.levels).every((l) => l.itemsRead === 0)).toBe(true);
    },
    RUN_TIMEOUT_MS,
  );
});

describe("migrateFromV2 stopped by a failing table", () => {
  let table: MemoryTable;
  beforeAll(async () => {
    table = await startMemoryTable();
  });
  afterAll(async () => table?.close());

  it(
    "rejects with the store's error, and running it again completes the migration",
    async () => {
      const expected = await v2Expected();
      await loadV2Fixture(table.client, table.tableName);
      const nowMs = Date.parse(expected.now);
      // A second client whose BatchWriteItem calls stop being processed after the first 40: throttled until the retry budget runs out.
      const failing = table.newClient();
      const faults = injectBatchWriteFaults(failing, (call) => (call > 40 ? "drop-all" : null));
      const failingStore = new DynamoResultStore({ client: failing, tableName: table.tableName, retry: FAST_RETRY, clock: () => nowMs });
      await expect(migrateFromV2(failing, table.tableName, failingStore, { now: nowMs, retry: FAST_RETRY })).rejects.toMatchObject({
        name: "StoreError",
        code: "store_throttled",
      });
      expect(faults.faults).toBeGreaterThan(0);
      const store = v3Store(table, nowMs);
      expect((await store.queryResults({ since: nowMs - 30 * DAY_MS, until: nowMs })).length).toBeLessThan(expected.results.length);

      const report = await migrateFromV2(table.client, table.tableName, store, { now: nowMs, retry: FAST_RETRY });
      expect(report.skipped).toBe(0);
      expect(await store.queryResults({ since: nowMs - 30 * DAY_MS, until: nowMs })).toEqual(expected.results);
      expect(await v3Rollups(store, nowMs)).toEqual(expected.rollups);
    },
    RUN_TIMEOUT_MS * 2,
  );
});
