// The forms of `popwatch catchment`: a region × PoP matrix per target for
// people, one JSON object per (target, region) and CSV rows for programs.
import { type Catchment, type CatchmentGroup, type CatchmentGroupBy, type PopCatalogue, compareStrings } from "@popwatch/core";
import { csvLines } from "./csv";
import { formatDuration } from "./format";
import { renderTable } from "./table";

export const CATCHMENT_FORMATS = ["table", "json", "csv"] as const;
export type CatchmentFormat = (typeof CATCHMENT_FORMATS)[number];

/** Route convergence (M2) of one target's failovers in one region (with a `bgp` config). */
export interface CatchmentM2 {
  failovers: number;
  /** Failovers with a BGP change in the correlation window. */
  measured: number;
  p50Ms: number | null;
  maxMs: number | null;
}

/** m2Of: with a `bgp` config, the M2 of a (target, region); every entry then carries one (zero failovers when it had none). */
export function renderCatchment(
  format: CatchmentFormat,
  entries: readonly Catchment[],
  catalogue: PopCatalogue,
  m2Of?: (target: string, region: string) => CatchmentM2 | undefined,
): string {
  const withM2 =
    m2Of === undefined
      ? undefined
      : (e: Catchment): CatchmentM2 => m2Of(e.target, e.region) ?? { failovers: 0, measured: 0, p50Ms: null, maxMs: null };
  switch (format) {
    case "json":
      return entries.map((e) => `${JSON.stringify(withM2 === undefined ? e : { ...e, m2: withM2(e) })}\n`).join("");
    case "csv":
      return renderCsv(entries, withM2);
    case "table":
      return renderMatrix(entries, catalogue, withM2);
  }
}

function renderCsv(entries: readonly Catchment[], m2Of: ((e: Catchment) => CatchmentM2) | undefined): string {
  const m2Cells = (e: Catchment): string[] => {
    if (m2Of === undefined) return [];
    const m2 = m2Of(e);
    return [
      String(m2.failovers),
      String(m2.measured),
      m2.p50Ms === null ? "" : String(m2.p50Ms),
      m2.maxMs === null ? "" : String(m2.maxMs),
    ];
  };
  const rows = [
    [
      "target",
      "region",
      "pop",
      "count",
      "share",
      "dominant",
      "total",
      "unidentified",
      ...(m2Of === undefined ? [] : ["m2_failovers", "m2_measured", "m2_p50_ms", "m2_max_ms"]),
    ],
  ];
  for (const e of entries) {
    const pops = Object.keys(e.counts);
    if (pops.length === 0) rows.push([e.target, e.region, "", "0", "", "false", String(e.total), String(e.unidentified), ...m2Cells(e)]);
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
        ...m2Cells(e),
      ]);
    }
  }
  return csvLines(rows);
}

/** `27 s p50, 31 s max (2 of 3 failovers)`, or why there is no figure. */
export function m2Summary(m2: CatchmentM2): string {
  if (m2.failovers === 0) return "no failovers";
  const of = `${m2.measured} of ${m2.failovers} failover${m2.failovers === 1 ? "" : "s"} with a BGP change`;
  if (m2.p50Ms === null || m2.maxMs === null) return `no BGP change seen (${m2.failovers} failover${m2.failovers === 1 ? "" : "s"})`;
  return `${formatDuration(m2.p50Ms)} p50, ${formatDuration(m2.maxMs)} max (${of})`;
}

/** Catchment rows grouped per target (first-seen order), each with its PoPs by answers, most first. */
export function catchmentMatrices<Row extends Pick<Catchment, "target" | "counts">>(
  entries: readonly Row[],
): { target: string; rows: Row[]; pops: string[] }[] {
  const byTarget = new Map<string, Row[]>();
  for (const e of entries) byTarget.set(e.target, [...(byTarget.get(e.target) ?? []), e]);
  return [...byTarget].map(([target, rows]) => {
    const totals = new Map<string, number>();
    for (const row of rows) for (const [pop, n] of Object.entries(row.counts)) totals.set(pop, (totals.get(pop) ?? 0) + n);
    return { target, rows, pops: [...totals].sort(([a, x], [b, y]) => y - x || compareStrings(a, b)).map(([pop]) => pop) };
  });
}

