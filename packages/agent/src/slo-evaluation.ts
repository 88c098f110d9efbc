// Evaluates every configured SLO per region and pooled, from rollups only.
// Each region's rollup items hold every series of that region, so one set of
// reads per region (the union of all windows' periods, core's
// windowPeriods/mergePeriodReads) serves every SLO: items read grow with the
// windows and regions, not with probes or SLOs.
import {
  ALERT_WINDOWS,
  PERIOD_MS,
  POOLED_SCOPE,
  WINDOW_MS,
  encodeAlertKey,
  evaluateSlo,
  mergePeriodReads,
  mergeSketches,
  periodStartMs,
  poolCounts,
  quantile,
  sketchCount,
  sloCountsFromRollups,
  windowPeriods,
  type AlertObservation,
  type EventCounts,
  type PeriodRange,
  type PopwatchConfig,
  type Rollup,
  type RollupGranularity,
  type SloConfig,
  type SloEvaluation,
  type WindowName,
} from "@popwatch/core";
import type { ResultStore } from "@popwatch/store";

export interface SloEvaluationOptions {
  config: Pick<PopwatchConfig, "slos" | "targets">;
  store: Pick<ResultStore, "queryRegionRollups">;
  /** The regions to evaluate (vantage points); pooled is their event-weighted sum. */
  regions: readonly string[];
  /** Windows end here: a minute boundary up to which rollups are complete. */
  endMs: number;
  /** Extra window for latency quantiles and top PoPs in reports. Default 1 day. */
  summaryWindowMs?: number;
  /**
   * Periods to read besides the SLOs' windows (the anycast alerts'), merged
   * into the same reads: their rollups come back in the run's `periods`. With
   * them, regions are read even when no SLO is configured.
   */
  extraReads?: readonly PeriodRange[];
}

