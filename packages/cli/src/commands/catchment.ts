// `popwatch catchment`: which PoPs answer each region, in what shares, and
// when the dominant PoP changed. Reads rollups, not raw results, so a month
// costs a few queries per series.
import {
  type Catchment,
  type PopCatalogue,
  PERIOD_MS,
  PROBE_KINDS,
  ROLLUP_GRANULARITIES,
  type Rollup,
  type RollupGranularity,
  type SeriesKey,
  catchment,
  createPopCatalogue,
  periodStartMs,
  rollupPeriod,
} from "@popwatch/core";
import type { ResultStore } from "@popwatch/store";
import { loadConfig, reportConfigProblem } from "../config-file";
import { UsageError } from "../errors";
import type { Io } from "../io";
import type { OpenStore } from "../local-store";
import { renderTable } from "../output/probe-table";
import { STORE_FLAGS_USAGE, STORE_FLAG_OPTIONS, openChosenStore, storeChoice, reportStoreFailure } from "../store-flags";
import { parseFlags } from "./args";
import { parseWhen } from "../time-flags";

const FORMATS = ["table", "json", "csv"] as const;
type Format = (typeof FORMATS)[number];

export const CATCHMENT_USAGE = `Usage: popwatch catchment [--since WHEN] [--until WHEN] [--target T] [--region R] [--kind K]
                          [--bucket minute|hour|day] [--format table|json|csv | --json] [--config FILE]
                          [--data-dir DIR | --table NAME --aws-region R]

Which PoPs answered each region, in what shares, and when the dominant PoP
(the one answering most probes in a bucket) changed. Read from the stored
rollups: minute rollups for windows up to 48 h, hour rollups beyond (with
minutes for the partial hours at either end and hours not yet rolled up).

Options:
  --since WHEN          start: a duration back from now (30m, 24h, 7d) or an ISO 8601 time (default 24h)
  --until WHEN          end (exclusive), same forms (default now)
  --target T            only this target name
  --region R            only this region
  --kind K              only this kind: ${PROBE_KINDS.join(", ")} (default: all kinds of a target together)
  --bucket G            period the dominant PoP is judged over: minute, hour or day (default hour)
  --format F            table (default): per target, region × PoP shares, * marks the dominant PoP
                        json: one object per line per (target, region): shares, dominant, changes, counts
                        csv: one row per (target, region, PoP)
  --json                same as --format json
  --config FILE         name PoPs by place from popCatalogue (built-in airport codes otherwise)
${STORE_FLAGS_USAGE}
  -h, --help            this help

Exit status: 0 listed (also when nothing matched), 1 store error, 2 usage or configuration error.
`;

const OPTIONS = {
  since: { type: "string" },
  until: { type: "string" },
  target: { type: "string" },
  region: { type: "string" },
  kind: { type: "string" },
  bucket: { type: "string" },
  format: { type: "string" },
  json: { type: "boolean" },
  config: { type: "string" },
  ...STORE_FLAG_OPTIONS,
  help: { type: "boolean", short: "h" },
} as const;

/** Windows up to this long are read from minute rollups alone (kept 14 days by default). */
const MINUTE_ROLLUP_WINDOW_MS = 48 * PERIOD_MS.hour;

export interface CatchmentDeps {
  now?: () => number;
}

