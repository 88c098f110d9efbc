// What `popwatch bgp watch` (RIS Live) and `popwatch bgp listen` (BMP) share:
// open the store, run a feed until SIGINT/SIGTERM (or the caller's
// AbortSignal), hand its events to the ingest pipeline in small batches,
// print status lines to stderr, and on the signal write what was received
// before exiting 0.

import { storeRetention } from "@popwatch/agent";
import type { BgpConfig, BgpEvent } from "@popwatch/core";
import { reportConfigProblem } from "../config-file";
import type { Io } from "../io";
import { type OpenStore, openLongLivedStore } from "../local-store";
import { stopOnSignals } from "../signals";
import { reportStoreFailure } from "../store-flags";
import { type LoadedBgpConfig, loadBgpConfig } from "./bgp-config";
import { type IngestCounts, routingAlerter, storeBgpEvents } from "./bgp-store";

/** What a feed yields: an event to store, or a line for the operator (connected, reconnecting, a bad frame). */
export type LiveFeedItem = { kind: "event"; event: BgpEvent } | { kind: "status"; text: string };

export interface LiveFeedOptions {
  /** `bgp watch`, `bgp listen`: prefixes status lines. */
  command: string;
  io: Io;
  /** The feed; it must end once `signal` aborts. */
  feed: AsyncIterable<LiveFeedItem>;
  /** Writes one batch (the ingest pipeline); a throw stops the feed and is rethrown after the batches in flight. */
  ingest(events: readonly BgpEvent[]): Promise<IngestCounts>;
  /** Aborted to stop the feed: on a store failure here, by signals or the caller outside. */
  stop: AbortController;
  /** Counts line every this often (default 10 s). */
  statusEveryMs?: number;
  /** A batch is written when it has this many events (default 500) … */
  batchSize?: number;
  /** … or its first event is this old (default 1 s). */
  batchDelayMs?: number;
}

export interface LiveFeedTotals extends IngestCounts {
  /** Status items and counts lines printed. */
  statusLines: number;
}

const MAX_BATCHES_IN_FLIGHT = 4;

/** Runs the feed to its end; rejects with the first write failure (after stopping the feed). */
export async function runLiveFeed(options: LiveFeedOptions): Promise<LiveFeedTotals> {
  const { command, io, stop } = options;
  const batchSize = options.batchSize ?? 500;
  const batchDelayMs = options.batchDelayMs ?? 1000;
  const totals: LiveFeedTotals = { read: 0, matched: 0, written: 0, duplicates: 0, statusLines: 0 };
  const status = (text: string) => {
    totals.statusLines++;
    io.stderr.write(`popwatch ${command}: ${text}\n`);
  };

  let batch: BgpEvent[] = [];
  let writing: Promise<void> = Promise.resolve();
  let batchesInFlight = 0;
  let writeFailure: unknown = null;
  let batchTimer: NodeJS.Timeout | null = null;
  const flush = () => {
    if (batchTimer !== null) clearTimeout(batchTimer);
    batchTimer = null;
    if (batch.length === 0) return;
    const events = batch;
    batch = [];
    // One batch at a time, in feed order: the pipeline folds events into the routing snapshots.
    batchesInFlight++;
    writing = writing.then(async () => {
      batchesInFlight--;
      if (writeFailure !== null) return;
      try {
        const counts = await options.ingest(events);
        totals.read += counts.read;
        totals.matched += counts.matched;
        totals.written += counts.written;
        totals.duplicates += counts.duplicates;
      } catch (err) {
        writeFailure = err;
        stop.abort();
      }
    });
  };
  const countsLine = () =>
    `${totals.read} events received, ${totals.matched} of watched prefixes, ${totals.written} written, ${totals.duplicates} duplicates`;
  const ticker = setInterval(() => status(countsLine()), options.statusEveryMs ?? 10_000);
  try {
    for await (const item of options.feed) {
      if (item.kind === "status") {
        status(item.text);
        continue;
      }
      batch.push(item.event);
      if (batch.length >= batchSize) flush();
      else batchTimer ??= setTimeout(flush, batchDelayMs);
      // A store slower than the feed: stop pulling (the feed's own queue holds or sheds) instead of buffering without bound.
      if (batchesInFlight > MAX_BATCHES_IN_FLIGHT) await writing;
    }
  } finally {
    clearInterval(ticker);
    flush();
    await writing;
  }
  if (writeFailure !== null) throw writeFailure;
  status(`stopped: ${countsLine()}`);
  return totals;
}

export interface LiveCommandOptions {
  /** `bgp watch`, `bgp listen`. */
  command: string;
  io: Io;
  /** Stops the feed as SIGINT/SIGTERM do; default those signals. */
  signal?: AbortSignal | undefined;
  /** --config as given (default: found in the working directory). */
  configFile: string | undefined;
  dataDir: string;
  statusEverySeconds: number;
  /**
   * Starts the feed once the store is open (`where` names it for the first
   * status line); the feed must end when `stop` aborts. A number is an exit
   * status: the feed could not start, and the reason was written to stderr.
   */
  start(stop: AbortSignal, where: string, bgp: BgpConfig): Promise<AsyncIterable<LiveFeedItem> | number>;
}

/** Loads the config, opens the store (owned, or through the process holding it), runs the feed into it until stopped, closes it. */
export async function runLiveCommand(options: LiveCommandOptions): Promise<number> {
  const { command, io } = options;
  let loaded: LoadedBgpConfig;
  try {
    loaded = await loadBgpConfig(options.configFile);
  } catch (err) {
    return reportConfigProblem(command, err, io);
  }
  const stop = new AbortController();
  const messages = { stopping: "stopping, writing the events received", abandoning: "exiting without writing pending events" };
  const unhook = stopOnSignals(command, io, stop, messages, options.signal);
  try {
    let opened: OpenStore;
    try {
      opened = await openLongLivedStore({ dataDir: options.dataDir, retentionDays: storeRetention(loaded.config) });
    } catch (err) {
      return reportStoreFailure(io, command, err);
    }
    try {
      const feed = await options.start(stop.signal, opened.where, loaded.bgp);
      if (typeof feed === "number") return feed;
      const alertRouting = routingAlerter(command, io, loaded.config, opened);
      await runLiveFeed({
        command,
        io,
        feed,
        ingest: async (events) => {
          const counts = await storeBgpEvents(opened.routing, loaded.bgp, events);
          // A hijack seen by a router is paged within the batch that carried it.
          if (counts.snapshots > 0) await alertRouting();
          return counts;
        },
        stop,
        statusEveryMs: options.statusEverySeconds * 1000,
      });
      return 0;
    } catch (err) {
      return reportStoreFailure(io, command, err, "; events written before the failure stay");
    } finally {
      await opened.close();
    }
  } finally {
    unhook();
  }
}
