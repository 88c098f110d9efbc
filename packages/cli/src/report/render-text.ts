// The forms of `popwatch report`: one JSON object for programs, and for people
// a table, Markdown (for an incident doc or a PR) or CSV (for a spreadsheet),
// each with one row per SLO and scope and a short section per kind of finding.
import { ALERT_WINDOWS } from "@popwatch/core";
import { csvLines } from "../output/csv";
import { formatDuration, formatLatency, formatNumber, formatPercent, isoMinute } from "../output/format";
import { renderTable } from "../output/probe-table";
import {
  DETOUR_HEADER,
  FAILOVER_HEADER,
  IMPOSSIBLE_RTT_HEADER,
  SERIES_HEADER,
  convergenceSummary,
  detourCells,
  failoverCells,
  impossibleRttCells,
  seriesCells,
} from "./cells";
import type { Report, ReportContext, ReportSlo } from "./model";

export const REPORT_FORMATS = ["table", "json", "csv", "markdown"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export function renderReport(format: ReportFormat, report: Report, context: ReportContext): string {
  switch (format) {
    case "json":
      return `${JSON.stringify(report)}\n`;
    case "csv":
      return renderCsv(report);
    case "table":
    case "markdown":
      return renderSections(report, context, format === "markdown" ? markdownTable : renderTable, format === "markdown");
  }
}

type TableRenderer = (header: readonly string[], rows: readonly (readonly string[])[]) => string;

const SLO_HEADER = [
  "SLO",
  "SCOPE",
  "OBJECTIVE",
  "SLI",
  "GOOD/TOTAL",
  "BUDGET LEFT",
  ...ALERT_WINDOWS,
  "PERIOD",
  "PAGE",
  "TICKET",
  "P50/P95/P99 MS",
  "TOP POPS",
];

function sloCells(row: ReportSlo): string[] {
  const burn = (value: number | null | undefined) => (value === null || value === undefined ? "-" : `${formatNumber(value)}×`);
  const alert = (severity: "page" | "ticket") => {
    const status = row.alerts[severity];
    // The stored state lags the evaluation until the evaluator runs; say when the rules already burn.
    const burning = row.firing.some((f) => f.severity === severity);
    return status === "firing" ? "FIRING" : burning ? `${status} (burning)` : status;
  };
  const latency = formatLatency(row.latency);
  const threshold = row.indicator.type === "latency" ? ` ≤${formatNumber(row.indicator.thresholdMs)} ms` : "";
  return [
    row.slo,
    row.scope,
    `${formatPercent(row.objective)} ${row.period}${threshold}`,
    row.sli.ratio === null ? "-" : formatPercent(row.sli.ratio),
    `${row.sli.good}/${row.sli.total}`,
    row.budgetRemaining === null ? "-" : formatPercent(row.budgetRemaining),
    ...ALERT_WINDOWS.map((w) => burn(row.burnRates[w])),
    burn(row.burnRates[row.period]),
    alert("page"),
    alert("ticket"),
    latency,
    row.topPops.length === 0
      ? "-"
      : row.topPops
          .slice(0, 3)
          .map((p) => `${p.pop} ${formatPercent(p.share)}`)
          .join(", "),
  ];
}

/** Text tables head their columns in upper case. */
const upper = (header: readonly string[]) => header.map((h) => h.toUpperCase());

function renderSections(report: Report, context: ReportContext, table: TableRenderer, markdown: boolean): string {
  const since = isoMinute(new Date(context.sinceMs).toISOString());
  const heading = (text: string) => (markdown ? `## ${text}\n\n` : `${text}\n`);
  const note = (text: string) => (markdown ? `\n${text}\n` : `${text}\n`);
  const sections: string[] = [];

  // Without SLOs the per-target rows say what there is to say.
  if (report.slos.length > 0 || report.series === undefined)
    sections.push(
      heading(`SLOs: windows end ${isoMinute(report.endsAt)}; latency and PoPs since ${since}`) +
        (report.slos.length === 0 ? "no SLOs to report (add slos to the configuration)\n" : table(SLO_HEADER, report.slos.map(sloCells))) +
        (report.slos.length === 0
          ? ""
          : note("burn rate 1× spends the budget exactly over the period; GOOD/TOTAL and SLI over the period")),
    );
  if (report.series !== undefined) {
    sections.push(
      heading(`Targets since ${since}: per target, probe kind and region`) +
        (report.series.length === 0
          ? "no results stored in the window\n"
          : table(
              upper(SERIES_HEADER),
              report.series.map((row) => seriesCells(row, 3)),
            )) +
        note("latency of the good results; PoP shares of the answers that identified a PoP"),
    );
  }

  if (report.failovers.length > 0) {
    const within = `${formatDuration(context.thresholdMs)}`;
    const convergence = convergenceSummary(report);
    sections.push(
      heading(`Failovers since ${since}`) +
        table(upper(FAILOVER_HEADER), report.failovers.map(failoverCells)) +
        note(`converged within ${within}: ${convergence}`),
    );
  }
  if (report.detours.length > 0) {
    sections.push(
      heading(`Detours since ${since}: served by a PoP far beyond the nearest one`) +
        table(upper(DETOUR_HEADER), report.detours.map(detourCells)),
    );
  }
  if (report.impossibleRtts.length > 0) {
    sections.push(
      heading(`Impossible RTTs since ${since}: faster than light in fibre to the PoP they are attributed to`) +
        table(upper(IMPOSSIBLE_RTT_HEADER), report.impossibleRtts.map(impossibleRttCells)),
    );
  }
  return sections.join("\n");
}

// GitHub-flavoured Markdown tables; a pipe inside a cell would end it.
function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`;
  return [line(header), `|${header.map(() => " --- ").join("|")}|`, ...rows.map(line)].join("\n") + "\n";
}

function renderCsv(report: Report): string {
  const number = (value: number | null | undefined) => (value === null || value === undefined ? "" : String(value));
  const blocks: string[][][] = [];
  blocks.push([
    [
      "slo",
      "target",
      "scope",
      "sli_type",
      "objective",
      "period",
      "good",
      "total",
      "sli",
      "budget_remaining",
      ...ALERT_WINDOWS.map((w) => `burn_${w}`),
      "burn_period",
      "page",
      "ticket",
      "latency_p50_ms",
      "latency_p95_ms",
      "latency_p99_ms",
      "top_pops",
    ],
    ...report.slos.map((row) => [
      row.slo,
      row.target,
      row.scope,
      row.indicator.type,
      String(row.objective),
      row.period,
      String(row.sli.good),
      String(row.sli.total),
      number(row.sli.ratio),
      number(row.budgetRemaining),
      ...ALERT_WINDOWS.map((w) => number(row.burnRates[w])),
      number(row.burnRates[row.period]),
      row.alerts.page,
      row.alerts.ticket,
      number(row.latency.p50),
      number(row.latency.p95),
      number(row.latency.p99),
      row.topPops.map((p) => `${p.pop}:${p.share}`).join(" "),
    ]),
  ]);
  if (report.series !== undefined && report.series.length > 0) {
    blocks.push([
      [
        "series_target",
        "kind",
        "region",
        "good",
        "total",
        "success_ratio",
        "latency_p50_ms",
        "latency_p95_ms",
        "latency_p99_ms",
        "pops",
        "unidentified",
      ],
      ...report.series.map((row) => [
        row.target,
        row.kind,
        row.region,
        String(row.good),
        String(row.total),
        number(row.successRatio),
        number(row.latency.p50),
        number(row.latency.p95),
        number(row.latency.p99),
        row.pops.map((p) => `${p.pop}:${p.share}`).join(" "),
        String(row.unidentified),
      ]),
    ]);
  }
  if (report.failovers.length > 0) {
    blocks.push([
      ["failover_target", "kind", "region", "from", "to", "at", "convergence_ms", "resolution_ms"],
      ...report.failovers.map((f) => [f.target, f.kind, f.region, f.from, f.to, f.at, String(f.convergenceMs), String(f.resolutionMs)]),
    ]);
    blocks.push([
      ["convergence_region", "threshold_ms", "failovers", "converged", "sli"],
      ...report.convergence.map((c) => [c.region, String(c.thresholdMs), String(c.failovers), String(c.converged), number(c.sli)]),
    ]);
  }
  if (report.detours.length > 0) {
    blocks.push([
      ["detour_target", "region", "pop", "share", "distance_km", "nearest_pop", "nearest_km", "excess_km"],
      ...report.detours.map((d) => [
        d.target,
        d.region,
        d.pop,
        String(d.share),
        String(d.distanceKm),
        d.nearestPop,
        String(d.nearestKm),
        String(d.excessKm),
      ]),
    ]);
  }
  if (report.impossibleRtts.length > 0) {
    blocks.push([
      ["impossible_rtt_target", "region", "pop", "kind", "at", "rtt_ms", "min_rtt_ms", "distance_km"],
      ...report.impossibleRtts.map((f) => [
        f.target,
        f.region,
        f.pop,
        f.kind,
        f.at,
        String(f.rttMs),
        String(f.minRttMs),
        String(f.distanceKm),
      ]),
    ]);
  }
  return blocks.map(csvLines).join("\n");
}
