// The report's model: what `popwatch report` states, whatever the format.
// build.ts fills it from the store (through the one rollup read model), and
// one renderer per format turns it into text (render-text.ts: table,
// Markdown, CSV, JSON) or a page (render-html.ts). The JSON form is this
// model as it is, so its field names are a contract.
import type {
  ALERT_SEVERITIES,
  AlertStatus,
  Catchment,
  CatchmentGroup,
  CatchmentGroupBy,
  ConvergenceSli,
  DataPlaneEventType,
  DetourItem,
  FiringAlert,
  GeoPoint,
  LatencySummary,
  MislocationReason,
  PopShare,
  ProbeKind,
  RegionRouteConvergence,
  SliConfig,
  SloPeriod,
} from "@popwatch/core";
import type { ReportCharts } from "./charts";

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
  topPops: PopShare[];
}

/** One series (target, kind, region) over --since: what a report shows without SLOs. */
export interface ReportSeries {
  target: string;
  kind: ProbeKind;
  region: string;
  total: number;
  good: number;
  /** good / total; null without results. */
  successRatio: number | null;
  /** Of the good results. */
  latency: LatencySummary;
  /** Every answering PoP, largest share first. */
  pops: PopShare[];
  /** Results that identified no PoP. */
  unidentified: number;
  /** DNS results (dns, dot, doh) whose answer had TC=1; 0 for other kinds. */
  truncated: number;
  /** Of those, the ones retried over TCP. */
  tcpFallback: number;
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
  /** With a `bgp` config only: the BGP events of the target's prefix around the failover, and M2. */
  routing?: ReportFailoverRouting;
}

/** One BGP event as the report shows it. */
export interface ReportBgpEvent {
  /** `A` announcement, `W` withdrawal, `B` RIB entry, `STATE` a session going up or down. */
  type: "A" | "W" | "B" | "STATE";
  at: string;
  source: string;
  peer: string;
  peerAs: number;
  /** Null for session changes. */
  prefix: string | null;
  /** Empty for withdrawals and session changes. */
  asPath: number[];
  origin: number | null;
  /** Session changes: whether it came up. */
  up?: boolean;
}

export interface ReportFailoverRouting {
  /** The watched prefix holding the target's address; null when none does. */
  prefix: string | null;
  /** BGP events of the prefix (and its more-specifics) within ±correlation window of the failover's start. */
  bgpEvents: number;
  /** The first of them; null when there were none. */
  firstBgpEvent: ReportBgpEvent | null;
  /** Start of the BGP burst the failover belongs to; null: no BGP change seen. */
  burstFirstAt: string | null;
  burstEvents: number;
  /** M2 route convergence: from burstFirstAt to the first answer from the new PoP; null: no BGP change seen. */
  m2Ms: number | null;
}

/** A data-plane event other than a failover (outage, short PoP change, start of a detour) with BGP events around it. */
export interface ReportCorrelatedEvent {
  type: DataPlaneEventType;
  target: string;
  region: string;
  at: string;
  fromPop: string | null;
  toPop: string | null;
  prefix: string;
  bgpEvents: number;
  firstBgpEvent: ReportBgpEvent;
}

/** One BGP burst: updates of a prefix less than the burst gap apart. */
export interface ReportBgpBurst {
  firstAt: string;
  lastAt: string;
  /** First to last update. */
  convergenceMs: number;
  events: number;
  withdrawals: number;
}

/** One watched prefix over --since, from the BGP events stored for it and its more-specifics. */
export interface ReportRoutingPrefix {
  prefix: string;
  /** Route events (announcements, withdrawals, RIB entries) and session changes of the peers that carried it. */
  events: number;
  announcements: number;
  /** Route withdrawals and sessions going down. */
  withdrawals: number;
  /** Origin ASes seen in announcements, ascending. */
  origins: number[];
  /** Of those, the ones not in the config's origins. */
  unexpectedOrigins: number[];
  /** More-specifics announced inside it. */
  moreSpecifics: string[];
  bursts: ReportBgpBurst[];
}

/** What the report says about routing; present only with a `bgp` config. */
export interface ReportRouting {
  correlationWindowMs: number;
  burstGapMs: number;
  prefixes: ReportRoutingPrefix[];
  /** M2 route convergence per region, over the failovers of targets in watched prefixes. */
  m2: RegionRouteConvergence[];
  /** Outages, short PoP changes and detours with BGP events within the window. */
  correlated: ReportCorrelatedEvent[];
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

/**
 * One PoP that answered a vantage faster than light in fibre allows from the
 * vantage's claimed location, for a vantage judged mislocated (claimedLocationCheck).
 */
export interface ReportImplausibleVantage {
  vantage: string;
  /** IATA code or `lat,lon`. */
  claimed: string;
  reasons: MislocationReason[];
  target: string;
  pop: string;
  popLocation: GeoPoint;
  minRttMs: number;
  boundMs: number;
  distanceKm: number;
  samples: number;
}

export interface Report {
  generatedAt: string;
  /** Where the SLO windows end. */
  endsAt: string;
  slos: ReportSlo[];
  /** Per series over --since; present when no SLO is configured, or when asked for (--series). */
  series?: ReportSeries[];
  failovers: ReportFailover[];
  convergence: ConvergenceSli[];
  detours: ReportDetour[];
  /** Impossible RTTs of vantages not judged mislocated: the PoP attribution is the suspect. */
  impossibleRtts: ReportImpossibleRtt[];
  /** Impossible RTTs of vantages judged mislocated: the vantage's claimed location is the suspect. */
  implausibleVantages: ReportImplausibleVantage[];
  /** With a `bgp` config only. */
  routing?: ReportRouting;
  /** Rollup items the report read, each at most once. */
  itemsRead: number;
}

/** What only the HTML page shows besides the report. */
export interface ReportPage {
  /** The regions the report covers, in order. */
  regions: string[];
  catchments: Catchment[];
  /** With --group-by country or asn: the catchment section's rows, one per group of vantages. */
  catchmentGroups?: { by: CatchmentGroupBy; groups: CatchmentGroup[] };
  charts: ReportCharts;
  /** With a `bgp` config only. */
  routing?: RoutingTimelines;
}

/** For the page: one PoP-change timeline per region and target in a watched prefix, on the charts' time axis. */
export interface RoutingTimeline {
  region: string;
  target: string;
  prefix: string;
  /** Every PoP on the timeline, sorted. */
  pops: string[];
  /** Bucket starts, epoch ms (the charts' buckets). */
  x: number[];
  /** Per bucket: index into pops of the PoP answering most; null without an identified answer. */
  pop: (number | null)[];
  /** Failovers, short PoP changes and outages at the instant they began. */
  changes: { atMs: number; type: DataPlaneEventType; from: string | null; to: string | null }[];
}

export interface RoutingTimelines {
  timelines: RoutingTimeline[];
  /** Per prefix of a timeline: its BGP events over the chart window, in time order. */
  bgp: Record<string, { atMs: number; type: ReportBgpEvent["type"]; up?: boolean }[]>;
}

/** Where the report's windows start, for captions. */
export interface ReportContext {
  sinceMs: number;
  /** The convergence SLI's threshold. */
  thresholdMs: number;
}
