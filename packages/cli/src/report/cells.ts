// The cells of each table row the report shows, shared by the text and HTML
// renderers so both say the same thing; each renderer sets the headers in its
// own case (text: upper case, HTML: as written here) and escapes as it must.
import { formatDuration, formatKm, formatLatency, formatNumber, formatPercent, isoSecond } from "../output/format";
import type { Report, ReportDetour, ReportFailover, ReportImpossibleRtt, ReportSeries } from "./model";

export const SERIES_HEADER = ["Target", "Kind", "Region", "Success", "Good/total", "p50/p95/p99 ms", "PoPs"] as const;

/** `maxPops`: how many PoPs to name before "+N more" (a terminal row stays readable; the page names every one). */
export function seriesCells(row: ReportSeries, maxPops = Number.POSITIVE_INFINITY): string[] {
  const pops = row.pops.slice(0, maxPops).map((p) => `${p.pop} ${formatPercent(p.share)}`);
  if (row.pops.length > maxPops) pops.push(`+${row.pops.length - maxPops} more`);
  return [
    row.target,
    row.kind,
    row.region,
    row.successRatio === null ? "-" : formatPercent(row.successRatio),
    `${row.good}/${row.total}`,
    formatLatency(row.latency),
    pops.length === 0 ? "-" : pops.join(", "),
  ];
}

export const FAILOVER_HEADER = ["Target", "Kind", "Region", "From", "To", "At", "Convergence", "Resolution"] as const;

export function failoverCells(f: ReportFailover): string[] {
  return [f.target, f.kind, f.region, f.from, f.to, isoSecond(f.at), formatDuration(f.convergenceMs), formatDuration(f.resolutionMs)];
}

/** Per region: converged/failovers (SLI). */
export function convergenceSummary(report: Pick<Report, "convergence">): string {
  return report.convergence
    .map((c) => `${c.region} ${c.converged}/${c.failovers}${c.sli === null ? "" : ` (${formatPercent(c.sli)})`}`)
    .join(", ");
}

export const DETOUR_HEADER = ["Target", "Region", "PoP", "Share", "Distance", "Nearest PoP", "Nearest", "Excess"] as const;

export function detourCells(d: ReportDetour): string[] {
  return [
    d.target,
    d.region,
    d.pop,
    formatPercent(d.share),
    formatKm(d.distanceKm),
    d.nearestPop,
    formatKm(d.nearestKm),
    formatKm(d.excessKm),
  ];
}

export const IMPOSSIBLE_RTT_HEADER = ["Target", "Region", "PoP", "Kind", "RTT", "Min possible", "Distance", "At"] as const;

export function impossibleRttCells(f: ReportImpossibleRtt): string[] {
  return [
    f.target,
    f.region,
    f.pop,
    f.kind,
    `${formatNumber(f.rttMs)} ms`,
    `${formatNumber(f.minRttMs)} ms`,
    formatKm(f.distanceKm),
    isoSecond(f.at),
  ];
}
