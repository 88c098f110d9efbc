// The home region's CloudWatch dashboard: core's layout
// (packages/core/src/metrics/cloudwatch-dashboard.ts) turned into CDK widgets.
// Every metric, dimension set and SEARCH comes from core's table, the one the
// functions emit from; nothing here names a metric.
import {
  CLOUDWATCH_NAMESPACE,
  type DashboardSeries,
  type DashboardWidget,
  PROBE_KINDS,
  type PopwatchConfig,
  cloudWatchDashboardLayout,
} from "@popwatch/core";
import { Duration } from "aws-cdk-lib";
import { Dashboard, GraphWidget, type IMetric, MathExpression, Metric, TextWidget } from "aws-cdk-lib/aws-cloudwatch";
import type { Construct } from "constructs";

/** Seconds per point: a few rounds per point at the usual schedules, and the period CloudWatch keeps 63 days. */
export const DASHBOARD_PERIOD_SECONDS = 300;

/** `<app>-<stage>`: one dashboard per stage, in the home region. */
export function dashboardName(app: string, stage: string): string {
  return `${app}-${stage}`;
}

export function addPopwatchDashboard(scope: Construct, props: { config: PopwatchConfig; name: string }): Dashboard {
  const { config } = props;
  const kinds = PROBE_KINDS.filter((kind) => config.targets.some((target) => target.probes[kind] !== undefined));
  const layout = cloudWatchDashboardLayout({
    homeRegion: config.homeRegion,
    regions: config.regions,
    kinds,
    periodSeconds: DASHBOARD_PERIOD_SECONDS,
  });
  const dashboard = new Dashboard(scope, "Dashboard", { dashboardName: props.name, defaultInterval: Duration.hours(6) });
  for (const section of layout.sections) {
    dashboard.addWidgets(new TextWidget({ markdown: `## ${section.title}\n${section.text}`, width: 24, height: 2 }));
    // Two widgets of width 12 per row.
    for (let i = 0; i < section.widgets.length; i += 2) dashboard.addWidgets(...section.widgets.slice(i, i + 2).map(graph));
  }
  return dashboard;
}

function graph(widget: DashboardWidget): GraphWidget {
  return new GraphWidget({
    title: widget.title,
    width: widget.width,
    height: widget.height,
    left: widget.series.map(metricOf),
    ...(widget.leftAxis ? { leftYAxis: { ...widget.leftAxis, showUnits: false } } : {}),
  });
}

function metricOf(series: DashboardSeries): IMetric {
  const period = Duration.seconds(DASHBOARD_PERIOD_SECONDS);
  if (series.kind === "search") {
    // An empty label keeps each found series' own label (its dimension values).
    return new MathExpression({ expression: series.expression, searchRegion: series.region, label: "", period, usingMetrics: {} });
  }
  return new Metric({
    namespace: CLOUDWATCH_NAMESPACE,
    metricName: series.metric.name,
    dimensionsMap: series.dimensions,
    statistic: series.statistic,
    region: series.region,
    label: series.label,
    period,
  });
}
