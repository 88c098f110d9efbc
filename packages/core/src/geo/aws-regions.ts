// Where each AWS region's vantage point is, for distance judgements. AWS does
// not publish data-centre coordinates; each region is placed at the metro it
// is named after or known to be built around, which is within a few tens of
// kilometres of its data centres: well inside what detour and
// speed-of-light checks can resolve (see analytics/light.ts, marginKm).

import type { Place } from "./types";

// [region, lat, lon, city, ISO 3166-1 alpha-2 country]
type Row = readonly [string, number, number, string, string];

const ROWS: readonly Row[] = [
  ["us-east-1", 39.044, -77.487, "Ashburn", "US"],
  ["us-east-2", 39.961, -82.999, "Columbus", "US"],
  ["us-west-1", 37.354, -121.955, "Santa Clara", "US"],
  ["us-west-2", 45.84, -119.701, "Boardman", "US"],
  ["ca-central-1", 45.502, -73.567, "Montreal", "CA"],
  ["ca-west-1", 51.045, -114.057, "Calgary", "CA"],
  ["mx-central-1", 20.588, -100.39, "Querétaro", "MX"],
  ["sa-east-1", -23.55, -46.633, "São Paulo", "BR"],
  ["eu-west-1", 53.35, -6.26, "Dublin", "IE"],
  ["eu-west-2", 51.507, -0.128, "London", "GB"],
  ["eu-west-3", 48.857, 2.352, "Paris", "FR"],
  ["eu-central-1", 50.11, 8.682, "Frankfurt", "DE"],
  ["eu-central-2", 47.377, 8.541, "Zurich", "CH"],
  ["eu-south-1", 45.464, 9.19, "Milan", "IT"],
  ["eu-south-2", 41.649, -0.889, "Zaragoza", "ES"],
  ["eu-north-1", 59.329, 18.069, "Stockholm", "SE"],
  ["il-central-1", 32.085, 34.782, "Tel Aviv", "IL"],
  ["me-south-1", 26.228, 50.586, "Manama", "BH"],
  ["me-central-1", 25.205, 55.271, "Dubai", "AE"],
  ["af-south-1", -33.925, 18.424, "Cape Town", "ZA"],
  ["ap-east-1", 22.319, 114.169, "Hong Kong", "HK"],
  ["ap-east-2", 25.033, 121.565, "Taipei", "TW"],
  ["ap-south-1", 19.076, 72.878, "Mumbai", "IN"],
  ["ap-south-2", 17.385, 78.487, "Hyderabad", "IN"],
  ["ap-southeast-1", 1.352, 103.82, "Singapore", "SG"],
  ["ap-southeast-2", -33.869, 151.209, "Sydney", "AU"],
  ["ap-southeast-3", -6.208, 106.846, "Jakarta", "ID"],
  ["ap-southeast-4", -37.814, 144.963, "Melbourne", "AU"],
  ["ap-southeast-5", 3.139, 101.687, "Kuala Lumpur", "MY"],
  ["ap-southeast-6", -36.848, 174.763, "Auckland", "NZ"],
  ["ap-southeast-7", 13.756, 100.502, "Bangkok", "TH"],
  ["ap-northeast-1", 35.676, 139.65, "Tokyo", "JP"],
  ["ap-northeast-2", 37.566, 126.978, "Seoul", "KR"],
  ["ap-northeast-3", 34.694, 135.502, "Osaka", "JP"],
  // The aws-cn partition: separate accounts, same region naming.
  ["cn-north-1", 39.904, 116.407, "Beijing", "CN"],
  ["cn-northwest-1", 37.514, 105.19, "Zhongwei", "CN"],
];

/** Vantage point of each AWS region, by region code. */
export const AWS_REGION_LOCATIONS: ReadonlyMap<string, Place> = new Map(
  ROWS.map(([region, lat, lon, city, country]) => [region, Object.freeze({ lat, lon, city, country })] as const),
);
