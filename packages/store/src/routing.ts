// Core's RoutingRepository (and the archive cursors of the scheduled BGP
// function) on the single table. Key layout and costs: README.md, "Routing".
//
// Events are written one conditional PutItem each (IF attribute_not_exists):
// the first copy of an update wins and every later one (a retried run, the
// same file read again, RIS Live and the MRT archive overlapping) writes
// nothing and is counted as a duplicate. BatchWriteItem cannot be
// conditional; it would overwrite with a copy whose millisecond may differ
// (RIS Live vs MRT) and could not tell the caller what was new. A duplicate
// costs the same write unit as a write either way, and the events that pass
// the watched-prefix filter are few (tens to a few thousand per run), so
// request count is not the constraint: EVENT_WRITE_CONCURRENCY in flight.

import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  type ArchiveCursor,
  type ArchiveCursorRepository,
  type BgpEvent,
  type BgpEventQuery,
  COLLECTOR_ARCHIVES,
  type CollectorArchive,
  HOUR_MS,
  MINUTE_MS,
  type Prefix,
  type RetentionDays,
  type RoutingMinute,
  type RoutingRepository,
  type RoutingSnapshot,
  compareStrings,
  earliestRetainedMs,
  expiresAtSeconds,
  formatPrefix,
  parsePrefix,
  periodKey,
  prefixContains,
} from "@popwatch/core";
import { mapSettledWithConcurrency, mapWithConcurrency } from "./concurrency";
import { openItemTable } from "./dynamo-store";
import { StoreError } from "./errors";
import { type Item, type ItemTable, type WeightedRequest, checkKeySizes, corrupt, invalid, sortKeyRangeQuery } from "./items";
import {
  ARCHIVE_CURSOR_PARTITION,
  PARTITION_KEY,
  ROUTING_SOURCE_INDEX_PARTITION,
  SORT_KEY,
  archiveCursorSortKey,
  bgpEventSortKeyRange,
  escapeKeyPart,
  peerStatePartitionKey,
  routeEventPartitionKey,
} from "./keys";
import type { RetryPolicy, RetryRuntime } from "./retry";
import { bgpEventItem, decodeBgpEventItem, decodeRoutingMinuteItem, routingMinuteItem, routingMinuteKey, secondIso } from "./routing-items";
import { RoutingSnapshots } from "./routing-snapshots";

/** Conditional event puts in flight at once. */
export const EVENT_WRITE_CONCURRENCY = 16;

export interface DynamoRoutingRepositoryOptions {
  client: DynamoDBClient;
  tableName: string;
  /** Events live `raw` days from their time, routing minutes `minute` days (core's retention). */
  retentionDays?: Partial<RetentionDays>;
  retry?: Partial<RetryPolicy>;
  retryRuntime?: Partial<RetryRuntime>;
  /** Requests in flight for reads, minute writes and chunk writes. Default 4. */
  concurrency?: number;
  /** Epoch ms: bounds how far back a query reaches (retention). */
  clock?: () => number;
  /** Compressed bytes per snapshot item before it is chunked (tests make it small). */
  snapshotChunkBytes?: number;
}

/** What putEvents did: items newly written and items that were already there (per watched prefix an event falls in). */
export interface PutEventsReport {
  written: number;
  duplicates: number;
}

export class DynamoRoutingRepository implements RoutingRepository, ArchiveCursorRepository {
  readonly tableName: string;
  readonly retentionDays: Readonly<RetentionDays>;
  private readonly table: ItemTable;
  private readonly snapshots: RoutingSnapshots;
  private readonly clock: () => number;
  // Index items never change: one write per feed per process.
  private readonly indexedSources = new Set<string>();

  constructor(options: DynamoRoutingRepositoryOptions) {
    this.tableName = options.tableName;
    ({ retentionDays: this.retentionDays, table: this.table } = openItemTable(options));
    this.clock = options.clock ?? Date.now;
    this.snapshots = new RoutingSnapshots(
      this.table,
      options.snapshotChunkBytes === undefined ? {} : { chunkBytes: options.snapshotChunkBytes },
    );
  }

