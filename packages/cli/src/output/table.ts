import { escapeControl } from "./format";

/** Left-aligned columns two spaces apart; the last column is never padded. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  // Cells may hold text from the network (NSIDs, TXT data, headers, certificate subjects).
  rows = rows.map((row) => row.map(escapeControl));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}
