import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mergeRollups, rollupMinute, rollupResults, type SeriesKey } from "@popwatch/core";
import {
  StoreError,
  rawPartitionKey,
  rollupPartitionKey,
  startEmbeddedStore,
  type EmbeddedStore,
  type StoredResult,
} from "../src/index";
import { FAST_RETRY, makeTempDir, partitionItems, resultSeries, storedResult } from "./support/store-fixtures";

const SERIES: SeriesKey = { target: "anycast-dns", kind: "dns", region: "eu-central-1" };
const NOW = Date.parse("2025-03-02T12:00:00Z");

let dir: { path: string; remove(): Promise<void> };
let embedded: EmbeddedStore;

beforeEach(async () => {
  dir = await makeTempDir();
  embedded = await startEmbeddedStore({ dataDir: dir.path, retry: FAST_RETRY, clock: () => NOW });
});

afterEach(async () => {
  await embedded.close();
  await dir.remove();
});

function withoutInvocation(records: (StoredResult & { invocationId: string })[]): StoredResult[] {
  return records.map(({ invocationId: _invocationId, ...result }) => result as StoredResult);
}

describe("raw results", () => {
  it("writes a batch and reads it back unchanged, in time order", async () => {
    const results = resultSeries("2025-03-02T10:00:00.000Z", 30, 2_000);
    const report = await embedded.store.putResults({ region: "eu-central-1", invocationId: "inv-1", results: [...results].reverse() });
    expect(report.items).toBe(31); // 30 results + 1 series index item
    const read = await embedded.store.queryResults({ since: "2025-03-02T10:00:00Z", until: "2025-03-02T11:00:00Z" });
    expect(read.map((r) => r.invocationId)).toEqual(Array(30).fill("inv-1"));
    expect(withoutInvocation(read)).toEqual(results);
  });

  it("queries time ranges across a day boundary, since inclusive and until exclusive", async () => {
    const results = resultSeries("2025-03-01T23:58:00.000Z", 48, 5_000); // 23:58:00 … 00:01:55
    await embedded.store.putResults({ region: "eu-central-1", invocationId: "inv", results });
    const at = (i: number): string => results[i]!.startedAt;

    const all = await embedded.store.queryResults({ since: "2025-03-01T23:00:00Z", until: "2025-03-02T01:00:00Z", ...SERIES });
    expect(all.map((r) => r.startedAt)).toEqual(results.map((r) => r.startedAt));

    // 23:59:30 (i = 18) up to, not including, 00:00:30 (i = 30): spans both day partitions.
    const window = await embedded.store.queryResults({ since: at(18), until: at(30), ...SERIES });
    expect(window.map((r) => r.seq)).toEqual(Array.from({ length: 12 }, (_, i) => 18 + i));
    expect(new Set(window.map((r) => r.startedAt.slice(0, 10)))).toEqual(new Set(["2025-03-01", "2025-03-02"]));

    const limited = await embedded.store.queryResults({ since: at(20), until: at(40), limit: 7 });
    expect(limited.map((r) => r.seq)).toEqual([20, 21, 22, 23, 24, 25, 26]);

    expect(await embedded.store.queryResults({ since: "2025-03-02T00:05:00Z", until: "2025-03-03T00:00:00Z" })).toEqual([]);
  });

  it("fans out over the series index when target or region is not given", async () => {
    const start = "2025-03-02T09:00:00.000Z";
    await embedded.store.putResults({ region: "eu-central-1", invocationId: "a", results: resultSeries(start, 5, 1_000) });
    await embedded.store.putResults({
      region: "us-east-1",
      invocationId: "b",
      results: resultSeries(start, 5, 1_000, { region: "us-east-1" }),
    });
    await embedded.store.putResults({
      region: "us-east-1",
      invocationId: "c",
      results: resultSeries(start, 5, 1_000, { region: "us-east-1", kind: "tcp", name: "edge#1 %23" }),
    });

    expect(await embedded.store.listSeries()).toEqual([
      { target: "anycast-dns", kind: "dns", region: "eu-central-1" },
      { target: "anycast-dns", kind: "dns", region: "us-east-1" },
      { target: "edge#1 %23", kind: "tcp", region: "us-east-1" },
    ]);
    const since = start;
    const until = "2025-03-02T10:00:00Z";
    expect(await embedded.store.queryResults({ since, until })).toHaveLength(15);
    expect(await embedded.store.queryResults({ since, until, region: "us-east-1" })).toHaveLength(10);
    expect(await embedded.store.queryResults({ since, until, target: "anycast-dns" })).toHaveLength(10);
    const odd = await embedded.store.queryResults({ since, until, target: "edge#1 %23" });
    expect(odd.map((r) => r.name)).toEqual(Array(5).fill("edge#1 %23"));
    expect(await embedded.store.queryResults({ since, until, kind: "http" })).toEqual([]);
    // Merged across series in time order, ties broken by key.
    const merged = await embedded.store.queryResults({ since, until });
    const times = merged.map((r) => r.startedAt);
    expect(times).toEqual([...times].sort());
  });

  it("defaults until to the store's clock", async () => {
    await embedded.store.putResults({
      region: "eu-central-1",
      invocationId: "x",
      results: [
        storedResult({ startedAt: new Date(NOW - 1_000).toISOString(), seq: 0 }),
        storedResult({ startedAt: new Date(NOW + 1_000).toISOString(), seq: 1 }),
      ],
    });
    expect((await embedded.store.queryResults({ since: NOW - 60_000 })).map((r) => r.seq)).toEqual([0]);
  });

  it("refuses a batch it cannot key, writing nothing of it", async () => {
    const good = storedResult({ startedAt: "2025-03-02T10:00:00Z", seq: 0 });
    const cases: { results: StoredResult[]; region?: string; invocationId?: string }[] = [
      { results: [good, { ...good, seq: 1, startedAt: "yesterday-ish" }] },
      { results: [good, { ...good, seq: -1 }] },
      { results: [good, { ...good, seq: 1.5 }] },
      { results: [good, { ...good }] },
      { results: [good, { ...good, seq: 1, region: "elsewhere" }] },
      { results: [good, { ...good, seq: 1, kind: "smtp" } as unknown as StoredResult] },
      { results: [good], invocationId: "" },
    ];
    for (const { results, region, invocationId } of cases) {
      const attempt = embedded.store.putResults({ region: region ?? "eu-central-1", invocationId: invocationId ?? "i", results });
      await expect(attempt).rejects.toSatisfy((err) => err instanceof StoreError && err.code === "store_invalid");
    }
    expect(await embedded.store.queryResults({ since: 0, until: NOW })).toEqual([]);
  });
});

