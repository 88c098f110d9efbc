// Failovers, outages and blips from raw results, and the convergence SLI
// (seed metric M2, "route convergence time": time to reroute after a
// withdrawal, target < 30 s for critical services).
//
// Per series (target, kind, region) in time order, the results form runs:
// consecutive answers from one PoP, or consecutive failures. A run of at
// least `minStableSamples` answers is stable: traffic settled there. Between
// two stable runs lies an episode, classified by the PoPs at either end:
//   A … B (B ≠ A)             failover A → B (through failures or not)
//   A … A with failures        outage of A (how a black hole shows: the route
//                              stays, the service fails, no PoP change)
//   A … A without failures     blip: short excursions to other PoPs
// Answers that identify no PoP neither change, confirm nor interrupt a PoP's
// run (they do end an outage, and bound the resolution). A failure counts as a
// failure even when it names a PoP (an error page from the new site). Runs before the first stable run have no known
// starting point and are not classified; failures at the very end are an
// ongoing outage; an episode that has ended but not yet settled on a stable
// run (a new PoP answered once) is not reported until it settles.

import { compareStrings } from "../compare";
import { PopwatchCoreError } from "../errors";
import { toEpochMs } from "../rollup/period";
import type { SeriesKey } from "../rollup/rollup";
import { ANALYTICS_DEFAULTS } from "./config";
import {
  type AnalyticsInstant,
  type AnalyticsWindow,
  type RegionalResult,
  type Sample,
  compareSamples,
  groupBy,
  isoOf,
  resolveWindow,
  seriesKeyOf,
  toSamples,
} from "./input";

export interface FailoverOptions {
  /**
   * Consecutive answers from one PoP before it counts as stable. Default 2
   * (config analytics.failoverMinStableSamples): a single answer from another
   * PoP between answers from A is a blip, not a failover and failback. With 1,
   * every excursion is a failover, and the return a failback.
   */
  minStableSamples?: number;
  /** Only results in [from, to) (by resultTime). */
  window?: AnalyticsWindow;
  /** Measures ongoing outages up to this instant; without it, up to the last result. */
  now?: AnalyticsInstant;
}

export interface Failover extends SeriesKey {
  from: string;
  to: string;
  /** Last answer of the stable run at `from`. */
  lastGoodFromAt: string;
  /** First failure between the two PoPs, or null when traffic moved without one. */
  firstFailureAt: string | null;
  /** First answer of the stable run at `to`. */
  firstGoodToAt: string;
  /** firstGoodToAt − lastGoodFromAt: an upper bound on convergence, exact to resolutionMs. */
  convergenceMs: number;
  /** From the first failure to the first success after the last failure; null without failures. */
  outageMs: number | null;
  /**
   * The gap between the last answer from `from` and the next result: when the
   * change really began is only known to within this (the probe interval).
   * A failover faster than one round reports convergenceMs = resolutionMs.
   */
  resolutionMs: number;
  failedSamples: number;
  /** True when this returns to the PoP the previous failover of the series left. */
  failback: boolean;
}

export interface Outage extends SeriesKey {
  /** The PoP answering before and after. */
  pop: string;
  lastGoodAt: string;
  firstFailureAt: string;
  /** First success after the last failure; null while ongoing. */
  recoveredAt: string | null;
  /** firstFailureAt to recoveredAt; while ongoing, to `now` (or the last result). */
  outageMs: number;
  /** The gap between lastGoodAt and the next result. */
  resolutionMs: number;
  failedSamples: number;
  ongoing: boolean;
}

/** Answers from other PoPs too short to be stable, between answers from one PoP, with no failure. */
export interface Blip extends SeriesKey {
  /** The stable PoP before and after. */
  pop: string;
  /** The PoPs that answered in between, in order of first answer. */
  excursion: string[];
  firstAt: string;
  lastAt: string;
  samples: number;
}

export interface FailoverAnalysis {
  failovers: Failover[];
  outages: Outage[];
  blips: Blip[];
}

interface Run {
  /** null: a run of failures. */
  pop: string | null;
  count: number;
  /** Indices into the series' samples. */
  first: number;
  last: number;
}

/** Failovers, outages and blips of every series in the results, each sorted by target, kind, region, then time. */
export function analyzeFailovers(results: readonly RegionalResult[], options: FailoverOptions = {}): FailoverAnalysis {
  const minStable = options.minStableSamples ?? ANALYTICS_DEFAULTS.failoverMinStableSamples;
  if (!Number.isInteger(minStable) || minStable < 1) {
    throw new PopwatchCoreError("analytics_input_invalid", `minStableSamples: expected a positive integer, got ${minStable}`);
  }
  const { fromMs, toMs } = resolveWindow(options.window);
  let nowMs: number | null = null;
  if (options.now !== undefined) {
    nowMs = toEpochMs(options.now);
    if (nowMs === null) throw new PopwatchCoreError("analytics_input_invalid", "now: not a valid instant");
  }

  const analysis: FailoverAnalysis = { failovers: [], outages: [], blips: [] };
  const bySeries = groupBy(
    toSamples(results).filter((s) => s.ms >= fromMs && s.ms < toMs),
    seriesKeyOf,
  );
  const keys = [...bySeries.keys()].sort(compareStrings);
  for (const key of keys) {
    const samples = bySeries.get(key)!.sort(compareSamples);
    analyzeSeries(samples, minStable, nowMs, analysis);
  }
  return analysis;
}

