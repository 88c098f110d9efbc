// Anycast alerts (catchment shift, flapping, detour) for one evaluation. The
// rollups come from the SLO evaluation's reads: runEvaluationCycle passes
// anycastReads() to evaluateSlos as extra reads, so each region is read once
// for both, and the anycast windows add at most 24 hour and 119 minute items
// per region, most of which the SLO windows read anyway.
import {
  type AnycastAlertEvaluation,
  FAST_ROUTING_CONDITIONS,
  type GeoPoint,
  type PeriodRange,
  type PopwatchConfig,
  type Rollup,
  type RollupView,
  anycastAlertObservations,
  anycastAlertSeverities,
  anycastReadRanges,
  createPopCatalogue,
} from "@popwatch/core";

type AnycastConfig = Pick<PopwatchConfig, "analytics" | "targets" | "popCatalogue">;

/** Whether any anycast condition the evaluator judges from rollups is configured to alert (the fast routing ones are the probe's). */
export function anycastAlertsEnabled(config: Pick<PopwatchConfig, "analytics">): boolean {
  const fast: readonly string[] = FAST_ROUTING_CONDITIONS;
  return Object.keys(anycastAlertSeverities(config.analytics)).some((condition) => !fast.includes(condition));
}

/** The periods an evaluation ending at `endMs` must read per region for the anycast alerts; none when they are all off. */
export function anycastReads(config: Pick<PopwatchConfig, "analytics">, endMs: number): PeriodRange[] {
  return anycastAlertsEnabled(config) ? anycastReadRanges(endMs) : [];
}

export interface AnycastEvaluationOptions {
  config: AnycastConfig;
  regions: readonly string[];
  endMs: number;
  /** Rollups read with anycastReads(config, endMs) among the needs (the SLO run's `rollups`). */
  rollups: RollupView;
  /** Where vantages other than AWS regions are (vantageLocations of readVantages), for detours. */
  regionLocations?: Readonly<Record<string, GeoPoint>>;
}

export interface AnycastEvaluationRun extends AnycastAlertEvaluation {
  /** Region items the anycast windows used (already counted in the SLO run's itemsRead): at most 143 per region. */
  itemsUsed: number;
}

export function evaluateAnycastAlerts(options: AnycastEvaluationOptions): AnycastEvaluationRun {
  const { config, endMs } = options;
  if (!anycastAlertsEnabled(config)) return { observations: [], missing: [], itemsUsed: 0 };
  const ranges = anycastReadRanges(endMs);
  const rollups: Rollup[] = [];
  let itemsUsed = 0;
  for (const region of options.regions) {
    rollups.push(...options.rollups.inRanges(region, ranges));
    itemsUsed += options.rollups.countInRanges(region, ranges);
  }
  const evaluation = anycastAlertObservations({
    endMs,
    rollups,
    targets: config.targets.map((target) => target.name),
    regions: options.regions,
    analytics: config.analytics,
    catalogue: createPopCatalogue(config.popCatalogue),
    ...(options.regionLocations === undefined ? {} : { regionLocations: options.regionLocations }),
  });
  return { ...evaluation, itemsUsed };
}
