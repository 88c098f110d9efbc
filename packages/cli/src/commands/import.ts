// `popwatch import`: results recorded elsewhere (`popwatch probe --json` lines,
// or RIPE Atlas API results) into the store, streamed: files of any size are
// read record by record in bounded memory, judged line by line, and written
// in batches whose keys derive from their content, so importing a file again
// overwrites the same items instead of adding.
import { createReadStream } from "node:fs";
import { open, readFile } from "node:fs/promises";
import type { Readable } from "node:stream";
import { storeRetention } from "@popwatch/agent";
import {
  DAY_MS,
  DEFAULT_RETENTION_DAYS,
  type RetentionDays,
  VANTAGE_NAME_PATTERN,
  type Vantage,
  createPopIdentifier,
} from "@popwatch/core";
import { type AtlasMapOptions, type AtlasProbeInfo, atlasVantage, readAtlasProbeArchive } from "@popwatch/probes";
import { StoreError } from "@popwatch/store";
import { loadConfig, reportConfigProblem } from "../config-file";
import { UsageError } from "../errors";
import { atlasProbeIdOf, parseAtlasRecord } from "../import/atlas-record";
import { BatchWriter } from "../import/batch-writer";
import { type BatchEntry, Batcher } from "../import/batcher";
import { resultProblem } from "../import/judge";
import { parseImportLine } from "../import/popwatch-line";
import { type ImportRecord, type RecordOptions, autoRecords, lineRecords } from "../import/records";
import { ImportTally, formatSummary, startProgress } from "../import/summary";
import type { Io } from "../io";
import { type OpenStore, openSharedStore } from "../local-store";
import { STORE_FLAGS_USAGE, STORE_FLAG_OPTIONS, openChosenStore, reportStoreFailure, storeChoice } from "../store-flags";
import { parseFlags } from "./args";

export { parseImportLine } from "../import/popwatch-line";

export const IMPORT_USAGE = `Usage: popwatch import [--format popwatch|atlas] [--probes PROBES.json] [--region R] [--strict]
                       [--config FILE] [store flags] FILE...

Loads results into the store, streaming: files of any size are read record
by record in bounded memory. FILE "-" reads standard input.

--format popwatch (the default): one JSON object per line, the
"popwatch probe --json" format plus
  "region"   where it was probed from (or pass --region for lines without one)
  "time"     the slot it belongs to, ISO 8601 (default: its startedAt)
("popwatch results --json" output, with slotAt, imports as well.) startedAt is
kept when present, else set to time.

--format atlas: RIPE Atlas API results (dns, ping, http, sslcert), as the
API's JSON array or one result per line. Each Atlas probe is a vantage named
atlas-<prb_id>; --probes reads the probe archive (the objects[] of
/api/v2/probes/ or the daily archive file) for its country, ASN and
location. Every vantage seen is registered; one absent from the archive is
registered with its location unknown, and counted. Results that cannot be
mapped are counted by reason in the summary.

Every line (or array element) is judged on its own: a bad one is reported as
FILE:LINE: reason (an element by the line it starts on) and the good ones are
imported; a time before 2000 or more than a day ahead, or a result larger
than the store takes, makes a line bad. Lines are written in batches of one
hour's results, keyed by a digest of their lines, so importing the same file
again writes nothing new and completes an import that stopped. Identical lines
of a batch count once. Each batch's minute rollups are rebuilt as it is
written, the hour and day buckets once at the end. A summary is printed at the
end, also after a store error; on a terminal, progress every second on stderr.

--strict imports nothing unless every line is good: each file is read twice,
a first pass that only judges its lines, then the import (so not with "-").

Options:
  --format F            popwatch (default) or atlas
  --probes FILE         the RIPE Atlas probe archive (JSON), with --format atlas
  --region R            region of lines that name none (popwatch format)
  --strict              import nothing unless every line is good
  --config FILE         take retention (expiry of the imported items) from this config
${STORE_FLAGS_USAGE}
  -h, --help            this help

Exit status: 0 every line imported, 1 bad lines, unmapped Atlas results or a store error, 2 usage or configuration error.
`;

