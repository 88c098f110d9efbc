// `popwatch report`: every SLO per region and pooled (SLI, budget, burn
// rates, alert state, latency, PoPs) and the anycast findings of the recent
// window (failovers and their convergence, detours, impossible RTTs). SLOs
// come from rollups through the evaluator the scheduled function runs, so the
// report shows what the alerts see.
import { writeFile } from "node:fs/promises";
import { type LatencySummary, type ScopeEvaluation, evaluateSlos, evaluationEndMs, rollupLagMinutes } from "@popwatch/agent";
import {
  ALERT_SEVERITIES,
  ALERT_WINDOWS,
  type AlertStatus,
  type Catchment,
  type ConvergenceSli,
  type FiringAlert,
  PERIOD_MS,
  type PopwatchConfig,
  type Rollup,
  type RollupGranularity,
  type SliConfig,
  type SloPeriod,
  analyzeFailovers,
  catchment,
  convergenceSli,
  createPopCatalogue,
  detourAudit,
  impossibleRtts,
  minRtts,
  periodStartMs,
  type DetourItem,
} from "@popwatch/core";
import { DynamoAlertStateStore, type ResultStore } from "@popwatch/store";
import { loadConfig, reportConfigProblem } from "../config-file";
import { UsageError } from "../errors";
import type { Io } from "../io";
import type { OpenStore } from "../local-store";
import { renderHtmlReport } from "../output/html-report";
import { REPORT_FORMATS, type ReportFormat, renderReport } from "../output/report-render";
import { STORE_FLAGS_USAGE, STORE_FLAG_OPTIONS, type StoreChoice, openChosenStore, storeChoice, reportStoreFailure } from "../store-flags";
import { parseFlags } from "./args";
import { type ReportCharts, reportCharts } from "./report-series";
import { parseWhen } from "../time-flags";

export const REPORT_USAGE = `Usage: popwatch report [--since WHEN] [--until WHEN] [--slo NAME] [--region R] [--format table|json|csv|markdown | --json | --html FILE]
                       [--config FILE] [--data-dir DIR | --table NAME --aws-region R]

Every configured SLO, per region and pooled: the SLI over the SLO's period
(good/total), objective, error budget remaining, burn rates over 5m 30m 1h 2h
6h 1d 3d and the period, the alert state per severity (as the evaluator
stored it; "inactive" when it never fired), and over --since the latency
quantiles of good results and the PoPs that answered. Then the anycast
findings over --since: failovers (PoP A, failures, PoP B) with their
convergence time and the per-region convergence SLI, detours (a region served
by a PoP far beyond the nearest one the target has) and RTTs faster than light
in fibre allows for the distance to the PoP they are attributed to.

Windows end at the last minute whose rollups are complete. Regions: the
config's regions with --table; the embedded store's regions (and
config.localRegion) otherwise.

Options:
  --since WHEN          window of latency, top PoPs and findings: a duration back from now
                        (30m, 24h, 7d) or an ISO 8601 time (default 1d)
  --until WHEN          report as of this instant instead of now (a duration back from now or an
                        ISO 8601 time); --since durations count back from it
  --slo NAME            only this SLO
  --region R            only this region's rows (no pooled rows) and findings
  --format F            table (default); json: one object {generatedAt, endsAt, slos, failovers,
                        convergence, detours, impossibleRtts, itemsRead}; csv: one row per SLO and
                        scope, then a block per kind of finding, blocks separated by a blank line;
                        markdown: the table's content as Markdown tables
  --json                same as --format json
  --html FILE           write a static page that works offline instead: the tables, the catchment matrix,
                        and charts of the burn rate per SLO and region and of latency p50/p95/p99 per
                        series over --since (uPlot, inlined)
  --config FILE         configuration (default: popwatch.config.{ts,mjs,js,json} here)
${STORE_FLAGS_USAGE}
  -h, --help            this help

Exit status: 0 reported (also when nothing is stored yet), 1 store error or FILE not written, 2 usage or configuration error.
`;

const OPTIONS = {
  since: { type: "string" },
  until: { type: "string" },
  slo: { type: "string" },
  region: { type: "string" },
  format: { type: "string" },
  json: { type: "boolean" },
  html: { type: "string" },
  config: { type: "string" },
  ...STORE_FLAG_OPTIONS,
  help: { type: "boolean", short: "h" },
} as const;

