// `popwatch report --html FILE`: one static page that works offline (attached
// to an incident, opened from a mail): the report's tables, the catchment
// matrix, and burn rate and latency charts drawn by uPlot, inlined with its
// stylesheet. PoP ids and target names come from the wild (NSID strings,
// response headers), so every text is escaped, data travels as JSON the page
// parses, and a Content-Security-Policy lets only the page's own scripts run
// and forbids every network fetch.
import { createHash } from "node:crypto";
import {
  ALERT_WINDOWS,
  type Catchment,
  type CatchmentGroup,
  type CatchmentGroupBy,
  type SloPeriod,
  alertRulesFor,
  rationalToNumber,
} from "@popwatch/core";
import { GROUP_BY_HEADER, catchmentMatrices } from "../output/catchment-render";
import { formatDuration, formatLatency, formatNumber, formatPercent, isoMinute, isoSecond } from "../output/format";
import { uplotAssets } from "../output/uplot-assets";
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
import type { TimeSeriesChart } from "./charts";
import type { Report, ReportContext, ReportPage, ReportRouting, ReportSeries, ReportSlo, RoutingTimeline } from "./model";

/** sinceMs: start of the window of latency, PoPs, catchment, findings and charts. */
export interface HtmlReportInput extends ReportContext, ReportPage {
  report: Report;
}

/** Text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]!);
}

const HTML_ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/**
 * JSON that may sit inside a <script> element: "<" and ">" (which could close
 * it or open a comment), "&", and U+2028/U+2029 are written as \u escapes, so
 * JSON.parse of the element's text gives back exactly the value.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A chart as the page's script reads it. */
interface PageChart {
  id: string;
  kind: TimeSeriesChart["kind"] | "routing";
  unit: string;
  /** Bucket starts, epoch seconds (uPlot's time unit). */
  x: number[];
  lines: TimeSeriesChart["lines"];
  /** Routing timelines: the PoP names of the y axis, the PoP changes and the prefix whose BGP events are drawn. */
  routing?: {
    pops: string[];
    prefix: string;
    end: number;
    changes: { at: number; type: string; from: string | null; to: string | null }[];
  };
}

/** BGP events as the page draws them: [epoch seconds, "A" | "W" | "B" | "up" | "down"]. */
type PageBgpMarker = [number, string];

