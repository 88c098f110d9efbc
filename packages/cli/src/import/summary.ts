// What an import did, counted as it goes: printed at the end whatever
// happened (also after a store error, with what was written by then), and,
// on a terminal, as a progress line every second.
import type { Origin } from "./batcher";

export class ImportTally {
  /** Records read (lines, or elements of an Atlas array). */
  records = 0;
  /** Results the store has taken. */
  written = 0;
  /** Identical lines of a batch counted once. */
  repeated = 0;
  /** Lines reported as FILE:LINE: reason. */
  bad = 0;
  /** Atlas results (or resultset entries) not mapped, by reason, with the first place each reason was seen. */
  readonly unmapped = new Map<string, { count: number; first: Origin }>();
  rollups = 0;
  /** Vantages registered, and those of them absent from the probe archive. */
  vantages = 0;
  unlocated = 0;
  /** Earliest result time written (ms), for the retention warning. */
  oldestMs = Number.POSITIVE_INFINITY;

  countUnmapped(reason: string, origin: Origin): void {
    const seen = this.unmapped.get(reason);
    if (seen === undefined) this.unmapped.set(reason, { count: 1, first: origin });
    else seen.count++;
  }

  get unmappedTotal(): number {
    let total = 0;
    for (const { count } of this.unmapped.values()) total += count;
    return total;
  }
}

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

/** The one-line summary on stdout: `imported N results from FILE into WHERE; ...`. */
export function formatSummary(tally: ImportTally, files: readonly string[], where: string): string {
  const from = files.length === 1 ? files[0] : `${files.length} files`;
  const parts = [
    `imported ${plural(tally.written, "result")} from ${from} into ${where}` +
      (tally.repeated > 0 ? ` (${plural(tally.repeated, "repeated line")} counted once)` : ""),
    `${tally.rollups} rollups rebuilt`,
  ];
  if (tally.vantages > 0) {
    parts.push(
      `${plural(tally.vantages, "vantage")} registered` +
        (tally.unlocated > 0 ? ` (${tally.unlocated} not in the probe archive: location unknown)` : ""),
    );
  }
  if (tally.bad > 0) parts.push(`${plural(tally.bad, "bad line")} skipped`);
  if (tally.unmapped.size > 0) {
    const reasons = [...tally.unmapped]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([reason, { count, first }]) => `${reason} ${count}, first at ${first.file}:${first.line}`);
    parts.push(`${plural(tally.unmappedTotal, "Atlas result")} not mapped (${reasons.join("; ")})`);
  }
  return `${parts.join("; ")}\n`;
}

interface Terminal {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

/** `read N records, wrote M results (R/s)` every second on a terminal; nothing otherwise. */
export function startProgress(stderr: Terminal, tally: ImportTally, nowMs: () => number = Date.now): { stop(): void } {
  if (stderr.isTTY !== true) return { stop() {} };
  const startedMs = nowMs();
  const timer = setInterval(() => {
    const seconds = Math.max((nowMs() - startedMs) / 1000, 0.001);
    stderr.write(`\rread ${tally.records} records, wrote ${tally.written} results (${Math.round(tally.written / seconds)}/s)\x1b[K`);
  }, 1000);
  timer.unref();
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      stderr.write("\r\x1b[K");
    },
  };
}
