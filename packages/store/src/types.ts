import type { ProbeKind, ProbeResult, Rollup, RollupGranularity, RollupOf, SeriesKey, Vantage } from "@popwatch/core";

/** A probe result as stored: where it was probed from, and its index within the invocation that produced it. */
export type StoredResult = ProbeResult & {
  region: string;
  /** Index within the invocation (0-based, at most 999 999). With the invocation id it makes keys deterministic. */
  seq: number;
  /**
   * Scheduled time of the round this result belongs to. Keys and rollup
   * buckets use it (falling back to startedAt), so a retried invocation, whose
   * probes start at slightly different instants, overwrites its own items.
   */
  slotAt?: string;
};

/** A stored result as read back, with the invocation that wrote it. */
export type StoredResultRecord = StoredResult & { invocationId: string };

/** An instant: a Date, epoch milliseconds, or a string Date.parse accepts (ISO 8601 recommended). */
export type Instant = Date | number | string;

export interface ResultBatch {
  /**
   * The vantage writing (an agent: an AWS region or a self-hosted vantage);
   * every result's region must equal it. Exactly one of `region` and `writer`.
   */
  region?: string;
  /**
   * An import batch writing results of many vantages at once (`popwatch
   * import`): its items and minute rollups hold every vantage of the batch,
   * so a million Atlas results are not a million items. Stable for the same
   * input (derived from the batch's content), so importing again overwrites.
   * `[a-z0-9-]{1,64}`; keys file it as `+<writer>`, which no vantage name can
   * be. Every result's region must be a vantage name (VANTAGE_NAME_PATTERN).
   */
  writer?: string;
  /**
   * Identifies the invocation, stable across its retries (e.g. the scheduler's
   * event id, not the Lambda request id, which changes on retry). Writing the
   * same batch again overwrites the same items.
   *
   * Within one UTC minute a batch's results are one item keyed by the
   * invocation and the batch's earliest result time (slotAt, else startedAt),
   * so two different batches of one invocation must not start at the same
   * instant in the same minute (the agent writes one round, one slot, per call).
   */
  invocationId: string;
  results: readonly StoredResult[];
}

export interface ResultQuery {
  /** Inclusive. */
  since: Instant;
  /** Exclusive; defaults to the store's clock "now". */
  until?: Instant;
  target?: string;
  region?: string;
  kind?: ProbeKind;
  /** At most this many results, the earliest first. */
  limit?: number;
}

export interface RollupQuery<G extends RollupGranularity = RollupGranularity> extends SeriesKey {
  granularity: G;
  /** Rollups whose period overlaps [from, to) are returned. */
  from: Instant;
  to: Instant;
}

export interface RegionRollupQuery<G extends RollupGranularity = RollupGranularity> {
  region: string;
  granularity: G;
  /** Periods overlapping [from, to) are returned. */
  from: Instant;
  to: Instant;
}

/** One stored period of a region: every series' rollup of it, sorted by target, then kind. */
export interface RegionRollups<G extends RollupGranularity = RollupGranularity> {
  /** The period key: `YYYY-MM-DDTHH:MM`, `YYYY-MM-DDTHH` or `YYYY-MM-DD`. */
  period: string;
  rollups: RollupOf<G>[];
}

/** Periods of every vantage (or of `regions` only) overlapping [from, to): the time-range read behind readRollups. */
export interface PeriodRollupQuery<G extends RollupGranularity = RollupGranularity> {
  granularity: G;
  from: Instant;
  to: Instant;
  /** Only these vantages (filtered after reading: the cost is the time range's, whatever the filter). */
  regions?: readonly string[];
}

/** One vantage's rollups of one period (minute items of several writers of the same vantage and minute are merged). */
export interface VantagePeriodRollups<G extends RollupGranularity = RollupGranularity> extends RegionRollups<G> {
  region: string;
}

export interface CompactRequest {
  /** Periods that ended at least `graceMs` before now are built. */
  now: Instant;
  /** Default: two minutes (late rounds of the closing minute). */
  graceMs?: number;
}

export interface CompactReport {
  /** Hour and day buckets (all vantages of the period) written. */
  hours: number;
  days: number;
  /** Rollups (one per vantage, series and period) in them. */
  rollups: number;
}

/** Costs of the reads a store served since it was opened: what the bench and `--verbose` report. */
export interface ReadStats {
  queries: number;
  itemsRead: number;
}