/** One SLO in one scope. */
export interface ReportSlo {
  slo: string;
  target: string;
  /** A region, or "pooled". */
  scope: string;
  indicator: SliConfig;
  objective: number;
  period: SloPeriod;
  /** Over the period. ratio = good / total, null without events. */
  sli: { good: number; total: number; ratio: number | null };
  budgetRemaining: number | null;
  timeToExhaustionMs: number | null;
  /** Every alert window and the period; null without events. */
  burnRates: Record<string, number | null>;
  /** Rules whose condition holds at endsAt. */
  firing: FiringAlert[];
  /** As stored by the alert lifecycle. */
  alerts: Record<(typeof ALERT_SEVERITIES)[number], AlertStatus>;
  latency: LatencySummary;
  topPops: ScopeEvaluation["topPops"];
}

export interface ReportFailover {
  target: string;
  kind: string;
  region: string;
  from: string;
  to: string;
  /** First answer of the new PoP. */
  at: string;
  convergenceMs: number;
  resolutionMs: number;
}

export type ReportDetour = Pick<DetourItem, "target" | "region" | "pop" | "share" | "nearestPop" | "distanceKm" | "nearestKm" | "excessKm">;

export interface ReportImpossibleRtt {
  target: string;
  region: string;
  pop: string;
  kind: string;
  at: string;
  rttMs: number;
  minRttMs: number;
  distanceKm: number;
}

export interface Report {
  generatedAt: string;
  /** Where the SLO windows end. */
  endsAt: string;
  slos: ReportSlo[];
  failovers: ReportFailover[];
  convergence: ConvergenceSli[];
  detours: ReportDetour[];
  impossibleRtts: ReportImpossibleRtt[];
  /** Rollup items the SLO evaluation read. */
  itemsRead: number;
}

export interface ReportDeps {
  now?: () => number;
}

