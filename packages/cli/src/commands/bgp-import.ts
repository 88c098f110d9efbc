// `popwatch bgp import`: BGP events from files (MRT archives, or RIS Live
// messages saved one JSON object per line) into the store, through the same
// ingest pipeline as the live feeds. Event keys derive from their content, so
// importing a file again writes nothing.
import { storeRetention } from "@popwatch/agent";
import { DAY_MS } from "@popwatch/core";
import { DEFAULT_DATA_DIR } from "@popwatch/store";
import { reportConfigProblem } from "../config-file";
import { UsageError } from "../errors";
import type { Io } from "../io";
import { type OpenStore, openSharedStore } from "../local-store";
import { reportStoreFailure } from "../store-flags";
import { parseFlags } from "./args";
import { type LoadedBgpConfig, loadBgpConfig } from "./bgp-config";
import { type BgpFileFailure, type BgpFileReading, readBgpFile } from "./bgp-file";
import { type IngestCounts, routingAlerter, storeBgpEvents } from "./bgp-store";

export const BGP_IMPORT_USAGE = `Usage: popwatch bgp import [--config FILE] [--data-dir DIR] [--source NAME] FILE...

Reads BGP events from each FILE into the embedded store: MRT (RFC 6396: RIS
and RouteViews update files and RIB dumps, FRR and BIRD dumps; plain, gzip or
bzip2), or RIS Live messages saved one JSON object per line (the
{"type":"ris_message",...} frames, or their "data" objects). Only events of
the watched prefixes (config bgp.prefixes) and their more-specifics are kept;
routing snapshots and per-minute rollups are updated as the live feeds do.

Each file's counts: events read, those of watched prefixes, items written,
and duplicates (already stored, or repeated within the file). An event's key
derives from its content, so importing the same file again writes nothing
and says so. A file that cannot be decoded to its end is
reported with its name and the byte offset where it broke off; the events
before that point are kept, and the remaining files are still read. A bad
JSON line is reported with its line and offset and skipped; an MRT record
whose body is malformed is skipped with a warning, as bgpdump skips it.

Options:
  --config FILE         configuration with a bgp section (default: popwatch.config.{ts,mjs,js,json} here)
  --data-dir DIR        embedded store directory (default ${DEFAULT_DATA_DIR})
  --source NAME         the feed the MRT files come from (rrc00, route-views2, a router); default "mrt"
  -h, --help            this help

Exit status: 0 every file read to its end, 1 a file could not be read or broke off, a bad JSON
line, or a store error (events before the failure stay), 2 usage or configuration error.
`;

const OPTIONS = {
  config: { type: "string" },
  "data-dir": { type: "string" },
  source: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const SOURCE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9.:_-]{0,63}$/;

export async function bgpImportCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseFlags(argv, OPTIONS, true);
  if (values.help) {
    io.stdout.write(BGP_IMPORT_USAGE);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError("missing FILE: popwatch bgp import FILE...");
  if (values.source !== undefined && !SOURCE_PATTERN.test(values.source)) {
    throw new UsageError(`--source: expected a feed name such as rrc00 or route-views2, got "${values.source}"`);
  }
  let loaded: LoadedBgpConfig;
  try {
    loaded = await loadBgpConfig(values.config);
  } catch (err) {
    return reportConfigProblem("bgp import", err, io);
  }

  const retentionDays = storeRetention(loaded.config);
  let opened: OpenStore;
  try {
    opened = await openSharedStore({ dataDir: values["data-dir"] ?? DEFAULT_DATA_DIR, retentionDays });
  } catch (err) {
    return reportStoreFailure(io, "bgp import", err);
  }
  let failed = false;
  let snapshotsChanged = false;
  try {
    for (const file of positionals) {
      const reading = readBgpFile(file, values.source === undefined ? {} : { source: values.source });
      const counts = await storeBgpEvents(opened.routing, loaded.bgp, reading.events);
      if (counts.snapshots > 0) snapshotsChanged = true;
      const failures = reading.failures();
      const fatal = reading.failureCount("fatal") > 0;
      io.stdout.write(`${file}: ${describeCounts(counts)}${fatal ? " (up to the failure below)" : ""}\n`);
      for (const failure of failures) io.stderr.write(`popwatch bgp import: ${file}: ${describeFailure(failure, reading)}\n`);
      for (const kind of ["bad-line", "skipped-record"] as const) {
        const unshown = reading.failureCount(kind) - failures.filter((failure) => failure.kind === kind).length;
        if (unshown > 0)
          io.stderr.write(
            `popwatch bgp import: ${file}: ${unshown} more ${kind === "bad-line" ? "bad lines" : "malformed records"} skipped\n`,
          );
      }
      // Malformed records are skipped as bgpdump skips them; a bad line or a file that breaks off fails the import.
      if (fatal || reading.failureCount("bad-line") > 0) failed = true;
      if (reading.oldestMs() < Date.now() - retentionDays.raw * DAY_MS) {
        io.stderr.write(
          `popwatch bgp import: ${file}: some events are older than the raw retention (${retentionDays.raw} d): ` +
            `they are stored already expired, "bgp events" does not list them and the next expiry pass deletes them\n`,
        );
      }
    }
    // What the files changed is judged once, after the last: one notification per alert, not one per file.
    if (snapshotsChanged) await routingAlerter("bgp import", io, loaded.config, opened)();
  } catch (err) {
    return reportStoreFailure(io, "bgp import", err, "; events written before the failure stay, importing again completes the rest");
  } finally {
    await opened.close();
  }
  return failed ? 1 : 0;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** `read 1200 events, 14 of watched prefixes, 10 written, 4 duplicates`; says so when nothing was new. */
function describeCounts(counts: IngestCounts): string {
  const base = `read ${plural(counts.read, "event")}, ${counts.matched} of watched prefixes, ${counts.written} written, ${counts.duplicates} duplicates`;
  return counts.matched > 0 && counts.written === 0 ? `${base}: nothing new (already imported)` : base;
}

function describeFailure(failure: BgpFileFailure, reading: BgpFileReading): string {
  if (failure.kind !== "fatal") return failure.message;
  return `${failure.message}; the ${plural(reading.eventsRead(), "event")} before it were imported, the rest of the file was not read`;
}
