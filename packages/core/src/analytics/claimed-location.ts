// Claimed-location check (openstatus #394: probes said to be in one country
// were measured in another): a vantage whose minimum RTT to a located PoP is
// below what light in fibre allows from where the vantage claims to be cannot
// be there, or the PoP is not where its id says. impossibleRtts blames the PoP
// attribution; this check decides when the vantage is the one to blame.

import { compareStrings } from "../compare";
import { type PopCatalogue, createPopCatalogue } from "../geo/catalogue";
import { greatCircleKm } from "../geo/distance";
import type { GeoPoint } from "../geo/types";
import { type ClaimedLocation, type Vantage, claimedPoint } from "../vantage";
import type { Catchment } from "./catchment";
import { DEFAULT_LIGHT_MARGIN_KM, type MinRtt, lightBoundMs } from "./light";

/** One PoP answering a vantage faster than light allows from the vantage's claimed location. */
export interface ClaimedLocationFinding {
  vantage: string;
  /** The claim as written: an IATA code, or `lat,lon`. */
  claimed: string;
  target: string;
  pop: string;
  popLocation: GeoPoint;
  /** The vantage's fastest round trip to the PoP. */
  minRttMs: number;
  /** The fastest round trip light in fibre allows from the claimed location (lightBoundMs). */
  boundMs: number;
  /** Claimed location to the PoP. */
  distanceKm: number;
  /** Results the minimum was taken over. */
  samples: number;
}

/**
 * Why a vantage is judged mislocated: its RTTs are impossible to PoPs in
 * several places, or to the PoP its own catchment lands on most.
 */
export type MislocationReason = "several_places" | "catchment_pop";

export interface MislocatedVantage {
  vantage: string;
  claimed: string;
  reasons: MislocationReason[];
  /** Every finding of the vantage, by target then PoP. */
  findings: ClaimedLocationFinding[];
}

export interface ClaimedLocationOptions {
  /** Default: the built-in airports only. */
  catalogue?: PopCatalogue;
  /** Distance slack before judging; default DEFAULT_LIGHT_MARGIN_KM. */
  marginKm?: number;
  /** Catchments of the same window (`region` = vantage): the dominant PoP per target and vantage. */
  catchments?: readonly Catchment[];
}

export interface ClaimedLocationReport {
  /** Every impossible (vantage, target, PoP), sorted by vantage, target, PoP. */
  findings: ClaimedLocationFinding[];
  /** The vantages judged not to be where they claim, by name. */
  mislocated: MislocatedVantage[];
}

/** How a claim is shown: the IATA code, or `lat,lon`. */
export function claimedLabel(claimed: ClaimedLocation): string {
  return "iata" in claimed ? claimed.iata : `${claimed.lat},${claimed.lon}`;
}

/**
 * Judges each vantage with a claimed location that resolves to a point
 * against the minimum RTTs (minRtts: `region` is the vantage name) to every
 * PoP the catalogue locates. Vantages without a claim and PoPs without a
 * location are not judged.
 *
 * The rule, after constraint-based geolocation (Gueye et al., "Constraint-
 * Based Geolocation of Internet Hosts", IEEE/ACM ToN 2006: a host lies
 * inside every disk of radius RTT/2 · v around the landmarks it measured): one
 * impossible RTT is explained as well by a mislabelled PoP as by a mislocated
 * vantage, so it stays impossibleRtts' finding; the vantage is mislocated when
 * its claim falls outside the disks of PoPs in several places (more than
 * 2 · margin apart, so two ids of one metro count once: one wrong PoP site
 * cannot explain both), or outside the disk of the PoP its own catchment lands
 * on most (the PoP identified in most of its answers is the least likely to be
 * mislabelled).
 */
export function claimedLocationCheck(
  rtts: readonly MinRtt[],
  vantages: readonly Vantage[],
  options: ClaimedLocationOptions = {},
): ClaimedLocationReport {
  const catalogue = options.catalogue ?? createPopCatalogue();
  const marginKm = options.marginKm ?? DEFAULT_LIGHT_MARGIN_KM;
  const claims = new Map<string, { claimed: string; point: GeoPoint }>();
  for (const vantage of vantages) {
    const point = claimedPoint(vantage.claimed);
    if (point !== null && vantage.claimed !== null) claims.set(vantage.name, { claimed: claimedLabel(vantage.claimed), point });
  }
  const dominant = new Map<string, string>();
  for (const c of options.catchments ?? []) if (c.dominant !== null) dominant.set(JSON.stringify([c.target, c.region]), c.dominant);

  const findings: ClaimedLocationFinding[] = [];
  for (const rtt of rtts) {
    const claim = claims.get(rtt.region);
    if (claim === undefined) continue;
    const site = catalogue.resolve(rtt.pop, rtt.iata);
    if (site === null) continue;
    const distanceKm = greatCircleKm(claim.point, site);
    const boundMs = lightBoundMs(distanceKm, marginKm);
    if (rtt.rttMs >= boundMs) continue;
    findings.push({
      vantage: rtt.region,
      claimed: claim.claimed,
      target: rtt.target,
      pop: rtt.pop,
      popLocation: { lat: site.lat, lon: site.lon },
      minRttMs: rtt.rttMs,
      boundMs,
      distanceKm,
      samples: rtt.samples,
    });
  }
  findings.sort((a, b) => compareStrings(a.vantage, b.vantage) || compareStrings(a.target, b.target) || compareStrings(a.pop, b.pop));

  const byVantage = new Map<string, ClaimedLocationFinding[]>();
  for (const finding of findings) {
    const list = byVantage.get(finding.vantage);
    if (list === undefined) byVantage.set(finding.vantage, [finding]);
    else list.push(finding);
  }
  const mislocated: MislocatedVantage[] = [];
  for (const [vantage, list] of byVantage) {
    const reasons: MislocationReason[] = [];
    if (spansSeveralPlaces(list, marginKm)) reasons.push("several_places");
    if (list.some((f) => dominant.get(JSON.stringify([f.target, f.vantage])) === f.pop)) reasons.push("catchment_pop");
    if (reasons.length > 0) mislocated.push({ vantage, claimed: list[0]!.claimed, reasons, findings: list });
  }
  return { findings, mislocated };
}

/** Whether two of the findings' PoPs lie more than 2 · margin apart. */
function spansSeveralPlaces(findings: readonly ClaimedLocationFinding[], marginKm: number): boolean {
  for (let i = 0; i < findings.length; i++) {
    for (let j = i + 1; j < findings.length; j++) {
      if (greatCircleKm(findings[i]!.popLocation, findings[j]!.popLocation) > 2 * marginKm) return true;
    }
  }
  return false;
}