describe("rollups", () => {
  it("puts and queries rollups by period overlap", async () => {
    const minutes = rollupMinute(resultSeries("2025-03-02T10:00:00.000Z", 60, 5_000), { region: "eu-central-1" });
    expect(minutes).toHaveLength(5);
    await embedded.store.putRollups(minutes);
    const read = await embedded.store.queryRollups({ ...SERIES, granularity: "minute", from: "2025-03-02T10:01:30Z", to: "2025-03-02T10:03:00Z" });
    expect(read.map((r) => r.minute)).toEqual(["2025-03-02T10:01", "2025-03-02T10:02"]);
    expect(read).toEqual(minutes.slice(1, 3));
    expect(await embedded.store.queryRollups({ ...SERIES, granularity: "hour", from: 0, to: NOW })).toEqual([]);
    expect(await embedded.store.listSeries()).toEqual([SERIES]);
  });

  it("rebuilds hour and day rollups from minutes equal to rolling up the results directly", async () => {
    // Two days, crossing hour and day boundaries, every 20 s: 20:00 day 1 to 04:00 day 2.
    const results = resultSeries("2025-03-01T20:00:00.000Z", 8 * 180, 20_000);
    for (let i = 0; i < results.length; i += 100) {
      await embedded.store.putResults({ region: "eu-central-1", invocationId: `inv-${i}`, results: results.slice(i, i + 100) });
    }
    const from = "2025-03-01T20:00:00Z";
    const to = "2025-03-02T04:00:00Z";
    const report = await embedded.store.rebuildRollups({ ...SERIES, granularity: "minute", from, to, cascade: true });
    expect(report.kept).toEqual([]);
    expect(report.written.filter((r) => r.granularity === "minute")).toHaveLength(8 * 60);

    const minutes = await embedded.store.queryRollups({ ...SERIES, granularity: "minute", from, to });
    const hours = await embedded.store.queryRollups({ ...SERIES, granularity: "hour", from, to });
    const days = await embedded.store.queryRollups({ ...SERIES, granularity: "day", from, to });
    expect(minutes).toEqual(rollupMinute(results, { region: "eu-central-1" }));
    expect(hours).toHaveLength(8);
    expect(hours).toEqual(rollupResults(results, { region: "eu-central-1", granularity: "hour" }));
    expect(hours).toEqual(mergeRollups(minutes, "hour"));
    expect(days.map((d) => [d.day, d.total])).toEqual([
      ["2025-03-01", 720],
      ["2025-03-02", 720],
    ]);
    expect(days).toEqual(rollupResults(results, { region: "eu-central-1", granularity: "day" }));

    // Rebuilding one level at a time gives the same items.
    await embedded.store.rebuildRollups({ ...SERIES, granularity: "hour", from, to });
    await embedded.store.rebuildRollups({ ...SERIES, granularity: "day", from, to });
    expect(await embedded.store.queryRollups({ ...SERIES, granularity: "day", from, to })).toEqual(days);
  });

  it("keeps a stored rollup that counts more results than a rebuild sees", async () => {
    const results = resultSeries("2025-03-02T10:00:00.000Z", 12, 5_000);
    const [complete] = rollupMinute(results, { region: "eu-central-1" });
    await embedded.store.putRollups([complete!]);
    // Only half the raw results exist (as after TTL removed some): the rebuild must not shrink the rollup.
    await embedded.store.putResults({ region: "eu-central-1", invocationId: "i", results: results.slice(0, 6) });
    const report = await embedded.store.rebuildRollups({ ...SERIES, granularity: "minute", from: "2025-03-02T10:00Z", to: "2025-03-02T10:01Z" });
    expect(report.written).toEqual([]);
    expect(report.kept.map((r) => r.total)).toEqual([6]);
    const [stored] = await embedded.store.queryRollups({ ...SERIES, granularity: "minute", from: "2025-03-02T10:00Z", to: "2025-03-02T10:01Z" });
    expect(stored).toEqual(complete);
  });
});

