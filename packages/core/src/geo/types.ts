/** A point on the Earth, degrees (WGS 84). */
export interface GeoPoint {
  lat: number;
  lon: number;
}

/** A named place: an airport a PoP is named after, or the metro an AWS region serves from. */
export interface Place extends GeoPoint {
  city: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
}
