// The forms of `popwatch report`: one JSON object for programs, and for people
// a table, Markdown (for an incident doc or a PR) or CSV (for a spreadsheet),
// each with one row per SLO and scope and a short section per kind of finding.
import { ALERT_WINDOWS } from "@popwatch/core";
import { csvLines } from "../output/csv";
import { formatDuration, formatLatency, formatNumber, formatPercent, isoMinute } from "../output/format";
import { renderTable } from "../output/table";
import {
  BGP_BURST_HEADER,
  CORRELATED_HEADER,
  DETOUR_HEADER,
  IMPLAUSIBLE_VANTAGE_HEADER,
  IMPLAUSIBLE_VANTAGE_NOTE,
  IMPOSSIBLE_RTT_HEADER,
  M2_HEADER,
  ROUTING_PREFIX_HEADER,
  SERIES_HEADER,
  bgpBurstCells,
  bgpEventSummary,
  convergenceSummary,
  correlatedCells,
  detourCells,
  failoverCells,
  failoverHeader,
  implausibleVantageCells,
  impossibleRttCells,
  m2Cells,
  routingPrefixCells,
  seriesCells,
} from "./cells";
import type { Report, ReportContext, ReportRouting, ReportSlo } from "./model";

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
        table(upper(failoverHeader(report)), report.failovers.map(failoverCells)) +
        note(`converged within ${within}: ${convergence}`),
    );
  }
  if (report.routing !== undefined) sections.push(routingSection(report.routing, since, heading, note, table));
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
  if (report.implausibleVantages.length > 0) {
    sections.push(
      heading(`Vantages whose claimed location is implausible since ${since}`) +
        table(upper(IMPLAUSIBLE_VANTAGE_HEADER), report.implausibleVantages.map(implausibleVantageCells)) +
        note(IMPLAUSIBLE_VANTAGE_NOTE),
    );
  }
  return sections.join("\n");
}

/** Text shows the newest bursts of each prefix; JSON and CSV have every one. */
const BURSTS_SHOWN = 10;

function routingSection(
  routing: ReportRouting,
  since: string,
  heading: (text: string) => string,
  note: (text: string) => string,
  table: TableRenderer,
): string {
  const window = formatDuration(routing.correlationWindowMs);
  let text =
    heading(`Routing since ${since}: BGP events of the watched prefixes and their more-specifics`) +
    table(upper(ROUTING_PREFIX_HEADER), routing.prefixes.map(routingPrefixCells)) +
    note(`withdrawals include sessions going down; a burst is updates less than ${formatDuration(routing.burstGapMs)} apart`);
  const bursts = routing.prefixes.flatMap((p) => p.bursts.slice(-BURSTS_SHOWN).map((b) => bgpBurstCells(p.prefix, b)));
  const hidden = routing.prefixes.reduce((n, p) => n + Math.max(0, p.bursts.length - BURSTS_SHOWN), 0);
  if (bursts.length > 0) {
    text +=
      "\n" +
      heading("BGP bursts: BGP convergence, first to last update") +
      table(upper(BGP_BURST_HEADER), bursts) +
      (hidden > 0 ? note(`${hidden} earlier bursts not shown (--json lists every one)`) : "");
  }
  if (routing.m2.length > 0) {
    text +=
      "\n" +
      heading("Route convergence (M2) per region: first BGP change of the burst to the first answer from the new PoP") +
      table(upper(M2_HEADER), routing.m2.map(m2Cells)) +
      note("a failover without a BGP change within the window has no M2 (no BGP change seen: e.g. a black hole that kept announcing)");
  }
  if (routing.correlated.length > 0) {
    text +=
      "\n" +
      heading(`Outages, PoP changes and detours with BGP events within ±${window}`) +
      table(upper(CORRELATED_HEADER), routing.correlated.map(correlatedCells));
  }
  return text;
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
    const routed = report.routing !== undefined;
    blocks.push([
      [
        "failover_target",
        "kind",
        "region",
        "from",
        "to",
        "at",
        "convergence_ms",
        "resolution_ms",
        ...(routed ? ["prefix", "bgp_events", "first_bgp_event", "bgp_burst_first_at", "m2_ms"] : []),
      ],
      ...report.failovers.map((f) => [
        f.target,
        f.kind,
        f.region,
        f.from,
        f.to,
        f.at,
        String(f.convergenceMs),
        String(f.resolutionMs),
        ...(f.routing === undefined
          ? []
          : [
              f.routing.prefix ?? "",
              String(f.routing.bgpEvents),
              f.routing.firstBgpEvent === null ? "" : bgpEventSummary(f.routing.firstBgpEvent),
              f.routing.burstFirstAt ?? "",
              number(f.routing.m2Ms),
            ]),
      ]),
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
  if (report.implausibleVantages.length > 0) {
    blocks.push([
      [
        "implausible_vantage",
        "claimed",
        "reasons",
        "target",
        "pop",
        "pop_lat",
        "pop_lon",
        "min_rtt_ms",
        "bound_ms",
        "distance_km",
        "samples",
      ],
      ...report.implausibleVantages.map((f) => [
        f.vantage,
        f.claimed,
        f.reasons.join(" "),
        f.target,
        f.pop,
        String(f.popLocation.lat),
        String(f.popLocation.lon),
        String(f.minRttMs),
        String(f.boundMs),
        String(f.distanceKm),
        String(f.samples),
      ]),
    ]);
  }
  if (report.routing !== undefined) {
    const { routing } = report;
    blocks.push([
      ["routing_prefix", "events", "announcements", "withdrawals", "bursts", "origins", "unexpected_origins", "more_specifics"],
      ...routing.prefixes.map((p) => [
        p.prefix,
        String(p.events),
        String(p.announcements),
        String(p.withdrawals),
        String(p.bursts.length),
        p.origins.join(" "),
        p.unexpectedOrigins.join(" "),
        p.moreSpecifics.join(" "),
      ]),
    ]);
    blocks.push([
      ["bgp_burst_prefix", "first_at", "last_at", "convergence_ms", "events", "withdrawals"],
      ...routing.prefixes.flatMap((p) =>
        p.bursts.map((b) => [p.prefix, b.firstAt, b.lastAt, String(b.convergenceMs), String(b.events), String(b.withdrawals)]),
      ),
    ]);
    blocks.push([
      ["m2_region", "failovers", "measured", "m2_p50_ms", "m2_max_ms"],
      ...routing.m2.map((r) => [r.region, String(r.failovers), String(r.measured), number(r.p50Ms), number(r.maxMs)]),
    ]);
  }
  return blocks.map(csvLines).join("\n");
}