  /**
   * Route events go under every watched prefix that covers their prefix
   * (nested watched prefixes each get a copy, so each reads one partition per
   * hour); events outside all of them are skipped. Peer state events go under
   * their feed. Every item is validated and keyed before anything is sent.
   */
  async putEvents(watchedPrefixes: readonly string[], events: readonly BgpEvent[]): Promise<PutEventsReport> {
    const watched = watchedPrefixes.map((text) => ({ text, prefix: parseValidPrefix(text, "watched prefix") }));
    const items = new Map<string, Item>();
    const sources = new Set<string>();
    let duplicates = 0;
    const add = (item: Item) => {
      const key = `${item[PARTITION_KEY]!.S}\u0000${item[SORT_KEY]!.S}`;
      if (items.has(key)) duplicates++;
      else items.set(key, item);
    };
    events.forEach((event, index) => {
      const hour = periodKey("hour", event.timeMs);
      if (hour === null) throw invalid(`events[${index}].timeMs is not a valid time`);
      const expiresAt = expiresAtSeconds(this.retentionDays, "raw", event.timeMs);
      if (event.type === "STATE") {
        sources.add(event.source);
        add(bgpEventItem(peerStatePartitionKey(event.source, hour), event, expiresAt));
        return;
      }
      const prefix = parseValidPrefix(event.prefix, `events[${index}].prefix`);
      for (const w of watched) {
        if (prefixContains(w.prefix, prefix)) add(bgpEventItem(routeEventPartitionKey(w.text, hour), event, expiresAt));
      }
    });
    for (const item of items.values()) checkKeySizes(item[PARTITION_KEY]!.S!, item[SORT_KEY]!.S!, "BGP event");

    await this.indexSources(sources);
    const list = [...items.values()];
    const settled = await mapSettledWithConcurrency(list, EVENT_WRITE_CONCURRENCY, (item) =>
      this.table.putUnless("BGP event", {
        Item: item,
        ConditionExpression: "attribute_not_exists(#pk)",
        ExpressionAttributeNames: { "#pk": PARTITION_KEY },
      }),
    );
    let written = 0;
    let failed = 0;
    let firstFailure: unknown;
    for (const outcome of settled) {
      if (outcome.status === "rejected") {
        failed++;
        firstFailure ??= outcome.reason;
      } else if (outcome.value) written++;
      else duplicates++;
    }
    if (firstFailure !== undefined) {
      const code = firstFailure instanceof StoreError ? firstFailure.code : "store_unavailable";
      throw new StoreError(code, `${failed} of ${list.length} BGP event items not written: ${(firstFailure as Error).message}`, {
        cause: firstFailure,
        unwrittenItems: failed,
        totalItems: list.length,
      });
    }
    return { written, duplicates };
  }

  /**
   * Events of the watched prefixes (each with its more-specifics) and the
   * peer state events of every feed, in [fromMs, toMs), by time (then key).
   * Prefixes are looked up as watched prefixes: a partition per prefix-hour.
   */
  async queryEvents(query: BgpEventQuery): Promise<BgpEvent[]> {
    const fromMs = Math.max(query.fromMs, earliestRetainedMs(this.retentionDays, "raw", this.clock()));
    const toMs = query.toMs;
    if (!(Number.isFinite(fromMs) && Number.isFinite(toMs))) throw invalid("fromMs and toMs must be finite");
    if (toMs <= fromMs) return [];
    for (const prefix of query.prefixes) parseValidPrefix(prefix, "query prefix");
    const sources = await this.listSources();
    const partitions: string[] = [];
    for (let hour = Math.floor(fromMs / HOUR_MS) * HOUR_MS; hour < toMs; hour += HOUR_MS) {
      const hourKey = periodKey("hour", hour)!;
      for (const prefix of query.prefixes) partitions.push(routeEventPartitionKey(prefix, hourKey));
      for (const source of sources) partitions.push(peerStatePartitionKey(source, hourKey));
    }
    const { low, high } = bgpEventSortKeyRange(secondIso(fromMs), secondIso(toMs - 1));
    // Consistent: the ingest folds what it has just written, and an eventually consistent read may miss it.
    const pages = await mapWithConcurrency(partitions, this.table.concurrency, (pk) =>
      this.table.queryAll(sortKeyRangeQuery(pk, low, high), { consistent: true }),
    );
    // Nested watched prefixes hold the same event twice: one copy each.
    const bySortKey = new Map<string, BgpEvent>();
    for (const item of pages.flat()) {
      const event = decodeBgpEventItem(item);
      if (event.timeMs >= fromMs && event.timeMs < toMs) bySortKey.set(`${event.type === "STATE" ? "P" : "E"}${item[SORT_KEY]!.S}`, event);
    }
    return [...bySortKey].sort(([ka, a], [kb, b]) => a.timeMs - b.timeMs || compareStrings(ka, kb)).map(([, event]) => event);
  }

  getSnapshot(prefix: string): Promise<RoutingSnapshot | null> {
    parseValidPrefix(prefix, "snapshot prefix");
    return this.snapshots.get(prefix);
  }

  /**
   * Conditional on the version this repository object last read (getSnapshot)
   * or wrote for the prefix: StoreError("store_conflict") when another writer
   * got in between. Read again, fold again, put again.
   */
  putSnapshot(snapshot: RoutingSnapshot): Promise<void> {
    parseValidPrefix(snapshot.prefix, "snapshot.prefix");
    return this.snapshots.put(snapshot);
  }

  async putMinutes(minutes: readonly RoutingMinute[]): Promise<void> {
    const requests = new Map<string, WeightedRequest>();
    minutes.forEach((minute, index) => {
      parseValidPrefix(minute.prefix, `minutes[${index}].prefix`);
      if (minute.minuteStartMs % MINUTE_MS !== 0) throw invalid(`minutes[${index}].minuteStartMs is not the start of a minute`);
      const item = routingMinuteItem(minute, expiresAtSeconds(this.retentionDays, "minute", minute.minuteStartMs));
      checkKeySizes(item[PARTITION_KEY]!.S!, item[SORT_KEY]!.S!, "routing minute");
      // One request per key (BatchWriteItem refuses two for the same key): the last one given wins.
      requests.set(`${item[PARTITION_KEY]!.S}\u0000${item[SORT_KEY]!.S}`, { request: { PutRequest: { Item: item } }, weight: 1 });
    });
    if (requests.size > 0) await this.table.writeRequests([...requests.values()]);
  }

