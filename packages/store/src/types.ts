import type { ProbeKind, ProbeResult, Rollup, RollupGranularity, RollupOf, SeriesKey } from "@popwatch/core";

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
  region: string;
  /**
   * Identifies the invocation, stable across its retries (e.g. the scheduler's
   * event id, not the Lambda request id, which changes on retry). Writing the
   * same batch again overwrites the same items.
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

export interface RebuildRequest extends SeriesKey {
  /**
   * What to recompute: `minute` from raw results, `hour` from minute rollups,
   * `day` from hour rollups.
   */
  granularity: RollupGranularity;
  /** Every period of that granularity overlapping [from, to) is recomputed. */
  from: Instant;
  to: Instant;
  /** Also recompute the coarser granularities above it over the periods covering the same range. */
  cascade?: boolean;
}

export interface RebuildReport {
  /** Rollups computed and written. */
  written: Rollup[];
  /**
   * Rollups computed but not written because the stored one counts more
   * results: it was built when more of the finer data existed (before TTL
   * removed some) or by a concurrent rebuild that saw more raw results.
   */
  kept: Rollup[];
}

export interface WriteReport {
  /** Items written (results plus index items). */
  items: number;
  /** BatchWriteItem requests sent, retries included. */
  requests: number;
}

export interface DeleteExpiredReport {
  /** Items whose expiresAt had passed and that were deleted. */
  deleted: number;
}

/**
 * Storage for probe results and their rollups. Every method either completes
 * or rejects with a StoreError (see errors.ts); a rejected write reports how
 * many items are not known to be written, and writing the same input again is
 * always safe: keys are deterministic, so a retry overwrites rather than
 * duplicates.
 */
export interface ResultStore {
  /** Writes one invocation's results (and registers their series). Idempotent per (invocationId, seq). */
  putResults(batch: ResultBatch): Promise<WriteReport>;
  /** Writes rollups as full values (no counters), so a retry writes identical items. */
  putRollups(rollups: readonly Rollup[]): Promise<WriteReport>;
  /** Raw results in [since, until), earliest first, across every series matching the filters. */
  queryResults(query: ResultQuery): Promise<StoredResultRecord[]>;
  /** Rollups of one series whose period overlaps [from, to), earliest first. */
  queryRollups<G extends RollupGranularity>(query: RollupQuery<G>): Promise<RollupOf<G>[]>;
  /** Recomputes rollups of one series from the next finer level and writes them (see RebuildReport). */
  rebuildRollups(request: RebuildRequest): Promise<RebuildReport>;
  /** Deletes items whose expiresAt has passed: what DynamoDB TTL does on AWS, for stores without TTL. */
  deleteExpired(now: Instant): Promise<DeleteExpiredReport>;
  /** Every series that has been written, sorted by target, kind, region. */
  listSeries(): Promise<SeriesKey[]>;
}
