// The forms of `popwatch catchment`: a region × PoP matrix per target for
// people, one JSON object per (target, region) and CSV rows for programs.
import { type Catchment, type PopCatalogue, compareStrings } from "@popwatch/core";
import { csvLines } from "./csv";
import { renderTable } from "./probe-table";

export const CATCHMENT_FORMATS = ["table", "json", "csv"] as const;
export type CatchmentFormat = (typeof CATCHMENT_FORMATS)[number];

export function renderCatchment(format: CatchmentFormat, entries: readonly Catchment[], catalogue: PopCatalogue): string {
  switch (format) {
    case "json":
      return entries.map((e) => `${JSON.stringify(e)}\n`).join("");
    case "csv":
      return renderCsv(entries);
    case "table":
      return renderMatrix(entries, catalogue);
  }
}

function renderCsv(entries: readonly Catchment[]): string {
  const rows = [["target", "region", "pop", "count", "share", "dominant", "total", "unidentified"]];
  for (const e of entries) {
    const pops = Object.keys(e.counts);
    if (pops.length === 0) rows.push([e.target, e.region, "", "0", "", "false", String(e.total), String(e.unidentified)]);
    for (const pop of pops) {
      rows.push([
        e.target,
        e.region,
        pop,
        String(e.counts[pop]),
        String(e.shares[pop]),
        String(pop === e.dominant),
        String(e.total),
        String(e.unidentified),
      ]);
    }
  }
  return csvLines(rows);
}

/** Catchment rows grouped per target (first-seen order), each with its PoPs by answers, most first. */
export function catchmentMatrices(entries: readonly Catchment[]): { target: string; rows: Catchment[]; pops: string[] }[] {
  const byTarget = new Map<string, Catchment[]>();
  for (const e of entries) byTarget.set(e.target, [...(byTarget.get(e.target) ?? []), e]);
  return [...byTarget].map(([target, rows]) => {
    const totals = new Map<string, number>();
    for (const row of rows) for (const [pop, n] of Object.entries(row.counts)) totals.set(pop, (totals.get(pop) ?? 0) + n);
    return { target, rows, pops: [...totals].sort(([a, x], [b, y]) => y - x || compareStrings(a, b)).map(([pop]) => pop) };
  });
}

function renderMatrix(entries: readonly Catchment[], catalogue: PopCatalogue): string {
  const blocks: string[] = [];
  for (const { target, rows, pops } of catchmentMatrices(entries)) {
    const table = renderTable(
      ["REGION", "ANSWERS", "NO POP", "CHANGES", ...pops],
      rows.map((row) => [
        row.region,
        String(row.total),
        String(row.unidentified),
        String(row.changes.length),
        ...pops.map((pop) => {
          const share = row.shares[pop];
          return share === undefined ? "-" : `${pop === row.dominant ? "*" : ""}${(share * 100).toFixed(1)}%`;
        }),
      ]),
    );
    const changes = rows.flatMap((row) =>
      row.changes.map((c) => `  ${row.region}  ${c.at.slice(0, 16).replace("T", " ")}Z  ${c.from} -> ${c.to}`),
    );
    const places = pops.map((pop) => {
      const site = catalogue.resolve(pop);
      return site === null ? `${pop} (not in catalogue)` : `${pop} ${[site.city, site.country].filter(Boolean).join(", ")}`;
    });
    blocks.push(
      `${target}\n${table}` + (changes.length > 0 ? `dominant PoP changes:\n${changes.join("\n")}\n` : "") + `PoPs: ${places.join("; ")}\n`,
    );
  }
  return `${blocks.join("\n")}\n* dominant PoP (most answers); shares are of answers that identified a PoP\n`;
}