  async readMinutes(prefix: string, fromMs: number, toMs: number): Promise<RoutingMinute[]> {
    parseValidPrefix(prefix, "prefix");
    const since = Math.max(fromMs, earliestRetainedMs(this.retentionDays, "minute", this.clock()));
    if (!(Number.isFinite(since) && Number.isFinite(toMs)) || toMs <= since) return [];
    const reads: Array<{ pk: string; low: string; high: string }> = [];
    const DAY = 24 * HOUR_MS;
    for (let day = Math.floor(since / DAY) * DAY; day < toMs; day += DAY) {
      const first = routingMinuteKey(prefix, Math.floor(Math.max(since, day) / MINUTE_MS) * MINUTE_MS);
      const last = routingMinuteKey(prefix, Math.floor((Math.min(toMs, day + DAY) - 1) / MINUTE_MS) * MINUTE_MS);
      reads.push({ pk: first.pk, low: first.sk, high: last.sk });
    }
    const pages = await mapWithConcurrency(reads, this.table.concurrency, ({ pk, low, high }) =>
      this.table.queryAll(sortKeyRangeQuery(pk, low, high), { consistent: false }),
    );
    return pages
      .flat()
      .map((item) => decodeRoutingMinuteItem(item, prefix))
      .filter((minute) => minute.minuteStartMs >= since && minute.minuteStartMs < toMs)
      .sort((a, b) => a.minuteStartMs - b.minuteStartMs);
  }

  async readArchiveCursors(): Promise<ArchiveCursor[]> {
    const items = await this.table.queryAll(sortKeyRangeQuery(ARCHIVE_CURSOR_PARTITION, undefined, undefined), { consistent: true });
    return items.map((item) => {
      const archive = item.archive?.S;
      const collector = item.collector?.S;
      const fileTimeMs = Number(item.fileTimeMs?.N);
      if (!isArchive(archive) || collector === undefined || !Number.isSafeInteger(fileTimeMs))
        throw corrupt(item, "is not an archive cursor");
      return { archive, collector, fileTimeMs };
    });
  }

  /** Forward only: PutItem IF absent OR fileTimeMs < the new one. */
  advanceArchiveCursor(cursor: ArchiveCursor): Promise<boolean> {
    if (!isArchive(cursor.archive) || !Number.isSafeInteger(cursor.fileTimeMs)) throw invalid("not an archive cursor");
    return this.table.putUnless(`archive cursor of ${cursor.collector}`, {
      Item: {
        [PARTITION_KEY]: { S: ARCHIVE_CURSOR_PARTITION },
        [SORT_KEY]: { S: archiveCursorSortKey(cursor.archive, cursor.collector) },
        archive: { S: cursor.archive },
        collector: { S: cursor.collector },
        fileTimeMs: { N: String(cursor.fileTimeMs) },
      },
      ConditionExpression: "attribute_not_exists(#pk) OR #t < :t",
      ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#t": "fileTimeMs" },
      ExpressionAttributeValues: { ":t": { N: String(cursor.fileTimeMs) } },
    });
  }

  private async indexSources(sources: ReadonlySet<string>): Promise<void> {
    const fresh = [...sources].filter((source) => !this.indexedSources.has(source));
    if (fresh.length === 0) return;
    await this.table.writeRequests(
      fresh.map((source) => ({
        request: {
          PutRequest: {
            Item: {
              [PARTITION_KEY]: { S: ROUTING_SOURCE_INDEX_PARTITION },
              [SORT_KEY]: { S: escapeKeyPart(source) },
              source: { S: source },
            },
          },
        },
        weight: 1,
      })),
    );
    for (const source of fresh) this.indexedSources.add(source);
  }

  private async listSources(): Promise<string[]> {
    const items = await this.table.queryAll(sortKeyRangeQuery(ROUTING_SOURCE_INDEX_PARTITION, undefined, undefined), {
      consistent: true,
    });
    return items.map((item) => {
      const source = item.source?.S;
      if (source === undefined) throw corrupt(item, "is not a feed index item");
      return source;
    });
  }
}

function parseValidPrefix(text: string, what: string): Prefix {
  // Keys hold the text: only the one canonical spelling of a prefix may reach them.
  const parsed = typeof text === "string" ? parsePrefix(text) : null;
  if (parsed?.prefix == null || formatPrefix(parsed.prefix) !== text)
    throw invalid(`${what} ${JSON.stringify(text)} is not a canonical prefix`);
  return parsed.prefix;
}

function isArchive(value: unknown): value is CollectorArchive {
  return (COLLECTOR_ARCHIVES as readonly unknown[]).includes(value);
}
