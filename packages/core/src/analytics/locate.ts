import { compareStrings } from "../compare";
import { type PopCatalogue, type ResolvedPop, regionLocation } from "../geo/catalogue";
import type { GeoPoint } from "../geo/types";

/** Something an analysis needed a location for and found none: reported, never thrown. */
export interface MissingLocation {
  target: string;
  region: string;
  /** The PoP missing from the catalogue; null when the region's own location is what is missing. */
  pop: string | null;
  missing: "region" | "pop";
}

/** Looks up regions and PoPs, remembering each miss once. */
export function createLocator(catalogue: PopCatalogue, regionLocations: Readonly<Record<string, GeoPoint>> | undefined) {
  const missing = new Map<string, MissingLocation>();
  const note = (entry: MissingLocation) => missing.set(JSON.stringify([entry.target, entry.region, entry.pop, entry.missing]), entry);
  return {
    region(target: string, region: string): GeoPoint | null {
      const found = regionLocation(region, regionLocations);
      if (found === null) note({ target, region, pop: null, missing: "region" });
      return found;
    },
    pop(target: string, region: string, pop: string, iata: string | null): ResolvedPop | null {
      const found = catalogue.resolve(pop, iata);
      if (found === null) note({ target, region, pop, missing: "pop" });
      return found;
    },
    missing(): MissingLocation[] {
      return [...missing.values()].sort(
        (a, b) =>
          compareStrings(a.target, b.target) ||
          compareStrings(a.region, b.region) ||
          compareStrings(a.missing, b.missing) ||
          compareStrings(a.pop ?? "", b.pop ?? ""),
      );
    },
  };
}
