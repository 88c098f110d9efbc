// The report's model: what `popwatch report` states, whatever the format.
// build.ts fills it from the store (through the one rollup read model), and
// one renderer per format turns it into text (render-text.ts: table,
// Markdown, CSV, JSON) or a page (render-html.ts). The JSON form is this
// model as it is, so its field names are a contract.
import type {
  ALERT_SEVERITIES,
  AlertStatus,
  Catchment,
  ConvergenceSli,
  DetourItem,
  FiringAlert,
  LatencySummary,
  PopShare,
  ProbeKind,
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
  /** Per series over --since; present when no SLO is configured, or when asked for (--series). */
  series?: ReportSeries[];
  failovers: ReportFailover[];
  convergence: ConvergenceSli[];
  detours: ReportDetour[];
  impossibleRtts: ReportImpossibleRtt[];
  /** Rollup items the report read, each at most once. */
  itemsRead: number;
}

/** What only the HTML page shows besides the report. */
export interface ReportPage {
  /** The regions the report covers, in order. */
  regions: string[];
  catchments: Catchment[];
  charts: ReportCharts;
}

/** Where the report's windows start, for captions. */
export interface ReportContext {
  sinceMs: number;
  /** The convergence SLI's threshold. */
  thresholdMs: number;
}
