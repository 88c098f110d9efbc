// Detour audit ("London served by New York"): BGP picks paths by AS policy,
// not geography, so a region can be served by a PoP far beyond one that
// exists near it. For each PoP a region reached, compare its distance with
// the nearest PoP the target is known to have.

import { compareStrings } from "../compare";
import { type PopCatalogue, createPopCatalogue } from "../geo/catalogue";
import { greatCircleKm } from "../geo/distance";
import type { GeoPoint } from "../geo/types";
import type { Catchment } from "./catchment";
import { ANALYTICS_DEFAULTS } from "./config";
import type { MinRtt } from "./light";
import { type MissingLocation, createLocator } from "./locate";

export interface DetourOptions {
  /** Operator entries over the built-in airports; default the built-ins only. */
  catalogue?: PopCatalogue;
  /** Flag when the serving PoP is more than this much further than the nearest (default 1000 km, config analytics.detourKm). */
  detourKm?: number;
  /** Also flag when the PoP's minimum RTT exceeds the nearest PoP's by more than this (both observed from the region). */
  detourRttMs?: number;
  /**
   * PoP ids each target is known to have, by target. Default: every PoP any
   * region saw answer for that target, plus the operator's catalogue entries.
   */
  candidates?: Readonly<Record<string, readonly string[]>>;
  /** Locations of regions not in the AWS table (local runs), or overrides. */
  regionLocations?: Readonly<Record<string, GeoPoint>>;
  /** Minimum RTTs (minRtts), for the RTT criterion and for PoPs' IATA codes. */
  rtts?: readonly MinRtt[];
}

export interface DetourItem {
  target: string;
  region: string;
  /** The PoP that served the region. */
  pop: string;
  /** Its share of the region's identified answers. */
  share: number;
  /** The candidate PoP closest to the region (ties: smallest id). */
  nearestPop: string;
  /** Region to serving PoP. */
  distanceKm: number;
  /** Region to nearest PoP. */
  nearestKm: number;
  /** distanceKm − nearestKm (≥ 0). */
  excessKm: number;
  /** Minimum RTT to the serving PoP, when rtts were given and it has one. */
  rttMs: number | null;
  /** Minimum RTT to the nearest PoP, when the region was ever served by it. */
  nearestRttMs: number | null;
  rttExcessMs: number | null;
  /** excessKm > detourKm, or rttExcessMs > detourRttMs. */
  detour: boolean;
  reasons: ("distance" | "rtt")[];
}

export interface DetourReport {
  /** Every (target, region, PoP) that could be judged, sorted by target, region, then share (largest first). */
  items: DetourItem[];
  /** The items with detour = true. */
  detours: DetourItem[];
  missing: MissingLocation[];
}

/** Judges every PoP each region's catchment reached. Unlocatable regions and PoPs are listed in `missing`. */
export function detourAudit(catchments: readonly Catchment[], options: DetourOptions = {}): DetourReport {
  const catalogue = options.catalogue ?? createPopCatalogue();
  const locate = createLocator(catalogue, options.regionLocations);
  const detourKm = options.detourKm ?? ANALYTICS_DEFAULTS.detourKm;
  const detourRttMs = options.detourRttMs;

  const rtts = new Map<string, MinRtt>();
  const iataOf = new Map<string, string>();
  for (const rtt of options.rtts ?? []) {
    rtts.set(JSON.stringify([rtt.target, rtt.region, rtt.pop]), rtt);
    if (rtt.iata !== null && !iataOf.has(rtt.pop)) iataOf.set(rtt.pop, rtt.iata);
  }
  const rttOf = (target: string, region: string, pop: string) => rtts.get(JSON.stringify([target, region, pop]))?.rttMs ?? null;

  const observed = new Map<string, Set<string>>();
  for (const c of catchments) {
    let pops = observed.get(c.target);
    if (pops === undefined) {
      pops = new Set();
      observed.set(c.target, pops);
    }
    for (const pop of Object.keys(c.counts)) pops.add(pop);
  }
  const candidatesOf = (target: string): Set<string> => {
    if (options.candidates !== undefined && Object.hasOwn(options.candidates, target)) return new Set(options.candidates[target]);
    return new Set([...(observed.get(target) ?? []), ...catalogue.operatorIds]);
  };

  const items: DetourItem[] = [];
  const ordered = [...catchments].sort((a, b) => compareStrings(a.target, b.target) || compareStrings(a.region, b.region));
  for (const c of ordered) {
    const served = Object.keys(c.counts);
    if (served.length === 0) continue;
    const vantage = locate.region(c.target, c.region);
    if (vantage === null) continue;
    const candidates = candidatesOf(c.target);
    for (const pop of served) candidates.add(pop);

    // Candidates nobody saw from this region are looked up silently: only PoPs that served are reported missing.
    let nearest: { pop: string; km: number } | null = null;
    for (const pop of [...candidates].sort(compareStrings)) {
      const site = served.includes(pop)
        ? locate.pop(c.target, c.region, pop, iataOf.get(pop) ?? null)
        : catalogue.resolve(pop, iataOf.get(pop) ?? null);
      if (site === null) continue;
      const km = greatCircleKm(vantage, site);
      if (nearest === null || km < nearest.km) nearest = { pop, km };
    }

    const judged: DetourItem[] = [];
    for (const pop of served) {
      const site = catalogue.resolve(pop, iataOf.get(pop) ?? null);
      if (site === null || nearest === null) continue;
      const distanceKm = greatCircleKm(vantage, site);
      const excessKm = Math.max(0, distanceKm - nearest.km);
      const rttMs = rttOf(c.target, c.region, pop);
      const nearestRttMs = rttOf(c.target, c.region, nearest.pop);
      const rttExcessMs = rttMs !== null && nearestRttMs !== null ? rttMs - nearestRttMs : null;
      const reasons: DetourItem["reasons"] = [];
      if (excessKm > detourKm) reasons.push("distance");
      if (detourRttMs !== undefined && rttExcessMs !== null && rttExcessMs > detourRttMs) reasons.push("rtt");
      judged.push({
        target: c.target,
        region: c.region,
        pop,
        share: c.shares[pop] ?? 0,
        nearestPop: nearest.pop,
        distanceKm,
        nearestKm: nearest.km,
        excessKm,
        rttMs,
        nearestRttMs,
        rttExcessMs,
        detour: reasons.length > 0,
        reasons,
      });
    }
    judged.sort((a, b) => b.share - a.share || compareStrings(a.pop, b.pop));
    items.push(...judged);
  }
  return { items, detours: items.filter((item) => item.detour), missing: locate.missing() };
}
