// ResultStore on one DynamoDB table. The same code serves AWS and the embedded
// dynalite default, so it relies only on what both offer: no
// TransactWriteItems (dynalite lacks it), no TTL deletion (dynalite ignores
// it, hence deleteExpired), no Scan on any hot path. Layout v3 files raw
// results and minute rollups under the hour (sharded by writer), and hour and
// day rollups of every vantage in buckets that compact builds, so a time
// range costs the same reads for 3 or 10 000 vantages. Key design and access
// patterns: README.md.
//
// This class only wires the parts: results.ts (packed raw items and the
// series index), rollups.ts (minute items and range reads), buckets.ts and
// compaction.ts (hour and day buckets), pending.ts (what compact must build),
// vantages.ts (the registry) and items.ts (requests, retries, paging). What to
// roll up, when to compact and how long items live is decided in @popwatch/core.

import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  type RetentionDays,
  type Rollup,
  type RollupGranularity,
  type RollupOf,
  type SeriesKey,
  type Vantage,
  resolveRetentionDays,
} from "@popwatch/core";
import { BucketItems } from "./buckets";
import { Compactor } from "./compaction";
import { StoreError } from "./errors";
import { ItemTable, instantMs } from "./items";
import { PendingMarkers } from "./pending";
import { ResultItems } from "./results";
import { DEFAULT_RETRY_POLICY, DEFAULT_RETRY_RUNTIME, type RetryPolicy, type RetryRuntime } from "./retry";
import { RollupItems } from "./rollups";
import type {
  CompactReport,
  CompactRequest,
  DeleteExpiredReport,
  Instant,
  PeriodRollupQuery,
  ReadStats,
  RebuildReport,
  RegionRollupQuery,
  RegionRollups,
  ResultBatch,
  ResultQuery,
  ResultStore,
  RollUpRequest,
  RollupQuery,
  StoredResultRecord,
  VantagePeriodRollups,
  WriteReport,
} from "./types";
import { VantageItems } from "./vantages";

export interface DynamoResultStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  retentionDays?: Partial<RetentionDays>;
  retry?: Partial<RetryPolicy>;
  /** Requests in flight at once within one call (write chunks, shard queries, rollup puts). Default 4. */
  concurrency?: number;
  /** Epoch ms; the default `until` of queryResults, and what tells an open hour from an ended one when marking it pending. */
  clock?: () => number;
  /** Replaces sleep/random/monotonic clock of the retry loop (tests). */
  retryRuntime?: Partial<RetryRuntime>;
}

export class DynamoResultStore implements ResultStore {
  readonly tableName: string;
  readonly retentionDays: Readonly<RetentionDays>;
  private readonly table: ItemTable;
  private readonly results: ResultItems;
  private readonly rollups: RollupItems;
  private readonly compactor: Compactor;
  private readonly vantages: VantageItems;
  private readonly clock: () => number;

  constructor(options: DynamoResultStoreOptions) {
    this.tableName = options.tableName;
    ({ retentionDays: this.retentionDays, table: this.table } = openItemTable(options));
    this.clock = options.clock ?? Date.now;
    this.results = new ResultItems(this.table, this.retentionDays);
    const buckets = new BucketItems(this.table, this.retentionDays);
    const pending = new PendingMarkers(this.table, this.retentionDays, this.clock);
    this.rollups = new RollupItems(this.table, this.retentionDays, this.results, buckets, pending);
    this.compactor = new Compactor(this.rollups, buckets, pending);
    this.vantages = new VantageItems(this.table);
  }

  putResults(batch: ResultBatch): Promise<WriteReport> {
    return this.results.put(batch);
  }

  async queryResults(query: ResultQuery): Promise<StoredResultRecord[]> {
    return this.results.query(query, query.until === undefined ? this.clock() : instantMs(query.until, "until"));
  }

  queryRollups<G extends RollupGranularity>(query: RollupQuery<G>): Promise<RollupOf<G>[]> {
    return this.rollups.querySeries(query);
  }

  queryRegionRollups<G extends RollupGranularity>(query: RegionRollupQuery<G>): Promise<RegionRollups<G>[]> {
    return this.rollups.queryRegion(query);
  }

  queryPeriodRollups<G extends RollupGranularity>(query: PeriodRollupQuery<G>): Promise<VantagePeriodRollups<G>[]> {
    return this.rollups.queryPeriods(query);
  }

  rollUp(request: RollUpRequest): Promise<RebuildReport> {
    return this.rollups.rollUp(request);
  }

  compact(request: CompactRequest): Promise<CompactReport> {
    return this.compactor.compact(request);
  }

  /**
   * Writes rollups computed elsewhere (a back-fill from another system, a
   * benchmark's 30 days of history) of one period, any number of vantages:
   * minutes as one item per vantage (as that vantage's agent would write,
   * marking the hour pending), hours and days as the period's bucket. The
   * same care as rollUp and compact: every rollup must be of the granularity
   * and period, one per series, and a stored item counting more results is
   * kept. Resolves to false when something stored was kept.
   */
  putPeriodRollups(granularity: RollupGranularity, period: string, rollups: readonly Rollup[]): Promise<boolean> {
    return this.rollups.putPeriod(granularity, period, rollups);
  }

  async deleteExpired(now: Instant): Promise<DeleteExpiredReport> {
    return { deleted: await this.table.deleteExpired(Math.floor(instantMs(now, "now") / 1000)) };
  }

  listSeries(): Promise<SeriesKey[]> {
    return this.results.listSeries();
  }

  listRegions(): Promise<string[]> {
    return this.results.listRegions();
  }

  putVantages(vantages: readonly Vantage[]): Promise<void> {
    return this.vantages.put(vantages);
  }

  listVantages(): Promise<Vantage[]> {
    return this.vantages.list();
  }

  readStats(): ReadStats {
    return this.table.readStats();
  }
}

/** The retention and the item table every repository on the table builds from the same options. */
export function openItemTable(
  options: Pick<DynamoResultStoreOptions, "client" | "tableName" | "retentionDays" | "retry" | "retryRuntime" | "concurrency">,
): { retentionDays: Readonly<RetentionDays>; table: ItemTable } {
  let retentionDays: RetentionDays;
  try {
    retentionDays = resolveRetentionDays(options.retentionDays);
  } catch (err) {
    throw new StoreError("store_invalid", (err as Error).message);
  }
  const table = new ItemTable({
    client: options.client,
    tableName: options.tableName,
    policy: { ...DEFAULT_RETRY_POLICY, ...definedOnly(options.retry) },
    runtime: { ...DEFAULT_RETRY_RUNTIME, ...definedOnly(options.retryRuntime) },
    concurrency: Math.max(1, options.concurrency ?? 4),
  });
  return { retentionDays, table };
}

/** Drops keys set to undefined, so `{ maxAttempts: undefined }` keeps the default instead of erasing it. */
function definedOnly<T extends object>(partial: Partial<T> | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(partial ?? {}).filter(([, value]) => value !== undefined)) as Partial<T>;
}