export async function reportCommand(argv: string[], io: Io, deps: ReportDeps = {}): Promise<number> {
  const { values } = parseFlags(argv, OPTIONS);
  if (values.help) {
    io.stdout.write(REPORT_USAGE);
    return 0;
  }
  const clockMs = (deps.now ?? Date.now)();
  // --until reports as of an earlier instant (a post-incident review); durations in --since count back from it.
  const nowMs = values.until === undefined ? clockMs : parseWhen("until", values.until, clockMs);
  if (nowMs > clockMs) throw new UsageError("--until must not be in the future");
  const sinceMs = parseWhen("since", values.since ?? "1d", nowMs);
  if (sinceMs >= nowMs) throw new UsageError("--since must be in the past");
  if (values.json && values.format !== undefined && values.format !== "json") throw new UsageError("--json and --format exclude each other");
  if (values.html !== undefined && (values.json || values.format !== undefined)) throw new UsageError("--html and --format/--json exclude each other");
  if (values.html === "") throw new UsageError("--html: expected a file name");
  const format = values.json ? "json" : (values.format ?? "table");
  if (!(REPORT_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format: expected one of ${REPORT_FORMATS.join(", ")}, got "${format}"`);
  const choice = storeChoice(values);

  let config: PopwatchConfig;
  try {
    ({ config } = await loadConfig(values.config));
  } catch (err) {
    return reportConfigProblem("report", err, io);
  }
  let slos = config.slos;
  if (values.slo !== undefined) {
    slos = slos.filter((slo) => slo.name === values.slo);
    if (slos.length === 0) {
      const known = config.slos.map((slo) => slo.name).join(", ");
      throw new UsageError(`--slo: no SLO named "${values.slo}" in the configuration (${known === "" ? "it has none" : `SLOs: ${known}`})`);
    }
  }

  let opened: OpenStore;
  try {
    opened = await openChosenStore(choice);
  } catch (err) {
    return reportStoreFailure(io, "report", err);
  }
  let built: BuiltReport;
  try {
    built = await buildReport({ config: { ...config, slos }, opened, choice, nowMs, sinceMs, region: values.region, html: values.html !== undefined });
  } catch (err) {
    return reportStoreFailure(io, "report", err);
  } finally {
    await opened.close();
  }
  const { report } = built;
  if (values.html !== undefined && built.html !== undefined) {
    const page = renderHtmlReport({ report, sinceMs, thresholdMs: config.analytics.convergenceSloMs, ...built.html });
    try {
      await writeFile(values.html, page);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === undefined) throw err;
      io.stderr.write(`popwatch report: cannot write ${values.html} (${code})\n`);
      return 1;
    }
    const charts = built.html.charts.burn.length + built.html.charts.latency.length;
    io.stdout.write(`popwatch report: wrote ${values.html} (${report.slos.length} SLO rows, ${charts} charts)\n`);
    return 0;
  }
  io.stdout.write(renderReport(format as ReportFormat, report, { sinceMs, thresholdMs: config.analytics.convergenceSloMs }));
  return 0;
}

interface BuildOptions {
  config: PopwatchConfig;
  opened: OpenStore;
  choice: StoreChoice;
  nowMs: number;
  sinceMs: number;
  region: string | undefined;
  /** Also gather what only the HTML page shows: catchments and chart series. */
  html: boolean;
}

interface BuiltReport {
  report: Report;
  html?: { regions: string[]; catchments: Catchment[]; charts: ReportCharts };
}

async function buildReport(options: BuildOptions): Promise<BuiltReport> {
  const { config, opened, nowMs, sinceMs } = options;
  const { store } = opened;
  // AWS: the regions the stacks deploy to. Locally: whatever was run or imported, and this machine's own region.
  const regions =
    options.choice.kind === "aws" ? [...config.regions] : [...new Set([config.localRegion, ...(await store.listRegions())])].sort();
  const endMs = evaluationEndMs(nowMs, rollupLagMinutes(config));
  // windowPeriods cuts whole minutes only.
  const summaryWindowMs = Math.max(PERIOD_MS.minute, Math.ceil((endMs - sinceMs) / PERIOD_MS.minute) * PERIOD_MS.minute);
  const evaluated = await evaluateSlos({ config, store, regions, endMs, summaryWindowMs });

  const statuses = new Map<string, AlertStatus>();
  if (config.slos.length > 0) {
    const alerts = new DynamoAlertStateStore({ client: opened.client, tableName: opened.tableName });
    for (const { state } of await alerts.loadStates()) statuses.set(alertKey(state.slo, state.scope, state.severity), state.status);
  }
  const inRegion = (region: string) => options.region === undefined || region === options.region;

  const slos: ReportSlo[] = evaluated.scopes
    .filter((scope) => inRegion(scope.scope))
    .map((scope) => {
      const period = scope.evaluation.period;
      const counts = scope.counts[period] ?? { bad: 0, total: 0 };
      const good = counts.total - counts.bad;
      return {
        slo: scope.slo,
        target: scope.target,
        scope: scope.scope,
        indicator: scope.sli,
        objective: scope.objective,
        period,
        sli: { good, total: counts.total, ratio: counts.total === 0 ? null : good / counts.total },
        budgetRemaining: scope.evaluation.budgetRemaining,
        timeToExhaustionMs: scope.evaluation.timeToExhaustionMs,
        burnRates: Object.fromEntries([...ALERT_WINDOWS, period].map((w) => [w, scope.evaluation.burnRates[w] ?? null])),
        firing: scope.evaluation.firing,
        alerts: Object.fromEntries(
          ALERT_SEVERITIES.map((severity) => [severity, statuses.get(alertKey(scope.slo, scope.scope, severity)) ?? "inactive"]),
        ) as ReportSlo["alerts"],
        latency: scope.latency,
        topPops: scope.topPops,
      };
    });

  const window = { from: sinceMs, to: nowMs };
  const results = await store.queryResults({ since: sinceMs, until: nowMs, ...(options.region === undefined ? {} : { region: options.region }) });
  const failovers = analyzeFailovers(results, { minStableSamples: config.analytics.failoverMinStableSamples, window, now: nowMs }).failovers;
  const catalogue = createPopCatalogue(config.popCatalogue);
  const rtts = minRtts(results, { window });

  // Detours are judged against every PoP any region saw, so catchment reads every region even for one --region.
  const catchmentRegions = [...new Set([...regions, ...results.map((r) => r.region)])].sort();
  const rollups: Rollup[] = [];
  for (const region of catchmentRegions) rollups.push(...(await regionRollups(store, region, sinceMs, nowMs)));
  const catchments: Catchment[] = catchment(rollups, { window, bucket: "hour" });
  const audit = detourAudit(catchments, {
    catalogue,
    detourKm: config.analytics.detourKm,
    ...(config.analytics.detourRttMs === undefined ? {} : { detourRttMs: config.analytics.detourRttMs }),
    rtts,
  });

  const report: Report = {
    generatedAt: new Date(nowMs).toISOString(),
    endsAt: new Date(endMs).toISOString(),
    slos,
    failovers: failovers.map((f) => ({
      target: f.target,
      kind: f.kind,
      region: f.region,
      from: f.from,
      to: f.to,
      at: f.firstGoodToAt,
      convergenceMs: f.convergenceMs,
      resolutionMs: f.resolutionMs,
    })),
    convergence: convergenceSli(failovers, { thresholdMs: config.analytics.convergenceSloMs }),
    detours: audit.detours
      .filter((d) => inRegion(d.region))
      .map((d) => ({
        target: d.target,
        region: d.region,
        pop: d.pop,
        share: d.share,
        nearestPop: d.nearestPop,
        distanceKm: d.distanceKm,
        nearestKm: d.nearestKm,
        excessKm: d.excessKm,
      })),
    impossibleRtts: impossibleRtts(rtts, { catalogue }).findings.map((f) => ({
      target: f.target,
      region: f.region,
      pop: f.pop,
      kind: f.kind,
      at: f.at,
      rttMs: f.rttMs,
      minRttMs: f.minRttMs,
      distanceKm: f.distanceKm,
    })),
    itemsRead: evaluated.itemsRead,
  };
  if (!options.html) return { report };
  const shownRegions = catchmentRegions.filter(inRegion);
  const charts = await reportCharts({
    store,
    readWindow: (region, from, to) => regionRollups(store, region, from, to),
    slos: config.slos,
    scopes: slos,
    pooledRegions: regions,
    regions: shownRegions,
    fromMs: sinceMs,
    toMs: endMs,
  });
  return { report, html: { regions: shownRegions, catchments: catchments.filter((c) => inRegion(c.region)), charts } };
}

function alertKey(slo: string, scope: string, severity: string): string {
  return JSON.stringify([slo, scope, severity]);
}

/**
 * A region's rollups covering [fromMs, toMs) without overlaps: hour items for
 * the whole hours, minute items for the partial hours at either end and for
 * trailing hours not rolled up yet (an hour is written once it has ended).
 */
async function regionRollups(store: Pick<ResultStore, "queryRegionRollups">, region: string, fromMs: number, toMs: number): Promise<Rollup[]> {
  const read = async (granularity: RollupGranularity, from: number, to: number): Promise<{ startMs: number; rollups: Rollup[] }[]> => {
    if (from >= to) return [];
    const items = await store.queryRegionRollups({ region, granularity, from, to });
    return items.map((item) => ({ startMs: periodStartMs(granularity, item.period) ?? Number.NaN, rollups: item.rollups }));
  };
  const flatten = (items: readonly { rollups: Rollup[] }[]) => items.flatMap((item) => item.rollups);
  const hoursFrom = Math.ceil(fromMs / PERIOD_MS.hour) * PERIOD_MS.hour;
  const hoursTo = Math.floor(toMs / PERIOD_MS.hour) * PERIOD_MS.hour;
  if (hoursFrom >= hoursTo) return flatten(await read("minute", fromMs, toMs));
  const hours = (await read("hour", hoursFrom, hoursTo)).filter((item) => item.startMs >= hoursFrom && item.startMs + PERIOD_MS.hour <= hoursTo);
  const lastHourEnd = hours.reduce((end, item) => Math.max(end, item.startMs + PERIOD_MS.hour), hoursFrom);
  return [...flatten(await read("minute", fromMs, hoursFrom)), ...flatten(hours), ...flatten(await read("minute", lastHourEnd, toMs))];
}

