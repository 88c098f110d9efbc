// The --since/--until forms every command that reads a time range accepts.
import { DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS, toEpochMs } from "@popwatch/core";
import { UsageError } from "./errors";

const UNIT_MS: Record<string, number> = { s: SECOND_MS, m: MINUTE_MS, h: HOUR_MS, d: DAY_MS };

/**
 * `15m`, `2h`, `1d`, `30s` back from `nowMs`, or an ISO 8601 time (a date
 * alone is midnight UTC). Throws UsageError naming the flag.
 */
export function parseWhen(flag: string, value: string, nowMs: number): number {
  const duration = /^(\d+)\s*([smhd])$/.exec(value.trim());
  if (duration) return nowMs - Number(duration[1]) * UNIT_MS[duration[2]!]!;
  if (/^\d{4}-\d{2}-\d{2}(T|$)/.test(value)) {
    const ms = toEpochMs(value);
    if (ms !== null) return ms;
  }
  throw new UsageError(`--${flag}: expected a duration such as 15m, 2h, 1d or an ISO 8601 time, got "${value}"`);
}
