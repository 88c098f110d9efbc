import type { StoredResult } from "@popwatch/store";
import { RESULT_HEADER, resultCells } from "./probe-table";
import { renderTable } from "./table";

/** Slot time to the second, UTC: `2025-03-02 10:00:20Z`. */
function shortTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;
}

/** The probe table with when and from where in front: one row per stored result. */
export function formatResultsTable(results: readonly StoredResult[]): string {
  return renderTable(
    ["TIME", "REGION", "KIND", "TARGET", ...RESULT_HEADER],
    results.map((r) => [
      shortTime(r.slotAt ?? r.startedAt),
      r.region,
      r.kind,
      r.name ? `${r.name} (${r.target})` : r.target,
      ...resultCells(r),
    ]),
  );
}
