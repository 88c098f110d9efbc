// `popwatch store migrate`: copies what a table holds at layout v2 (items per
// region) into layout v3 (items per time bucket) through the v3 store's own
// writes. Self-contained on purpose: the v2 key layout and item checks below
// are a frozen copy of v2's keys.ts, results.ts and rollups.ts, which v3
// replaced; only the payload codec (`d1`, unchanged) is shared.
//
// The walk is bounded by time, never a Scan: v2 partitions are keyed by region
// and period, the regions come from the series index `S` (the same in v3),
// and each level is read from now back to its retention. Every write is v3's
// idempotent put of a deterministic key, so running it again rewrites the
// same items, and a run that stopped half-way is finished by running it again.

import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DAY_MS,
  HOUR_MS,
  type RetentionDays,
  type Rollup,
  type RollupGranularity,
  compareStrings,
  completeRollup,
  earliestRetainedMs,
  isRollup,
  periodKey,
  resultTime,
  rollupPeriod,
  unrollupableReason,
} from "@popwatch/core";
import { decodePayload } from "./codec";
import { mapWithConcurrency } from "./concurrency";
import { StoreError } from "./errors";
import { type Item, ItemTable, type WeightedRequest, sortKeyRangeQuery } from "./items";
import { DEFAULT_RETRY_POLICY, DEFAULT_RETRY_RUNTIME, type RetryPolicy } from "./retry";
import type { CompactReport, CompactRequest, ResultBatch, StoredResult, WriteReport } from "./types";

/** What the migration writes through: the v3 store's writes (DynamoResultStore from layout v3 on). */
export interface MigrationTarget {
  readonly retentionDays: Readonly<RetentionDays>;
  putResults(batch: ResultBatch): Promise<WriteReport>;
  putPeriodRollups(granularity: RollupGranularity, period: string, rollups: readonly Rollup[]): Promise<unknown>;
  compact(request: CompactRequest): Promise<CompactReport>;
}

export type V2Level = "raw" | RollupGranularity;
export const V2_LEVELS: readonly V2Level[] = ["raw", "minute", "hour", "day"];

export interface MigrationProgress {
  level: V2Level;
  /** Time windows of this level walked so far (an hour of raw or minute items, a day of hours, a month of days). */
  windowsDone: number;
  windowsTotal: number;
  itemsRead: number;
  /** Results (raw) or rollups (one per region, series and period) migrated so far at this level. */
  migrated: number;
}

export interface MigrateV2Options {
  /** Epoch ms the retention walk starts from (default: the clock). */
  now?: number;
  /** Read and count everything, write nothing. */
  dryRun?: boolean;
  /** After everything was migrated, and only if nothing was skipped, delete the v2 items. Default false: they expire by TTL. */
  deleteV2?: boolean;
  onProgress?: (progress: MigrationProgress) => void;
  /**
   * Only these regions (default: every region of the series index). The
   * index is shared with v3, so after v3 imports it also lists vantages that
   * never wrote v2 items, each costing its own walk of empty partitions.
   */
  regions?: readonly string[];
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  retry?: Partial<RetryPolicy>;
}

/**
 * A v2 item or a group that was not migrated, and why: `v2_corrupt` (the
 * item does not decode to what its keys say) or `v3_refused` (the v3 store
 * refused the write as invalid). Never dropped silently.
 */
export interface MigrationSkip {
  code: "v2_corrupt" | "v3_refused";
  pk: string;
  sk?: string;
  message: string;
}

export interface LevelReport {
  itemsRead: number;
  /** Results (raw) or rollups (minute, hour, day) migrated, or that would be with dryRun. */
  migrated: number;
  /** putResults calls (raw) or periods written (rollups). */
  writes: number;
}

export interface MigrationReport {
  dryRun: boolean;
  regions: string[];
  levels: Record<V2Level, LevelReport>;
  /** Total skipped, and the first MAX_LISTED_SKIPS of them. */
  skipped: number;
  skips: MigrationSkip[];
  /** What compact built after the writes (null with dryRun). */
  compacted: CompactReport | null;
  /** v2 items deleted; null unless deleteV2 was asked and nothing was skipped. */
  deleted: number | null;
}

const MAX_LISTED_SKIPS = 100;

// ---------------------------------------------------------------- layout v2 (frozen copy)

const V2_SERIES_PARTITION = "S";