function renderMatrix(entries: readonly Catchment[], catalogue: PopCatalogue, m2Of: ((e: Catchment) => CatchmentM2) | undefined): string {
  const blocks: string[] = [];
  for (const { target, rows, pops } of catchmentMatrices(entries)) {
    const table = renderTable(
      ["REGION", "ANSWERS", "NO POP", "CHANGES", ...pops],
      rows.map((row) => [
        row.region,
        String(row.total),
        String(row.unidentified),
        String(row.changes.length),
        ...pops.map((pop) => shareText(row.shares[pop], pop === row.dominant)),
      ]),
    );
    const changes = rows.flatMap((row) =>
      row.changes.map((c) => `  ${row.region}  ${c.at.slice(0, 16).replace("T", " ")}Z  ${c.from} -> ${c.to}`),
    );
    const places = popPlaces(pops, catalogue);
    const m2 = m2Of === undefined ? [] : rows.map((row) => `  ${row.region}  ${m2Summary(m2Of(row))}`);
    blocks.push(
      `${target}\n${table}` +
        (changes.length > 0 ? `dominant PoP changes:\n${changes.join("\n")}\n` : "") +
        (m2.length > 0 ? `route convergence (M2, first BGP change to first answer from the new PoP):\n${m2.join("\n")}\n` : "") +
        `PoPs: ${places}\n`,
    );
  }
  return `${blocks.join("\n")}\n* dominant PoP (most answers); shares are of answers that identified a PoP\n`;
}

function popPlaces(pops: readonly string[], catalogue: PopCatalogue): string {
  return pops
    .map((pop) => {
      const site = catalogue.resolve(pop);
      return site === null ? `${pop} (not in catalogue)` : `${pop} ${[site.city, site.country].filter(Boolean).join(", ")}`;
    })
    .join("; ");
}

function shareText(share: number | undefined, dominant: boolean): string {
  return share === undefined ? "-" : `${dominant ? "*" : ""}${(share * 100).toFixed(1)}%`;
}

/** Column title of the group a row stands for. */
export const GROUP_BY_HEADER: Readonly<Record<CatchmentGroupBy, string>> = { vantage: "Vantage", country: "Country", asn: "AS" };

/**
 * `catchment --group-by country|asn`: one row per (target, group of vantages).
 * json: the CatchmentGroup with `by`; csv: one row per (target, group, PoP).
 */
export function renderCatchmentGroups(
  format: CatchmentFormat,
  groups: readonly CatchmentGroup[],
  by: CatchmentGroupBy,
  catalogue: PopCatalogue,
): string {
  switch (format) {
    case "json":
      return groups.map((g) => `${JSON.stringify({ by, ...g })}\n`).join("");
    case "csv": {
      const rows = [["target", by, "vantages", "pop", "count", "share", "dominant", "total", "unidentified"]];
      for (const g of groups) {
        const head = [g.target, g.group, String(g.vantages.length)];
        const tail = [String(g.total), String(g.unidentified)];
        const pops = Object.keys(g.counts);
        if (pops.length === 0) rows.push([...head, "", "0", "", "false", ...tail]);
        for (const pop of pops)
          rows.push([...head, pop, String(g.counts[pop]), String(g.shares[pop]), String(pop === g.dominant), ...tail]);
      }
      return csvLines(rows);
    }
    case "table": {
      const blocks = catchmentMatrices(groups).map(({ target, rows, pops }) => {
        const table = renderTable(
          [GROUP_BY_HEADER[by].toUpperCase(), "VANTAGES", "ANSWERS", "NO POP", ...pops],
          rows.map((row) => [
            row.group,
            String(row.vantages.length),
            String(row.total),
            String(row.unidentified),
            ...pops.map((pop) => shareText(row.shares[pop], pop === row.dominant)),
          ]),
        );
        return `${target}\n${table}PoPs: ${popPlaces(pops, catalogue)}\n`;
      });
      return `${blocks.join("\n")}\n* dominant PoP; a group's shares are its vantages' shares averaged (each vantage weighs the same)\n`;
    }
  }
}
