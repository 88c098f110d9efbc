// The range a reader actually reads, said out loud when retention cut it: a
// `--since 30d` that quietly lists 9 days would read as "nothing happened
// before". The decision is core's retainedRange; this only words it.
import { DEFAULT_RETENTION_DAYS, type RetainedKind, type RetainedRange, type RetentionDays, retainedRange } from "@popwatch/core";
import type { Io } from "./io";

/**
 * The retention a reader's store applies when no config gives one (commands
 * open the store with the config's retention when they read a config), so
 * the range said is the range the store reads.
 */
export const READER_RETENTION: Readonly<RetentionDays> = DEFAULT_RETENTION_DAYS;

const KIND_TEXT: Record<RetainedKind, string> = {
  raw: "raw",
  minute: "minute rollup",
  hour: "hour rollup",
  day: "day rollup",
};

export interface ReadRangeRequest {
  command: string;
  /** The flag and value the start came from, as typed: `--since 30d`. */
  asked: string;
  kind: RetainedKind;
  fromMs: number;
  toMs: number;
  nowMs: number;
  /** The retention the store was opened with (the config's); READER_RETENTION when absent. */
  retention?: Readonly<RetentionDays>;
}

/** retainedRange of the request; when it narrowed, one line on stderr naming the retention and the range read. */
export function readRange(io: Io, request: ReadRangeRequest): RetainedRange {
  const range = retainedRange(
    request.retention ?? READER_RETENTION,
    request.kind,
    { fromMs: request.fromMs, toMs: request.toMs },
    request.nowMs,
  );
  if (range.narrowed) {
    io.stderr.write(
      `popwatch ${request.command}: ${request.asked} reaches past the ${KIND_TEXT[request.kind]} retention (${range.retentionDays} d): ` +
        `read ${rangeText(range)}\n`,
    );
  }
  return range;
}

/** `2026-11-27T12:00:00.000Z to 2026-12-06T12:00:00.000Z` (the same instant twice when everything asked for has expired). */
export function rangeText(range: { fromMs: number; toMs: number }): string {
  return `${new Date(range.fromMs).toISOString()} to ${new Date(range.toMs).toISOString()}`;
}