const OPTIONS = {
  ...STORE_FLAG_OPTIONS,
  format: { type: "string" },
  probes: { type: "string" },
  region: { type: "string" },
  strict: { type: "boolean" },
  config: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const FORMATS = ["popwatch", "atlas"] as const;
type ImportFormat = (typeof FORMATS)[number];

/** Longest record read; longer ones are bad lines, skipped without being held (a result the store takes is far smaller). */
const RECORD_OPTIONS: RecordOptions = { maxBytes: 1024 * 1024 };
/** Batches written at once. */
const WRITE_CONCURRENCY = 4;
/** Vantages per putVantages call. */
const VANTAGES_PER_PUT = 500;
const STDIN = "-";

interface ImportPlan {
  format: ImportFormat;
  files: string[];
  region: string | undefined;
  nowMs: number;
  atlas: AtlasMapOptions;
}

/**
 * One record judged: the results to store, the parts it could not map, and
 * the first reason a result of it cannot be stored (the record is then a bad
 * line; its other results, of a `resultset`, are still stored).
 */
type Judged = { entries: Omit<BatchEntry, "origin">[]; unmapped: readonly string[]; problem: string | null } | { error: string };

function judge(plan: ImportPlan, text: string): Judged {
  const parsed = plan.format === "atlas" ? parseAtlasRecord(text, plan.atlas) : parseImportLine(text, plan.region);
  if ("error" in parsed) return parsed;
  const results = "results" in parsed ? parsed.results : [parsed];
  let problem: string | null = null;
  const entries = results.filter(({ result }) => {
    const reason = resultProblem(result, plan.nowMs);
    problem ??= reason;
    return reason === null;
  });
  return { entries, unmapped: "unmapped" in parsed ? parsed.unmapped : [], problem };
}

function records(plan: ImportPlan, file: string): AsyncGenerator<ImportRecord> {
  const source: Readable = file === STDIN ? process.stdin : createReadStream(file, { highWaterMark: 1024 * 1024 });
  return plan.format === "atlas" ? autoRecords(source, RECORD_OPTIONS) : lineRecords(source, RECORD_OPTIONS);
}

/** Reads every record of every file, judging each; `onGood` gets the good ones. Read errors stop a file and count as a bad line. */
async function eachRecord(
  plan: ImportPlan,
  io: Io,
  tally: ImportTally,
  onGood: (file: string, line: number, judged: Extract<Judged, { entries: unknown }>) => Promise<void>,
  onFileEnd: () => Promise<void>,
): Promise<void> {
  const bad = (file: string, line: number, reason: string) => {
    tally.bad++;
    io.stderr.write(`${file}:${line}: ${reason}\n`);
  };
  for (const file of plan.files) {
    let lastLine = 0;
    try {
      for await (const record of records(plan, file)) {
        tally.records++;
        lastLine = record.line;
        if ("problem" in record) {
          bad(file, record.line, record.problem);
          continue;
        }
        const judged = judge(plan, record.text);
        if ("error" in judged) {
          bad(file, record.line, judged.error);
          continue;
        }
        if (judged.problem !== null) bad(file, record.line, judged.problem);
        await onGood(file, record.line, judged);
      }
    } catch (err) {
      if (err instanceof StoreError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === undefined) throw err;
      bad(file, lastLine + 1, `cannot read further: ${code}`);
    }
    await onFileEnd();
  }
}

export async function importCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals: files } = parseFlags(argv, OPTIONS, true);
  const positionals: string[] = files;
  if (values.help) {
    io.stdout.write(IMPORT_USAGE);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError("missing FILE: popwatch import FILE...");
  const format = (values.format ?? "popwatch") as ImportFormat;
  if (!FORMATS.includes(format)) throw new UsageError(`--format: expected popwatch or atlas, got "${values.format}"`);
  if (values.region !== undefined && !VANTAGE_NAME_PATTERN.test(values.region)) {
    throw new UsageError(`--region: expected lowercase letters, digits and '-', got "${values.region}"`);
  }
  if (values.region !== undefined && format === "atlas")
    throw new UsageError("--region: Atlas results name their vantage (atlas-<prb_id>)");
  if (values.probes !== undefined && format !== "atlas") throw new UsageError("--probes: only with --format atlas");
  if (positionals.filter((file) => file === STDIN).length > 1) throw new UsageError('"-" (standard input) can be read once');
  if (values.strict && positionals.includes(STDIN)) throw new UsageError('--strict reads each file twice: not with "-" (standard input)');
  const choice = storeChoice(values);
  for (const file of positionals) if (file !== STDIN) await checkReadable(file);

  let retentionDays: RetentionDays = { ...DEFAULT_RETENTION_DAYS };
  const nowMs = Date.now();
  const atlas: AtlasMapOptions = { now: nowMs };
  if (values.config !== undefined) {
    try {
      const { config } = await loadConfig(values.config);
      retentionDays = storeRetention(config);
      // Imported answers name their PoP by the same rules as the config's probes.
      atlas.identifyPop = createPopIdentifier(config.popIdentification);
    } catch (err) {
      return reportConfigProblem("import", err, io);
    }
  }
  const archive = values.probes === undefined ? null : await readProbeArchive(values.probes, io);
  const plan: ImportPlan = { format, files: positionals, region: values.region, nowMs, atlas };

  if (values.strict) {
    const check = new ImportTally();
    await eachRecord(
      plan,
      io,
      check,
      async () => {},
      async () => {},
    );
    if (check.bad > 0) {
      io.stderr.write(`popwatch import: ${check.bad} bad line${check.bad === 1 ? "" : "s"}; nothing imported (--strict)\n`);
      return 1;
    }
  }

  let opened: OpenStore;
  try {
    // The embedded store takes the retention for the items' expiry; a table's is the deployment's.
    opened = choice.kind === "embedded" ? await openSharedStore({ dataDir: choice.dataDir, retentionDays }) : await openChosenStore(choice);
  } catch (err) {
    return reportStoreFailure(io, "import", err, "; nothing was imported");
  }
  const tally = new ImportTally();
  const progress = startProgress(io.stderr, tally);
  const vantages = new Set<string>();
  const writer = new BatchWriter(opened.store, tally, {
    concurrency: WRITE_CONCURRENCY,
    onRefused: (origin, message) => {
      tally.bad++;
      io.stderr.write(`${origin.file}:${origin.line}: ${message}\n`);
    },
  });
  const batcher = new Batcher((batch) => writer.submit(batch), tally);
  try {
    await eachRecord(
      plan,
      io,
      tally,
      async (file, line, judged) => {
        const origin = { file, line };
        for (const reason of judged.unmapped) tally.countUnmapped(reason, origin);
        for (const entry of judged.entries) {
          if (format === "atlas") vantages.add(entry.result.region);
          await batcher.add({ ...entry, origin });
        }
      },
      () => batcher.flush(),
    );
    await writer.drain();
    if (vantages.size > 0) await registerVantages(opened, [...vantages], archive, tally);
    tally.rollups += (await opened.store.compact({ now: Date.now() })).rollups;
    return finish(io, tally, opened.where, plan.files, retentionDays);
  } catch (err) {
    progress.stop();
    io.stdout.write(formatSummary(tally, plan.files, opened.where));
    return reportStoreFailure(io, "import", err, "; what was written stays, importing again completes the rest");
  } finally {
    progress.stop();
    await opened.close();
  }
}