describe("idempotency", () => {
  it("writing the same invocation twice leaves identical items and identical rollups", async () => {
    const results = resultSeries("2025-03-01T23:59:00.000Z", 40, 3_000);
    const batch = { region: "eu-central-1", invocationId: "sched-2025-03-01T23:59", results };
    const partitions = [rawPartitionKey(SERIES, "2025-03-01"), rawPartitionKey(SERIES, "2025-03-02")];
    const rollupPartitions = (["minute", "hour", "day"] as const).map((g) => rollupPartitionKey(g, SERIES));
    const range = { ...SERIES, granularity: "minute" as const, from: "2025-03-01T23:59Z", to: "2025-03-02T00:01Z", cascade: true };

    const snapshot = async (): Promise<unknown[]> =>
      Promise.all([...partitions, ...rollupPartitions, "S"].map((pk) => partitionItems(embedded.client, "popwatch", pk)));

    await embedded.store.putResults(batch);
    await embedded.store.rebuildRollups(range);
    const first = await snapshot();

    // A fresh store instance (a retried Lambda) writes everything again, series index included.
    const { DynamoResultStore } = await import("../src/index");
    const retried = new DynamoResultStore({ client: embedded.client, tableName: "popwatch", retry: FAST_RETRY });
    await retried.putResults({ ...batch, results: [...results].reverse() });
    await retried.rebuildRollups(range);
    const second = await snapshot();

    expect(second).toEqual(first);
    const [day1, day2, minutes, hours, days, series] = second as unknown[][];
    expect(day1!.length + day2!.length).toBe(40);
    expect([minutes!.length, hours!.length, days!.length, series!.length]).toEqual([2, 2, 2, 1]);
    expect(await embedded.store.queryResults({ since: "2025-03-01T00:00:00Z", until: "2025-03-03T00:00:00Z" })).toHaveLength(40);
  });

  it("a retried invocation whose probes started later overwrites its own slots instead of adding results", async () => {
    const slots = resultSeries("2025-03-01T12:00:00.000Z", 12, 5_000);
    const attempt = (lateMs: number) =>
      slots.map((r) => ({ ...r, slotAt: r.startedAt, startedAt: new Date(Date.parse(r.startedAt) + lateMs).toISOString() }));
    const range = { ...SERIES, granularity: "minute" as const, from: "2025-03-01T12:00Z", to: "2025-03-01T12:01Z", cascade: true };
    const invocationId = "eu-central-1#2025-03-01T12:00:00Z";

    await embedded.store.putResults({ region: "eu-central-1", invocationId, results: attempt(120) });
    await embedded.store.rebuildRollups(range);
    // The retry runs 3 s later: every probe starts later, some in a later second.
    await embedded.store.putResults({ region: "eu-central-1", invocationId, results: attempt(3_120) });
    await embedded.store.rebuildRollups(range);

    const stored = await embedded.store.queryResults({ since: "2025-03-01T12:00:00Z", until: "2025-03-01T12:01:00Z" });
    expect(stored).toHaveLength(12);
    expect(new Set(stored.map((r) => r.startedAt.slice(17, 19)))).toContain("03");
    const [minute] = await embedded.store.queryRollups({ ...SERIES, granularity: "minute", from: "2025-03-01T12:00Z", to: "2025-03-01T12:01Z" });
    expect(minute?.total).toBe(12);
  });
});