function analyzeSeries(samples: readonly Sample[], minStable: number, nowMs: number | null, into: FailoverAnalysis): void {
  const { target, kind, region } = samples[0]!;
  const series: SeriesKey = { target, kind, region };
  const at = (index: number) => isoOf(samples[index]!.ms);
  const gapAfter = (index: number) => samples[index + 1]!.ms - samples[index]!.ms;

  const runs: Run[] = [];
  samples.forEach((sample, index) => {
    if (sample.ok && sample.pop === null) return;
    const pop = sample.ok ? sample.pop : null;
    const current = runs.at(-1);
    if (current !== undefined && current.pop === pop) {
      current.count++;
      current.last = index;
    } else {
      runs.push({ pop, count: 1, first: index, last: index });
    }
  });

  let stable: Run | null = null;
  let between: Run[] = [];
  let previousFailover: Failover | null = null;
  for (const run of runs) {
    if (run.pop === null || run.count < minStable) {
      between.push(run);
      continue;
    }
    if (stable !== null) {
      const failures = between.filter((r) => r.pop === null);
      const failedSamples = failures.reduce((n, r) => n + r.count, 0);
      const firstFailure = failures[0];
      // The first success after the last failure: run.first at the latest, possibly an answer without a PoP.
      const recovered = failures.length === 0 ? null : firstOkAfter(samples, failures.at(-1)!.last);
      if (run.pop !== stable.pop) {
        const failover: Failover = {
          ...series,
          from: stable.pop!,
          to: run.pop,
          lastGoodFromAt: at(stable.last),
          firstFailureAt: firstFailure === undefined ? null : at(firstFailure.first),
          firstGoodToAt: at(run.first),
          convergenceMs: samples[run.first]!.ms - samples[stable.last]!.ms,
          outageMs: firstFailure === undefined || recovered === null ? null : samples[recovered]!.ms - samples[firstFailure.first]!.ms,
          resolutionMs: gapAfter(stable.last),
          failedSamples,
          failback: previousFailover !== null && previousFailover.from === run.pop && previousFailover.to === stable.pop,
        };
        into.failovers.push(failover);
        previousFailover = failover;
      } else if (firstFailure !== undefined) {
        into.outages.push({
          ...series,
          pop: run.pop,
          lastGoodAt: at(stable.last),
          firstFailureAt: at(firstFailure.first),
          recoveredAt: at(recovered!),
          outageMs: samples[recovered!]!.ms - samples[firstFailure.first]!.ms,
          resolutionMs: gapAfter(stable.last),
          failedSamples,
          ongoing: false,
        });
      } else {
        into.blips.push({
          ...series,
          pop: run.pop,
          excursion: [...new Set(between.map((r) => r.pop!))],
          firstAt: at(between[0]!.first),
          lastAt: at(between.at(-1)!.last),
          samples: between.reduce((n, r) => n + r.count, 0),
        });
      }
    }
    stable = run;
    between = [];
  }

  // Failing still at the end: an ongoing outage (a black hole now). Once something answers again,
  // the episode waits, like an unconfirmed failover, for a stable run to say how it ended.
  const trailingFailures = between.filter((r) => r.pop === null);
  const lastFailure = trailingFailures.at(-1);
  if (stable !== null && lastFailure !== undefined && firstOkAfter(samples, lastFailure.last) === null) {
    const firstFailure = trailingFailures[0]!;
    const lastMs = samples.at(-1)!.ms;
    into.outages.push({
      ...series,
      pop: stable.pop!,
      lastGoodAt: at(stable.last),
      firstFailureAt: at(firstFailure.first),
      recoveredAt: null,
      outageMs: Math.max(nowMs ?? lastMs, lastMs) - samples[firstFailure.first]!.ms,
      resolutionMs: gapAfter(stable.last),
      failedSamples: trailingFailures.reduce((n, r) => n + r.count, 0),
      ongoing: true,
    });
  }
}

function firstOkAfter(samples: readonly Sample[], index: number): number | null {
  for (let i = index + 1; i < samples.length; i++) if (samples[i]!.ok) return i;
  return null;
}

export interface ConvergenceSli {
  region: string;
  thresholdMs: number;
  failovers: number;
  /** Failovers with convergenceMs ≤ thresholdMs. */
  converged: number;
  /** converged / failovers; null without failovers (no events, no SLI). */
  sli: number | null;
}

/**
 * Share of failovers per region that converged within the threshold (default
 * 30 s, config analytics.convergenceSloMs), sorted by region. At the
 * threshold counts as converged.
 */
export function convergenceSli(failovers: readonly Failover[], options: { thresholdMs?: number } = {}): ConvergenceSli[] {
  const thresholdMs = options.thresholdMs ?? ANALYTICS_DEFAULTS.convergenceSloMs;
  if (!(thresholdMs > 0) || !Number.isFinite(thresholdMs)) {
    throw new PopwatchCoreError("analytics_input_invalid", `thresholdMs: expected a positive number, got ${thresholdMs}`);
  }
  const byRegion = groupBy(failovers, (f) => f.region);
  return [...byRegion.keys()].sort(compareStrings).map((region) => {
    const list = byRegion.get(region)!;
    const converged = list.filter((f) => f.convergenceMs <= thresholdMs).length;
    return { region, thresholdMs, failovers: list.length, converged, sli: list.length === 0 ? null : converged / list.length };
  });
}
