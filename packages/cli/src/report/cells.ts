// The cells of each table row the report shows, shared by the text and HTML
// renderers so both say the same thing; each renderer sets the headers in its
// own case (text: upper case, HTML: as written here) and escapes as it must.
import { formatDuration, formatKm, formatLatency, formatNumber, formatPercent, isoSecond } from "../output/format";
import type {
  Report,
  ReportBgpBurst,
  ReportBgpEvent,
  ReportCorrelatedEvent,
  ReportDetour,
  ReportFailover,
  ReportImplausibleVantage,
  ReportImpossibleRtt,
  ReportRoutingPrefix,
  ReportSeries,
} from "./model";

export const SERIES_HEADER = ["Target", "Kind", "Region", "Success", "Good/total", "TC/TCP retry", "p50/p95/p99 ms", "PoPs"] as const;

/** The kinds whose answers can be truncated (a DNS message); the rest show "-" in the TC column. */
const DNS_KINDS: ReadonlySet<string> = new Set(["dns", "dot", "doh"]);

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
    DNS_KINDS.has(row.kind) ? `${row.truncated}/${row.tcpFallback}` : "-",
    formatLatency(row.latency),
    pops.length === 0 ? "-" : pops.join(", "),
  ];
}

export const FAILOVER_HEADER = ["Target", "Kind", "Region", "From", "To", "At", "Convergence", "Resolution"] as const;
/** With a `bgp` config the failovers also show the BGP events around them and M2. */
export const FAILOVER_ROUTING_HEADER = [...FAILOVER_HEADER, "BGP events", "First BGP event", "M2"] as const;

export function failoverHeader(report: Pick<Report, "routing">): readonly string[] {
  return report.routing === undefined ? FAILOVER_HEADER : FAILOVER_ROUTING_HEADER;
}

export function failoverCells(f: ReportFailover): string[] {
  const cells = [
    f.target,
    f.kind,
    f.region,
    f.from,
    f.to,
    isoSecond(f.at),
    formatDuration(f.convergenceMs),
    formatDuration(f.resolutionMs),
  ];
  if (f.routing === undefined) return cells;
  const { routing } = f;
  return [
    ...cells,
    routing.prefix === null ? "-" : String(routing.bgpEvents),
    routing.firstBgpEvent === null ? "-" : bgpEventSummary(routing.firstBgpEvent),
    m2Text(routing.prefix, routing.m2Ms),
  ];
}

/** M2, or why there is none: a target outside the watched prefixes, or no BGP change (a black hole keeps announcing). */
export function m2Text(prefix: string | null, m2Ms: number | null): string {
  if (prefix === null) return "-";
  return m2Ms === null ? "no BGP change seen" : formatDuration(m2Ms);
}

/** `W 198.51.100.0/24 AS64510 10:00:00.250Z`, `A 198.51.100.0/24 [64510 64500] …`, `peer 198.51.100.1 AS64500 down …`. */
export function bgpEventSummary(e: ReportBgpEvent): string {
  const time = e.at.slice(11, 23).replace(/\.000$/, "") + "Z";
  if (e.type === "STATE") return `peer ${e.peer} AS${e.peerAs} ${e.up ? "up" : "down"} ${time}`;
  if (e.type === "W") return `W ${e.prefix} AS${e.peerAs} ${time}`;
  return `${e.type} ${e.prefix} [${e.asPath.join(" ")}] ${time}`;
}

export const ROUTING_PREFIX_HEADER = [
  "Prefix",
  "BGP events",
  "Announcements",
  "Withdrawals",
  "Bursts",
  "Longest BGP convergence",
  "Origins",
  "Unexpected origins",
  "More-specifics",
] as const;

export function routingPrefixCells(p: ReportRoutingPrefix): string[] {
  const longest = p.bursts.reduce((max, b) => Math.max(max, b.convergenceMs), 0);
  const list = (items: readonly (string | number)[], prefix = "") =>
    items.length === 0 ? "-" : items.map((i) => `${prefix}${i}`).join(" ");
  return [
    p.prefix,
    String(p.events),
    String(p.announcements),
    String(p.withdrawals),
    String(p.bursts.length),
    p.bursts.length === 0 ? "-" : formatDuration(longest),
    list(p.origins, "AS"),
    list(p.unexpectedOrigins, "AS"),
    list(p.moreSpecifics),
  ];
}

export const BGP_BURST_HEADER = ["Prefix", "First update", "Last update", "BGP convergence", "Events", "Withdrawals"] as const;

export function bgpBurstCells(prefix: string, b: ReportBgpBurst): string[] {
  return [prefix, isoSecond(b.firstAt), isoSecond(b.lastAt), formatDuration(b.convergenceMs), String(b.events), String(b.withdrawals)];
}

export const M2_HEADER = ["Region", "Failovers", "With BGP change", "M2 p50", "M2 max"] as const;

export function m2Cells(r: NonNullable<Report["routing"]>["m2"][number]): string[] {
  const ms = (value: number | null) => (value === null ? "-" : formatDuration(value));
  return [r.region, String(r.failovers), String(r.measured), ms(r.p50Ms), ms(r.maxMs)];
}

export const CORRELATED_HEADER = ["Event", "Target", "Region", "At", "From", "To", "BGP events", "First BGP event"] as const;

export function correlatedCells(c: ReportCorrelatedEvent): string[] {
  return [
    c.type,
    c.target,
    c.region,
    isoSecond(c.at),
    c.fromPop ?? "-",
    c.toPop ?? "-",
    String(c.bgpEvents),
    bgpEventSummary(c.firstBgpEvent),
  ];
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

export const IMPLAUSIBLE_VANTAGE_HEADER = [
  "Vantage",
  "Claimed",
  "Why",
  "Target",
  "PoP",
  "PoP at",
  "RTT",
  "Min possible",
  "Distance",
  "Samples",
] as const;

/** Why the section blames the vantage and not the PoP ids. */
export const IMPLAUSIBLE_VANTAGE_NOTE =
  "RTTs below the speed-of-light bound from the claimed location to PoPs in several places, or to the PoP the vantage reaches most";

const MISLOCATION_REASON_TEXT = { several_places: "several places", catchment_pop: "its own PoP" } as const;

export function implausibleVantageCells(f: ReportImplausibleVantage): string[] {
  return [
    f.vantage,
    f.claimed,
    f.reasons.map((r) => MISLOCATION_REASON_TEXT[r]).join(", "),
    f.target,
    f.pop,
    `${f.popLocation.lat},${f.popLocation.lon}`,
    `${formatNumber(f.minRttMs)} ms`,
    `${formatNumber(f.boundMs)} ms`,
    formatKm(f.distanceKm),
    String(f.samples),
  ];
}
