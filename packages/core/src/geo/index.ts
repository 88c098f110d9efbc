export { AIRPORTS } from "./airports";
export { AWS_REGION_LOCATIONS } from "./aws-regions";
export { airportLocation, createPopCatalogue, regionLocation, type PopCatalogue, type ResolvedPop } from "./catalogue";
export { EARTH_MEAN_RADIUS_KM, greatCircleKm } from "./distance";
export type { GeoPoint, Place } from "./types";
