// Where a PoP is. Operators know their own sites best, so their `popCatalogue`
// entries win over the built-in airport table; the built-ins make the common
// case (PoPs named after the nearest airport) work with no configuration.
// A PoP that resolves nowhere is reported by the analytics as "missing from
// catalogue", never thrown: an unfamiliar id is data, not a fault.

import { AIRPORTS } from "./airports";
import { AWS_REGION_LOCATIONS } from "./aws-regions";
import type { PopCatalogueEntry } from "./schema";
import type { GeoPoint, Place } from "./types";

export interface ResolvedPop extends GeoPoint {
  /** The PoP id asked about. */
  id: string;
  city: string | null;
  country: string | null;
  /** IATA code of the site when known. */
  iata: string | null;
  /** Whose coordinates these are. */
  source: "operator" | "builtin";
  /** How the id was matched: itself, the PoP's own IATA code, or the IATA code its id starts with. */
  matchedBy: "id" | "iata" | "id-prefix";
}

export interface PopCatalogue {
  /**
   * The PoP's location, or null when neither the operator entries nor the
   * built-in airports know it. `iata` is the code PoP identification derived
   * (Pop.iata), when there is one.
   */
  resolve(popId: string, iata?: string | null): ResolvedPop | null;
  /** Ids of the operator's own entries, sorted. */
  readonly operatorIds: readonly string[];
}

// `fra1`, `lhr-2`, `ams-ix`, `yul01`: an IATA code, then anything but a letter.
const LEADING_IATA = /^([a-z]{3})(?![a-z])/;
// `de-ham`, `nl-ams`, `fi-hel`: the country-then-city sites of root server and RIPE Atlas names.
// The city code is UN/LOCODE-style, not IATA: it is only read as the airport of
// the same letters when that airport is in the named country (`nl-arn` is
// Arnhem, and ARN is in Sweden, so it resolves nowhere rather than to Stockholm).
const COUNTRY_THEN_CITY = /^([a-z]{2})-([a-z]{3})(?![a-z])/;

/** A catalogue of the operator's entries over the built-in airports. */
export function createPopCatalogue(operatorEntries: Readonly<Record<string, PopCatalogueEntry>> = {}): PopCatalogue {
  // Object.entries, not indexing: ids such as `constructor` must not find Object.prototype members.
  const operator = new Map(Object.entries(operatorEntries).map(([id, entry]) => [id.toLowerCase(), entry] as const));

  const lookup = (code: string, id: string, matchedBy: ResolvedPop["matchedBy"]): ResolvedPop | null => {
    const own = operator.get(code);
    if (own !== undefined) {
      return {
        id,
        lat: own.lat,
        lon: own.lon,
        city: own.city ?? null,
        country: own.country ?? null,
        iata: own.iata ?? (matchedBy === "id" ? null : code),
        source: "operator",
        matchedBy,
      };
    }
    const airport = AIRPORTS.get(code);
    if (airport === undefined) return null;
    return {
      id,
      lat: airport.lat,
      lon: airport.lon,
      city: airport.city,
      country: airport.country,
      iata: code,
      source: "builtin",
      matchedBy,
    };
  };

  return {
    operatorIds: [...operator.keys()].sort(),
    resolve(popId, iata) {
      const id = popId.toLowerCase();
      const exact = lookup(id, popId, "id");
      if (exact !== null) return exact;
      if (typeof iata === "string" && iata !== "") {
        const byIata = lookup(iata.toLowerCase(), popId, "iata");
        if (byIata !== null) return byIata;
      }
      const leading = LEADING_IATA.exec(id)?.[1];
      if (leading !== undefined) return lookup(leading, popId, "id-prefix");
      const countryThenCity = COUNTRY_THEN_CITY.exec(id);
      if (countryThenCity === null) return null;
      const [, country, city] = countryThenCity as unknown as [string, string, string];
      const found = lookup(city, popId, "id-prefix");
      // An operator entry is the operator's word; a built-in airport must be in the named country.
      return found === null || found.source === "operator" || found.country?.toLowerCase() === country ? found : null;
    },
  };
}

/** The built-in site of an IATA code (lowercase or not), or null. */
export function airportLocation(iata: string): Place | null {
  return AIRPORTS.get(iata.toLowerCase()) ?? null;
}

/**
 * Where a region probes from: the caller's own locations first (for local
 * runs and anything else not on AWS), then the AWS region table; null when
 * neither knows it.
 */
export function regionLocation(region: string, overrides: Readonly<Record<string, GeoPoint>> = {}): GeoPoint | null {
  if (Object.hasOwn(overrides, region)) return overrides[region] ?? null;
  return AWS_REGION_LOCATIONS.get(region) ?? null;
}
