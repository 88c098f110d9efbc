// Which update files of the public BGP archives the scheduled function reads
// next, and when a file that failed may be given up on. Pure: the clock and
// the per-collector cursors come in as arguments.
//
// Layouts (file time = the start of the interval the file covers, UTC):
//   RIPE RIS   `${base}/${collector}/YYYY.MM/updates.YYYYMMDD.HHMM.gz`, every 5 minutes
//   RouteViews `${base}/bgpdata/YYYY.MM/UPDATES/updates.YYYYMMDD.HHMM.bz2` for route-views2 (the
//              archive's original collector sits at the root), `${base}/${collector}/bgpdata/…` for
//              every other collector, every 15 minutes
// A file is written while its interval runs and uploaded a few minutes after
// it ends, so only files whose interval ended PUBLISH_DELAY ago are asked for;
// one that is still missing then (404) is retried on the next run.

import { MINUTE_MS } from "../time";
import type { CollectorArchive } from "./config";

export interface ArchiveFile {
  collector: string;
  archive: CollectorArchive;
  url: string;
  /** Start of the interval the file covers (its name's time), epoch ms. */
  fileTimeMs: number;
}

/** The file time of the last update file of a collector that was ingested to its end (or given up on). */
export interface ArchiveCursor {
  archive: CollectorArchive;
  collector: string;
  fileTimeMs: number;
}

/** Where the cursors live (the store's table); advancing is conditional, so it never moves back. */
export interface ArchiveCursorRepository {
  readArchiveCursors(): Promise<ArchiveCursor[]>;
  /** Moves the collector's cursor forward to `fileTimeMs`; false when it already was there or later. */
  advanceArchiveCursor(cursor: ArchiveCursor): Promise<boolean>;
}

/** How often each archive starts a new update file. */
export const ARCHIVE_INTERVAL_MS: Readonly<Record<CollectorArchive, number>> = Object.freeze({
  ris: 5 * MINUTE_MS,
  routeviews: 15 * MINUTE_MS,
});

/**
 * How long after its interval ends a file is asked for. RIS usually uploads
 * within a couple of minutes, RouteViews within ten; asking earlier only
 * collects 404s.
 */
export const ARCHIVE_PUBLISH_DELAY_MS: Readonly<Record<CollectorArchive, number>> = Object.freeze({
  ris: 5 * MINUTE_MS,
  routeviews: 10 * MINUTE_MS,
});

/** The collector at the root of the RouteViews archive; every other one has a directory of its own. */
export const ROUTEVIEWS_ROOT_COLLECTOR = "route-views2";

export const ARCHIVE_PLAN_DEFAULTS = Object.freeze({
  /** Files per collector per run: a run every 5 minutes catches up two RIS files a run. */
  maxFiles: 3,
  /** A cursor older than this is not followed file by file: the run starts this far back (the gap is skipped). */
  maxCatchUpMs: 6 * 60 * MINUTE_MS,
  /** A file still missing or corrupt this long after it should have been published is skipped. */
  giveUpAfterMs: 60 * MINUTE_MS,
});

export interface ArchivePlanOptions {
  nowMs: number;
  /** Per collector name: the file time of the last file ingested to its end. None: start with the newest file. */
  lastFetched?: Readonly<Record<string, number>>;
  /** Per collector. Default ARCHIVE_PLAN_DEFAULTS.maxFiles. */
  maxFiles?: number;
  maxCatchUpMs?: number;
}

/**
 * The files to read now, per collector oldest first (a cursor only moves past
 * a file once every file before it is done), at most `maxFiles` each.
 */
export function archiveFilesToFetch(
  collectors: ReadonlyArray<{ name: string; archive: CollectorArchive }>,
  archives: Readonly<Record<CollectorArchive, string>>,
  options: ArchivePlanOptions,
): ArchiveFile[] {
  const maxFiles = options.maxFiles ?? ARCHIVE_PLAN_DEFAULTS.maxFiles;
  const maxCatchUpMs = options.maxCatchUpMs ?? ARCHIVE_PLAN_DEFAULTS.maxCatchUpMs;
  const files: ArchiveFile[] = [];
  for (const { name, archive } of collectors) {
    const interval = ARCHIVE_INTERVAL_MS[archive];
    const newest = newestPublishedFileMs(archive, options.nowMs);
    const cursor = options.lastFetched?.[name];
    const earliest = alignDown(newest - maxCatchUpMs, interval) + interval;
    const first = cursor === undefined ? newest : Math.max(alignDown(cursor, interval) + interval, earliest);
    for (let t = first, n = 0; t <= newest && n < maxFiles; t += interval, n++) {
      files.push({ collector: name, archive, url: archiveFileUrl(archives[archive], archive, name, t), fileTimeMs: t });
    }
  }
  return files;
}

/** The file time of the newest file of the archive that should be published at `nowMs`. */
export function newestPublishedFileMs(archive: CollectorArchive, nowMs: number): number {
  const interval = ARCHIVE_INTERVAL_MS[archive];
  return alignDown(nowMs - ARCHIVE_PUBLISH_DELAY_MS[archive], interval) - interval;
}

/**
 * Whether a file that is missing (404) or corrupt may be skipped: only once it
 * has had `giveUpAfterMs` past its publication to appear or be replaced.
 * Before that the cursor stays in front of it and the next run tries again.
 */
export function mayGiveUpArchiveFile(file: Pick<ArchiveFile, "archive" | "fileTimeMs">, nowMs: number, giveUpAfterMs?: number): boolean {
  const published = file.fileTimeMs + ARCHIVE_INTERVAL_MS[file.archive] + ARCHIVE_PUBLISH_DELAY_MS[file.archive];
  return nowMs >= published + (giveUpAfterMs ?? ARCHIVE_PLAN_DEFAULTS.giveUpAfterMs);
}

export function archiveFileUrl(base: string, archive: CollectorArchive, collector: string, fileTimeMs: number): string {
  const root = base.replace(/\/+$/, "");
  const d = new Date(fileTimeMs);
  const yyyy = String(d.getUTCFullYear()).padStart(4, "0");
  const mm = pad2(d.getUTCMonth() + 1);
  const stamp = `${yyyy}${mm}${pad2(d.getUTCDate())}.${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}`;
  if (archive === "ris") return `${root}/${collector}/${yyyy}.${mm}/updates.${stamp}.gz`;
  const dir = collector === ROUTEVIEWS_ROOT_COLLECTOR ? root : `${root}/${collector}`;
  return `${dir}/bgpdata/${yyyy}.${mm}/UPDATES/updates.${stamp}.bz2`;
}

function alignDown(ms: number, step: number): number {
  return Math.floor(ms / step) * step;
}

function pad2(n: number): string {
  return String(n).padStart(2, "0");
}
