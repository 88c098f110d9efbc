// Catchment by group of vantages: with thousands of Atlas probes a per-vantage
// matrix is unreadable, and the question is "where do users in Germany (or in
// AS3320) land", so vantages are grouped by the country or AS the registry
// knows them by.

import { compareStrings } from "../compare";
import type { Vantage } from "../vantage";
import type { Catchment } from "./catchment";

export const CATCHMENT_GROUP_BYS = ["vantage", "country", "asn"] as const;
export type CatchmentGroupBy = (typeof CATCHMENT_GROUP_BYS)[number];

/** The group of vantages whose country or AS is not known. */
export const UNKNOWN_GROUP = "unknown";

/** Where one group of vantages' probes of one target landed. */
export interface CatchmentGroup {
  target: string;
  /** The vantage name, country code, `AS<n>`, or UNKNOWN_GROUP. */
  group: string;
  /** The group's vantages with catchment data for the target, by name. */
  vantages: string[];
  /** Answers by PoP, summed over the group's vantages. */
  counts: Record<string, number>;
  /**
   * Each vantage's shares summed and divided by the vantages that identified
   * any PoP: every vantage weighs the same however often it probed (an Atlas
   * probe every 4 minutes and an agent every minute). Sums to 1 when any did.
   */
  shares: Record<string, number>;
  /** The PoP with the largest share; ties go to the smallest id. */
  dominant: string | null;
  total: number;
  unidentified: number;
}

/** The group a vantage falls in; vantages missing from the registry fall in UNKNOWN_GROUP for country and asn. */
export function vantageGroup(name: string, vantage: Vantage | undefined, by: CatchmentGroupBy): string {
  if (by === "vantage") return name;
  if (by === "country") return vantage?.country ?? UNKNOWN_GROUP;
  return vantage?.asn == null ? UNKNOWN_GROUP : `AS${vantage.asn}`;
}

/** Catchments (`region` = vantage) grouped per (target, group), sorted by target then group. */
export function groupCatchments(catchments: readonly Catchment[], vantages: readonly Vantage[], by: CatchmentGroupBy): CatchmentGroup[] {
  const registry = new Map(vantages.map((v) => [v.name, v] as const));
  const groups = new Map<string, { target: string; group: string; members: Catchment[] }>();
  for (const entry of catchments) {
    const group = vantageGroup(entry.region, registry.get(entry.region), by);
    const key = JSON.stringify([entry.target, group]);
    const found = groups.get(key);
    if (found === undefined) groups.set(key, { target: entry.target, group, members: [entry] });
    else found.members.push(entry);
  }
  const out: CatchmentGroup[] = [];
  for (const { target, group, members } of groups.values()) {
    const counts = new Map<string, number>();
    const shareSums = new Map<string, number>();
    let identifying = 0;
    let total = 0;
    let unidentified = 0;
    for (const member of members) {
      total += member.total;
      unidentified += member.unidentified;
      if (member.total > 0) identifying++;
      for (const [pop, n] of Object.entries(member.counts)) counts.set(pop, (counts.get(pop) ?? 0) + n);
      for (const [pop, share] of Object.entries(member.shares)) shareSums.set(pop, (shareSums.get(pop) ?? 0) + share);
    }
    const pops = [...counts.keys()].sort(compareStrings);
    const shares = pops.map((pop) => [pop, identifying === 0 ? 0 : (shareSums.get(pop) ?? 0) / identifying] as const);
    let dominant: string | null = null;
    let best = 0;
    for (const [pop, share] of shares) {
      if (share > best) {
        best = share;
        dominant = pop;
      }
    }
    out.push({
      target,
      group,
      vantages: members.map((m) => m.region).sort(compareStrings),
      // Object.fromEntries defines own properties, so a PoP id such as `__proto__` stays data.
      counts: Object.fromEntries(pops.map((pop) => [pop, counts.get(pop)!])),
      shares: Object.fromEntries(shares),
      dominant,
      total,
      unidentified,
    });
  }
  return out.sort((a, b) => compareStrings(a.target, b.target) || compareStrings(a.group, b.group));
}
