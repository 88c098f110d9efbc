// `popwatch report`: every SLO per region and pooled (SLI, budget, burn
// rates, alert state, latency, PoPs) and the anycast findings of the recent
// window (failovers and their convergence, detours, impossible RTTs). SLOs
// come from rollups through the evaluator the scheduled function runs, so the
// report shows what the alerts see.
import { writeFile } from "node:fs/promises";
import { readVantages, storeRetention } from "@popwatch/agent";
import { CATCHMENT_GROUP_BYS, type CatchmentGroupBy, type PopwatchConfig } from "@popwatch/core";
import { loadConfig, reportConfigProblem } from "../config-file";
import { UsageError } from "../errors";
import type { Io } from "../io";
import type { OpenStore } from "../local-store";
import { readRange } from "../read-range";
import { type BuiltReport, buildReport, reportCatchmentGranularity } from "../report/build";
import { renderHtmlReport } from "../report/render-html";
import { REPORT_FORMATS, type ReportFormat, renderReport } from "../report/render-text";
import { STORE_FLAGS_USAGE, STORE_FLAG_OPTIONS, openChosenStore, reportStoreFailure, storeChoice, storeRegions } from "../store-flags";
import { parseWhen } from "../time-flags";
import { parseFlags } from "./args";

export const REPORT_USAGE = `Usage: popwatch report [--since WHEN] [--until WHEN] [--slo NAME] [--region R] [--series]
                       [--group-by vantage|country|asn]
                       [--format table|json|csv|markdown | --json | --html FILE]
                       [--config FILE] [--data-dir DIR | --table NAME [--aws-region R] [--endpoint URL]]

Every configured SLO, per region and pooled: the SLI over the SLO's period
(good/total), objective, error budget remaining, burn rates over 5m 30m 1h 2h
6h 1d 3d and the period, the alert state per severity (as the evaluator
stored it; "inactive" when it never fired), and over --since the latency
quantiles of good results and the PoPs that answered. Then the anycast
findings over --since: failovers (PoP A, failures, PoP B) with their
convergence time and the per-region convergence SLI, detours (a region served
by a PoP far beyond the nearest one the target has), RTTs faster than light
in fibre allows for the distance to the PoP they are attributed to, and the
vantages whose claimed location is implausible (faster than light from where
they claim to be to PoPs in several places, or to the PoP they reach most).
Self-hosted and imported vantages count as regions, located by their claimed
location (the store's vantage registry and the config's vantage section).

With a bgp section in the configuration, a Routing section too: per watched
prefix the BGP events stored over --since (announcements, withdrawals, the
bursts and their BGP convergence, the origins seen), each failover with the
BGP events of its prefix within the correlation window and its route
convergence M2 (first BGP change of the burst to the first answer from the new
PoP; "no BGP change seen" when BGP did not move), M2 per region, and the
outages and PoP changes BGP events came with. --html then also draws, per
region, the PoP changes and the BGP events on one time axis.

Without SLOs in the configuration (or with --series), one row per target,
probe kind and region over --since: success ratio, latency p50/p95/p99 of
the good results and the PoPs that answered, by share.

Windows end at the last minute whose rollups are complete. Regions: the
config's regions with --table; the regions the embedded store holds results
for otherwise.

Options:
  --since WHEN          window of latency, top PoPs and findings: a duration back from now
                        (30m, 24h, 7d) or an ISO 8601 time (default 1d)
  --until WHEN          report as of this instant instead of now (a duration back from now or an
                        ISO 8601 time); --since durations count back from it
  --slo NAME            only this SLO
  --region R            only this region's rows (no pooled rows) and findings
  --series              also the per-target rows when SLOs are configured
  --group-by G          how --html's catchment section groups vantages: vantage (default, one row each),
                        country or asn (of the registered vantages; "unknown" when not known)
  --format F            table (default); json: one object {generatedAt, endsAt, slos, [series,] failovers,
                        convergence, detours, impossibleRtts, implausibleVantages, [routing,] itemsRead}; csv: one row per SLO and
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
  series: { type: "boolean" },
  "group-by": { type: "string" },
  config: { type: "string" },
  ...STORE_FLAG_OPTIONS,
  help: { type: "boolean", short: "h" },
} as const;

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
  const sinceText = values.since ?? "1d";
  const sinceMs = parseWhen("since", sinceText, nowMs);
  if (sinceMs >= nowMs) throw new UsageError("--since must be in the past");
  if (values.json && values.format !== undefined && values.format !== "json")
    throw new UsageError("--json and --format exclude each other");
  if (values.html !== undefined && (values.json || values.format !== undefined))
    throw new UsageError("--html and --format/--json exclude each other");
  if (values.html === "") throw new UsageError("--html: expected a file name");
  const groupBy = values["group-by"] ?? "vantage";
  if (!(CATCHMENT_GROUP_BYS as readonly string[]).includes(groupBy)) {
    throw new UsageError(`--group-by: expected one of ${CATCHMENT_GROUP_BYS.join(", ")}, got "${groupBy}"`);
  }
  const format = values.json ? "json" : (values.format ?? "table");
  if (!(REPORT_FORMATS as readonly string[]).includes(format))
    throw new UsageError(`--format: expected one of ${REPORT_FORMATS.join(", ")}, got "${format}"`);
  let config: PopwatchConfig;
  try {
    ({ config } = await loadConfig(values.config));
  } catch (err) {
    return reportConfigProblem("report", err, io);
  }
  const choice = storeChoice(values, config.store);
  const retention = storeRetention(config);
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
    opened = await openChosenStore(choice, retention);
  } catch (err) {
    return reportStoreFailure(io, "report", err);
  }
  // Findings come from raw results, the catchment from rollups: each read is bounded by its own retention.
  const asked = `--since ${sinceText}`;
  const window = { fromMs: sinceMs, toMs: nowMs, nowMs: clockMs, retention };
  readRange(io, { command: "report", asked, kind: "raw", ...window });
  readRange(io, { command: "report", asked, kind: reportCatchmentGranularity(values.html !== undefined), ...window });
  let built: BuiltReport;
  try {
    built = await buildReport(
      {
        store: opened.store,
        alerts: opened.alerts,
        // BGP events sit on the same table; read only with a bgp config.
        ...(config.bgp === undefined ? {} : { routing: opened.routing }),
      },
      {
        config: { ...config, slos },
        regions: await storeRegions(choice, config, opened.store),
        nowMs,
        sinceMs,
        region: values.region,
        page: values.html !== undefined,
        series: values.series ?? false,
        vantages: await readVantages(opened.store, config),
        groupBy: groupBy as CatchmentGroupBy,
      },
    );
  } catch (err) {
    return reportStoreFailure(io, "report", err);
  } finally {
    await opened.close();
  }
  const { report } = built;
  const context = { sinceMs, thresholdMs: config.analytics.convergenceSloMs };
  if (values.html !== undefined && built.page !== undefined) {
    const page = renderHtmlReport({ report, ...context, ...built.page });
    try {
      await writeFile(values.html, page);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === undefined) throw err;
      io.stderr.write(`popwatch report: cannot write ${values.html} (${code})\n`);
      return 1;
    }
    const charts = built.page.charts.burn.length + built.page.charts.latency.length + (built.page.routing?.timelines.length ?? 0);
    io.stdout.write(`popwatch report: wrote ${values.html} (${report.slos.length} SLO rows, ${charts} charts)\n`);
    return 0;
  }
  io.stdout.write(renderReport(format as ReportFormat, report, context));
  return 0;
}