function escapeKeyPart(value: string): string {
  return value.replace(/%/g, "%25").replace(/#/g, "%23");
}

function v2RawPartitionKey(region: string, hour: string): string {
  return `R#${escapeKeyPart(region)}#${hour}`;
}

/** Where v2 cut a period key into partition and sort key: a day of minutes, a month of hours, a year of days. */
const V2_ROLLUP_SPLIT: Record<RollupGranularity, { prefix: string; at: number }> = {
  minute: { prefix: "M", at: 10 },
  hour: { prefix: "H", at: 7 },
  day: { prefix: "D", at: 4 },
};

function v2RollupItemKey(granularity: RollupGranularity, region: string, period: string): { pk: string; sk: string } {
  const { prefix, at } = V2_ROLLUP_SPLIT[granularity];
  return { pk: `${prefix}#${escapeKeyPart(region)}#${period.slice(0, at)}`, sk: period.slice(at + 1) };
}

function v2PeriodOfRollupKey(granularity: RollupGranularity, pk: string, sk: string): string {
  const { at } = V2_ROLLUP_SPLIT[granularity];
  return `${pk.slice(pk.length - at)}${granularity === "minute" ? "T" : "-"}${sk}`;
}

/** A raw sort key without its chunk (`#nnn`): one v2 batch's results of one minute, however many chunks. */
function v2BatchOfRawSortKey(sk: string): string {
  return sk.slice(0, sk.length - 4);
}

// ---------------------------------------------------------------- decoding v2 items

export type Decoded<T> = { ok: true; value: T } | { ok: false; skip: MigrationSkip };

function corruptSkip(item: Item, message: string): { ok: false; skip: MigrationSkip } {
  return { ok: false, skip: { code: "v2_corrupt", pk: item.pk?.S ?? "?", sk: item.sk?.S ?? "?", message } };
}

function decodedPayload(item: Item): Decoded<unknown> {
  try {
    return { ok: true, value: decodePayload(item.codec?.S, item.data?.B, `item ${item.pk?.S ?? "?"} / ${item.sk?.S ?? "?"}`) };
  } catch (err) {
    if (err instanceof StoreError) return corruptSkip(item, err.message);
    throw err;
  }
}

/** The results of a v2 raw item, checked as v2 checked them (count, region, minute). */
export function decodeV2Results(item: Item, region: string): Decoded<{ invocationId: string; results: StoredResult[] }> {
  const payload = decodedPayload(item);
  if (!payload.ok) return payload;
  const invocationId = item.invocationId?.S;
  if (!Array.isArray(payload.value) || invocationId === undefined)
    return corruptSkip(item, "does not hold an array of results and an invocationId");
  if (item.count?.N !== String(payload.value.length))
    return corruptSkip(item, `holds ${payload.value.length} results, its count says ${item.count?.N ?? "nothing"}`);
  const minute = (item.sk?.S ?? "").slice(0, 16);
  for (const [index, result] of (payload.value as unknown[]).entries()) {
    if (
      unrollupableReason(result) !== null ||
      (result as StoredResult).region !== region ||
      periodKey("minute", resultTime(result as StoredResult)) !== minute
    ) {
      return corruptSkip(item, `result ${index} is not a valid result of ${region} in minute ${minute}`);
    }
  }
  return { ok: true, value: { invocationId, results: payload.value as StoredResult[] } };
}

/** The rollups of a v2 region item: one per series, in series order, of its granularity, region and period. */
export function decodeV2Rollups(
  item: Item,
  granularity: RollupGranularity,
  region: string,
): Decoded<{ period: string; rollups: Rollup[] }> {
  const period = v2PeriodOfRollupKey(granularity, item.pk?.S ?? "", item.sk?.S ?? "");
  const payload = decodedPayload(item);
  if (!payload.ok) return payload;
  if (!Array.isArray(payload.value)) return corruptSkip(item, `does not hold a list of ${granularity} rollups`);
  let total = 0;
  let previous: Rollup | undefined;
  for (const rollup of payload.value as unknown[]) {
    if (!isRollup(rollup) || rollup.granularity !== granularity || rollup.region !== region || rollupPeriod(rollup) !== period) {
      return corruptSkip(item, `does not hold valid ${granularity} rollups of ${region} for ${period}`);
    }
    if (previous !== undefined && (compareStrings(previous.target, rollup.target) || compareStrings(previous.kind, rollup.kind)) >= 0) {
      return corruptSkip(item, "repeats a series or lists series out of order");
    }
    total += rollup.total;
    previous = rollup;
  }
  if (item.total?.N !== String(total) || item.series?.N !== String(payload.value.length)) {
    return corruptSkip(item, "has total or series attributes that do not match its rollups");
  }
  return { ok: true, value: { period, rollups: (payload.value as Rollup[]).map((rollup) => completeRollup(rollup)) } };
}

// ---------------------------------------------------------------- the time-bounded walk

/** One Query: a region's v2 partition, its sort keys between low and high (inclusive). */
interface V2Read {
  region: string;
  pk: string;
  low: string | undefined;
  high: string | undefined;
}

/** A time window of one level: the reads of every region, migrated together (rollups of a period are grouped across regions). */
interface V2Window {
  label: string;
  reads: V2Read[];
}

/**
 * The windows of a level from its earliest retained instant to now: raw and
 * minute items an hour at a time, hours a day at a time, days a month at a
 * time (each window inside one v2 partition).
 */
export function v2Windows(level: V2Level, regions: readonly string[], retention: Readonly<RetentionDays>, nowMs: number): V2Window[] {
  const fromMs = earliestRetainedMs(retention, level, nowMs);
  if (!(nowMs > fromMs)) return [];
  const granularity: RollupGranularity = level === "raw" ? "minute" : level;
  const firstPeriod = periodKey(granularity, fromMs)!;
  const lastPeriod = periodKey(granularity, nowMs - 1)!;
  const windows: V2Window[] = [];
  for (let start = windowStartMs(level, fromMs); start < nowMs; start = nextWindowMs(level, start)) {
    const end = nextWindowMs(level, start);
    const first = maxString(periodKey(granularity, start)!, firstPeriod);
    const last = minString(periodKey(granularity, end - 1)!, lastPeriod);
    const reads = regions.map((region): V2Read => {
      if (level === "raw") {
        // Raw sort keys start with the minute; `$` sorts after the `#` that follows it.
        return { region, pk: v2RawPartitionKey(region, first.slice(0, 13)), low: first, high: `${last}$` };
      }
      const low = v2RollupItemKey(level, region, first);
      return { region, pk: low.pk, low: low.sk, high: v2RollupItemKey(level, region, last).sk };
    });
    windows.push({ label: first.slice(0, level === "day" ? 7 : level === "hour" ? 10 : 13), reads });
  }
  return windows;
}

function windowStartMs(level: V2Level, ms: number): number {
  if (level === "raw" || level === "minute") return Math.floor(ms / HOUR_MS) * HOUR_MS;
  if (level === "hour") return Math.floor(ms / DAY_MS) * DAY_MS;
  const date = new Date(ms);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
}

function nextWindowMs(level: V2Level, startMs: number): number {
  if (level === "raw" || level === "minute") return startMs + HOUR_MS;
  if (level === "hour") return startMs + DAY_MS;
  const date = new Date(startMs);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
}

const maxString = (a: string, b: string) => (compareStrings(a, b) >= 0 ? a : b);
const minString = (a: string, b: string) => (compareStrings(a, b) <= 0 ? a : b);

/**
 * The windows of a rollup level narrowed to the reads that find items: one
 * keys-only Query per v2 partition (a region's day of minutes, month of hours,
 * year of days) instead of one per window, so idle days cost one request, not
 * 24. Raw partitions are an hour each already: their windows stay as they are.
 */
async function windowsWithData(table: ItemTable, level: V2Level, windows: readonly V2Window[]): Promise<V2Window[]> {
  if (level === "raw") return windows.filter((window) => window.reads.length > 0);
  const ranges = new Map<string, { low: string; high: string }>();
  for (const read of windows.flatMap((window) => window.reads)) {
    const range = ranges.get(read.pk);
    if (range === undefined) ranges.set(read.pk, { low: read.low!, high: read.high! });
    else ranges.set(read.pk, { low: minString(range.low, read.low!), high: maxString(range.high, read.high!) });
  }
  const partitions = [...ranges];
  const keys = await mapWithConcurrency(partitions, table.concurrency, ([pk, { low, high }]) => v2Keys(table, { pk, low, high }));
  const present = new Map(partitions.map(([pk], i) => [pk, keys[i]!.map((item) => item.sk?.S ?? "")]));
  return windows
    .map((window) => ({
      ...window,
      reads: window.reads.filter((read) =>
        (present.get(read.pk) ?? []).some((sk) => compareStrings(sk, read.low!) >= 0 && compareStrings(sk, read.high!) <= 0),
      ),
    }))
    .filter((window) => window.reads.length > 0);
}

/** The keys (pk, sk) of one read's items. */
function v2Keys(table: ItemTable, read: Pick<V2Read, "pk" | "low" | "high">): Promise<Item[]> {
  return table.queryAll(
    {
      ...sortKeyRangeQuery(read.pk, read.low, read.high),
      ProjectionExpression: "#pk, #sk",
      ExpressionAttributeNames: { "#pk": "pk", "#sk": "sk" },
    },
    { consistent: true },
  );
}

// ---------------------------------------------------------------- the migration

/**
 * Copies every v2 item within retention into `store` (layout v3): raw
 * results through putResults (one call per v2 batch and minute, with the v2
 * item's invocation id, so the v3 keys are the same on every run), minute,
 * hour and day rollups through putPeriodRollups (all regions of a period in
 * one call), then compact. See README.md, "Upgrading from v2".
 */
export async function migrateFromV2(
  client: DynamoDBClient,
  tableName: string,
  store: MigrationTarget,
  options: MigrateV2Options = {},
): Promise<MigrationReport> {
  const nowMs = options.now ?? Date.now();
  const dryRun = options.dryRun === true;
  const table = new ItemTable({
    client,
    tableName,
    policy: { ...DEFAULT_RETRY_POLICY, ...options.retry },
    runtime: DEFAULT_RETRY_RUNTIME,
    concurrency: Math.max(1, options.concurrency ?? 4),
  });
  const regions = options.regions === undefined ? await v2Regions(table) : [...new Set(options.regions)].sort(compareStrings);
  const report: MigrationReport = {
    dryRun,
    regions,
    levels: {
      raw: { itemsRead: 0, migrated: 0, writes: 0 },
      minute: { itemsRead: 0, migrated: 0, writes: 0 },
      hour: { itemsRead: 0, migrated: 0, writes: 0 },
      day: { itemsRead: 0, migrated: 0, writes: 0 },
    },
    skipped: 0,
    skips: [],
    compacted: null,
    deleted: null,
  };
  const skip = (s: MigrationSkip) => {
    report.skipped++;
    if (report.skips.length < MAX_LISTED_SKIPS) report.skips.push(s);
  };
  const migration = new LevelMigration(table, store, dryRun, skip);

  for (const level of V2_LEVELS) {
    const windows = await windowsWithData(table, level, v2Windows(level, regions, store.retentionDays, nowMs));
    const counts = report.levels[level];
    let windowsDone = 0;
    // Windows in parallel too: most raw windows are empty hours, and each costs a round trip per region.
    await mapWithConcurrency(windows, table.concurrency, async (window) => {
      const items = await mapWithConcurrency(window.reads, table.concurrency, (read) =>
        table.queryAll(sortKeyRangeQuery(read.pk, read.low, read.high), { consistent: true }),
      );
      const partitions = window.reads.map((read, i) => ({ region: read.region, items: items[i]! }));
      const done = level === "raw" ? await migration.raw(partitions) : await migration.rollups(level, partitions);
      counts.itemsRead += items.reduce((sum, list) => sum + list.length, 0);
      counts.migrated += done.migrated;
      counts.writes += done.writes;
      windowsDone++;
      options.onProgress?.({ level, windowsDone, windowsTotal: windows.length, itemsRead: counts.itemsRead, migrated: counts.migrated });
    });
  }
  if (dryRun) return report;

  report.compacted = await store.compact({ now: nowMs });
  // Deleting is for a migration that left nothing behind: a skipped item keeps the v2 data it came from.
  if (options.deleteV2 === true && report.skipped === 0) report.deleted = await deleteV2Items(table, regions, store.retentionDays, nowMs);
  return report;
}

/** Writes one window's decoded v2 items to the v3 store (or only counts them). */
class LevelMigration {
  constructor(
    private readonly table: ItemTable,
    private readonly store: MigrationTarget,
    private readonly dryRun: boolean,
    private readonly skip: (skip: MigrationSkip) => void,
  ) {}

  /** One putResults per v2 batch and minute (its chunks together): the v3 keys follow from the same batch. */
  async raw(partitions: readonly { region: string; items: readonly Item[] }[]): Promise<{ migrated: number; writes: number }> {
    const batches = new Map<string, ResultBatch & { results: StoredResult[]; pk: string }>();
    for (const { region, items } of partitions) {
      for (const item of items) {
        const decoded = decodeV2Results(item, region);
        if (!decoded.ok) {
          this.skip(decoded.skip);
          continue;
        }
        const key = `${item.pk?.S}\u0000${v2BatchOfRawSortKey(item.sk?.S ?? "")}`;
        const batch = batches.get(key);
        if (batch === undefined) {
          batches.set(key, { region, invocationId: decoded.value.invocationId, results: [...decoded.value.results], pk: item.pk?.S ?? "" });
        } else {
          batch.results.push(...decoded.value.results);
        }
      }
    }
    const list = [...batches.entries()].sort(([a], [b]) => compareStrings(a, b));
    const written = await mapWithConcurrency(list, this.table.concurrency, async ([key, { pk, ...batch }]) => {
      const ok = await this.write(() => this.store.putResults(batch), pk, key.slice(key.indexOf("\u0000") + 1));
      return ok ? batch.results.length : 0;
    });
    return { migrated: written.reduce((sum, n) => sum + n, 0), writes: written.filter((n) => n > 0).length };
  }

  /** One putPeriodRollups per period, with every region's rollups of it. */
  async rollups(
    granularity: RollupGranularity,
    partitions: readonly { region: string; items: readonly Item[] }[],
  ): Promise<{ migrated: number; writes: number }> {
    const byPeriod = new Map<string, Rollup[]>();
    for (const { region, items } of partitions) {
      for (const item of items) {
        const decoded = decodeV2Rollups(item, granularity, region);
        if (!decoded.ok) {
          this.skip(decoded.skip);
          continue;
        }
        const list = byPeriod.get(decoded.value.period);
        if (list === undefined) byPeriod.set(decoded.value.period, [...decoded.value.rollups]);
        else list.push(...decoded.value.rollups);
      }
    }
    const periods = [...byPeriod.entries()].sort(([a], [b]) => compareStrings(a, b));
    const written = await mapWithConcurrency(periods, this.table.concurrency, async ([period, rollups]) => {
      const ok = await this.write(() => this.store.putPeriodRollups(granularity, period, rollups), `${granularity} ${period}`);
      return ok ? rollups.length : 0;
    });
    return { migrated: written.reduce((sum, n) => sum + n, 0), writes: written.filter((n) => n > 0).length };
  }

  /** True when written (or counted, with dryRun); a write v3 refuses as invalid is a skip, anything else stops the run. */
  private async write(put: () => Promise<unknown>, pk: string, sk?: string): Promise<boolean> {
    if (this.dryRun) return true;
    try {
      await put();
      return true;
    } catch (err) {
      if (!(err instanceof StoreError && err.code === "store_invalid")) throw err;
      this.skip({ code: "v3_refused", pk, ...(sk === undefined ? {} : { sk }), message: err.message });
      return false;
    }
  }
}

/** Every region of the series index (v2 and v3 share it), sorted. */
async function v2Regions(table: ItemTable): Promise<string[]> {
  const items = await table.queryAll(
    {
      KeyConditionExpression: "#pk = :pk",
      ProjectionExpression: "#region",
      ExpressionAttributeNames: { "#pk": "pk", "#region": "region" },
      ExpressionAttributeValues: { ":pk": { S: V2_SERIES_PARTITION } },
    },
    { consistent: true },
  );
  const regions = new Set<string>();
  for (const item of items) {
    const region = item.region?.S;
    if (region !== undefined && region !== "") regions.add(region);
  }
  return [...regions].sort(compareStrings);
}

/** The same walk, keys only, deleting what it finds (BatchWriteItem deletes). */
async function deleteV2Items(
  table: ItemTable,
  regions: readonly string[],
  retention: Readonly<RetentionDays>,
  nowMs: number,
): Promise<number> {
  let deleted = 0;
  for (const level of V2_LEVELS) {
    const windows = await windowsWithData(table, level, v2Windows(level, regions, retention, nowMs));
    await mapWithConcurrency(windows, table.concurrency, async (window) => {
      const keys = await mapWithConcurrency(window.reads, table.concurrency, (read) => v2Keys(table, read));
      const requests: WeightedRequest[] = keys.flat().map((item) => ({
        request: { DeleteRequest: { Key: { pk: item.pk!, sk: item.sk! } } },
        weight: 1,
      }));
      if (requests.length > 0) await table.writeRequests(requests);
      deleted += requests.length;
    });
  }
  return deleted;
}
