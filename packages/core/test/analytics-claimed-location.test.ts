import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { MinRtt } from "../src/analytics/light";
import { AIRPORTS } from "../src/geo/airports";
import type { GeoPoint } from "../src/geo/types";
import {
  type Catchment,
  FIBER_KM_PER_MS,
  type Vantage,
  claimedLocationCheck,
  createPopCatalogue,
  greatCircleKm,
  impossibleRtts,
  lightBoundMs,
} from "../src/index";

const AT = "2026-12-06T10:00:00.000Z";

function rtt(region: string, pop: string, rttMs: number, target = "anycast"): MinRtt {
  return { target, region, pop, iata: null, kind: "dns", rttMs, at: AT, samples: 3 };
}

function vantage(name: string, claimed: Vantage["claimed"]): Vantage {
  return { name, source: "atlas", claimed, country: null, asn: null };
}

function dominated(region: string, pop: string): Catchment {
  return { target: "anycast", region, counts: { [pop]: 5 }, shares: { [pop]: 1 }, dominant: pop, total: 5, unidentified: 0, changes: [] };
}

const airport = (code: string): GeoPoint => {
  const place = AIRPORTS.get(code)!;
  return { lat: place.lat, lon: place.lon };
};

describe("claimed-location check", () => {
  const sydney = vantage("atlas-1", { iata: "SYD" });
  const cases: {
    name: string;
    rtts: MinRtt[];
    vantages: Vantage[];
    catchments?: Catchment[];
    findings: [string, string][];
    mislocated: [string, string[]][];
  }[] = [
    {
      name: "an honest vantage near its PoPs",
      rtts: [rtt("home-1", "fra", 1.2), rtt("home-1", "lhr", 9)],
      vantages: [vantage("home-1", { iata: "FRA" })],
      findings: [],
      mislocated: [],
    },
    {
      name: "a vantage claiming Sydney answered in 2 ms by Frankfurt and in 9 ms by London: several places",
      rtts: [rtt("atlas-1", "fra", 2), rtt("atlas-1", "lhr", 9)],
      vantages: [sydney],
      findings: [
        ["atlas-1", "fra"],
        ["atlas-1", "lhr"],
      ],
      mislocated: [["atlas-1", ["several_places"]]],
    },
    {
      name: "two ids of one metro are one place: a mislabelled site explains both",
      rtts: [rtt("atlas-1", "fra1", 2), rtt("atlas-1", "fra2", 2.5)],
      vantages: [sydney],
      findings: [
        ["atlas-1", "fra1"],
        ["atlas-1", "fra2"],
      ],
      mislocated: [],
    },
    {
      name: "one impossible PoP stays the PoP's problem",
      rtts: [rtt("atlas-1", "fra", 2), rtt("atlas-1", "syd", 1)],
      vantages: [sydney],
      catchments: [dominated("atlas-1", "syd")],
      findings: [["atlas-1", "fra"]],
      mislocated: [],
    },
    {
      name: "one impossible PoP that is the vantage's own dominant PoP blames the vantage",
      rtts: [rtt("atlas-1", "fra", 2)],
      vantages: [sydney],
      catchments: [dominated("atlas-1", "fra")],
      findings: [["atlas-1", "fra"]],
      mislocated: [["atlas-1", ["catchment_pop"]]],
    },
    {
      name: "no claim, an unknown IATA code or an unlocated PoP: not judged",
      rtts: [rtt("atlas-2", "fra", 0.1), rtt("atlas-3", "fra", 0.1), rtt("atlas-1", "pop-q", 0.1), rtt("aws-1", "fra", 0.1)],
      vantages: [sydney, vantage("atlas-2", null), vantage("atlas-3", { iata: "QQQ" })],
      findings: [],
      mislocated: [],
    },
  ];
  it.each(cases)("$name", ({ rtts, vantages, catchments, findings, mislocated }) => {
    const report = claimedLocationCheck(rtts, vantages, catchments === undefined ? {} : { catchments });
    expect(report.findings.map((f) => [f.vantage, f.pop])).toEqual(findings);
    expect(report.mislocated.map((m) => [m.vantage, m.reasons])).toEqual(mislocated);
  });

  it("states the claim, the PoP's place, the bound and the distance of each finding", () => {
    const { findings, mislocated } = claimedLocationCheck([rtt("atlas-1", "fra", 2), rtt("atlas-1", "lhr", 9)], [sydney]);
    const distanceKm = greatCircleKm(airport("syd"), airport("fra"));
    expect(findings[0]).toEqual({
      vantage: "atlas-1",
      claimed: "SYD",
      target: "anycast",
      pop: "fra",
      popLocation: airport("fra"),
      minRttMs: 2,
      boundMs: (2 * (distanceKm - 50)) / FIBER_KM_PER_MS,
      distanceKm,
      samples: 3,
    });
    expect(findings[0]!.boundMs).toBeGreaterThan(150);
    expect(mislocated[0]!.findings).toEqual(findings);
    const byPoint = claimedLocationCheck([rtt("atlas-1", "fra", 2)], [vantage("atlas-1", { lat: -33.9, lon: 151.2 })]);
    expect(byPoint.findings[0]!.claimed).toBe("-33.9,151.2");
  });

  it("judges strictly below the bound, with the margin given", () => {
    const bound = lightBoundMs(greatCircleKm(airport("syd"), airport("fra")));
    const at = [rtt("atlas-1", "fra", bound)];
    expect(claimedLocationCheck(at, [sydney]).findings).toEqual([]);
    expect(claimedLocationCheck([rtt("atlas-1", "fra", bound - 0.001)], [sydney]).findings).toHaveLength(1);
    expect(claimedLocationCheck([rtt("atlas-1", "fra", bound - 0.001)], [sydney], { marginKm: 60 }).findings).toEqual([]);
  });

  it("flags what impossibleRtts flags for the same locations, and decides which of them blame the vantage", () => {
    const rtts = [rtt("atlas-1", "fra", 2), rtt("atlas-1", "lhr", 9)];
    const impossible = impossibleRtts(rtts, { regionLocations: { "atlas-1": airport("syd") } });
    const claimed = claimedLocationCheck(rtts, [sydney]);
    expect(claimed.findings.map((f) => [f.pop, f.boundMs])).toEqual(impossible.findings.map((f) => [f.pop, f.minRttMs]));
  });

  const codes = [...AIRPORTS.keys()];
  const airportCode = fc.constantFrom(...codes);

  it("never flags a vantage whose RTTs come from where it claims to be (property)", () => {
    fc.assert(
      fc.property(
        airportCode,
        fc.uniqueArray(airportCode, { minLength: 1, maxLength: 8 }),
        fc.array(fc.double({ min: 0, max: 40, noNaN: true }), { minLength: 8, maxLength: 8 }),
        (truth, pops, noise) => {
          const here = airport(truth);
          const rtts = pops.map((pop, i) => rtt("v", pop, (2 * greatCircleKm(here, airport(pop))) / FIBER_KM_PER_MS + noise[i]!));
          const byCode = claimedLocationCheck(rtts, [vantage("v", { iata: truth.toUpperCase() })]);
          const byPoint = claimedLocationCheck(rtts, [vantage("v", here)]);
          expect(byCode).toEqual({ findings: [], mislocated: [] });
          expect(byPoint).toEqual({ findings: [], mislocated: [] });
        },
      ),
    );
  });

  it("flags a claim far from the truth when PoPs near the truth answer fast (property)", () => {
    const point = fc.record({ lat: fc.double({ min: -60, max: 60, noNaN: true }), lon: fc.double({ min: -179, max: 179, noNaN: true }) });
    fc.assert(
      fc.property(point, point, fc.double({ min: 0, max: 2, noNaN: true }), (truth, claim, noise) => {
        fc.pre(greatCircleKm(truth, claim) > 3000);
        // Two sites 2° of latitude (222 km) apart around the true location.
        const catalogue = createPopCatalogue({
          "near-n": { lat: truth.lat + 1, lon: truth.lon },
          "near-s": { lat: truth.lat - 1, lon: truth.lon },
        });
        const rtts = ["near-n", "near-s"].map((pop) =>
          rtt("v", pop, (2 * greatCircleKm(truth, catalogue.resolve(pop)!)) / FIBER_KM_PER_MS + noise),
        );
        const { findings, mislocated } = claimedLocationCheck(rtts, [vantage("v", claim)], { catalogue });
        expect(findings.map((f) => f.pop)).toEqual(["near-n", "near-s"]);
        expect(mislocated.map((m) => [m.vantage, m.reasons])).toEqual([["v", ["several_places"]]]);
      }),
    );
  });
});
