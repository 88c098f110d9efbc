// Time arithmetic of one invocation: where its rounds fall, how long a round
// can take, and the keys that make a retried invocation rewrite its own items.
import { MAX_RESULT_SEQ, type PopwatchConfig, type RetentionDays, roundIntervalMs, toIsoInstant } from "@popwatch/core";

/**
 * Time kept back after a round's deadline for writing its results (and, after
 * the last round, rebuilding rollups). It matches the deployment's margin
 * between the last round's worst-case end and the function timeout
 * (stacks/settings.ts LAST_ROUND_WRITE_MARGIN_MS). A rollup rebuild cut off by
 * the timeout fails the invocation, and its retry rebuilds them.
 */
export const DEFAULT_SAFETY_MARGIN_MS = 1_000;

/** `<region>#<scheduledAt ISO>`: the same for every retry of one scheduled event, and unique per region and slot. */
export function invocationIdFor(region: string, scheduledAt: Date | number | string): string {
  const iso = toIsoInstant(scheduledAt);
  if (iso === null) throw new RangeError(`scheduledAt ${String(scheduledAt)} is not a valid instant`);
  return `${region}#${iso}`;
}

/** Epoch ms of round `round`'s slot: rounds are evenly spaced from the scheduled time. */
export function roundSlotMs(schedule: PopwatchConfig["schedule"], scheduledAtMs: number, round: number): number {
  return scheduledAtMs + round * roundIntervalMs(schedule);
}

/**
 * A result's sequence number within its invocation: round-major, then the
 * spec's position. It depends on nothing measured, so a retry reproduces it.
 */
export function sequenceNumber(round: number, specCount: number, specIndex: number): number {
  return round * specCount + specIndex;
}

/** Whether `rounds` rounds of `specCount` probes fit in the result seq range. */
export function fitsSequenceRange(rounds: number, specCount: number): boolean {
  return rounds * specCount - 1 <= MAX_RESULT_SEQ;
}

/**
 * The longest a round can take: probes run `concurrency` at a time and each
 * stops at the per-probe timeout.
 */
export function worstCaseRoundMs(schedule: PopwatchConfig["schedule"], specCount: number): number {
  return Math.ceil(Math.max(1, specCount) / schedule.concurrency) * schedule.timeoutMs;
}

/** Retention in the store's terms, from the config's. */
export function storeRetention(config: PopwatchConfig): RetentionDays {
  const { rawDays, minuteDays, hourDays, dayDays } = config.retention;
  return { raw: rawDays, minute: minuteDays, hour: hourDays, day: dayDays };
}