export function renderHtmlReport(input: HtmlReportInput): string {
  const { report, charts } = input;
  const assets = uplotAssets();
  const pageCharts: PageChart[] = [];
  const figure = (chart: TimeSeriesChart, caption: string): string => {
    const id = `chart-${pageCharts.length}`;
    pageCharts.push({
      id,
      kind: chart.kind,
      unit: chart.kind === "burn" ? "burn rate ×" : "ms",
      x: chart.x.map((ms) => ms / 1000),
      lines: chart.lines,
    });
    return (
      `<figure class="chart" id="${id}" data-chart-kind="${chart.kind}" data-scope="${escapeHtml(chart.scope)}">` +
      `<figcaption>${escapeHtml(caption)}</figcaption><div class="plot"></div></figure>`
    );
  };

  const routingFigure = (timeline: RoutingTimeline, caption: string): string => {
    const id = `chart-${pageCharts.length}`;
    pageCharts.push({
      id,
      kind: "routing",
      unit: "PoP",
      x: timeline.x.map((ms) => ms / 1000),
      lines: [{ label: "PoP", values: timeline.pop }],
      routing: {
        pops: timeline.pops,
        prefix: timeline.prefix,
        end: charts.window.toMs / 1000,
        changes: timeline.changes.map((c) => ({ at: c.atMs / 1000, type: c.type, from: c.from, to: c.to })),
      },
    });
    return (
      `<figure class="chart" id="${id}" data-chart-kind="routing" data-scope="${escapeHtml(timeline.region)}" data-prefix="${escapeHtml(timeline.prefix)}">` +
      `<figcaption>${escapeHtml(caption)}</figcaption><div class="plot"></div></figure>`
    );
  };

  const burnSection =
    charts.burn.length === 0
      ? `<p class="empty">No SLO events in the window.</p>`
      : chartGrid(charts.burn.map((chart) => figure(chart, chart.scope === "pooled" ? "pooled (all regions)" : chart.scope)));
  const latencyByRegion = new Map<string, TimeSeriesChart[]>();
  for (const chart of charts.latency) latencyByRegion.set(chart.scope, [...(latencyByRegion.get(chart.scope) ?? []), chart]);
  const latencySection =
    charts.latency.length === 0
      ? `<p class="empty">No latencies in the window.</p>`
      : [...latencyByRegion]
          .map(
            ([region, list]) =>
              `<h3>${escapeHtml(region)}</h3>` +
              chartGrid(list.map((chart) => figure(chart, `${chart.target ?? ""} (${chart.probeKind ?? ""})`))),
          )
          .join("");

  const routingTimelinesSection =
    input.routing === undefined
      ? ""
      : `<section id="routing-timeline"><h2>PoP changes and BGP events per region</h2><p class="note">${ROUTING_CHARTS_NOTE}</p>` +
        (input.routing.timelines.length === 0
          ? `<p class="empty">No target in a watched prefix has answers in the window.</p>`
          : [...groupTimelines(input.routing.timelines)]
              .map(
                ([region, list]) =>
                  `<h3>${escapeHtml(region)}</h3>` +
                  chartGrid(list.map((timeline) => routingFigure(timeline, `${timeline.target} (${timeline.prefix})`))),
              )
              .join("")) +
        "</section>\n";
  const bgpMarkers: Record<string, PageBgpMarker[]> = {};
  for (const [prefix, events] of Object.entries(input.routing?.bgp ?? {}))
    bgpMarkers[prefix] = events.map((e) => [e.atMs / 1000, e.type === "STATE" ? (e.up ? "up" : "down") : e.type]);
  const data = {
    report,
    sinceMs: input.sinceMs,
    bucketMs: charts.window.bucketMs,
    catchments: input.catchments,
    charts: pageCharts,
    ...(input.routing === undefined ? {} : { bgp: bgpMarkers }),
  };
  const since = isoMinute(new Date(input.sinceMs).toISOString());
  const bucketText = escapeHtml(formatDuration(charts.window.bucketMs));
  const seriesSection =
    report.series === undefined
      ? ""
      : `<section id="series"><h2>Targets since ${escapeHtml(since)}</h2>${seriesTable(report.series)}</section>\n`;
  const script = safeScriptText(assets.script);
  const csp = [
    "default-src 'none'",
    `script-src ${[script, PAGE_SCRIPT].map((s) => `'sha256-${createHash("sha256").update(s, "utf8").digest("base64")}'`).join(" ")}`,
    "style-src 'unsafe-inline'",
    "img-src data:",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>popwatch report ${escapeHtml(isoMinute(report.generatedAt))}</title>
<style>${safeStyleText(assets.stylesheet)}</style>
<style>${PAGE_STYLE}</style>
</head>
<body data-charts-expected="${pageCharts.length}" data-charts-drawn="0">
<header>
<h1>popwatch report</h1>
<dl class="summary">
<dt>Generated</dt><dd>${escapeHtml(isoSecond(report.generatedAt))}</dd>
<dt>SLO windows end</dt><dd>${escapeHtml(isoMinute(report.endsAt))}</dd>
<dt>Latency, PoPs, charts and findings</dt><dd>since ${escapeHtml(since)}, charts in ${bucketText} buckets</dd>
<dt>Regions</dt><dd>${input.regions.length === 0 ? "none" : input.regions.map(escapeHtml).join(", ")}</dd>
</dl>
</header>
<main>
<section id="slos"><h2>SLOs</h2>${sloTable(report.slos)}</section>
${seriesSection}<section id="catchment"><h2>Catchment since ${escapeHtml(since)}</h2>${
    input.catchmentGroups === undefined
      ? catchmentTables(input.catchments)
      : catchmentGroupTables(input.catchmentGroups.groups, input.catchmentGroups.by)
  }${catchmentM2(report)}</section>
<section id="burn-rates"><h2>Burn rate per region</h2><p class="note">${BURN_CHARTS_NOTE}</p>${burnSection}</section>
<section id="latency"><h2>Latency per region</h2><p class="note">${LATENCY_CHARTS_NOTE}</p>${latencySection}</section>
${routingTimelinesSection}${findings(input)}
</main>
<footer>
<p>Charts drawn with uPlot ${escapeHtml(assets.version)} (MIT licence), inlined in this file.</p>
<details><summary>uPlot licence</summary><pre>${escapeHtml(assets.license)}</pre></details>
</footer>
<script type="application/json" id="report-data">${jsonForScript(data)}</script>
<script>${script}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

const BURN_CHARTS_NOTE =
  "Burn rate of each bucket's events, one line per SLO; the dashed line is 1×, which spends the budget exactly over the period. " +
  "Times in UTC.";
const ROUTING_CHARTS_NOTE =
  "Per region and target in a watched prefix: the PoP answering most probes in each bucket (the line), " +
  "failovers (purple), short PoP changes (orange) and outages (red) at the instant they began (dashed lines), and the BGP events of the target's prefix " +
  "and its more-specifics on the same time axis (top band: ▲ announcement, ▼ withdrawal, ✕ session down, ○ session up). Times in UTC.";
const LATENCY_CHARTS_NOTE = "p50, p95 and p99 of the good results of each bucket, per target and probe kind. Times in UTC.";

function groupTimelines(timelines: readonly RoutingTimeline[]): Map<string, RoutingTimeline[]> {
  const byRegion = new Map<string, RoutingTimeline[]>();
  for (const timeline of timelines) byRegion.set(timeline.region, [...(byRegion.get(timeline.region) ?? []), timeline]);
  return byRegion;
}

/** With a `bgp` config: M2 route convergence beside the catchment it moved. */
function catchmentM2(report: Report): string {
  if (report.routing === undefined) return "";
  return (
    `<h3>Route convergence (M2) per region</h3>` +
    (report.routing.m2.length === 0
      ? `<p class="empty">No failovers of targets in watched prefixes.</p>`
      : table(
          M2_HEADER,
          report.routing.m2.map((r) => row(m2Cells(r))),
        ) + `<p class="note">${escapeHtml(M2_NOTE)}</p>`)
  );
}

const M2_NOTE =
  "From the first BGP change of the burst a failover belongs to, to the first answer from the new PoP in the region. " +
  "A failover without a BGP change within the correlation window has none (no BGP change seen: e.g. a black hole that kept announcing).";

function routingSection(routing: ReportRouting, since: string): string {
  const bursts = routing.prefixes.flatMap((p) => p.bursts.map((b) => row(bgpBurstCells(p.prefix, b))));
  return (
    `<section id="routing"><h2>Routing since ${since}</h2>` +
    `<p class="note">BGP events of each watched prefix and its more-specifics; withdrawals include sessions going down.</p>` +
    table(
      ROUTING_PREFIX_HEADER,
      routing.prefixes.map((p) => row(routingPrefixCells(p))),
    ) +
    `<h3>BGP bursts</h3>` +
    (bursts.length === 0
      ? `<p class="empty">None.</p>`
      : table(BGP_BURST_HEADER, bursts) +
        `<p class="note">Updates less than ${escapeHtml(formatDuration(routing.burstGapMs))} apart; BGP convergence is first to last update.</p>`) +
    `<h3>Route convergence (M2) per region</h3>` +
    (routing.m2.length === 0
      ? `<p class="empty">No failovers of targets in watched prefixes.</p>`
      : table(
          M2_HEADER,
          routing.m2.map((r) => row(m2Cells(r))),
        ) + `<p class="note">${escapeHtml(M2_NOTE)}</p>`) +
    `<h3>Outages, PoP changes and detours with BGP events within ±${escapeHtml(formatDuration(routing.correlationWindowMs))}</h3>` +
    (routing.correlated.length === 0
      ? `<p class="empty">None.</p>`
      : table(
          CORRELATED_HEADER,
          routing.correlated.map((c) => row(correlatedCells(c))),
        )) +
    `</section>\n`
  );
}

function chartGrid(figures: readonly string[]): string {
  return `<div class="charts">${figures.join("")}</div>`;
}

function sloTable(rows: readonly ReportSlo[]): string {
  if (rows.length === 0) return `<p class="empty">No SLOs to report (add slos to the configuration).</p>`;
  const header = [
    "SLO",
    "Scope",
    "Objective",
    "SLI",
    "Good/total",
    "Budget left",
    ...ALERT_WINDOWS,
    "Period",
    "Page",
    "Ticket",
    "p50/p95/p99 ms",
    "Top PoPs",
  ];
  const body = rows.map((row) => {
    const thresholds = burnThresholds(row.period);
    const burnCell = (value: number | null | undefined) =>
      value === null || value === undefined
        ? `<td class="num burn-none">-</td>`
        : `<td class="num ${burnClass(value, thresholds)}">${escapeHtml(formatNumber(value))}×</td>`;
    const alert = (severity: "page" | "ticket") => {
      const status = row.alerts[severity];
      // The stored state lags the evaluation until the evaluator runs; say when the rules already burn.
      const burning = row.firing.some((f) => f.severity === severity);
      const text = status === "firing" ? "FIRING" : burning ? `${status} (burning)` : status;
      return `<td class="${status === "firing" || burning ? "alert-on" : "alert-off"}">${escapeHtml(text)}</td>`;
    };
    const latency = formatLatency(row.latency);
    const threshold = row.indicator.type === "latency" ? ` ≤${formatNumber(row.indicator.thresholdMs)} ms` : "";
    const objective = `${formatPercent(row.objective)} ${row.period}${threshold}`;
    const budget = row.budgetRemaining;
    const budgetClass = budget === null ? "burn-none" : budget < 0 ? "budget-spent" : budget < 0.25 ? "budget-low" : "budget-ok";
    return (
      `<tr><td>${escapeHtml(row.slo)}</td><td>${escapeHtml(row.scope)}</td><td>${escapeHtml(objective)}</td>` +
      `<td class="num">${row.sli.ratio === null ? "-" : escapeHtml(formatPercent(row.sli.ratio))}</td>` +
      `<td class="num">${row.sli.good}/${row.sli.total}</td>` +
      `<td class="num ${budgetClass}">${budget === null ? "-" : escapeHtml(formatPercent(budget))}</td>` +
      ALERT_WINDOWS.map((w) => burnCell(row.burnRates[w])).join("") +
      burnCell(row.burnRates[row.period]) +
      alert("page") +
      alert("ticket") +
      `<td class="num">${escapeHtml(latency)}</td>` +
      `<td>${
        row.topPops.length === 0
          ? "-"
          : row.topPops
              .slice(0, 3)
              .map((p) => `${escapeHtml(p.pop)} ${escapeHtml(formatPercent(p.share))}`)
              .join(", ")
      }</td></tr>`
    );
  });
  return (
    table(header, body) +
    `<p class="note">Burn rates over each alert window and the period; 1× spends the budget exactly over the period. ` +
    `Colours: <span class="burn-page">above the page rules' factor</span>, ` +
    `<span class="burn-ticket">above the ticket rules' factor</span>, ` +
    `<span class="burn-low">below both</span>, <span class="burn-zero">no bad events</span>. SLI and good/total over the period.</p>`
  );
}

function seriesTable(rows: readonly ReportSeries[]): string {
  if (rows.length === 0) return `<p class="empty">No results in the window.</p>`;
  const body = rows.map((r) => row(seriesCells(r)));
  return table(SERIES_HEADER, body) + `<p class="note">Latency of the good results; PoP shares of the answers that identified a PoP.</p>`;
}

interface BurnThresholds {
  page: number;
  ticket: number;
}

/** The lowest factor of the period's page rules and of its ticket rules (30d: 6 and 1). */
function burnThresholds(period: SloPeriod): BurnThresholds {
  const rules = alertRulesFor(period);
  const lowest = (severity: "page" | "ticket") =>
    Math.min(...rules.filter((r) => r.severity === severity).map((r) => rationalToNumber(r.factor)));
  return { page: lowest("page"), ticket: lowest("ticket") };
}

// Rules fire when the burn rate exceeds the factor strictly, so a cell is coloured the same way.
function burnClass(value: number, thresholds: BurnThresholds): string {
  if (value > thresholds.page) return "burn-page";
  if (value > thresholds.ticket) return "burn-ticket";
  return value === 0 ? "burn-zero" : "burn-low";
}

function catchmentTables(catchments: readonly Catchment[]): string {
  if (catchments.length === 0) return `<p class="empty">No rollups in the window.</p>`;
  const blocks: string[] = [];
  for (const { target, rows, pops } of catchmentMatrices(catchments)) {
    const body = rows.map((row) => {
      const cells = pops.map((pop) => shareCell(row.shares[pop], pop === row.dominant));
      const counts = [row.total, row.unidentified, row.changes.length].map((n) => `<td class="num">${n}</td>`).join("");
      return `<tr><td>${escapeHtml(row.region)}</td>${counts}${cells.join("")}</tr>`;
    });
    const changes = rows.flatMap((row) =>
      row.changes.map(
        (c) => `<li>${escapeHtml(row.region)} ${escapeHtml(isoMinute(c.at))}: ${escapeHtml(c.from)} → ${escapeHtml(c.to)}</li>`,
      ),
    );
    blocks.push(
      `<h3>${escapeHtml(target)}</h3>` +
        table(["Region", "Answers", "No PoP", "Changes", ...pops], body, "catchment") +
        (changes.length > 0 ? `<p>Dominant PoP changes:</p><ul>${changes.join("")}</ul>` : ""),
    );
  }
  return `${blocks.join("")}<p class="note">★ dominant PoP (most answers); shares are of the answers that identified a PoP.</p>`;
}

/** One PoP's share in a catchment row; the dominant PoP starred. */
function shareCell(share: number | undefined, dominant: boolean): string {
  if (share === undefined) return `<td class="share none">-</td>`;
  // Heat: opacity of the cell colour follows the share; text turns light on the darker half.
  const style = `background-color: rgba(37, 99, 235, ${(0.08 + 0.8 * share).toFixed(3)});${share > 0.5 ? " color: #fff;" : ""}`;
  const percent = `${escapeHtml((share * 100).toFixed(1))}%`;
  return dominant
    ? `<td class="share dominant" style="${style}" title="dominant PoP">★ ${percent}</td>`
    : `<td class="share" style="${style}">${percent}</td>`;
}

/** The catchment section with --group-by country or asn: one row per group of vantages. */
function catchmentGroupTables(groups: readonly CatchmentGroup[], by: CatchmentGroupBy): string {
  if (groups.length === 0) return `<p class="empty">No rollups in the window.</p>`;
  const blocks: string[] = [];
  for (const { target, rows, pops } of catchmentMatrices(groups)) {
    const body = rows.map((row) => {
      const counts = [row.vantages.length, row.total, row.unidentified].map((n) => `<td class="num">${n}</td>`).join("");
      const cells = pops.map((pop) => shareCell(row.shares[pop], pop === row.dominant));
      return `<tr><td>${escapeHtml(row.group)}</td>${counts}${cells.join("")}</tr>`;
    });
    blocks.push(
      `<h3>${escapeHtml(target)}</h3>${table([GROUP_BY_HEADER[by], "Vantages", "Answers", "No PoP", ...pops], body, "catchment")}`,
    );
  }
  return `${blocks.join("")}<p class="note">★ dominant PoP; shares are each vantage's shares averaged over the group's vantages.</p>`;
}

function findings(input: HtmlReportInput): string {
  const { report } = input;
  const since = escapeHtml(isoMinute(new Date(input.sinceMs).toISOString()));
  const convergence = convergenceSummary(report);
  const failovers =
    report.failovers.length === 0
      ? `<p class="empty">None.</p>`
      : table(
          failoverHeader(report),
          report.failovers.map((f) => row(failoverCells(f))),
        ) + `<p class="note">Converged within ${escapeHtml(formatDuration(input.thresholdMs))}: ${escapeHtml(convergence)}</p>`;
  const detours =
    report.detours.length === 0
      ? `<p class="empty">None.</p>`
      : table(
          DETOUR_HEADER,
          report.detours.map((d) => row(detourCells(d))),
        );
  const impossible =
    report.impossibleRtts.length === 0
      ? `<p class="empty">None.</p>`
      : table(
          IMPOSSIBLE_RTT_HEADER,
          report.impossibleRtts.map((f) => row(impossibleRttCells(f))),
        );
  const implausible =
    report.implausibleVantages.length === 0
      ? `<p class="empty">None.</p>`
      : table(
          IMPLAUSIBLE_VANTAGE_HEADER,
          report.implausibleVantages.map((f) => row(implausibleVantageCells(f))),
        );
  return (
    `<section id="failovers"><h2>Failovers since ${since}</h2>${failovers}</section>\n` +
    (report.routing === undefined ? "" : routingSection(report.routing, since)) +
    `<section id="detours"><h2>Detours since ${since}</h2>` +
    `<p class="note">A region served by a PoP far beyond the nearest one the target has.</p>${detours}</section>\n` +
    `<section id="impossible-rtts"><h2>Impossible RTTs since ${since}</h2>` +
    `<p class="note">Faster than light in fibre allows to the PoP they are attributed to.</p>${impossible}</section>\n` +
    `<section id="implausible-vantages"><h2>Vantages whose claimed location is implausible since ${since}</h2>` +
    `<p class="note">${escapeHtml(IMPLAUSIBLE_VANTAGE_NOTE)}.</p>${implausible}</section>`
  );
}

function table(header: readonly string[], rows: readonly string[], className?: string): string {
  const head = header.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const classAttribute = className === undefined ? "" : ` class="${className}"`;
  return `<div class="scroll"><table${classAttribute}><thead><tr>${head}</tr></thead><tbody>${rows.join("")}</tbody></table></div>`;
}

function row(cells: readonly string[]): string {
  return `<tr>${cells.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`;
}

// An inline script or style ends at the first "</script" or "</style", whatever the language says. In JS and CSS, "\/" is "/".
function safeScriptText(text: string): string {
  return text.replace(/<\/(script)/gi, "<\\/$1");
}

function safeStyleText(text: string): string {
  return text.replace(/<\/(style)/gi, "<\\/$1");
}

// One line of CSS per element, long ones cut in pieces, so the source stays
// within the line width while the page gets the same text as ever.
const PAGE_STYLE = [
  "",
  ":root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; }",
  'body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); ' +
    "margin: 0 auto; padding: 16px 24px; max-width: 1400px; }",
  "h1 { font-size: 22px; margin: 0 0 8px; } " +
    "h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); } " +
    "h3 { font-size: 15px; margin: 16px 0 6px; }",
  "dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; } " +
    "dl.summary dt { color: var(--muted); } dl.summary dd { margin: 0; }",
  ".scroll { overflow-x: auto; } table { border-collapse: collapse; margin: 4px 0; font-variant-numeric: tabular-nums; } " +
    "th, td { border: 1px solid var(--line); padding: 3px 8px; text-align: left; white-space: nowrap; }",
  "th { background: #f6f8fa; } td.num { text-align: right; } td.share { text-align: right; min-width: 64px; } " +
    "td.dominant { font-weight: 700; }",
  ".burn-page { background: #f8d0d0; color: #82071e; } .burn-ticket { background: #fbe6b8; color: #7a4a00; } " +
    ".burn-low { background: #e6f4ea; } .burn-zero { background: #dafbe1; color: #116329; } " +
    ".burn-none { color: var(--muted); }",
  ".budget-spent { background: #f8d0d0; color: #82071e; font-weight: 700; } .budget-low { background: #fbe6b8; } " +
    ".budget-ok { background: #dafbe1; }",
  ".alert-on { color: #82071e; font-weight: 700; } .alert-off { color: var(--muted); }",
  ".note, .empty { color: var(--muted); margin: 4px 0; }",
  ".charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 16px; }",
  "figure.chart { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 8px; min-width: 0; } " +
    "figure.chart figcaption { font-weight: 600; margin-bottom: 4px; }",
  'figure.chart[data-chart-error]::after { content: "chart failed: " attr(data-chart-error); color: #82071e; }',
  ".plot { width: 100%; min-height: 240px; }",
  "footer { margin-top: 32px; color: var(--muted); font-size: 12px; } footer pre { white-space: pre-wrap; }",
  "",
].join("\n");

// Runs in the page. It reads the data block, draws each chart, and marks a
// chart drawn only once uPlot painted a canvas of non-zero size, so a
// headless browser's DOM tells whether the charts really drew.
const PAGE_SCRIPT = `
(function () {
  "use strict";
  var body = document.body;
  var drawnCount = 0;
  var palette = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4d7c0f", "#be185d"];
  var quantileColours = { p50: "#16a34a", p95: "#ea580c", p99: "#dc2626" };
  var data;
  try {
    data = JSON.parse(document.getElementById("report-data").textContent);
  } catch (err) {
    body.setAttribute("data-page-error", String(err && err.message || err));
    return;
  }
  function utc(ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); }
  // Tick labels as the rest of the report writes times: 24-hour UTC, the date where it changes.
  function utcTicks(u, splits, axisIndex, space, increment) {
    var lastDay = null;
    return splits.map(function (ts) {
      var iso = new Date(ts * 1000).toISOString();
      var day = iso.slice(5, 10);
      var text = increment >= 86400 || day === lastDay ? (increment >= 86400 ? day : iso.slice(11, 16)) : day + " " + iso.slice(11, 16);
      lastDay = day;
      return text;
    });
  }
  function painted(canvas) {
    var pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    for (var i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
    return false;
  }
  function markDrawn(box, u) {
    var canvas = u.ctx.canvas;
    if (canvas.width > 0 && canvas.height > 0 && painted(canvas)) {
      box.removeAttribute("data-chart-error");
      if (box.getAttribute("data-drawn") !== "true") {
        box.setAttribute("data-drawn", "true");
        drawnCount += 1;
        body.setAttribute("data-charts-drawn", String(drawnCount));
      }
    } else if (box.getAttribute("data-drawn") !== "true") {
      box.setAttribute("data-chart-error", "canvas " + canvas.width + "x" + canvas.height + " with nothing painted");
    }
  }
  function referenceLine(u, value) {
    var y = u.valToPos(value, "y", true);
    var box = u.bbox;
    if (!(y >= box.top && y <= box.top + box.height)) return;
    var ctx = u.ctx;
    ctx.save();
    ctx.strokeStyle = "#6b7280";
    ctx.lineWidth = Math.max(1, window.devicePixelRatio || 1);
    ctx.setLineDash([6, 4]);
    ctx.beginPath();
    ctx.moveTo(box.left, y);
    ctx.lineTo(box.left + box.width, y);
    ctx.stroke();
    ctx.restore();
  }
  var changeColours = { failover: "#9333ea", "pop-change": "#ea580c", outage: "#dc2626" };
  // Routing timelines: PoP changes as dashed vertical lines, BGP events as markers in a band along the top.
  function routingOverlay(u, routing, markers) {
    var ctx = u.ctx;
    var box = u.bbox;
    var dpr = window.devicePixelRatio || 1;
    var inside = function (x) { return x >= box.left && x <= box.left + box.width; };
    ctx.save();
    ctx.lineWidth = Math.max(1, dpr);
    ctx.setLineDash([4 * dpr, 3 * dpr]);
    routing.changes.forEach(function (c) {
      ctx.strokeStyle = changeColours[c.type] || "#9333ea";
      var x = u.valToPos(c.at, "x", true);
      if (!inside(x)) return;
      ctx.beginPath();
      ctx.moveTo(x, box.top);
      ctx.lineTo(x, box.top + box.height);
      ctx.stroke();
    });
    ctx.setLineDash([]);
    var size = 4 * dpr;
    var y = box.top + size + 2 * dpr;
    markers.forEach(function (m) {
      var x = u.valToPos(m[0], "x", true);
      if (!inside(x)) return;
      var kind = m[1];
      var bad = kind === "W" || kind === "down";
      ctx.fillStyle = ctx.strokeStyle = bad ? "#dc2626" : "#16a34a";
      ctx.beginPath();
      if (kind === "W") { ctx.moveTo(x - size, y - size); ctx.lineTo(x + size, y - size); ctx.lineTo(x, y + size); ctx.closePath(); ctx.fill(); }
      else if (kind === "down") { ctx.moveTo(x - size, y - size); ctx.lineTo(x + size, y + size); ctx.moveTo(x + size, y - size); ctx.lineTo(x - size, y + size); ctx.stroke(); }
      else if (kind === "up") { ctx.arc(x, y, size, 0, 2 * Math.PI); ctx.stroke(); }
      else { ctx.moveTo(x - size, y + size); ctx.lineTo(x + size, y + size); ctx.lineTo(x, y - size); ctx.closePath(); ctx.fill(); }
    });
    ctx.restore();
  }
  var plots = [];
  data.charts.forEach(function (chart) {
    var box = document.getElementById(chart.id);
    if (!box) return;
    try {
      var target = box.querySelector(".plot");
      var hooks = { draw: [] };
      if (chart.kind === "burn") hooks.draw.push(function (u) { referenceLine(u, 1); });
      var routing = chart.routing;
      if (routing) {
        var markers = (data.bgp && data.bgp[routing.prefix]) || [];
        hooks.draw.push(function (u) { routingOverlay(u, routing, markers); });
      }
      hooks.draw.push(function (u) {
        try { markDrawn(box, u); } catch (err) { box.setAttribute("data-chart-error", String(err && err.message || err)); }
      });
      var series = [{}].concat(chart.lines.map(function (line, i) {
        var s = {
          label: line.label,
          stroke: chart.kind === "latency" ? quantileColours[line.label] || palette[i % palette.length] : palette[i % palette.length],
          width: 2,
          points: { show: chart.x.length <= 60 },
        };
        if (routing) {
          s.paths = uPlot.paths.stepped({ align: 1 });
          s.value = function (u, v) { return v == null ? "-" : routing.pops[v]; };
        }
        return s;
      }));
      var yScale = routing
        ? { range: function () { return [-0.5, routing.pops.length + 0.5]; } }
        : { range: chart.kind === "burn"
          ? function (u, min, max) { return [0, Math.max(2, (max || 0) * 1.1)]; }
          : function (u, min, max) { return [0, Math.max(1, (max || 0) * 1.1)]; } };
      var yAxis = routing
        ? {
          label: chart.unit,
          size: 96,
          splits: function () { return routing.pops.map(function (p, i) { return i; }); },
          values: function (u, splits) { return splits.map(function (v) { return routing.pops[v] === undefined ? "" : routing.pops[v]; }); },
        }
        : { label: chart.unit, size: 64 };
      var opts = {
        width: Math.max(300, Math.floor(target.clientWidth || 560)),
        height: 240,
        tzDate: utc,
        series: series,
        scales: routing
          ? { x: { time: true, range: function () { return [chart.x[0], routing.end]; } }, y: yScale }
          : { y: yScale },
        axes: [{ values: utcTicks, space: 80 }, yAxis],
        hooks: hooks,
      };
      var u = new uPlot(opts, [chart.x].concat(chart.lines.map(function (line) { return line.values; })), target);
      plots.push({ u: u, target: target });
    } catch (err) {
      box.setAttribute("data-chart-error", String(err && err.message || err));
    }
  });
  window.addEventListener("resize", function () {
    plots.forEach(function (p) { p.u.setSize({ width: Math.max(300, Math.floor(p.target.clientWidth || 560)), height: 240 }); });
  });
})();
`;
