// popwatch store migrate: a table at layout v2 (the fixture v2's own store
// wrote, test/fixtures/README.md) read by migrate-v2.ts and written through
// the v3 store, against dynalite.
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { DEFAULT_RETENTION_DAYS, earliestRetainedMs, periodStartMs } from "@popwatch/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type MigrationProgress, type MigrationTarget, migrateFromV2 } from "../src/migrate-v2";
import { type MemoryTable, startMemoryTable } from "./support/memory-table";
import { FAST_RETRY } from "./support/store-fixtures";
import { type FixtureItem, type V2Expected, loadV2Fixture, v2Expected, v2FixtureItems } from "./support/v2-fixture";

let table: MemoryTable;
beforeEach(async () => {
  table = await startMemoryTable();
});
afterEach(async () => table?.close());

async function scanAll(): Promise<FixtureItem[]> {
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

/** A target for runs that must not write: any write fails the test. */
const refusingTarget: MigrationTarget = {
  retentionDays: DEFAULT_RETENTION_DAYS,
  putResults: () => Promise.reject(new Error("a dry run wrote results")),
  putPeriodRollups: () => Promise.reject(new Error("a dry run wrote rollups")),
  compact: () => Promise.reject(new Error("a dry run compacted")),
};

describe("migrateFromV2 --dry-run", () => {
  it("counts every v2 result and rollup within retention, as v2 read them, and writes nothing", async () => {
    const [items, expected] = await Promise.all([v2FixtureItems(), v2Expected()]);
    await loadV2Fixture(table.client, table.tableName, items);
    const before = await scanAll();
    const nowMs = Date.parse(expected.now);
    const progress: MigrationProgress[] = [];
    const report = await migrateFromV2(table.client, table.tableName, refusingTarget, {
      now: nowMs,
      dryRun: true,
      retry: FAST_RETRY,
      onProgress: (p) => progress.push(p),
    });

    expect(report.dryRun).toBe(true);
    expect(report.regions).toEqual(expected.regions);
    expect(report.skipped).toBe(0);
    expect(report.compacted).toBeNull();
    expect(report.deleted).toBeNull();
    // Raw: every result v2 returned, one write per v2 batch and minute (two rounds a minute: two batches).
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
    expect(await scanAll()).toEqual(before);
  });

  it("counts a corrupt v2 item as skipped, by code and key, and reads the rest", async () => {
    const [items, expected] = await Promise.all([v2FixtureItems(), v2Expected()]);
    const nowMs = Date.parse(expected.now);
    const damagedRaw = items.find((item) => item.pk!.S === "R#us-east-1#2026-12-05T00")!;
    damagedRaw.data = { B: Buffer.from("not deflate at all") };
    const wrongCount = items.find((item) => item.pk!.S === "R#eu-central-1#2026-12-05T00")!;
    wrongCount.count = { N: "99" };
    const damagedMinute = items.find((item) => item.pk!.S === "M#ap-southeast-2#2026-12-04")!;
    damagedMinute.codec = { S: "zz" };
    await loadV2Fixture(table.client, table.tableName, items);
    const report = await migrateFromV2(table.client, table.tableName, refusingTarget, { now: nowMs, dryRun: true, retry: FAST_RETRY });
    expect(report.skipped).toBe(3);
    expect(report.skips.map((s) => [s.code, s.pk, s.sk])).toEqual([
      ["v2_corrupt", "R#eu-central-1#2026-12-05T00", wrongCount.sk!.S],
      ["v2_corrupt", "R#us-east-1#2026-12-05T00", damagedRaw.sk!.S],
      ["v2_corrupt", "M#ap-southeast-2#2026-12-04", damagedMinute.sk!.S],
    ]);
    expect(report.skips[1]!.message).toMatch(/does not decompress/);
    expect(report.skips[2]!.message).toMatch(/unknown payload codec/);
    const lost = (item: FixtureItem) => Number(item.count!.N === "99" ? 3 : item.count!.N);
    expect(report.levels.raw.migrated).toBe(expected.results.length - lost(damagedRaw) - lost(wrongCount));
    expect(report.levels.minute.migrated).toBe(expectedRollups(expected, "minute").rollups - 3);
  });

  it("reads nothing from a table without v2 data", async () => {
    const report = await migrateFromV2(table.client, table.tableName, refusingTarget, {
      now: Date.parse("2026-12-06T12:00Z"),
      dryRun: true,
    });
    expect(report.regions).toEqual([]);
    expect(Object.values(report.levels).every((l) => l.itemsRead === 0 && l.migrated === 0)).toBe(true);
  });
});
