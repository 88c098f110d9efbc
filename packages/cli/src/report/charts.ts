// Time series for the charts of `popwatch report --html`: burn rate per SLO
// scope and latency quantiles per series, in buckets over the report's
// window, from rollups only. The bucket adapts to the window so a chart has a
// readable number of points whether --since is an hour or a month.
import {
  DAY_MS,
  HOUR_MS,
  MINUTE_MS,
  POOLED_SCOPE,
  type ProbeKind,
  type Rollup,
  type RollupSpan,
  type SloConfig,
  burnRate,
  mergeSketches,
  periodStartMs,
  quantile,
  rollupPeriod,
  sketchCount,
  sloCountsFromRollups,
} from "@popwatch/core";

/** Bucket lengths a chart may use, shortest first; each is a whole number of the granularity it is read at. */
export const SERIES_BUCKETS_MS = [5 * MINUTE_MS, 15 * MINUTE_MS, HOUR_MS, 6 * HOUR_MS, DAY_MS] as const;
/** At most this many points per line, unless even the longest bucket needs more. */
export const MAX_SERIES_POINTS = 200;

export type ChartKind = "burn" | "latency";

export interface ChartLine {
  label: string;
  /** One per bucket; null where the bucket had no events. */
  values: (number | null)[];
}

export interface TimeSeriesChart {
  kind: ChartKind;
  /** Burn: a region or "pooled". Latency: the region. */
  scope: string;
  /** Latency charts: the series' target and kind. */
  target?: string;
  probeKind?: ProbeKind;
  /** Bucket starts, epoch ms. */
  x: number[];
  lines: ChartLine[];
}

export interface SeriesWindow {
  /** First bucket's start: a multiple of bucketMs. */
  fromMs: number;
  /** Exclusive; the last bucket may be partial. */
  toMs: number;
  bucketMs: number;
}

/** The shortest bucket giving at most MAX_SERIES_POINTS over the span (the longest bucket beyond that). */
export function seriesBucketMs(spanMs: number): number {
  return SERIES_BUCKETS_MS.find((bucket) => Math.ceil(spanMs / bucket) <= MAX_SERIES_POINTS) ?? DAY_MS;
}

/** Buckets covering [fromMs, toMs): aligned to the bucket length (UTC, since every length divides a day). */
export function seriesWindow(fromMs: number, toMs: number): SeriesWindow {
  const bucketMs = seriesBucketMs(toMs - fromMs);
  return { fromMs: Math.floor(fromMs / bucketMs) * bucketMs, toMs, bucketMs };
}

export function bucketStarts(window: SeriesWindow): number[] {
  const starts: number[] = [];
  for (let start = window.fromMs; start < window.toMs; start += window.bucketMs) starts.push(start);
  return starts;
}

/**
 * Rollups grouped by region and bucket. A rollup counts in the bucket its
 * period starts in, so rollups must be no coarser than the bucket (the reader
 * picks minute or hour items accordingly); rollups outside the window are left out.
 */
function byRegionAndBucket(rollups: readonly Rollup[], window: SeriesWindow): Map<string, Rollup[][]> {
  const buckets = bucketStarts(window).length;
  const grouped = new Map<string, Rollup[][]>();
  for (const rollup of rollups) {
    const start = periodStartMs(rollup.granularity, rollupPeriod(rollup));
    if (start === null || start < window.fromMs || start >= window.toMs) continue;
    const index = Math.floor((start - window.fromMs) / window.bucketMs);
    if (index >= buckets) continue;
    let region = grouped.get(rollup.region);
    if (region === undefined) {
      region = Array.from({ length: buckets }, () => []);
      grouped.set(rollup.region, region);
    }
    region[index]!.push(rollup);
  }
  return grouped;
}

export interface BurnChartInput {
  slos: readonly Pick<SloConfig, "name" | "target" | "kinds" | "sli" | "objective">[];
  /** The (SLO, scope) pairs to chart, as the report lists them. */
  scopes: readonly { slo: string; scope: string }[];
  /** Regions whose events the pooled scope sums (the evaluator's regions). */
  pooledRegions: readonly string[];
  rollups: readonly Rollup[];
  window: SeriesWindow;
}

/**
 * One chart per scope (region or pooled), one line per SLO in that scope:
 * the burn rate of each bucket's events. Scopes without a single event in the
 * window get no chart.
 */