function finish(io: Io, tally: ImportTally, where: string, files: readonly string[], retentionDays: RetentionDays): number {
  io.stdout.write(formatSummary(tally, files, where));
  if (tally.written > 0 && tally.oldestMs < Date.now() - retentionDays.raw * DAY_MS) {
    io.stderr.write(
      `popwatch import: some results are older than the raw retention (${retentionDays.raw} d): ` +
        `the next expiry pass of "popwatch run" deletes them (their rollups stay longer)\n`,
    );
  }
  return tally.bad > 0 || tally.unmapped.size > 0 ? 1 : 0;
}

async function checkReadable(file: string): Promise<void> {
  try {
    const handle = await open(file, "r");
    await handle.close();
  } catch (err) {
    throw new UsageError(`cannot read "${file}": ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
}

/** The probe archive by id; entries it cannot read are named on stderr and left out. */
async function readProbeArchive(file: string, io: Io) {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, "utf8"));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`--probes: cannot read "${file}": ${code ?? (err as Error).message}`, { cause: err });
  }
  const archive = readAtlasProbeArchive(json);
  for (const problem of archive.problems) io.stderr.write(`popwatch import: --probes ${file}: ${problem}\n`);
  return archive.probes;
}

/** Registers every Atlas vantage seen, located by the archive when it has the probe. */
async function registerVantages(
  opened: OpenStore,
  names: string[],
  archive: ReadonlyMap<number, AtlasProbeInfo> | null,
  tally: ImportTally,
): Promise<void> {
  const vantages: Vantage[] = [];
  for (const name of names.sort()) {
    const id = atlasProbeIdOf(name);
    if (id === null) continue;
    const info = archive?.get(id);
    if (info === undefined) tally.unlocated++;
    vantages.push(atlasVantage(id, info));
  }
  for (let start = 0; start < vantages.length; start += VANTAGES_PER_PUT) {
    await opened.store.putVantages(vantages.slice(start, start + VANTAGES_PER_PUT));
  }
  tally.vantages += vantages.length;
}
