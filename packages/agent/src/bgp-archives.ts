// The scheduled BGP run: read the newest update files of the configured
// collectors from the public archives (core's archiveFilesToFetch plans which),
// stream each through the MRT decoder into ingestBgpEvents, and move the
// collector's cursor past a file only once it is written to its end. Files
// are downloaded whole (capped at maxBytes) and then decoded as a stream.
//
// Per collector, files go oldest first and a file that is not done stops the
// collector for this run (the cursor never skips a file silently):
// - 404 (not yet published): not an error; the next run asks again;
// - corrupt or cut (the decoder stops at a bad record), or over the size cap:
//   the events before the fault are kept (ingest writes them), the failure is
//   reported with its byte offset, and the cursor stays, so the next run
//   reads the file again (its first events are then duplicates and write
//   nothing) in case the archive replaces it;
// - either kind is given up on once mayGiveUpArchiveFile says the file had
//   long enough (default an hour past its publication): the cursor moves past
//   it and the report says so, so one bad file never blocks a collector forever;
// - HTTP errors, timeouts and network failures are retried on the next run,
//   never given up on (the archive, not the file, is the problem).

import { decompressedBytes, readMrtEvents } from "@popwatch/bgp";
import {
  type ArchiveCursorRepository,
  type ArchiveFile,
  type BgpConfig,
  type BgpEvent,
  type RoutingRepository,
  archiveFilesToFetch,
  mayGiveUpArchiveFile,
} from "@popwatch/core";
import { httpRequest } from "@popwatch/notify";
import type { Dispatcher } from "undici";
import { type BgpIngestOptions, type BgpIngestReport, ingestBgpEvents } from "./bgp-ingest";

/** Decodes an MRT file body (gzip, bzip2 or plain) into events of `source` (the collector); throws at a bad record after yielding those before. */
export type MrtEventDecoder = (body: AsyncIterable<Uint8Array>, source: string) => AsyncIterable<BgpEvent>;

/** @popwatch/bgp's reader: compression by magic bytes, events of `source`; an MrtDecodeError (code, offset) at a bad record. */
export const mrtArchiveEvents: MrtEventDecoder = (body, source) => readMrtEvents(decompressedBytes(body), { source });

/** Why a file was not read to its end (a closed set; branch on it, never on messages). */
export type ArchiveFailureCode =
  /** 404: not published (yet). */
  | "archive_missing"
  /** Any other non-2xx status. */
  | "archive_http"
  /** Connection refused, reset, DNS, or the body stopped mid-transfer. */
  | "archive_unreachable"
  /** No answer, or no progress, within the timeout. */
  | "archive_timeout"
  /** The file is larger than the cap. */
  | "archive_too_large"
  /** The decoder found a bad record or a broken compressed stream. */
  | "archive_corrupt";

export interface ArchiveFailure {
  code: ArchiveFailureCode;
  message: string;
  /** For archive_corrupt: the decoder's byte offset (in the decompressed stream). */
  offset?: number;
}

export type ArchiveFileOutcome =
  | { file: ArchiveFile; status: "ingested"; ingest: BgpIngestReport }
  /** Not done; the cursor stays in front of it and the next run tries again. */
  | { file: ArchiveFile; status: "retry"; failure: ArchiveFailure; ingest?: BgpIngestReport }
  /** Given up on after the grace period: the cursor moved past it. */
  | { file: ArchiveFile; status: "skipped"; failure: ArchiveFailure; ingest?: BgpIngestReport };

export interface ArchiveRunReport {
  files: ArchiveFileOutcome[];
  /** Sums over the files. */
  read: number;
  matched: number;
  written: number;
  duplicates: number;
}

export const ARCHIVE_FETCH_DEFAULTS = Object.freeze({
  /**
   * Compressed bytes of one file, held in memory while it is decoded. A RIS
   * rrc00 5-minute file is 1–20 MB gzip'd, a RouteViews 15-minute file 2–10 MB
   * bzip2'd; a session reset that resends whole tables a few times that.
   */
  maxBytes: 128 * 1024 * 1024,
  /** Per file: headers, and then between body chunks. */
  timeoutMs: 60_000,
});

