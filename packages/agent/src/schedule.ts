// The keys that make a retried invocation rewrite its own items. Where rounds
// fall and how long one can take is core's schedule math (config/schedule.ts),
// shared with the deployment's checks.
import { LAST_ROUND_WRITE_MARGIN_MS, MAX_RESULT_SEQ, type PopwatchConfig, type RetentionDays, toIsoInstant } from "@popwatch/core";

/** Time kept back after a round's deadline for writing its results: the deployment's margin, so a deployable config never loses a round. */
export const DEFAULT_SAFETY_MARGIN_MS = LAST_ROUND_WRITE_MARGIN_MS;

/** `<region>#<scheduledAt ISO>`: the same for every retry of one scheduled event, and unique per region and slot. */
export function invocationIdFor(region: string, scheduledAt: Date | number | string): string {
  const iso = toIsoInstant(scheduledAt);
  if (iso === null) throw new RangeError(`scheduledAt ${String(scheduledAt)} is not a valid instant`);
  return `${region}#${iso}`;
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

/** Retention in the store's terms, from the config's. */
export function storeRetention(config: PopwatchConfig): RetentionDays {
  const { rawDays, minuteDays, hourDays, dayDays } = config.retention;
  return { raw: rawDays, minute: minuteDays, hour: hourDays, day: dayDays };
}