export function burnRateCharts(input: BurnChartInput): TimeSeriesChart[] {
  const { window } = input;
  const x = bucketStarts(window);
  const grouped = byRegionAndBucket(input.rollups, window);
  // Each SLO reads only its target's rollups: grouping once by target keeps a chart of many SLOs linear.
  const byTarget = new Map<string, Map<string, Rollup[]>[]>();
  for (const [region, buckets] of grouped) {
    byTarget.set(
      region,
      buckets.map((inBucket) => {
        const targets = new Map<string, Rollup[]>();
        for (const rollup of inBucket) {
          const list = targets.get(rollup.target);
          if (list === undefined) targets.set(rollup.target, [rollup]);
          else list.push(rollup);
        }
        return targets;
      }),
    );
  }
  const slosByName = new Map(input.slos.map((slo) => [slo.name, slo]));
  const scopeOrder = [...new Set(input.scopes.map((s) => s.scope))];
  const charts: TimeSeriesChart[] = [];
  for (const scope of scopeOrder) {
    const regions = scope === POOLED_SCOPE ? input.pooledRegions : [scope];
    const lines: ChartLine[] = [];
    for (const { slo: name } of input.scopes.filter((s) => s.scope === scope)) {
      const slo = slosByName.get(name);
      if (slo === undefined) continue;
      const values = x.map((_, index) => {
        const inBucket = regions.flatMap((region) => byTarget.get(region)?.[index]?.get(slo.target) ?? []);
        return burnRate(sloCountsFromRollups(slo, inBucket), slo.objective);
      });
      lines.push({ label: name, values });
    }
    if (lines.some((line) => line.values.some((v) => v !== null))) charts.push({ kind: "burn", scope, x, lines });
  }
  return charts;
}

export const LATENCY_QUANTILES = [
  ["p50", 0.5],
  ["p95", 0.95],
  ["p99", 0.99],
] as const;

/**
 * One chart per series (region, target, kind) with at least one latency in
 * the window: p50, p95 and p99 of each bucket's good results, from the merged
 * sketches. Sorted by region, then target and kind.
 */
export function latencyCharts(rollups: readonly Rollup[], window: SeriesWindow, regions?: readonly string[]): TimeSeriesChart[] {
  const x = bucketStarts(window);
  const grouped = byRegionAndBucket(rollups, window);
  const charts: TimeSeriesChart[] = [];
  const regionNames = [...grouped.keys()].filter((r) => regions === undefined || regions.includes(r)).sort();
  for (const region of regionNames) {
    const buckets = grouped.get(region)!;
    const series = new Map<string, { target: string; kind: ProbeKind }>();
    for (const rollup of buckets.flat())
      series.set(JSON.stringify([rollup.target, rollup.kind]), { target: rollup.target, kind: rollup.kind });
    const keys = [...series.keys()].sort();
    for (const key of keys) {
      const { target, kind } = series.get(key)!;
      const sketches = buckets.map((inBucket) =>
        mergeSketches(...inBucket.filter((r) => r.target === target && r.kind === kind).map((r) => r.latency)),
      );
      if (sketches.every((sketch) => sketchCount(sketch) === 0)) continue;
      charts.push({
        kind: "latency",
        scope: region,
        target,
        probeKind: kind,
        x,
        lines: LATENCY_QUANTILES.map(([label, q]) => ({ label, values: sketches.map((sketch) => quantile(sketch, q)) })),
      });
    }
  }
  return charts;
}

export interface ReportChartsOptions {
  /** A region's rollups over a span, from the report's read model (see chartSpan). */
  rollupsOf: (region: string) => Rollup[];
  slos: BurnChartInput["slos"];
  scopes: BurnChartInput["scopes"];
  pooledRegions: readonly string[];
  /** Regions to chart. */
  regions: readonly string[];
  window: SeriesWindow;
}

export interface ReportCharts {
  window: SeriesWindow;
  burn: TimeSeriesChart[];
  latency: TimeSeriesChart[];
}

/**
 * The rollups a chart window needs: minute items for buckets under an hour,
 * otherwise hour items for whole hours (a rollup counts in the bucket its
 * period starts in, so it must be no coarser than the bucket).
 */
export function chartSpan(window: SeriesWindow): RollupSpan {
  return { fromMs: window.fromMs, toMs: window.toMs, finest: window.bucketMs < HOUR_MS ? "minute" : "hour" };
}

/** The regions whose rollups the charts need: those shown, and the pooled scope's when it is charted. */
export function chartRegions(options: Pick<ReportChartsOptions, "scopes" | "pooledRegions" | "regions">): string[] {
  const pooled = options.scopes.some((s) => s.scope === POOLED_SCOPE);
  return [...new Set([...options.regions, ...(pooled ? options.pooledRegions : [])])];
}

export function reportCharts(options: ReportChartsOptions): ReportCharts {
  const { window } = options;
  const rollups = chartRegions(options).flatMap((region) => options.rollupsOf(region));
  return {
    window,
    burn: burnRateCharts({ slos: options.slos, scopes: options.scopes, pooledRegions: options.pooledRegions, rollups, window }),
    latency: latencyCharts(rollups, window, options.regions),
  };
}