export interface ArchiveFetchOptions {
  /** The run's instant (the scheduled event's time): what is published by now. */
  nowMs: number;
  /** Default mrtArchiveEvents. */
  decode?: MrtEventDecoder;
  /** Ingest options (the routing fold, batch sizes). */
  ingest?: BgpIngestOptions;
  /** Files per collector per run (core's default when absent). */
  maxFiles?: number;
  maxCatchUpMs?: number;
  giveUpAfterMs?: number;
  maxBytes?: number;
  timeoutMs?: number;
  /** Start no new file after this instant (epoch ms by `clock`): the run ends before its Lambda timeout. */
  deadlineMs?: number;
  clock?: () => number;
  /** undici dispatcher (tests, proxies). */
  dispatcher?: Dispatcher;
}

/** One scheduled run over every configured collector. Store failures reject; file failures are outcomes. */
export async function fetchArchiveUpdates(
  repo: RoutingRepository & ArchiveCursorRepository,
  bgp: Pick<BgpConfig, "collectors" | "archives"> & { prefixes: ReadonlyArray<{ prefix: string }> },
  options: ArchiveFetchOptions,
): Promise<ArchiveRunReport> {
  const clock = options.clock ?? Date.now;
  const cursors = await repo.readArchiveCursors();
  const lastFetched: Record<string, number> = {};
  for (const cursor of cursors) lastFetched[cursor.collector] = cursor.fileTimeMs;
  const plan = archiveFilesToFetch(bgp.collectors, bgp.archives, {
    nowMs: options.nowMs,
    lastFetched,
    ...(options.maxFiles === undefined ? {} : { maxFiles: options.maxFiles }),
    ...(options.maxCatchUpMs === undefined ? {} : { maxCatchUpMs: options.maxCatchUpMs }),
  });
  const report: ArchiveRunReport = { files: [], read: 0, matched: 0, written: 0, duplicates: 0 };
  const stopped = new Set<string>();
  for (const file of plan) {
    if (stopped.has(file.collector)) continue;
    if (options.deadlineMs !== undefined && clock() >= options.deadlineMs) break;
    const outcome = await readArchiveFile(repo, bgp, file, options);
    report.files.push(outcome);
    if (outcome.ingest) {
      report.read += outcome.ingest.read;
      report.matched += outcome.ingest.matched;
      report.written += outcome.ingest.written;
      report.duplicates += outcome.ingest.duplicates;
    }
    if (outcome.status === "retry") stopped.add(file.collector);
    else await repo.advanceArchiveCursor({ archive: file.archive, collector: file.collector, fileTimeMs: file.fileTimeMs });
  }
  return report;
}

async function readArchiveFile(
  repo: RoutingRepository,
  bgp: { prefixes: ReadonlyArray<{ prefix: string }> },
  file: ArchiveFile,
  options: ArchiveFetchOptions,
): Promise<ArchiveFileOutcome> {
  const timeoutMs = options.timeoutMs ?? ARCHIVE_FETCH_DEFAULTS.timeoutMs;
  const verdict = (failure: ArchiveFailure, ingest?: BgpIngestReport): ArchiveFileOutcome => {
    const givesUp =
      (failure.code === "archive_missing" || failure.code === "archive_corrupt" || failure.code === "archive_too_large") &&
      mayGiveUpArchiveFile(file, options.nowMs, options.giveUpAfterMs);
    return { file, status: givesUp ? "skipped" : "retry", failure, ...(ingest ? { ingest } : {}) };
  };

  let response: Dispatcher.ResponseData;
  try {
    response = await httpRequest(file.url, {
      method: "GET",
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    });
  } catch (err) {
    return verdict(networkFailure(err, file.url));
  }
  if (response.statusCode !== 200) {
    await response.body.dump().catch(() => undefined);
    return verdict(
      response.statusCode === 404
        ? { code: "archive_missing", message: `${file.url}: 404, not published yet` }
        : { code: "archive_http", message: `${file.url}: HTTP ${response.statusCode}` },
    );
  }
  const maxBytes = options.maxBytes ?? ARCHIVE_FETCH_DEFAULTS.maxBytes;
  const declared = Number(response.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body.dump().catch(() => undefined);
    return verdict({ code: "archive_too_large", message: `${file.url}: ${declared} bytes, over the cap of ${maxBytes}` });
  }
  // The compressed file is downloaded whole (capped) before decoding: writing to the store is far slower than the
  // archive sends, and a server closes a connection that a slow reader keeps open (a cut transfer would look corrupt).
  const chunks: Uint8Array[] = [];
  try {
    for await (const chunk of cappedBody(response.body, maxBytes, file.url)) chunks.push(chunk);
  } catch (err) {
    response.body.destroy();
    return verdict(classifyInterruption(err, file.url));
  }
  const ingest = await ingestBgpEvents(
    repo,
    bgp,
    (options.decode ?? mrtArchiveEvents)(replay(chunks), file.collector),
    options.ingest ?? {},
  );
  if (ingest.interrupted === undefined) return { file, status: "ingested", ingest };
  return verdict(classifyInterruption(ingest.interrupted, file.url), ingest);
}

