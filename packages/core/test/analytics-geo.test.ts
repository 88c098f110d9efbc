import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AIRPORTS } from "../src/geo/airports";
import { regionLocation } from "../src/geo/catalogue";
import { EARTH_MEAN_RADIUS_KM } from "../src/geo/distance";
import { AWS_REGION_LOCATIONS, airportLocation, createPopCatalogue, greatCircleKm } from "../src/index";

const km = (a: string, b: string) => greatCircleKm(AIRPORTS.get(a)!, AIRPORTS.get(b)!);

describe("airport coordinates", () => {
  // Published great-circle distances between the airports.
  it.each([
    ["lhr", "jfk", 5540],
    ["fra", "ams", 365],
    ["syd", "sin", 6300],
    ["jfk", "lax", 3983],
    ["lhr", "sin", 10885],
    ["nrt", "lax", 8750],
  ] as const)("%s–%s is about %i km (within 1 %%)", (a, b, expected) => {
    expect(Math.abs(km(a, b) - expected) / expected).toBeLessThan(0.01);
  });

  it("covers the sites anycast operators name their PoPs after", () => {
    expect(AIRPORTS.size).toBeGreaterThanOrEqual(250);
    for (const code of "lhr fra ams cdg iad ewr jfk ord dfw lax sjc sea nrt hnd sin syd gru jnb bom del hkg icn yul yyz mad mia atl".split(
      " ",
    )) {
      expect(AIRPORTS.has(code), code).toBe(true);
    }
    for (const [code, place] of AIRPORTS) {
      expect(code).toMatch(/^[a-z]{3}$/);
      expect(place.country).toMatch(/^[A-Z]{2}$/);
      expect(Math.abs(place.lat)).toBeLessThanOrEqual(90);
      expect(Math.abs(place.lon)).toBeLessThanOrEqual(180);
    }
  });

  // Catches a dropped minus sign, the likeliest slip in hand-entered coordinates.
  it("puts every airport in its country's hemispheres", () => {
    const western = new Set(
      "US CA MX GT SV HN NI CR PA CU BS JM HT DO PR TT BB CW BM BR AR CL PE CO EC VE BO PY UY GY SR GF IS PF".split(" "),
    );
    const southern = new Set("AU NZ ZA AR CL UY PY BO BR PE NA BW ZW ZM MZ MG MU RE AO TZ PF FJ NC PG SC CD RW".split(" "));
    for (const [code, place] of AIRPORTS) {
      if (western.has(place.country)) expect(place.lon, code).toBeLessThan(0);
      else if (!["GB", "FR", "ES", "PT", "IE", "MA", "DZ", "SN", "ML", "BF", "CI", "GH", "TG"].includes(place.country)) {
        expect(place.lon, code).toBeGreaterThan(0);
      }
      if (southern.has(place.country)) expect(place.lat, code).toBeLessThan(0);
      if (["US", "CA", "GB", "DE", "JP", "CN", "IN", "RU", "FR"].includes(place.country)) expect(place.lat, code).toBeGreaterThan(0);
    }
  });

  it("keeps airports of one city within 100 km of each other", () => {
    const byCity = new Map<string, string[]>();
    for (const [code, place] of AIRPORTS)
      byCity.set(`${place.city}/${place.country}`, [...(byCity.get(`${place.city}/${place.country}`) ?? []), code]);
    let pairs = 0;
    for (const codes of byCity.values()) {
      for (const a of codes)
        for (const b of codes)
          if (a < b) {
            pairs++;
            expect(km(a, b), `${a}–${b}`).toBeLessThan(100);
          }
    }
    expect(pairs).toBeGreaterThan(20);
  });

  it("places every AWS region within 300 km of a built-in airport in its country", () => {
    expect(AWS_REGION_LOCATIONS.get("us-east-1")).toMatchObject({ city: "Ashburn", country: "US" });
    expect(AWS_REGION_LOCATIONS.get("eu-west-1")).toMatchObject({ city: "Dublin", country: "IE" });
    for (const [region, place] of AWS_REGION_LOCATIONS) {
      const nearest = Math.min(...[...AIRPORTS.values()].filter((a) => a.country === place.country).map((a) => greatCircleKm(a, place)));
      expect(nearest, region).toBeLessThan(300);
    }
  });
});

