// What every imported result must satisfy whatever its format, judged per
// line so one bad line never costs the others: a time within a sane window
// (a line dated 9999-12-31 would otherwise stretch the rollups of a whole
// import), and a size the store accepts for one result.
import { DAY_MS } from "@popwatch/core";
import type { StoredResult } from "@popwatch/store";

/** Before this no result of any format can exist (RIPE Atlas started in 2010; popwatch later). */
export const EARLIEST_RESULT_MS = Date.UTC(2000, 0, 1);
/** How far ahead of this machine's clock a result may be dated (clock skew of the machine that probed). */
export const LATEST_RESULT_AHEAD_MS = DAY_MS;
/**
 * The store's limit for one result as JSON (packages/store/src/results.ts
 * refuses a larger one, and with it the whole batch).
 */
export const MAX_RESULT_JSON_BYTES = 380 * 1024;

/** A result ready to store, except for the seq its batch gives it. */
export type ImportedResult = Omit<StoredResult, "seq">;

/** Null when the result can be stored, else the reason it cannot (for FILE:LINE: reason). */
export function resultProblem(result: ImportedResult, nowMs: number): string | null {
  for (const field of ["slotAt", "startedAt"] as const) {
    const value = result[field];
    if (value === undefined || value === null) continue;
    const ms = Date.parse(value);
    if (!(ms >= EARLIEST_RESULT_MS)) return `${field}: ${value} is before ${new Date(EARLIEST_RESULT_MS).toISOString()}`;
    if (ms > nowMs + LATEST_RESULT_AHEAD_MS) return `${field}: ${value} is more than a day ahead of this machine's clock`;
  }
  const bytes = Buffer.byteLength(JSON.stringify(result));
  if (bytes > MAX_RESULT_JSON_BYTES)
    return `the result is ${bytes} bytes as JSON, over the store's limit of ${MAX_RESULT_JSON_BYTES} for one result`;
  return null;
}