async function* replay(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks;
}

class ArchiveTooLargeError extends Error {
  override readonly name = "ArchiveTooLargeError";
}

/** The body's chunks, failing once more than `maxBytes` arrived (so a server without Content-Length cannot fill memory or time). */
async function* cappedBody(body: AsyncIterable<Uint8Array>, maxBytes: number, url: string): AsyncGenerator<Uint8Array> {
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > maxBytes) throw new ArchiveTooLargeError(`${url}: more than ${maxBytes} bytes`);
    yield chunk;
  }
}

/** A decoder failure carries `code` and `offset` (the MRT reader's MrtDecodeError); anything else came from the transfer. */
function classifyInterruption(err: unknown, url: string): ArchiveFailure {
  if (err instanceof ArchiveTooLargeError) return { code: "archive_too_large", message: err.message };
  const loose = (typeof err === "object" && err !== null ? err : {}) as { code?: unknown; offset?: unknown; message?: unknown };
  if (typeof loose.code === "string" && typeof loose.offset === "number") {
    return { code: "archive_corrupt", message: `${url}: ${String(loose.message)}`, offset: loose.offset };
  }
  return networkFailure(err, url);
}

function networkFailure(err: unknown, url: string): ArchiveFailure {
  const loose = (typeof err === "object" && err !== null ? err : {}) as { code?: unknown; name?: unknown };
  const code = typeof loose.code === "string" ? loose.code : typeof loose.name === "string" ? loose.name : "error";
  const timeout = code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT" || code === "UND_ERR_CONNECT_TIMEOUT";
  return { code: timeout ? "archive_timeout" : "archive_unreachable", message: `${url}: ${code}` };
}

/** What one scheduled BGP run did, as the function logs and returns it. */
export interface ArchiveRunSummary {
  files: number;
  ingested: number;
  /** Files left for the next run (not published yet, or a transient failure). */
  retry: number;
  /** Files given up on (the cursor moved past them). */
  skipped: number;
  read: number;
  matched: number;
  written: number;
  duplicates: number;
  failures: Array<{ collector: string; fileTimeMs: number; status: "retry" | "skipped" } & ArchiveFailure>;
}

export function summariseArchiveRun(report: ArchiveRunReport): ArchiveRunSummary {
  const count = (status: ArchiveFileOutcome["status"]) => report.files.filter((f) => f.status === status).length;
  return {
    files: report.files.length,
    ingested: count("ingested"),
    retry: count("retry"),
    skipped: count("skipped"),
    read: report.read,
    matched: report.matched,
    written: report.written,
    duplicates: report.duplicates,
    failures: report.files.flatMap((f) =>
      f.status === "ingested" ? [] : [{ collector: f.file.collector, fileTimeMs: f.file.fileTimeMs, status: f.status, ...f.failure }],
    ),
  };
}