describe("greatCircleKm", () => {
  const point = fc.record({ lat: fc.double({ min: -90, max: 90, noNaN: true }), lon: fc.double({ min: -180, max: 180, noNaN: true }) });

  it("is symmetric, zero to itself, and at most half the circumference", () => {
    fc.assert(
      fc.property(point, point, (a, b) => {
        const d = greatCircleKm(a, b);
        expect(d).toBeCloseTo(greatCircleKm(b, a), 6);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(Math.PI * EARTH_MEAN_RADIUS_KM + 1e-6);
        expect(greatCircleKm(a, a)).toBe(0);
      }),
    );
  });

  it("measures antipodes as half the circumference and a degree of meridian as about 111.2 km", () => {
    expect(greatCircleKm({ lat: 0, lon: 0 }, { lat: 0, lon: 180 })).toBeCloseTo(Math.PI * 6371.0088, 6);
    expect(greatCircleKm({ lat: 10, lon: 20 }, { lat: 11, lon: 20 })).toBeCloseTo(111.195, 2);
  });
});

describe("PoP catalogue", () => {
  const catalogue = createPopCatalogue({
    "pop-a": { lat: 48.2, lon: 16.37, city: "Vienna", country: "AT" },
    fra: { lat: 50.1, lon: 8.7, city: "Frankfurt (our own site)" },
    lon1: { lat: 51.5, lon: -0.1, iata: "lhr" },
  });

  it("resolves an exact operator id before anything else", () => {
    expect(catalogue.resolve("pop-a")).toMatchObject({
      id: "pop-a",
      lat: 48.2,
      city: "Vienna",
      source: "operator",
      matchedBy: "id",
      iata: null,
    });
    expect(catalogue.resolve("lon1")).toMatchObject({ source: "operator", iata: "lhr" });
  });

  it("lets operator entries override built-in airports", () => {
    expect(catalogue.resolve("fra")).toMatchObject({
      lat: 50.1,
      lon: 8.7,
      city: "Frankfurt (our own site)",
      source: "operator",
      country: null,
    });
    expect(createPopCatalogue().resolve("fra")).toMatchObject({ lat: 50.033, lon: 8.571, source: "builtin", iata: "fra", country: "DE" });
    // Matched through its leading code, the operator's fra still wins.
    expect(catalogue.resolve("fra56")).toMatchObject({ id: "fra56", lat: 50.1, matchedBy: "id-prefix", source: "operator", iata: "fra" });
  });

  it("uses the PoP's own IATA code, then a leading IATA code in the id", () => {
    expect(catalogue.resolve("87m362", "yul")).toMatchObject({ city: "Montreal", matchedBy: "iata" });
    expect(catalogue.resolve("lhr-2")).toMatchObject({ city: "London", matchedBy: "id-prefix" });
    expect(catalogue.resolve("yul01")).toMatchObject({ city: "Montreal" });
    expect(catalogue.resolve("ams-ix")).toMatchObject({ city: "Amsterdam" });
    expect(catalogue.resolve("de-ham")).toMatchObject({ city: "Hamburg", matchedBy: "id-prefix" });
    expect(catalogue.resolve("kr-icn")).toMatchObject({ city: "Seoul", matchedBy: "id-prefix" });
  });

  it("reads a country-then-city site as an airport only in that country", () => {
    // RIPE Atlas anchor nl-arn is Arnhem; ARN is Stockholm's airport, in Sweden.
    expect(createPopCatalogue().resolve("nl-arn")).toBeNull();
    expect(createPopCatalogue().resolve("cn-ggz")).toBeNull();
    expect(createPopCatalogue({ "nl-arn": { lat: 51.98, lon: 5.91, city: "Arnhem" } }).resolve("nl-arn")).toMatchObject({ city: "Arnhem" });
    expect(catalogue.resolve("FRA1")).toMatchObject({ id: "FRA1", lat: 50.1 });
  });

  it("returns null for what it does not know, including prototype names", () => {
    for (const id of ["linx", "pop-b", "xyz1", "constructor", "__proto__", "toString", "zzz", "frankfurt"]) {
      expect(catalogue.resolve(id), id).toBeNull();
    }
    expect(catalogue.resolve("87m362", "zzz")).toBeNull();
    expect(catalogue.operatorIds).toEqual(["fra", "lon1", "pop-a"]);
  });

  it("locates regions from overrides, then the AWS table", () => {
    expect(regionLocation("eu-west-1")).toMatchObject({ city: "Dublin" });
    expect(regionLocation("local")).toBeNull();
    expect(regionLocation("constructor")).toBeNull();
    expect(regionLocation("local", { local: { lat: 1, lon: 2 } })).toEqual({ lat: 1, lon: 2 });
    expect(regionLocation("eu-west-1", { "eu-west-1": { lat: 0, lon: 0 } })).toEqual({ lat: 0, lon: 0 });
    expect(airportLocation("SIN")).toMatchObject({ city: "Singapore" });
    expect(airportLocation("qqq")).toBeNull();
  });
});
