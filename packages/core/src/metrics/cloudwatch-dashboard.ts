// The CloudWatch dashboard as data, over the metrics in cloudwatch.ts: the
// anycast guides' executive view (availability by region, p95 latency, burn
// rate, incidents) and on-call view (answers per PoP, failures by class,
// recent failovers). The home stack only turns these widgets into CDK
// constructs (stacks/dashboard.ts).
//
// Series whose dimension values the config names (regions, kinds, statuses)
// are plain metrics, read from the region that published them; series whose
// values only the data knows (PoPs, failure codes, SLO scopes) are SEARCH
// expressions over the metric's exact dimension set.

import type { ProbeKind } from "../result";
import {
  CLOUDWATCH_NAMESPACE,
  type CloudWatchMetricSpec,
  CLOUDWATCH_DIMENSIONS as D,
  EVALUATION_CLOUDWATCH_METRICS as E,
  PROBE_CLOUDWATCH_METRICS as P,
} from "./cloudwatch";

export type DashboardSeries =
  | {
      kind: "metric";
      metric: CloudWatchMetricSpec;
      /** One of the metric's dimension sets, with values. */
      dimensions: Record<string, string>;
      statistic: string;
      /** The region whose CloudWatch holds it. */
      region: string;
      label: string;
    }
  | {
      kind: "search";
      metric: CloudWatchMetricSpec;
      /** The dimension set searched (one of the metric's). */
      dimensionSet: readonly string[];
      /** Dimension values the search is narrowed to. */
      filter: Record<string, string>;
      statistic: string;
      region: string;
      /** The SEARCH expression (searchExpression). */
      expression: string;
    };

export interface DashboardWidget {
  title: string;
  series: DashboardSeries[];
  width: number;
  height: number;
  /** Fixed left axis, e.g. 0..1 for ratios. */
  leftAxis?: { min?: number; max?: number };
}

export interface DashboardLayout {
  /** Rows of widgets under a heading, in order. */
  sections: { title: string; text: string; widgets: DashboardWidget[] }[];
}

export interface DashboardInput {
  homeRegion: string;
  /** Probe regions. */
  regions: readonly string[];
  /** The probe kinds the config's targets use. */
  kinds: readonly ProbeKind[];
  /** Seconds per point. */
  periodSeconds: number;
}

/** Burn-rate windows on the executive view: the fast page pair's long window and the slow one's. */
const EXECUTIVE_BURN_WINDOWS = ["1h", "6h"] as const;

export function cloudWatchDashboardLayout(input: DashboardInput): DashboardLayout {
  const home = input.homeRegion;
  const perRegion = (metric: CloudWatchMetricSpec, statistic: string, extra: Record<string, string> = {}) =>
    input.regions.map(
      (region): DashboardSeries => ({
        kind: "metric",
        metric,
        dimensions: { [D.region]: region, ...extra },
        statistic,
        region,
        label: Object.keys(extra).length === 0 ? region : `${region} ${Object.values(extra).join(" ")}`,
      }),
    );
  const searchPerRegion = (metric: CloudWatchMetricSpec, statistic: string) =>
    input.regions.map((region) => search(metric, metric.dimensionSets[0]!, { [D.region]: region }, statistic, region, input.periodSeconds));

  return {
    sections: [
      {
        title: "Executive",
        text: "Availability and latency as every region sees them, SLO burn, incidents.",
        widgets: [
          { title: "Availability by region", series: perRegion(P.success, "Average"), width: 12, height: 6, leftAxis: { min: 0, max: 1 } },
          {
            title: "Latency p95 by region and kind (ms)",
            series: input.kinds.flatMap((kind) => perRegion(P.latency, "p95", { [D.kind]: kind })),
            width: 12,
            height: 6,
            leftAxis: { min: 0 },
          },
          {
            title: `SLO burn rate (${EXECUTIVE_BURN_WINDOWS.join(", ")})`,
            series: EXECUTIVE_BURN_WINDOWS.map((window) =>
              search(E.burnRate, E.burnRate.dimensionSets[0], { [D.window]: window }, "Maximum", home, input.periodSeconds),
            ),
            width: 12,
            height: 6,
            leftAxis: { min: 0 },
          },
          {
            title: "Incidents opened",
            series: [
              {
                kind: "metric",
                metric: E.alertTransitions,
                dimensions: { [D.status]: "firing" },
                statistic: "Sum",
                region: home,
                label: "alerts entering firing",
              },
              search(E.alertFiring, E.alertFiring.dimensionSets[0], {}, "Maximum", home, input.periodSeconds),
            ],
            width: 12,
            height: 6,
            leftAxis: { min: 0 },
          },
        ],
      },
      {
        title: "On-call",
        text: "Which PoP answers each region, why probes fail, when a region's PoP changed, and DNS answers truncated.",
        widgets: [
          { title: "Answers per PoP", series: searchPerRegion(P.popAnswers, "Sum"), width: 12, height: 6, leftAxis: { min: 0 } },
          { title: "Failures by class", series: searchPerRegion(P.failures, "Sum"), width: 12, height: 6, leftAxis: { min: 0 } },
          { title: "Recent failovers (PoP changes)", series: perRegion(P.popChange, "Sum"), width: 12, height: 6, leftAxis: { min: 0 } },
          {
            title: "Availability by target and kind",
            series: input.regions.map((region) =>
              search(P.success, P.success.dimensionSets[0], { [D.region]: region }, "Average", region, input.periodSeconds),
            ),
            width: 12,
            height: 6,
            leftAxis: { min: 0, max: 1 },
          },
          {
            // TC=1 answers: a response outgrowing the UDP buffer (DNSSEC, big RRsets) shows here before it fails.
            title: "Truncated DNS answers (TC=1)",
            series: searchPerRegion(P.truncated, "Sum"),
            width: 12,
            height: 6,
            leftAxis: { min: 0 },
          },
        ],
      },
    ],
  };
}

/**
 * `SEARCH('{namespace,Dim1,Dim2} MetricName="Name" Dim1="value"', 'Stat', period)`:
 * the schema in braces matches only metrics with exactly that dimension set.
 */
export function searchExpression(
  metric: CloudWatchMetricSpec,
  dimensionSet: readonly string[],
  filter: Record<string, string>,
  statistic: string,
  periodSeconds: number,
): string {
  const terms = [`MetricName="${metric.name}"`, ...Object.entries(filter).map(([name, value]) => `${name}="${value}"`)];
  return `SEARCH('{${[CLOUDWATCH_NAMESPACE, ...dimensionSet].join(",")}} ${terms.join(" ")}', '${statistic}', ${periodSeconds})`;
}

function search(
  metric: CloudWatchMetricSpec,
  dimensionSet: readonly string[],
  filter: Record<string, string>,
  statistic: string,
  region: string,
  periodSeconds: number,
): DashboardSeries {
  return {
    kind: "search",
    metric,
    dimensionSet,
    filter,
    statistic,
    region,
    expression: searchExpression(metric, dimensionSet, filter, statistic, periodSeconds),
  };
}
