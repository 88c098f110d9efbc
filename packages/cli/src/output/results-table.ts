import type { StoredResult } from "@popwatch/store";
import { formatTimings, keyFacts } from "./probe-table";

/** Slot time to the second, UTC: `2025-03-02 10:00:20Z`. */
function shortTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;
}

/** The probe table with when and from where in front: one row per stored result. */
export function formatResultsTable(results: readonly StoredResult[]): string {
  const header = ["TIME", "REGION", "KIND", "TARGET", "OK", "POP", "SOURCE", "TIMINGS (ms)", "DETAILS"];
  const rows = results.map((r) => [
    shortTime(r.slotAt ?? r.startedAt),
    r.region,
    r.kind,
    r.name ? `${r.name} (${r.target})` : r.target,
    r.ok ? "ok" : "FAIL",
    r.pop ? `${r.pop.id}${r.pop.iata && r.pop.iata !== r.pop.id ? ` (${r.pop.iata})` : ""}` : "-",
    r.pop?.source ?? "-",
    formatTimings(r.timings),
    r.failure ? `${r.failure.code}: ${r.failure.message}${keyFacts(r) ? `; ${keyFacts(r)}` : ""}` : keyFacts(r),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}
