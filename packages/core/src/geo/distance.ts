import type { GeoPoint } from "./types";

/** Mean Earth radius R1 = (2a + b) / 3 of GRS 80 (Moritz, "Geodetic Reference System 1980"), in km. */
export const EARTH_MEAN_RADIUS_KM = 6371.0088;

const RADIANS_PER_DEGREE = Math.PI / 180;

/**
 * Great-circle distance in km on a sphere of the mean Earth radius. Off by at
 * most about 0.5 % from the ellipsoidal distance, far below what a detour
 * judgement needs.
 */
export function greatCircleKm(a: GeoPoint, b: GeoPoint): number {
  // Haversine formula (R. W. Sinnott, "Virtues of the Haversine", Sky and Telescope 68(2), 1984).
  const dLat = (b.lat - a.lat) * RADIANS_PER_DEGREE;
  const dLon = (b.lon - a.lon) * RADIANS_PER_DEGREE;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * RADIANS_PER_DEGREE) * Math.cos(b.lat * RADIANS_PER_DEGREE) * Math.sin(dLon / 2) ** 2;
  // min() guards against h creeping above 1 by rounding for antipodal points.
  return 2 * EARTH_MEAN_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}