describe("deleteExpired", () => {
  it("removes only items whose expiry has passed", async () => {
    const day = 86_400_000;
    const old = resultSeries(new Date(NOW - 10 * day).toISOString(), 10, 1_000); // raw kept 7 days: expired
    const recent = resultSeries(new Date(NOW - 1 * day).toISOString(), 10, 1_000, { name: "recent" });
    const ancient = resultSeries(new Date(NOW - 20 * day).toISOString(), 3, 1_000, { name: "ancient" });
    await embedded.store.putResults({ region: "eu-central-1", invocationId: "old", results: old });
    await embedded.store.putResults({ region: "eu-central-1", invocationId: "recent", results: recent });
    // Minute rollups are kept 14 days: those of `old` survive, those of `ancient` (20 days) expire.
    await embedded.store.putRollups(rollupMinute([...old, ...recent, ...ancient], { region: "eu-central-1" }));

    const report = await embedded.store.deleteExpired(NOW);
    expect(report.deleted).toBe(10 + 1);

    const remaining = await embedded.store.queryResults({ since: NOW - 30 * day, until: NOW });
    expect(remaining.map((r) => r.name)).toEqual(Array(10).fill("recent"));
    const oldMinutes = await embedded.store.queryRollups({ ...SERIES, granularity: "minute", from: NOW - 30 * day, to: NOW });
    expect(oldMinutes.map((r) => r.total)).toEqual([10]);
    expect(await embedded.store.queryRollups({ ...SERIES, target: "ancient", granularity: "minute", from: 0, to: NOW })).toEqual([]);
    expect(await embedded.store.queryRollups({ ...SERIES, target: "recent", granularity: "minute", from: 0, to: NOW })).toHaveLength(1);
    expect((await embedded.store.listSeries()).map((s) => s.target).sort()).toEqual(["ancient", "anycast-dns", "recent"]);
    expect((await embedded.store.deleteExpired(NOW)).deleted).toBe(0);
  });
});
