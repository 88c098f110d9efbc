// ResultStore on one DynamoDB table. The same code serves AWS and the embedded
// dynalite default, so it relies only on what both offer: no
// TransactWriteItems (dynalite lacks it), no TTL deletion (dynalite ignores
// it, hence deleteExpired), no Scan on any hot path. Layout v2 packs a round of
// results into one compressed item and every series' rollup of a region and
// period into another, so a write request unit carries dozens of probes
// instead of one. Key design and access patterns: README.md.
//
// This class only wires the parts: results.ts (packed raw items and the
// series index), rollups.ts (region rollup items) and items.ts (requests,
// retries, paging). What to roll up and how long items live is decided in
// @popwatch/core.

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
import { StoreError } from "./errors";
import { ItemTable, instantMs } from "./items";
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

export interface DynamoResultStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  retentionDays?: Partial<RetentionDays>;
  retry?: Partial<RetryPolicy>;
  /** Requests in flight at once within one call (write chunks, fan-out queries, rollup puts). Default 4. */
  concurrency?: number;
  /** Epoch ms; the default `until` of queryResults. */
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
  private readonly clock: () => number;

  constructor(options: DynamoResultStoreOptions) {
    this.tableName = options.tableName;
    ({ retentionDays: this.retentionDays, table: this.table } = openItemTable(options));
    this.clock = options.clock ?? Date.now;
    this.results = new ResultItems(this.table, this.retentionDays);
    this.rollups = new RollupItems(this.table, this.retentionDays, this.results);
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

  rollUp(request: RollUpRequest): Promise<RebuildReport> {
    return this.rollups.rollUp(request);
  }

  /**
   * Writes one region item of rollups computed elsewhere (a back-fill from
   * another system, a benchmark's 30 days of history). rollUp is the normal
   * path; this one takes the same care: every rollup must belong to the item
   * (granularity, period, region), and a stored item counting more results
   * is kept. Resolves to false when it was kept.
   */
  putRegionRollups(granularity: RollupGranularity, region: string, period: string, rollups: readonly Rollup[]): Promise<boolean> {
    return this.rollups.put(granularity, region, period, rollups);
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

  // Contract of layout v3 (issue 14): the store-v3 branch implements these.
  queryPeriodRollups<G extends RollupGranularity>(_query: PeriodRollupQuery<G>): Promise<VantagePeriodRollups<G>[]> {
    return Promise.reject(new StoreError("store_invalid", "queryPeriodRollups: layout v3 not built yet"));
  }

  compact(_request: CompactRequest): Promise<CompactReport> {
    return Promise.reject(new StoreError("store_invalid", "compact: layout v3 not built yet"));
  }

  putVantages(_vantages: readonly Vantage[]): Promise<void> {
    return Promise.reject(new StoreError("store_invalid", "putVantages: layout v3 not built yet"));
  }

  listVantages(): Promise<Vantage[]> {
    return Promise.reject(new StoreError("store_invalid", "listVantages: layout v3 not built yet"));
  }

  readStats(): ReadStats {
    return { queries: 0, itemsRead: 0 };
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
