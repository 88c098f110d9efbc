// The RIPE Atlas probe archive (where each probe is, which country and AS it
// measures from) and the vantage an imported probe becomes.

import type { Vantage } from "@popwatch/core";
import { atlasVantageName } from "@popwatch/core";
import { field, finiteNumber, isObject, text } from "./envelope";
import type { AtlasProbeArchive, AtlasProbeInfo } from "./types";

/**
 * Reads the probe archive: `{objects: [...]}` as /api/v2/probes/ pages and
 * the daily archive file hold it, or a bare array. Entries that cannot be
 * read are named in `problems` by index; the rest are kept.
 */
export function readAtlasProbeArchive(json: unknown): AtlasProbeArchive {
  const probes = new Map<number, AtlasProbeInfo>();
  const problems: string[] = [];
  const objects = Array.isArray(json) ? json : isObject(json) ? field(json, "objects") : undefined;
  if (!Array.isArray(objects)) {
    problems.push("not a probe archive: expected an array or an object with `objects: [...]`");
    return { probes, problems };
  }
  for (const [index, entry] of objects.entries()) {
    const read = readProbe(entry);
    if (typeof read === "string") problems.push(`objects[${index}]: ${read}`);
    else if (probes.has(read.id)) problems.push(`objects[${index}]: probe ${read.id} listed again; the first entry is kept`);
    else probes.set(read.id, read);
  }
  return { probes, problems };
}

function readProbe(entry: unknown): AtlasProbeInfo | string {
  if (!isObject(entry)) return "not an object";
  const id = field(entry, "id");
  if (typeof id !== "number" || !Number.isSafeInteger(id) || id <= 0) return "`id` is not a positive integer";
  const countryCode = text(field(entry, "country_code"));
  const [lon, lat] = coordinatesOf(field(entry, "geometry"));
  return {
    id,
    countryCode: countryCode !== null && /^[A-Za-z]{2}$/.test(countryCode) ? countryCode.toUpperCase() : null,
    asnV4: asnOf(field(entry, "asn_v4")),
    asnV6: asnOf(field(entry, "asn_v6")),
    lat,
    lon,
  };
}

function asnOf(value: unknown): number | null {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0 && value <= 0xffffffff ? value : null;
}

/** GeoJSON `[lon, lat]`; both null unless both are in range. */
function coordinatesOf(geometry: unknown): [number | null, number | null] {
  const coordinates = isObject(geometry) ? field(geometry, "coordinates") : undefined;
  if (!Array.isArray(coordinates) || coordinates.length < 2) return [null, null];
  const lon = finiteNumber(coordinates[0]);
  const lat = finiteNumber(coordinates[1]);
  if (lon === null || lat === null || lon < -180 || lon > 180 || lat < -90 || lat > 90) return [null, null];
  return [lon, lat];
}

/** The vantage an Atlas probe's results are filed under, located by its archive entry when there is one. */
export function atlasVantage(id: number, info: AtlasProbeInfo | undefined): Vantage {
  return {
    name: atlasVantageName(id),
    source: "atlas",
    claimed: info !== undefined && info.lat !== null && info.lon !== null ? { lat: info.lat, lon: info.lon } : null,
    country: info?.countryCode?.toUpperCase() ?? null,
    asn: info?.asnV4 ?? info?.asnV6 ?? null,
    atlasProbeId: id,
  };
}
