// Builds the report model from the store. Every rollup the report needs (the
// SLO windows, the catchment over --since, the chart buckets) is planned
// first and read once through the store's readRollups, then each section
// takes its rollups from that one view; raw results are read once, for the
// findings rollups cannot give (failovers, per-probe RTTs).
import { evaluateSlosFrom, evaluationEndMs, rollupLagMinutes, sloReadRanges } from "@popwatch/agent";
import {
  ALERT_SEVERITIES,
  ALERT_WINDOWS,
  type AlertStateRepository,
  type AlertStatus,
  MINUTE_MS,
  type PopwatchConfig,
  type Rollup,
  type RollupSpan,
  type RoutingRepository,
  alertKeyString,
  analyzeFailovers,
  catchment,
  compareStrings,
  convergenceSli,
  createPopCatalogue,
  detourAudit,
  impossibleRtts,
  latencySummary,
  minRtts,
  popShares,
} from "@popwatch/core";
import { type ResultStore, readRollups } from "@popwatch/store";
import { chartRegions, chartSpan, reportCharts, seriesWindow } from "./charts";
import type { Report, ReportPage, ReportSeries, ReportSlo } from "./model";
import { buildRouting, routingTimelines } from "./routing";

export interface ReportSources {
  store: Pick<ResultStore, "queryResults" | "queryPeriodRollups" | "readStats">;
  alerts: Pick<AlertStateRepository, "loadStates">;
  /** BGP events of the watched prefixes; read only with a `bgp` config. */
  routing?: Pick<RoutingRepository, "queryEvents">;
}

export interface ReportRequest {
  config: PopwatchConfig;
  /** The regions SLOs are evaluated over (pooled sums them). */
  regions: readonly string[];
  nowMs: number;
  /** Start of latency, PoPs, findings, catchment and charts. */
  sinceMs: number;
  /** Only this region's rows and findings (no pooled rows). */
  region?: string | undefined;
  /** Also build what only the HTML page shows. */
  page: boolean;
  /** Per-series rows even when SLOs are configured. */
  series: boolean;
}

export interface BuiltReport {
  report: Report;
  page?: ReportPage;
}