export interface RollUpRequest {
  /** The vantage (an agent) whose minute items to recompute. Exactly one of `region` and `writer`. */
  region?: string;
  /** The import batch (ResultBatch.writer) whose minute items to recompute: every vantage of the batch at once. */
  writer?: string;
  /**
   * `minute`: recompute the writer's minute items from its own raw items, and
   * mark their hours pending for compact. `hour`/`day`: only mark those
   * periods pending, so the next compact rebuilds their buckets (hour and day
   * rollups are built by compact for every vantage at once, never per writer).
   */
  granularity: RollupGranularity;
  /** Every period of that granularity overlapping [from, to) (minutes without data are not written). */
  from: Instant;
  to: Instant;
  /**
   * Layout v2's "also build the coarser periods". Ignored: a minute rollUp
   * always marks its hours pending (a minute item without its marker would
   * be missing from its hour bucket for good), and compact builds them.
   */
  cascade?: boolean;
}

export interface RebuildReport {
  /** Rollups (one per series and period) in the items written. */
  written: Rollup[];
  /**
   * Rollups computed but not written because the stored item counts more
   * results: it was built when more of the finer data existed (before TTL
   * removed some) or by a concurrent rollUp that saw more raw results.
   */
  kept: Rollup[];
  /** Minute items (one per writer and minute with data) written and kept. */
  items: { written: number; kept: number };
}

export interface WriteReport {
  /**
   * Results plus series-index items written (not DynamoDB items: a packed
   * item holds many results). StoreError.unwrittenItems of a failed
   * putResults counts the same way.
   */
  items: number;
  /** BatchWriteItem requests sent, retries included. */
  requests: number;
}

export interface DeleteExpiredReport {
  /** DynamoDB items whose expiresAt had passed and that were deleted. */
  deleted: number;
}

/**
 * Storage for probe results and their rollups. Every method either completes
 * or rejects with a StoreError (see errors.ts); a rejected write reports how
 * many results are not known to be written, and writing the same input again
 * is always safe: keys are deterministic, so a retry overwrites rather than
 * duplicates.
 */
export interface ResultStore {
  /**
   * Writes one invocation's results, packed per minute (and registers their
   * series). Idempotent: the same batch again writes byte-identical items under
   * the same keys.
   */
  putResults(batch: ResultBatch): Promise<WriteReport>;
  /** Raw results in [since, until), earliest first, across every region and series matching the filters. */
  queryResults(query: ResultQuery): Promise<StoredResultRecord[]>;
  /** Rollups of one series whose period overlaps [from, to), earliest first; periods without its data are absent. */
  queryRollups<G extends RollupGranularity>(query: RollupQuery<G>): Promise<RollupOf<G>[]>;
  /** Every stored period of a region overlapping [from, to), earliest first, with all its series. */
  queryRegionRollups<G extends RollupGranularity>(query: RegionRollupQuery<G>): Promise<RegionRollups<G>[]>;
  /** Recomputes a region's rollups from the next finer level and writes them (see RebuildReport). */
  rollUp(request: RollUpRequest): Promise<RebuildReport>;
  /** Deletes items whose expiresAt has passed: what DynamoDB TTL does on AWS, for stores without TTL. */
  deleteExpired(now: Instant): Promise<DeleteExpiredReport>;
  /** Every series that has been written, sorted by target, kind, region. */
  listSeries(): Promise<SeriesKey[]>;
  /** Every region that has been written, sorted (from the series index). */
  listRegions(): Promise<string[]>;
  /**
   * Every vantage's rollups of the periods overlapping [from, to), earliest
   * period first: queries proportional to the time range, not to vantages.
   */
  queryPeriodRollups<G extends RollupGranularity>(query: PeriodRollupQuery<G>): Promise<VantagePeriodRollups<G>[]>;
  /**
   * Builds the hour and day buckets (every vantage of the period in one
   * item, chunked) of periods that have ended and whose minutes changed since
   * they were built. Idempotent; safe to run from several processes.
   */
  compact(request: CompactRequest): Promise<CompactReport>;
  /** Registers vantages (location, country, ASN); a later put of the same name replaces it. */
  putVantages(vantages: readonly Vantage[]): Promise<void>;
  /** Every registered vantage, sorted by name. AWS regions that never registered are not listed. */
  listVantages(): Promise<Vantage[]>;
  /** Queries and items read so far by this store. */
  readStats(): ReadStats;
}
