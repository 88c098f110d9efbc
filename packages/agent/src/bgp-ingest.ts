// BGP events from any reader (an MRT file, RIS Live, BMP) into the store: the
// events of the watched prefixes, then each watched prefix's snapshot and
// per-minute rollups. The scheduled function and `popwatch bgp import` share
// it. Memory is bounded: the stream is read batch by batch, and folding reads
// back at most FOLD_WINDOW_MINUTES of one prefix's events at a time.
//
// Why fold from events read back rather than from the stream: a minute's
// rollup replaces the stored one, so it must count every event of that
// minute, including those an earlier run or another feed wrote; the store
// already dropped the copies a re-read or an overlap brought.

import {
  type BgpEvent,
  MINUTE_MS,
  type Prefix,
  type RoutingMinute,
  type RoutingRepository,
  type RoutingSnapshot,
  parsePrefix,
  prefixContains,
  routingMinutes,
} from "@popwatch/core";
import { StoreError } from "@popwatch/store";

/** The fold of a prefix's events into its snapshot and minutes: core's `routingMinutes` (the type names the contract). */
export type RoutingFold = (
  before: RoutingSnapshot | null,
  watched: { prefix: string },
  events: readonly BgpEvent[],
) => { snapshot: RoutingSnapshot; minutes: RoutingMinute[] };

export const BGP_INGEST_DEFAULTS = Object.freeze({
  /** Events per putEvents call. */
  batchSize: 500,
  /** Minutes of one prefix's events read back and folded at once. */
  foldWindowMinutes: 60,
  /** Times a snapshot write that lost to a concurrent writer is redone (read, fold, put). */
  conflictRetries: 5,
});

export interface BgpIngestOptions {
  /** Default core's routingMinutes; null writes events only (no snapshots, no minutes). */
  fold?: RoutingFold | null;
  batchSize?: number;
  foldWindowMinutes?: number;
  conflictRetries?: number;
}

export interface BgpIngestReport {
  /** Events the stream yielded. */
  read: number;
  /** Events kept: route events inside a watched prefix, and peer state events. */
  matched: number;
  /** Store items newly written (one per watched prefix an event falls in). */
  written: number;
  /** Items already stored (a re-read, a retry, an overlapping feed) or repeated within the input. */
  duplicates: number;
  /** Routing minutes written. */
  minutes: number;
  /** Snapshots written. */
  snapshots: number;
  /**
   * What the event stream threw, after everything it yielded before was
   * written and folded (a corrupt or cut file); the caller classifies it.
   */
  interrupted?: unknown;
}

/**
 * Reads `events` to their end, writes those of the watched prefixes, then
 * folds every minute they touched into snapshots and minutes. An endless feed
 * (RIS Live, BMP) is ingested slice by slice (e.g. the events of every few
 * seconds, one call each): folding happens when a call's stream ends. Store failures
 * reject (StoreError); a failure of the stream itself is returned as
 * `interrupted`, with everything before it kept.
 */