export async function catchmentCommand(argv: string[], io: Io, deps: CatchmentDeps = {}): Promise<number> {
  const { values } = parseFlags(argv, OPTIONS);
  if (values.help) {
    io.stdout.write(CATCHMENT_USAGE);
    return 0;
  }
  const nowMs = (deps.now ?? Date.now)();
  const since = parseWhen("since", values.since ?? "24h", nowMs);
  const until = values.until === undefined ? nowMs : parseWhen("until", values.until, nowMs);
  if (until <= since) throw new UsageError("--until must be later than --since");
  const kind = values.kind;
  if (kind !== undefined && !(PROBE_KINDS as readonly string[]).includes(kind)) {
    throw new UsageError(`--kind: expected one of ${PROBE_KINDS.join(", ")}, got "${kind}"`);
  }
  const bucket = values.bucket ?? "hour";
  if (!(ROLLUP_GRANULARITIES as readonly string[]).includes(bucket)) {
    throw new UsageError(`--bucket: expected one of ${ROLLUP_GRANULARITIES.join(", ")}, got "${bucket}"`);
  }
  if (values.json && values.format !== undefined && values.format !== "json") throw new UsageError("--json and --format exclude each other");
  const format = values.json ? "json" : (values.format ?? "table");
  if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format: expected one of ${FORMATS.join(", ")}, got "${format}"`);
  const choice = storeChoice(values);

  let catalogue = createPopCatalogue();
  if (values.config !== undefined) {
    try {
      catalogue = createPopCatalogue((await loadConfig(values.config)).config.popCatalogue);
    } catch (err) {
      return reportConfigProblem("catchment", err, io);
    }
  }

  let opened: OpenStore;
  try {
    opened = await openChosenStore(choice);
  } catch (err) {
    return reportStoreFailure(io, "catchment", err);
  }
  let entries: Catchment[];
  try {
    const series = (await opened.store.listSeries()).filter(
      (s) =>
        (values.target === undefined || s.target === values.target) &&
        (values.region === undefined || s.region === values.region) &&
        (kind === undefined || s.kind === kind),
    );
    const rollups: Rollup[] = [];
    for (const s of series) rollups.push(...(await readSeriesRollups(opened.store, s, since, until, bucket as RollupGranularity)));
    entries = catchment(rollups, { window: { from: since, to: until }, bucket: bucket as RollupGranularity });
  } catch (err) {
    return reportStoreFailure(io, "catchment", err);
  } finally {
    await opened.close();
  }

  if (entries.length === 0) {
    io.stderr.write(`popwatch catchment: no rollups from ${new Date(since).toISOString()} to ${new Date(until).toISOString()} in ${opened.where}\n`);
    return 0;
  }
  io.stdout.write(render(format as Format, entries, catalogue));
  return 0;
}

/**
 * The rollups of one series that cover [since, until) without overlapping:
 * minutes for short windows or a minute bucket; otherwise hours for the full
 * hours, and minutes for the partial hours at the edges and for hours at the
 * end that are not rolled up yet (hours are written once they have ended).
 */
async function readSeriesRollups(store: ResultStore, series: SeriesKey, since: number, until: number, bucket: RollupGranularity): Promise<Rollup[]> {
  const minutes = (from: number, to: number) =>
    from < to ? store.queryRollups({ ...series, granularity: "minute", from, to }) : Promise.resolve([] as Rollup[]);
  if (bucket === "minute" || until - since <= MINUTE_ROLLUP_WINDOW_MS) return minutes(since, until);

  const hoursFrom = Math.ceil(since / PERIOD_MS.hour) * PERIOD_MS.hour;
  const hoursTo = Math.floor(until / PERIOD_MS.hour) * PERIOD_MS.hour;
  if (hoursFrom >= hoursTo) return minutes(since, until);
  const startOf = (r: Rollup) => periodStartMs(r.granularity, rollupPeriod(r)) ?? Number.NaN;
  const hours = (await store.queryRollups({ ...series, granularity: "hour", from: hoursFrom, to: hoursTo })).filter(
    (r) => startOf(r) >= hoursFrom && startOf(r) + PERIOD_MS.hour <= hoursTo,
  );
  const lastHourEnd = hours.reduce((end, r) => Math.max(end, startOf(r) + PERIOD_MS.hour), hoursFrom);
  return [...(await minutes(since, hoursFrom)), ...hours, ...(await minutes(lastHourEnd, until))];
}

function render(format: Format, entries: readonly Catchment[], catalogue: PopCatalogue): string {
  switch (format) {
    case "json":
      return entries.map((e) => `${JSON.stringify(e)}\n`).join("");
    case "csv":
      return renderCsv(entries);
    case "table":
      return renderMatrix(entries, catalogue);
  }
}

function renderCsv(entries: readonly Catchment[]): string {
  const rows = [["target", "region", "pop", "count", "share", "dominant", "total", "unidentified"]];
  for (const e of entries) {
    const pops = Object.keys(e.counts);
    if (pops.length === 0) rows.push([e.target, e.region, "", "0", "", "false", String(e.total), String(e.unidentified)]);
    for (const pop of pops) {
      rows.push([e.target, e.region, pop, String(e.counts[pop]), String(e.shares[pop]), String(pop === e.dominant), String(e.total), String(e.unidentified)]);
    }
  }
  return rows.map((row) => row.map(csvField).join(",")).join("\n") + "\n";
}

// RFC 4180: quote fields holding a comma, quote or line break; double the quotes inside.
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function renderMatrix(entries: readonly Catchment[], catalogue: PopCatalogue): string {
  const byTarget = new Map<string, Catchment[]>();
  for (const e of entries) byTarget.set(e.target, [...(byTarget.get(e.target) ?? []), e]);
  const blocks: string[] = [];
  for (const [target, rows] of byTarget) {
    const totals = new Map<string, number>();
    for (const row of rows) for (const [pop, n] of Object.entries(row.counts)) totals.set(pop, (totals.get(pop) ?? 0) + n);
    const pops = [...totals].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0)).map(([pop]) => pop);
    const table = renderTable(
      ["REGION", "ANSWERS", "NO POP", "CHANGES", ...pops],
      rows.map((row) => [
        row.region,
        String(row.total),
        String(row.unidentified),
        String(row.changes.length),
        ...pops.map((pop) => {
          const share = row.shares[pop];
          return share === undefined ? "-" : `${pop === row.dominant ? "*" : ""}${(share * 100).toFixed(1)}%`;
        }),
      ]),
    );
    const changes = rows.flatMap((row) => row.changes.map((c) => `  ${row.region}  ${c.at.slice(0, 16).replace("T", " ")}Z  ${c.from} -> ${c.to}`));
    const places = pops.map((pop) => {
      const site = catalogue.resolve(pop);
      return site === null ? `${pop} (not in catalogue)` : `${pop} ${[site.city, site.country].filter(Boolean).join(", ")}`;
    });
    blocks.push(
      `${target}\n${table}` +
        (changes.length > 0 ? `dominant PoP changes:\n${changes.join("\n")}\n` : "") +
        `PoPs: ${places.join("; ")}\n`,
    );
  }
  return `${blocks.join("\n")}\n* dominant PoP (most answers); shares are of answers that identified a PoP\n`;
}

