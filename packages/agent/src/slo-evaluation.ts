// Evaluates every configured SLO per region and pooled, from rollups only.
// Each region's rollup items hold every series of that region, so one set of
// reads per region (the union of all windows' periods, through core's read
// model) serves every SLO: items read grow with the windows and regions, not
// with probes or SLOs.
import {
  ALERT_WINDOWS,
  type AlertObservation,
  DAY_MS,
  type EventCounts,
  type LatencySummary,
  MINUTE_MS,
  POOLED_SCOPE,
  type PeriodRange,
  type PopShare,
  type PopwatchConfig,
  type Rollup,
  RollupView,
  type SloConfig,
  type SloEvaluation,
  WINDOW_MS,
  type WindowName,
  encodeAlertKey,
  evaluateSlo,
  latencySummary,
  poolCounts,
  popShares,
  sloCountsFromRollups,
  windowPeriods,
} from "@popwatch/core";
import { type ResultStore, type RollupRead, readRollups } from "@popwatch/store";

export interface SloEvaluationOptions {
  config: Pick<PopwatchConfig, "slos" | "targets">;
  /** The regions to evaluate (vantage points); pooled is their event-weighted sum. */
  regions: readonly string[];
  /** Windows end here: a minute boundary up to which rollups are complete. */
  endMs: number;
  /** Extra window for latency quantiles and top PoPs in reports. Default 1 day. */
  summaryWindowMs?: number;
}

export interface SloReadOptions extends SloEvaluationOptions {
  store: Pick<ResultStore, "queryPeriodRollups" | "readStats">;
  /**
   * Periods to read besides the SLOs' windows (the anycast alerts'), merged
   * into the same reads: their rollups come back in the run's `rollups`. With
   * them, regions are read even when no SLO is configured.
   */
  extraReads?: readonly PeriodRange[];
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
  topPops: PopShare[];
}

export interface SloEvaluationRun {
  endMs: number;
  summaryWindowMs: number;
  scopes: ScopeEvaluation[];
  /** Rollup items read (one per region and period that had data), the extra reads' included. */
  itemsRead: number;
  /** Store queries sent. */
  queries: number;
  /** Every region item read, the extra reads' included. */
  rollups: RollupView;
}

const DEFAULT_SUMMARY_WINDOW_MS = DAY_MS;

/** The last minute boundary at or before `nowMs`, minus `lagMinutes` whole minutes. */
export function evaluationEndMs(nowMs: number, lagMinutes = 0): number {
  return Math.floor(nowMs / MINUTE_MS) * MINUTE_MS - lagMinutes * MINUTE_MS;
}

/** Every window an SLO evaluation reads, by name (the alert windows, each SLO's period, "summary"). */
function sloWindows(config: Pick<PopwatchConfig, "slos">, endMs: number, summaryWindowMs: number): Map<string, PeriodRange[]> {
  const lengths = new Map<string, number>();
  for (const name of ALERT_WINDOWS) lengths.set(name, WINDOW_MS[name]);
  for (const slo of config.slos) lengths.set(slo.period, WINDOW_MS[slo.period]);
  lengths.set("summary", summaryWindowMs);
  const windows = new Map<string, PeriodRange[]>();
  for (const [name, length] of lengths) windows.set(name, windowPeriods(endMs, length));
  return windows;
}

/** The periods an SLO evaluation ending at `endMs` reads per region; none without SLOs. */
export function sloReadRanges(
  config: Pick<PopwatchConfig, "slos">,
  endMs: number,
  summaryWindowMs = DEFAULT_SUMMARY_WINDOW_MS,
): PeriodRange[] {
  return config.slos.length === 0 ? [] : [...sloWindows(config, endMs, summaryWindowMs).values()].flat();
}

/** Reads the SLO windows (and any extra reads) once per region, then evaluates every SLO from them. */
export async function evaluateSlos(options: SloReadOptions): Promise<SloEvaluationRun> {
  const summaryWindowMs = options.summaryWindowMs ?? DEFAULT_SUMMARY_WINDOW_MS;
  const ranges = [...sloReadRanges(options.config, options.endMs, summaryWindowMs), ...(options.extraReads ?? [])];
  const read: RollupRead =
    ranges.length === 0
      ? { view: new RollupView(), itemsRead: 0, queries: 0 }
      : await readRollups(options.store, options.regions, { ranges });
  return evaluateSlosFrom(read, options);
}

/** Evaluates every SLO from rollups already read (with sloReadRanges among the needs). Pure. */
export function evaluateSlosFrom(read: RollupRead, options: SloEvaluationOptions): SloEvaluationRun {
  const { config, endMs } = options;
  const summaryWindowMs = options.summaryWindowMs ?? DEFAULT_SUMMARY_WINDOW_MS;
  const view = read.view;
  const run: SloEvaluationRun = { endMs, summaryWindowMs, scopes: [], itemsRead: read.itemsRead, queries: read.queries, rollups: view };
  if (config.slos.length === 0) return run;
  const windowRanges = sloWindows(config, endMs, summaryWindowMs);

  // Each window of each region is gathered once, by target: an SLO then
  // reads only its target's rollups instead of every series of every period.
  const gathered = new Map<string, Map<string, Rollup[]>>();
  const rollupsIn = (region: string, window: string, target: string): Rollup[] => {
    const key = `${region}\u0000${window}`;
    let byTarget = gathered.get(key);
    if (!byTarget) {
      byTarget = new Map();
      gathered.set(key, byTarget);
      for (const rollup of view.inRanges(region, windowRanges.get(window) ?? [])) {
        const list = byTarget.get(rollup.target);
        if (list) list.push(rollup);
        else byTarget.set(rollup.target, [rollup]);
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
        latency: latencySummary(scope.summary),
        topPops: popShares(scope.summary, 5),
      });
    }
  }
  return run;
}

function seriesOf(slo: Pick<SloConfig, "target" | "kinds">, rollups: readonly Rollup[]): Rollup[] {
  return rollups.filter((r) => r.target === slo.target && (slo.kinds === undefined || slo.kinds.includes(r.kind)));
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
