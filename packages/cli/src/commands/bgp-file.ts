// Which reader a file given to `popwatch bgp import` needs (MRT, or RIS Live
// JSON lines), and its failures as data: the events before a bad record are
// yielded and the iteration ends normally, so the ingest pipeline writes them.
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { MrtDecodeError, type MrtWarning, detectCompression, readMrtEvents, readMrtFile, readRisLiveLines } from "@popwatch/bgp";
import type { BgpEvent } from "@popwatch/core";

export interface BgpFileFailure {
  /** The reader's code (`truncated`, `bad-length`, `invalid_json` …), or `unreadable` when the file cannot be opened or read. */
  code: string;
  /** Whole, for people: says where (byte offset, line) and why. */
  message: string;
  /** Byte offset of the bad record or line (MRT: in the decompressed stream). */
  offset: number;
  /** JSON lines: the 1-based line. */
  line?: number;
  /**
   * `fatal`: nothing after it was read (MRT cannot resynchronise past a broken record);
   * `bad-line`: one JSON line skipped, the file is still bad;
   * `skipped-record`: an MRT record with a malformed body skipped as bgpdump skips it (a warning).
   */
  kind: "fatal" | "bad-line" | "skipped-record";
}

export interface BgpFileReading {
  /** The file's events in file order; ends (without throwing) at a fatal failure. */
  events: AsyncIterable<BgpEvent>;
  /** Known once `events` has ended: the first KEPT_FAILURES of them and any fatal one (memory stays bounded on a file of garbage). */
  failures(): readonly BgpFileFailure[];
  /** Of each kind, all counted. */
  failureCount(kind: BgpFileFailure["kind"]): number;
  eventsRead(): number;
  /** Time of the oldest event read (Infinity when none). */
  oldestMs(): number;
}

export const KEPT_FAILURES = 20;

export type BgpFileFormat = "mrt" | "ris-live-json";

const OPEN_BRACE = 0x7b;

/** Compressed files are MRT archives; an uncompressed one starting with `{` is RIS Live JSON lines; anything else MRT. */
export function sniffBgpFormat(head: Uint8Array): BgpFileFormat {
  if (detectCompression(head) !== "none") return "mrt";
  const first = head.findIndex((byte) => byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d);
  return first >= 0 && head[first] === OPEN_BRACE ? "ris-live-json" : "mrt";
}

export function readBgpFile(path: string, options: { source?: string } = {}): BgpFileReading {
  const failures: BgpFileFailure[] = [];
  const counts: Record<BgpFileFailure["kind"], number> = { fatal: 0, "bad-line": 0, "skipped-record": 0 };
  const fail = (failure: BgpFileFailure) => {
    counts[failure.kind]++;
    if (failures.length < KEPT_FAILURES || failure.kind === "fatal") failures.push(failure);
  };
  let read = 0;
  let oldestMs = Number.POSITIVE_INFINITY;
  const count = (event: BgpEvent) => {
    read++;
    if (event.timeMs < oldestMs) oldestMs = event.timeMs;
  };
  async function* events(): AsyncGenerator<BgpEvent> {
    let format: BgpFileFormat;
    try {
      format = sniffBgpFormat(await readHead(path));
    } catch (err) {
      fail(unreadable(err, 0));
      return;
    }
    try {
      if (format === "mrt") {
        const onWarning = (warning: MrtWarning) =>
          fail({ code: warning.code, message: `${warning.message}; record skipped`, offset: warning.offset, kind: "skipped-record" });
        for await (const event of readMrtEvents(readMrtFile(path), { ...options, onWarning })) {
          count(event);
          yield event;
        }
        return;
      }
      for await (const item of readRisLiveLines(createReadStream(path))) {
        if (item.kind === "error") {
          fail({
            code: item.code,
            message: `line ${item.line} (byte ${item.offset}): ${item.code}: ${item.message}; line skipped`,
            offset: item.offset,
            line: item.line,
            kind: "bad-line",
          });
          continue;
        }
        for (const event of item.events) {
          count(event);
          yield event;
        }
      }
    } catch (err) {
      if (err instanceof MrtDecodeError) fail({ code: err.code, message: err.message, offset: err.offset, kind: "fatal" });
      else if (isFileSystemError(err)) fail(unreadable(err, 0));
      else throw err;
    }
  }
  return {
    events: events(),
    failures: () => failures,
    failureCount: (kind) => counts[kind],
    eventsRead: () => read,
    oldestMs: () => oldestMs,
  };
}

async function readHead(path: string): Promise<Uint8Array> {
  const handle = await open(path, "r");
  try {
    const head = new Uint8Array(64);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function isFileSystemError(err: unknown): err is NodeJS.ErrnoException {
  return (
    err instanceof Error &&
    typeof (err as NodeJS.ErrnoException).code === "string" &&
    typeof (err as NodeJS.ErrnoException).syscall === "string"
  );
}

function unreadable(err: unknown, offset: number): BgpFileFailure {
  const code = (err as NodeJS.ErrnoException)?.code;
  return { code: "unreadable", message: `cannot read the file (${code ?? String(err)})`, offset, kind: "fatal" };
}
