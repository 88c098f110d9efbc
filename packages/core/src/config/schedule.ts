// Time arithmetic of the probing schedule, shared by the agent (which skips a
// round that cannot end before its deadline) and the deployment (which rejects
// a config whose last round could never fit the function timeout). Both must
// compute the same numbers, so they come from here. Parameters are typed by
// the fields they read, so the schema can use this module without a cycle.
import { MINUTE_MS } from "../time";

/** The schedule fields that place rounds in time. */
export interface RoundSpacing {
  rateMinutes: number;
  roundsPerInvocation: number;
}

/** The schedule fields that bound how long one round can take. */
export interface RoundBudget {
  concurrency: number;
  timeoutMs: number;
}

/**
 * Time kept back after the last round's worst-case end for writing its
 * results (and rebuilding rollups): the agent's default safety margin and the
 * deployment's check against the function timeout. A rollup rebuild cut off
 * by the timeout fails the invocation, and its retry rebuilds them.
 */
export const LAST_ROUND_WRITE_MARGIN_MS = 1_000;

/** Milliseconds between rounds inside one invocation. */
export function roundIntervalMs(schedule: RoundSpacing): number {
  return (schedule.rateMinutes * MINUTE_MS) / schedule.roundsPerInvocation;
}

/** Epoch ms of round `round`'s slot: rounds are evenly spaced from the scheduled time. */
export function roundSlotMs(schedule: RoundSpacing, scheduledAtMs: number, round: number): number {
  return scheduledAtMs + round * roundIntervalMs(schedule);
}

/** Probes in one round: one per configured kind of every target (the agent's probeSpecsOf). */
export function probesPerRound(config: { targets: readonly { probes: object }[] }): number {
  return config.targets.reduce((sum, target) => sum + Object.values(target.probes).filter((p) => p !== undefined).length, 0);
}

/** The longest a round can take: probes run `concurrency` at a time and each stops at the per-probe timeout. */
export function worstCaseRoundMs(schedule: RoundBudget, probeCount: number): number {
  return Math.ceil(Math.max(1, probeCount) / schedule.concurrency) * schedule.timeoutMs;
}

/** When the last round ends at the latest, in ms after the invocation's scheduled time. */
export function lastRoundDeadlineMs(schedule: RoundSpacing & RoundBudget, probeCount: number): number {
  return roundSlotMs(schedule, 0, schedule.roundsPerInvocation - 1) + worstCaseRoundMs(schedule, probeCount);
}