export async function ingestBgpEvents(
  repo: RoutingRepository,
  bgp: { prefixes: ReadonlyArray<{ prefix: string }> },
  events: AsyncIterable<BgpEvent>,
  options: BgpIngestOptions = {},
): Promise<BgpIngestReport> {
  const batchSize = Math.max(1, options.batchSize ?? BGP_INGEST_DEFAULTS.batchSize);
  const watched = bgp.prefixes.map((w) => ({ text: w.prefix, prefix: parseWatched(w.prefix) }));
  const watchedTexts = watched.map((w) => w.text);
  const filter = new WatchedFilter(watched);
  const touched = new Map<string, Set<number>>(watchedTexts.map((text) => [text, new Set<number>()]));
  const report: BgpIngestReport = { read: 0, matched: 0, written: 0, duplicates: 0, minutes: 0, snapshots: 0 };

  let batch: BgpEvent[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const put = await repo.putEvents(watchedTexts, batch);
    report.written += put.written;
    report.duplicates += put.duplicates;
    batch = [];
  };
  try {
    for await (const event of events) {
      report.read++;
      const inside = filter.watchedOf(event);
      if (inside.length === 0) continue;
      report.matched++;
      const minute = Math.floor(event.timeMs / MINUTE_MS) * MINUTE_MS;
      for (const text of inside) touched.get(text)!.add(minute);
      batch.push(event);
      if (batch.length >= batchSize) await flush();
    }
  } catch (err) {
    if (err instanceof StoreError) throw err;
    report.interrupted = err;
  }
  await flush();

  const fold = options.fold === undefined ? routingMinutes : options.fold;
  if (fold !== null) {
    for (const [prefix, minutes] of touched) {
      for (const window of foldWindows(minutes, options.foldWindowMinutes ?? BGP_INGEST_DEFAULTS.foldWindowMinutes)) {
        const done = await foldWindow(repo, prefix, window, fold, options.conflictRetries ?? BGP_INGEST_DEFAULTS.conflictRetries);
        report.minutes += done;
        report.snapshots++;
      }
    }
  }
  return report;
}

/** Which watched prefixes an event belongs to: every one for a peer state event (a session change moves every prefix's visibility). */
class WatchedFilter {
  // Update files repeat prefixes; a parse per distinct prefix, bounded.
  private readonly cache = new Map<string, string[]>();
  private static readonly CACHE_LIMIT = 50_000;

  constructor(private readonly watched: ReadonlyArray<{ text: string; prefix: Prefix }>) {}

  watchedOf(event: BgpEvent): readonly string[] {
    if (event.type === "STATE") return this.watched.map((w) => w.text);
    let inside = this.cache.get(event.prefix);
    if (inside === undefined) {
      const parsed = parsePrefix(event.prefix).prefix;
      inside = parsed === null ? [] : this.watched.filter((w) => prefixContains(w.prefix, parsed)).map((w) => w.text);
      if (this.cache.size >= WatchedFilter.CACHE_LIMIT) this.cache.clear();
      this.cache.set(event.prefix, inside);
    }
    return inside;
  }
}

/** Touched minutes grouped into [fromMs, toMs) windows of at most `windowMinutes`, in time order. */
export function foldWindows(minutes: ReadonlySet<number>, windowMinutes: number): Array<{ fromMs: number; toMs: number }> {
  const sorted = [...minutes].sort((a, b) => a - b);
  const windows: Array<{ fromMs: number; toMs: number }> = [];
  for (const minute of sorted) {
    const last = windows.at(-1);
    if (last !== undefined && minute + MINUTE_MS - last.fromMs <= windowMinutes * MINUTE_MS) last.toMs = minute + MINUTE_MS;
    else windows.push({ fromMs: minute, toMs: minute + MINUTE_MS });
  }
  return windows;
}

/** Read back, fold, write minutes and the snapshot; redone from a fresh read when another writer got in first. */
async function foldWindow(
  repo: RoutingRepository,
  prefix: string,
  window: { fromMs: number; toMs: number },
  fold: RoutingFold,
  retries: number,
): Promise<number> {
  // Minutes are written before the snapshot, and a writer whose snapshot put loses reads the events again: the
  // last minutes written are then always those of a writer that saw every event written before its snapshot read.
  for (let attempt = 0; ; attempt++) {
    const before = await repo.getSnapshot(prefix);
    const events = await repo.queryEvents({ prefixes: [prefix], fromMs: window.fromMs, toMs: window.toMs });
    const { snapshot, minutes } = fold(before, { prefix }, events);
    await repo.putMinutes(minutes);
    try {
      await repo.putSnapshot(snapshot);
      return minutes.length;
    } catch (err) {
      if (!(err instanceof StoreError && err.code === "store_conflict") || attempt >= retries) throw err;
    }
  }
}

function parseWatched(text: string): Prefix {
  const parsed = parsePrefix(text).prefix;
  if (parsed === null) throw new RangeError(`bgp.prefixes: ${text} is not a prefix (validate the config first)`);
  return parsed;
}
