// Speed-of-light check: no answer can come back faster than light in fibre
// covers the way there and back. A PoP attribution that implies a faster RTT
// is wrong: the PoP id names another site than the one that answered (a
// reused node id, a catalogue entry in the wrong city), or the region probed
// from somewhere else than its name says.

import { compareStrings } from "../compare";
import { type PopCatalogue, createPopCatalogue } from "../geo/catalogue";
import { greatCircleKm } from "../geo/distance";
import type { GeoPoint } from "../geo/types";
import type { ProbeKind } from "../result";
import { type AnalyticsWindow, type RegionalResult, compareSamples, isoOf, resolveWindow, toSamples } from "./input";
import { type MissingLocation, createLocator } from "./locate";

/**
 * Light in fibre, km per ms: c ≈ 299.8 km/ms over a refractive index of
 * about 1.5 gives ≈ 2/3 c, the usual 200 km/ms (as in iGreedy, Cicalese et
 * al., "A Fistful of Pings", IEEE INFOCOM 2015).
 */
export const FIBER_KM_PER_MS = 200;

/**
 * Slack on the distance before judging, km: regions sit at their metro and
 * PoPs at their airport, either of which can be some tens of km from the
 * machines, so a bound on a city-sized distance would accuse honest PoPs.
 */
export const DEFAULT_LIGHT_MARGIN_KM = 50;

/** The fastest round trip light in fibre allows over `distanceKm`, less `marginKm` of slack: 2 · (d − margin) / v. */
export function lightBoundMs(distanceKm: number, marginKm: number = DEFAULT_LIGHT_MARGIN_KM): number {
  return (2 * Math.max(0, distanceKm - marginKm)) / FIBER_KM_PER_MS;
}

/** The fastest round trip seen from one region to one PoP of a target. */
export interface MinRtt {
  target: string;
  region: string;
  pop: string;
  /** IATA code PoP identification derived for it, when any result had one. */
  iata: string | null;
  /** The kind whose result had the minimum. */
  kind: ProbeKind;
  rttMs: number;
  /** When that result was taken (resultTime). */
  at: string;
  /** Results with a PoP and an RTT that were considered. */
  samples: number;
}

export interface ImpossibleRtt {
  target: string;
  region: string;
  pop: string;
  kind: ProbeKind;
  at: string;
  /** The minimum observed RTT. */
  rttMs: number;
  /** The physical lower bound: 2 · (distanceKm − margin) / FIBER_KM_PER_MS. */
  minRttMs: number;
  distanceKm: number;
}

/**
 * One result's round-trip time: DNS rttMs (query to matching answer), else
 * the TCP handshake (tcp, tls, http), else for DNS the whole probe. Null when
 * the result has none of them.
 */
export function rttMeasureMs(result: RegionalResult): number | null {
  const timings = (result as unknown as { timings?: Record<string, unknown> }).timings;
  if (typeof timings !== "object" || timings === null) return null;
  const candidates = result.kind === "dns" ? [timings.rttMs, timings.totalMs] : [timings.rttMs, timings.connectMs];
  for (const value of candidates) if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value;
  return null;
}

/** Minimum RTT per (target, region, pop) over every kind, sorted by target, region, pop. Ties keep the earliest result. */
export function minRtts(results: readonly RegionalResult[], options: { window?: AnalyticsWindow } = {}): MinRtt[] {
  const { fromMs, toMs } = resolveWindow(options.window);
  const samples = toSamples(results)
    .filter((s) => s.pop !== null && s.ms >= fromMs && s.ms < toMs)
    .sort(compareSamples);
  const best = new Map<string, MinRtt>();
  for (const sample of samples) {
    const rttMs = rttMeasureMs(sample.result);
    if (rttMs === null) continue;
    const key = JSON.stringify([sample.target, sample.region, sample.pop]);
    const current = best.get(key);
    if (current === undefined) {
      best.set(key, {
        target: sample.target,
        region: sample.region,
        pop: sample.pop!,
        iata: sample.iata,
        kind: sample.kind,
        rttMs,
        at: isoOf(sample.ms),
        samples: 1,
      });
      continue;
    }
    current.samples++;
    current.iata ??= sample.iata;
    // Same instant, same RTT: the kind decides, so input order cannot.
    if (
      rttMs < current.rttMs ||
      (rttMs === current.rttMs && isoOf(sample.ms) === current.at && compareStrings(sample.kind, current.kind) < 0)
    ) {
      current.rttMs = rttMs;
      current.kind = sample.kind;
      current.at = isoOf(sample.ms);
    }
  }
  return [...best.values()].sort(
    (a, b) => compareStrings(a.target, b.target) || compareStrings(a.region, b.region) || compareStrings(a.pop, b.pop),
  );
}

export interface ImpossibleRttOptions {
  /** Default: the built-in airports only. */
  catalogue?: PopCatalogue;
  /** Locations of regions not in the AWS table (local runs), or overrides. */
  regionLocations?: Readonly<Record<string, GeoPoint>>;
  /** Distance slack before judging; default DEFAULT_LIGHT_MARGIN_KM. */
  marginKm?: number;
}

/**
 * Attributions whose minimum RTT is below what light in fibre allows for the
 * distance from the region to the PoP. Regions or PoPs without a location are
 * listed in `missing` and not judged.
 */
export function impossibleRtts(
  rtts: readonly MinRtt[],
  options: ImpossibleRttOptions = {},
): { findings: ImpossibleRtt[]; missing: MissingLocation[] } {
  const locate = createLocator(options.catalogue ?? createPopCatalogue(), options.regionLocations);
  const marginKm = options.marginKm ?? DEFAULT_LIGHT_MARGIN_KM;
  const findings: ImpossibleRtt[] = [];
  for (const rtt of rtts) {
    const vantage = locate.region(rtt.target, rtt.region);
    const site = locate.pop(rtt.target, rtt.region, rtt.pop, rtt.iata);
    if (vantage === null || site === null) continue;
    const distanceKm = greatCircleKm(vantage, site);
    const minRttMs = lightBoundMs(distanceKm, marginKm);
    if (rtt.rttMs < minRttMs) {
      findings.push({
        target: rtt.target,
        region: rtt.region,
        pop: rtt.pop,
        kind: rtt.kind,
        at: rtt.at,
        rttMs: rtt.rttMs,
        minRttMs,
        distanceKm,
      });
    }
  }
  return { findings, missing: locate.missing() };
}