export async function buildReport(sources: ReportSources, request: ReportRequest): Promise<BuiltReport> {
  const { config, nowMs, sinceMs, regions } = request;
  const { store } = sources;
  const endMs = evaluationEndMs(nowMs, rollupLagMinutes(config));
  // SLO windows cut whole minutes only.
  const summaryWindowMs = Math.max(MINUTE_MS, Math.ceil((endMs - sinceMs) / MINUTE_MS) * MINUTE_MS);
  const inRegion = (region: string) => request.region === undefined || region === request.region;

  const window = { from: sinceMs, to: nowMs };
  const results = await store.queryResults({
    since: sinceMs,
    until: nowMs,
    ...(request.region === undefined ? {} : { region: request.region }),
  });
  // Detours are judged against every PoP any region saw, so catchment reads every region even for one --region.
  const catchmentRegions = [...new Set([...regions, ...results.map((r) => r.region)])].sort(compareStrings);
  const shownRegions = catchmentRegions.filter(inRegion);
  // Detours and per-target rows need shares only: day items serve them. The page's catchment matrix counts
  // dominant-PoP changes per hour, so it needs hour items.
  const catchmentSpan: RollupSpan = { fromMs: sinceMs, toMs: nowMs, finest: request.page ? "hour" : "day" };
  const chartWindow = seriesWindow(sinceMs, endMs);

  const read = await readRollups(store, catchmentRegions, {
    ranges: sloReadRanges(config, endMs, summaryWindowMs),
    spans: [catchmentSpan, ...(request.page ? [chartSpan(chartWindow)] : [])],
  });
  const evaluated = evaluateSlosFrom(read, { config, regions, endMs, summaryWindowMs });

  const statuses = new Map<string, AlertStatus>();
  if (config.slos.length > 0) {
    for (const { state } of await sources.alerts.loadStates()) statuses.set(alertKeyString(state), state.status);
  }
  const slos: ReportSlo[] = evaluated.scopes
    .filter((scope) => inRegion(scope.scope))
    .map((scope) => {
      const period = scope.evaluation.period;
      const counts = scope.counts[period] ?? { bad: 0, total: 0 };
      const good = counts.total - counts.bad;
      return {
        slo: scope.slo,
        target: scope.target,
        scope: scope.scope,
        indicator: scope.sli,
        objective: scope.objective,
        period,
        sli: { good, total: counts.total, ratio: counts.total === 0 ? null : good / counts.total },
        budgetRemaining: scope.evaluation.budgetRemaining,
        timeToExhaustionMs: scope.evaluation.timeToExhaustionMs,
        burnRates: Object.fromEntries([...ALERT_WINDOWS, period].map((w) => [w, scope.evaluation.burnRates[w] ?? null])),
        firing: scope.evaluation.firing,
        alerts: Object.fromEntries(
          ALERT_SEVERITIES.map((severity) => [
            severity,
            statuses.get(alertKeyString({ slo: scope.slo, scope: scope.scope, severity })) ?? "inactive",
          ]),
        ) as ReportSlo["alerts"],
        latency: scope.latency,
        topPops: scope.topPops,
      };
    });

  const analysis = analyzeFailovers(results, {
    minStableSamples: config.analytics.failoverMinStableSamples,
    window,
    now: nowMs,
  });
  const failovers = analysis.failovers;
  const catalogue = createPopCatalogue(config.popCatalogue);
  const rtts = minRtts(results, { window });
  const spanRollups = new Map<string, Rollup[]>(catchmentRegions.map((region) => [region, read.view.span(region, catchmentSpan)]));
  const catchments = catchment([...spanRollups.values()].flat(), { window, bucket: catchmentSpan.finest });
  const audit = detourAudit(catchments, {
    catalogue,
    detourKm: config.analytics.detourKm,
    ...(config.analytics.detourRttMs === undefined ? {} : { detourRttMs: config.analytics.detourRttMs }),
    rtts,
  });

  // Routing: BGP events from a correlation window before --since, so the first failovers see their cause.
  const bgp = config.bgp;
  const bgpEvents =
    bgp === undefined || sources.routing === undefined
      ? null
      : await sources.routing.queryEvents({
          prefixes: bgp.prefixes.map((p) => p.prefix),
          fromMs: sinceMs - bgp.correlationWindowSeconds * 1000,
          toMs: nowMs,
        });
  const routing =
    bgp === undefined || bgpEvents === null
      ? null
      : buildRouting({
          bgp,
          targets: config.targets,
          bgpEvents,
          sinceMs,
          untilMs: nowMs,
          failovers,
          outages: analysis.outages,
          blips: analysis.blips,
          detours: audit.detours,
        });

  const report: Report = {
    generatedAt: new Date(nowMs).toISOString(),
    endsAt: new Date(endMs).toISOString(),
    slos,
    ...(config.slos.length === 0 || request.series
      ? { series: seriesRows(shownRegions.map((region) => spanRollups.get(region) ?? [])) }
      : {}),
    failovers: failovers.map((f, i) => ({
      target: f.target,
      kind: f.kind,
      region: f.region,
      from: f.from,
      to: f.to,
      at: f.firstGoodToAt,
      convergenceMs: f.convergenceMs,
      resolutionMs: f.resolutionMs,
      ...(routing === null ? {} : { routing: routing.failovers[i]! }),
    })),
    convergence: convergenceSli(failovers, { thresholdMs: config.analytics.convergenceSloMs }),
    detours: audit.detours
      .filter((d) => inRegion(d.region))
      .map((d) => ({
        target: d.target,
        region: d.region,
        pop: d.pop,
        share: d.share,
        nearestPop: d.nearestPop,
        distanceKm: d.distanceKm,
        nearestKm: d.nearestKm,
        excessKm: d.excessKm,
      })),
    impossibleRtts: impossibleRtts(rtts, { catalogue }).findings.map((f) => ({
      target: f.target,
      region: f.region,
      pop: f.pop,
      kind: f.kind,
      at: f.at,
      rttMs: f.rttMs,
      minRttMs: f.minRttMs,
      distanceKm: f.distanceKm,
    })),
    ...(routing === null ? {} : { routing: routing.routing }),
    itemsRead: read.itemsRead,
  };
  if (!request.page) return { report };

  const chartOptions = { slos: config.slos, scopes: slos, pooledRegions: regions, regions: shownRegions, window: chartWindow };
  const chartRollups = new Map(chartRegions(chartOptions).map((region) => [region, read.view.span(region, chartSpan(chartWindow))]));
  const charts = reportCharts({ ...chartOptions, rollupsOf: (region) => chartRollups.get(region) ?? [] });
  const page: ReportPage = { regions: shownRegions, catchments: catchments.filter((c) => inRegion(c.region)), charts };
  if (bgp !== undefined && bgpEvents !== null) {
    page.routing = routingTimelines({
      bgp,
      targets: config.targets,
      bgpEvents,
      window: chartWindow,
      regions: shownRegions,
      rollupsOf: (region) => chartRollups.get(region) ?? [],
      failovers,
      outages: analysis.outages,
      blips: analysis.blips,
    });
  }
  return { report, page };
}

/** One row per (target, kind, region) with results, sorted in that order. */
function seriesRows(regionRollups: readonly (readonly Rollup[])[]): ReportSeries[] {
  const groups = new Map<string, Rollup[]>();
  for (const rollups of regionRollups) {
    for (const rollup of rollups) {
      const key = JSON.stringify([rollup.target, rollup.kind, rollup.region]);
      const group = groups.get(key);
      if (group === undefined) groups.set(key, [rollup]);
      else group.push(rollup);
    }
  }
  const rows: ReportSeries[] = [];
  for (const group of groups.values()) {
    const { target, kind, region } = group[0]!;
    const total = group.reduce((n, r) => n + r.total, 0);
    const good = group.reduce((n, r) => n + r.good, 0);
    const pops = popShares(group);
    const identified = pops.reduce((n, p) => n + p.count, 0);
    if (total === 0) continue;
    rows.push({
      target,
      kind,
      region,
      total,
      good,
      successRatio: good / total,
      latency: latencySummary(group),
      pops,
      unidentified: total - identified,
      truncated: group.reduce((n, r) => n + r.truncated, 0),
      tcpFallback: group.reduce((n, r) => n + r.tcpFallback, 0),
    });
  }
  return rows.sort((a, b) => compareStrings(a.target, b.target) || compareStrings(a.kind, b.kind) || compareStrings(a.region, b.region));
}