export interface LatencySummary {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface ScopeEvaluation {
  slo: string;
  target: string;
  /** A region code, or "pooled". */
  scope: string;
  sli: SloConfig["sli"];
  objective: number;
  counts: Partial<Record<WindowName, EventCounts>>;
  evaluation: SloEvaluation;
  /** Over the summary window: the SLO's good results. */
  latency: LatencySummary;
  /** Over the summary window: answering PoPs by share, largest first (at most 5). */
  topPops: { pop: string; share: number; count: number }[];
}

export interface SloEvaluationRun {
  endMs: number;
  summaryWindowMs: number;
  scopes: ScopeEvaluation[];
  /** Rollup items read (one per region and period that had data). */
  itemsRead: number;
  /** Store queries sent. */
  queries: number;
  /** Every region item read: region → `granularity|periodStartMs` → its rollups of every series. */
  periods: ReadonlyMap<string, ReadonlyMap<string, Rollup[]>>;
}

const DEFAULT_SUMMARY_WINDOW_MS = 86_400_000;

/** The last minute boundary at or before `nowMs`, minus `lagMinutes` whole minutes. */
export function evaluationEndMs(nowMs: number, lagMinutes = 0): number {
  return Math.floor(nowMs / PERIOD_MS.minute) * PERIOD_MS.minute - lagMinutes * PERIOD_MS.minute;
}

export async function evaluateSlos(options: SloEvaluationOptions): Promise<SloEvaluationRun> {
  const { config, store, endMs } = options;
  const summaryWindowMs = options.summaryWindowMs ?? DEFAULT_SUMMARY_WINDOW_MS;
  const extraReads = options.extraReads ?? [];
  // region → "granularity|periodStart" → rollups of every series
  const byRegion = new Map<string, Map<string, Rollup[]>>();
  const run: SloEvaluationRun = { endMs, summaryWindowMs, scopes: [], itemsRead: 0, queries: 0, periods: byRegion };
  if (config.slos.length === 0 && extraReads.length === 0) return run;

  const windowLengths = new Map<string, number>();
  for (const name of ALERT_WINDOWS) windowLengths.set(name, WINDOW_MS[name]);
  for (const slo of config.slos) windowLengths.set(slo.period, WINDOW_MS[slo.period]);
  windowLengths.set("summary", summaryWindowMs);
  const windowRanges = new Map<string, PeriodRange[]>();
  for (const [name, length] of windowLengths) windowRanges.set(name, windowPeriods(endMs, length));
  const sloReads = config.slos.length === 0 ? [] : [...windowRanges.values()].flat();
  const reads = mergePeriodReads([...sloReads, ...extraReads]);

  await Promise.all(
    options.regions.map(async (region) => {
      const periods = new Map<string, Rollup[]>();
      byRegion.set(region, periods);
      for (const read of reads) {
        run.queries++;
        const items = await store.queryRegionRollups({ region, granularity: read.granularity, from: read.fromMs, to: read.toMs });
        for (const item of items) {
          const start = periodStartMs(read.granularity, item.period);
          if (start === null) continue;
          run.itemsRead++;
          periods.set(`${read.granularity}|${start}`, item.rollups);
        }
      }
    }),
  );

  // Each window of each region is gathered once, by target: an SLO then
  // reads only its target's rollups instead of every series of every period.
  const gathered = new Map<string, Map<string, Rollup[]>>();
  const rollupsIn = (region: string, window: string, target: string): Rollup[] => {
    const key = `${region}\u0000${window}`;
    let byTarget = gathered.get(key);
    if (!byTarget) {
      byTarget = new Map();
      gathered.set(key, byTarget);
      const periods = byRegion.get(region);
      for (const range of periods ? (windowRanges.get(window) ?? []) : []) {
        for (let start = range.fromMs; start < range.toMs; start += PERIOD_MS[range.granularity as RollupGranularity]) {
          for (const rollup of periods!.get(`${range.granularity}|${start}`) ?? []) {
            const list = byTarget.get(rollup.target);
            if (list) list.push(rollup);
            else byTarget.set(rollup.target, [rollup]);
          }
        }
      }
    }
    return byTarget.get(target) ?? [];
  };

  for (const slo of config.slos) {
    const windows: WindowName[] = [...ALERT_WINDOWS, slo.period];
    const perRegion = options.regions.map((region) => {
      const counts: Partial<Record<WindowName, EventCounts>> = {};
      for (const window of windows) counts[window] = sloCountsFromRollups(slo, rollupsIn(region, window, slo.target));
      return { region, counts, summary: seriesOf(slo, rollupsIn(region, "summary", slo.target)) };
    });
    const scopes: { scope: string; counts: Partial<Record<WindowName, EventCounts>>; summary: Rollup[] }[] = [];
    if (slo.scopes.includes("region")) for (const r of perRegion) scopes.push({ scope: r.region, counts: r.counts, summary: r.summary });
    if (slo.scopes.includes("pooled")) {
      const counts: Partial<Record<WindowName, EventCounts>> = {};
      for (const window of windows) counts[window] = poolCounts(perRegion.map((r) => r.counts[window]!));
      scopes.push({ scope: POOLED_SCOPE, counts, summary: perRegion.flatMap((r) => r.summary) });
    }
    for (const scope of scopes) {
      const evaluation = evaluateSlo({
        objective: slo.objective,
        period: slo.period,
        counts: scope.counts,
        minEvents: slo.minEvents,
        exhaustionRule: slo.exhaustionRule,
      });
      run.scopes.push({
        slo: slo.name,
        target: slo.target,
        scope: scope.scope,
        sli: slo.sli,
        objective: slo.objective,
        counts: scope.counts,
        evaluation,
        latency: latencyOf(scope.summary),
        topPops: topPopsOf(scope.summary),
      });
    }
  }
  return run;
}

function seriesOf(slo: Pick<SloConfig, "target" | "kinds">, rollups: readonly Rollup[]): Rollup[] {
  return rollups.filter((r) => r.target === slo.target && (slo.kinds === undefined || slo.kinds.includes(r.kind)));
}

function latencyOf(rollups: readonly Rollup[]): LatencySummary {
  const sketch = mergeSketches(...rollups.map((r) => r.latency));
  return { count: sketchCount(sketch), p50: quantile(sketch, 0.5), p95: quantile(sketch, 0.95), p99: quantile(sketch, 0.99) };
}

function topPopsOf(rollups: readonly Rollup[]): ScopeEvaluation["topPops"] {
  const counts = new Map<string, number>();
  for (const rollup of rollups) for (const [pop, n] of Object.entries(rollup.pops)) counts.set(pop, (counts.get(pop) ?? 0) + n);
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 5)
    .map(([pop, count]) => ({ pop, count, share: count / total }));
}

/**
 * What the alert lifecycle needs per (SLO, scope, severity): whether any rule
 * of that severity burns, and the figures of the rule that does (or of the
 * severity's fastest rule when none does, so a resolve can report them).
 */
export function alertObservationsOf(scopes: readonly ScopeEvaluation[]): AlertObservation[] {
  const observations: AlertObservation[] = [];
  for (const scope of scopes) {
    for (const severity of ["page", "ticket"] as const) {
      const rules = scope.evaluation.rules.filter((r) => r.severity === severity);
      if (rules.length === 0) continue;
      const firing = rules.find((r) => r.firing);
      const shown = firing ?? [...rules].sort((a, b) => b.factor - a.factor)[0]!;
      const short = shown.short ?? shown.long;
      const shortCounts = scope.counts[short];
      const cleanShortWindows = [...new Set(rules.map((r) => r.short ?? r.long))].filter((w) => (scope.counts[w]?.bad ?? 0) === 0);
      observations.push({
        ...encodeAlertKey({ kind: "slo", slo: scope.slo, scope: scope.scope, severity }),
        burning: firing !== undefined,
        shortWindowClean: shown.shortWindowClean ?? (shortCounts ? shortCounts.bad === 0 : true),
        cleanShortWindows,
        heldBack: firing === undefined && rules.some((r) => r.heldBack),
        burnRates: { ...scope.evaluation.burnRates },
        budgetRemaining: scope.evaluation.budgetRemaining,
        rule: { long: shown.long, short, factor: shown.factor },
      });
    }
  }
  return observations;
}
