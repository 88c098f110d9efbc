// A vantage is any place results are probed from and filed under: an AWS
// region running the probe function, a self-hosted agent (`popwatch run` with
// a `vantage` section), or a RIPE Atlas probe whose results were imported.
// Every analysis treats them alike: a vantage name is what results carry as
// their `region`, and its location feeds the same speed-of-light, detour and
// catchment checks an AWS region's metro does.
import { compareStrings } from "./compare";
import { airportLocation } from "./geo/catalogue";
import type { GeoPoint } from "./geo/types";

export const VANTAGE_SOURCES = ["aws", "self-hosted", "atlas"] as const;
export type VantageSource = (typeof VANTAGE_SOURCES)[number];

/** The names results are filed under (the store's key component): AWS region codes, `local`, `atlas-1234`, `home-lab-1`. */
export const VANTAGE_NAME_PATTERN = /^[a-z0-9-]{1,32}$/;

/** Where a vantage says it is: an IATA airport code (its metro), or coordinates. */
export type ClaimedLocation = { iata: string } | GeoPoint;

export interface Vantage {
  /** The `region` its results carry. */
  name: string;
  source: VantageSource;
  /** As configured or imported; null when unknown. */
  claimed: ClaimedLocation | null;
  /** ISO 3166-1 alpha-2, upper case; null when unknown. */
  country: string | null;
  /** The autonomous system it probes from (Atlas: asn_v4, else asn_v6); null when unknown. */
  asn: number | null;
  /** RIPE Atlas probe id, for `atlas-<id>` vantages. */
  atlasProbeId?: number;
}

/** The point a claimed location stands for: the airport's coordinates for an IATA code; null when the code is unknown. */
export function claimedPoint(claimed: ClaimedLocation | null): GeoPoint | null {
  if (claimed === null) return null;
  if ("iata" in claimed) {
    const place = airportLocation(claimed.iata);
    return place === null ? null : { lat: place.lat, lon: place.lon };
  }
  return { lat: claimed.lat, lon: claimed.lon };
}

/** The locations analyses take as `regionLocations`: every vantage whose claimed location resolves to a point. */
export function vantageLocations(vantages: readonly Vantage[]): Record<string, GeoPoint> {
  const locations: Record<string, GeoPoint> = {};
  for (const vantage of vantages) {
    const point = claimedPoint(vantage.claimed);
    if (point !== null) locations[vantage.name] = point;
  }
  return locations;
}

/** The name an imported RIPE Atlas probe's results are filed under. */
export function atlasVantageName(probeId: number): string {
  return `atlas-${probeId}`;
}

/** The vantage a config's `vantage` section describes (a self-hosted agent). */
export function configuredVantage(section: {
  name: string;
  location?: string | GeoPoint | undefined;
  country?: string | undefined;
  asn?: number | undefined;
}): Vantage {
  const location = section.location;
  return {
    name: section.name,
    source: "self-hosted",
    claimed:
      location === undefined
        ? null
        : typeof location === "string"
          ? { iata: location.toUpperCase() }
          : { lat: location.lat, lon: location.lon },
    country: section.country?.toUpperCase() ?? null,
    asn: section.asn ?? null,
  };
}

/**
 * The vantages an analysis knows: the registered ones, with the config's own
 * `vantage` section over the registered entry of the same name (the operator's
 * file is newer than what the agent registered when it last started). Sorted by name.
 */
export function knownVantages(registered: readonly Vantage[], configured: Vantage | null): Vantage[] {
  const byName = new Map(registered.map((v) => [v.name, v] as const));
  if (configured !== null) byName.set(configured.name, configured);
  return [...byName.values()].sort((a, b) => compareStrings(a.name, b.name));
}

/**
 * What the scheduled evaluator covers: the deployed regions (a region that
 * wrote nothing still counts, as zero events) and every self-hosted agent,
 * which probes live like a region. Imported Atlas vantages are read by
 * reports and catchment but raise no burn-rate alerts: their results arrive
 * in batches long after they were measured.
 */
export function evaluatedRegions(deployed: readonly string[], vantages: readonly Vantage[]): string[] {
  const live = vantages.filter((vantage) => vantage.source === "self-hosted").map((vantage) => vantage.name);
  return [...new Set([...deployed, ...live])];
}
