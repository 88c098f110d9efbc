// The store metrics' values, from what the read model computed: the SLO
// evaluations, the stored alert states and the catchments. Pure: the refresh
// (store-read.ts) reads, this decides which series exist and their values, so
// the label sets stay bounded by the config whatever the store holds.

import type { ScopeEvaluation } from "@popwatch/agent";
import {
  ALERT_SEVERITIES,
  ALERT_WINDOWS,
  type AlertState,
  type Catchment,
  type PopwatchConfig,
  type STORE_METRICS,
  alertKeyString,
  compareStrings,
} from "@popwatch/core";

/** One series: its label values by label name, and its value. */
export interface StoreSample {
  labels: Record<string, string>;
  value: number;
}

/** The metrics a refresh computes (the read error counter and the timestamp are kept by store-metrics.ts). */
export type ComputedMetric = Exclude<keyof typeof STORE_METRICS, "evaluationErrors" | "evaluationTimestamp">;

export type StoreSamples = Record<ComputedMetric, StoreSample[]>;

/** The `pop` label of the PoPs beyond the top N of a target and region, summed. */
export const OTHER_POPS = "other";

export interface StoreSampleInput {
  config: Pick<PopwatchConfig, "slos" | "targets">;
  /** Every SLO per scope, as evaluateSlos returns them. */
  scopes: readonly ScopeEvaluation[];
  /** The alert states the evaluator stored. */
  alertStates: readonly AlertState[];
  /** Per target and region over the catchment window. */
  catchments: readonly Catchment[];
  /** PoPs kept per target and region; the rest are summed as `pop="other"`. */
  topPops: number;
}

export function storeSamples(input: StoreSampleInput): StoreSamples {
  const samples: StoreSamples = {
    objective: input.config.slos.map((slo) => ({ labels: { slo: slo.name }, value: slo.objective })),
    budgetRemaining: [],
    burnRate: [],
    periodEvents: [],
    alertFiring: [],
    catchmentShare: [],
    failovers: [],
  };

  const firing = new Set(input.alertStates.filter((state) => state.status === "firing").map((state) => alertKeyString(state)));
  for (const scope of input.scopes) {
    const { evaluation } = scope;
    const key = { slo: scope.slo, scope: scope.scope };
    // No events means no ratio: the series is absent rather than a made-up 0 or NaN.
    if (evaluation.budgetRemaining !== null) samples.budgetRemaining.push({ labels: key, value: evaluation.budgetRemaining });
    for (const window of ALERT_WINDOWS) {
      const burn = evaluation.burnRates[window];
      if (burn !== null && burn !== undefined) samples.burnRate.push({ labels: { ...key, window }, value: burn });
    }
    const counts = scope.counts[evaluation.period] ?? { bad: 0, total: 0 };
    samples.periodEvents.push({ labels: { ...key, outcome: "good" }, value: counts.total - counts.bad });
    samples.periodEvents.push({ labels: { ...key, outcome: "bad" }, value: counts.bad });
    // Only the severities the SLO's period has rules for: a 0 for an alert that cannot exist would read as "quiet".
    for (const severity of ALERT_SEVERITIES) {
      if (!evaluation.rules.some((rule) => rule.severity === severity)) continue;
      samples.alertFiring.push({ labels: { ...key, severity }, value: firing.has(alertKeyString({ ...key, severity })) ? 1 : 0 });
    }
  }

  const targets = new Set(input.config.targets.map((target) => target.name));
  for (const entry of input.catchments) {
    // Targets removed from the config still have rollups for a while: they would be unbounded history, not state.
    if (!targets.has(entry.target)) continue;
    const where = { target: entry.target, region: entry.region };
    samples.failovers.push({ labels: where, value: entry.changes.length });
    for (const [pop, share] of boundedShares(entry, input.topPops))
      samples.catchmentShare.push({ labels: { ...where, pop }, value: share });
  }
  return samples;
}

/**
 * The `topPops` largest shares (ties to the smaller id), then the rest summed
 * as `other` when there is a rest. A PoP whose id is literally `other` is
 * counted in that bucket, so the label keeps one meaning.
 */
function boundedShares(entry: Catchment, topPops: number): [string, number][] {
  const ranked = Object.entries(entry.shares)
    .filter(([pop]) => pop !== OTHER_POPS)
    .sort(([a, x], [b, y]) => y - x || compareStrings(a, b));
  const rest = [...ranked.slice(topPops), ...Object.entries(entry.shares).filter(([pop]) => pop === OTHER_POPS)];
  const kept = ranked.slice(0, topPops);
  if (rest.length > 0) kept.push([OTHER_POPS, rest.reduce((sum, [, share]) => sum + share, 0)]);
  return kept;
}
