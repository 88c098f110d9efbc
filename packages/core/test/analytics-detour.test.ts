import { describe, expect, it } from "vitest";
import type { MinRtt } from "../src/analytics/light";
import { regionLocation } from "../src/geo/catalogue";
import { catchment, createPopCatalogue, detourAudit, greatCircleKm, impossibleRtts, minRtts } from "../src/index";
import { T0, result, stream, times } from "./analytics-fixtures";

const km = (region: string, pop: string) => greatCircleKm(regionLocation(region)!, createPopCatalogue().resolve(pop)!);

describe("detour audit", () => {
  // London is served by New York; Frankfurt by Frankfurt; Ashburn by Ashburn. lhr exists: us-east-1 saw it once.
  const results = [
    ...stream(`${times(9, "jfk")} lhr`, { region: "eu-west-2" }),
    ...stream(times(5, "fra"), { region: "eu-central-1" }),
    ...stream(`${times(5, "iad")} lhr`, { region: "us-east-1" }),
  ];

  it('flags "London served by New York" against the nearest PoP the target is known to have', () => {
    const report = detourAudit(catchment(results));
    expect(report.detours).toHaveLength(2);
    expect(report.detours[0]).toEqual({
      target: "anycast",
      region: "eu-west-2",
      pop: "jfk",
      share: 0.9,
      nearestPop: "lhr",
      distanceKm: km("eu-west-2", "jfk"),
      nearestKm: km("eu-west-2", "lhr"),
      excessKm: km("eu-west-2", "jfk") - km("eu-west-2", "lhr"),
      rttMs: null,
      nearestRttMs: null,
      rttExcessMs: null,
      detour: true,
      reasons: ["distance"],
    });
    expect(report.detours[0]!.excessKm).toBeGreaterThan(5000);
    expect(report.items.map((i) => [i.region, i.pop, i.detour])).toEqual([
      ["eu-central-1", "fra", false],
      ["eu-west-2", "jfk", true],
      ["eu-west-2", "lhr", false],
      ["us-east-1", "iad", false],
      // lhr from Ashburn: 5,900 km further than iad, also a detour.
      ["us-east-1", "lhr", true],
    ]);
    expect(report.missing).toEqual([]);
  });

  it("judges against a configurable distance, strictly above it", () => {
    const [smaller, larger] = detourAudit(catchment(results)).detours.sort((a, b) => a.excessKm - b.excessKm);
    expect(detourAudit(catchment(results), { detourKm: smaller!.excessKm }).detours.map((d) => d.pop)).toEqual([larger!.pop]);
    expect(detourAudit(catchment(results), { detourKm: smaller!.excessKm - 0.001 }).detours).toHaveLength(2);
  });

  it("takes operator entries as candidates and lets an explicit candidate list replace the observed ones", () => {
    const frankfurtOnly = catchment(stream(times(3, "fra"), { region: "eu-west-2" }));
    expect(detourAudit(frankfurtOnly).detours).toEqual([]);
    const withLondonSite = createPopCatalogue({ "lon-edge": { lat: 51.51, lon: -0.13, city: "London" } });
    const flagged = detourAudit(frankfurtOnly, { catalogue: withLondonSite, detourKm: 500 }).detours;
    expect(flagged).toEqual([expect.objectContaining({ pop: "fra", nearestPop: "lon-edge" })]);
    expect(flagged[0]!.nearestKm).toBeLessThan(1);
    // PoPs that served are always candidates; an explicit list replaces the ones other regions saw.
    const transatlantic = catchment([...stream("jfk jfk", { region: "eu-west-2" }), ...stream("iad iad", { region: "us-east-1" })]);
    expect(detourAudit(transatlantic).detours).toEqual([]);
    expect(detourAudit(transatlantic, { candidates: { anycast: ["fra"] } }).detours.map((d) => [d.region, d.pop, d.nearestPop])).toEqual([
      ["eu-west-2", "jfk", "fra"],
    ]);
  });

  it("flags by RTT excess when configured and both PoPs were observed from the region", () => {
    const rtts: MinRtt[] = [
      {
        target: "anycast",
        region: "eu-west-2",
        pop: "jfk",
        iata: "jfk",
        kind: "dns",
        rttMs: 80,
        at: new Date(T0).toISOString(),
        samples: 9,
      },
      {
        target: "anycast",
        region: "eu-west-2",
        pop: "lhr",
        iata: "lhr",
        kind: "dns",
        rttMs: 3,
        at: new Date(T0).toISOString(),
        samples: 1,
      },
    ];
    const report = detourAudit(catchment(results), { rtts, detourKm: 20_000, detourRttMs: 50 });
    expect(report.detours).toEqual([
      expect.objectContaining({ pop: "jfk", rttMs: 80, nearestRttMs: 3, rttExcessMs: 77, reasons: ["rtt"] }),
    ]);
    expect(detourAudit(catchment(results), { rtts, detourKm: 20_000, detourRttMs: 77 }).detours).toEqual([]);
    // Without detourRttMs, RTTs are reported but judge nothing.
    expect(detourAudit(catchment(results), { rtts, detourKm: 20_000 }).detours).toEqual([]);
  });

  it("lists PoPs missing from the catalogue and regions without a location instead of failing", () => {
    const odd = [...stream("pop-x pop-x fra", { region: "eu-west-1" }), ...stream("fra fra", { region: "local" })];
    const report = detourAudit(catchment(odd));
    expect(report.missing).toEqual([
      { target: "anycast", region: "eu-west-1", pop: "pop-x", missing: "pop" },
      { target: "anycast", region: "local", pop: null, missing: "region" },
    ]);
    expect(report.items.map((i) => [i.region, i.pop])).toEqual([["eu-west-1", "fra"]]);
    const located = detourAudit(catchment(odd), { regionLocations: { local: { lat: 50.1, lon: 8.7 } } });
    expect(located.items.map((i) => [i.region, i.pop])).toEqual([
      ["eu-west-1", "fra"],
      ["local", "fra"],
    ]);
  });

  it("resolves opaque PoP ids through the IATA code identification derived", () => {
    const opaque = [
      result({ ms: T0, ok: true, pop: "87m362", iata: "jfk", region: "eu-west-2" }),
      result({ ms: T0, ok: true, pop: "lhr", region: "us-east-1" }),
    ];
    const report = detourAudit(catchment(opaque), { rtts: minRtts(opaque) });
    expect(report.missing).toEqual([]);
    expect(report.detours.map((d) => [d.region, d.pop])).toEqual([
      ["eu-west-2", "87m362"],
      ["us-east-1", "lhr"],
    ]);
  });
});

describe("speed-of-light check", () => {
  it("takes the minimum RTT per (target, region, PoP) over kinds: DNS rttMs, else TCP connect, else DNS total", () => {
    const results = [
      result({ ms: T0, ok: true, pop: "fra", timings: { totalMs: 9, rttMs: 7 } }),
      result({ ms: T0 + 1, ok: true, pop: "fra", kind: "tcp", timings: { totalMs: 9, connectMs: 4 } }),
      result({ ms: T0 + 2, ok: true, pop: "fra", kind: "http", timings: { totalMs: 2 } }),
      result({ ms: T0 + 3, ok: true, pop: "ams", timings: { totalMs: 6 } }),
      result({ ms: T0 + 4, ok: false, pop: null, timings: { totalMs: 1 } }),
    ];
    expect(minRtts(results)).toEqual([
      {
        target: "anycast",
        region: "eu-central-1",
        pop: "ams",
        iata: null,
        kind: "dns",
        rttMs: 6,
        at: new Date(T0 + 3).toISOString(),
        samples: 1,
      },
      {
        target: "anycast",
        region: "eu-central-1",
        pop: "fra",
        iata: null,
        kind: "tcp",
        rttMs: 4,
        at: new Date(T0 + 1).toISOString(),
        samples: 2,
      },
    ]);
  });

  it("flags an attribution faster than light in fibre allows, using the minimum RTT", () => {
    const results = [
      // Ashburn to Sydney is ~15,700 km: at least ~156 ms round trip. 20 ms is impossible.
      ...[20, 180, 25].map((rtt, i) =>
        result({ ms: T0 + i, ok: true, pop: "syd", region: "us-east-1", timings: { totalMs: rtt, rttMs: rtt } }),
      ),
      // Frankfurt to fra: a few km, any RTT goes.
      result({ ms: T0, ok: true, pop: "fra", region: "eu-central-1", timings: { totalMs: 0.3, rttMs: 0.2 } }),
      // Frankfurt to Amsterdam: ~360 km, ≥ 3.1 ms with the default 50 km margin; 3.5 ms is possible.
      result({ ms: T0, ok: true, pop: "ams", region: "eu-central-1", timings: { totalMs: 4, rttMs: 3.5 } }),
    ];
    const { findings, missing } = impossibleRtts(minRtts(results));
    expect(missing).toEqual([]);
    expect(findings).toHaveLength(1);
    const [finding] = findings;
    expect(finding).toMatchObject({ target: "anycast", region: "us-east-1", pop: "syd", kind: "dns", rttMs: 20 });
    expect(finding!.distanceKm).toBeGreaterThan(15_000);
    expect(finding!.minRttMs).toBeCloseTo((2 * (finding!.distanceKm - 50)) / 200, 9);
    // 3 ms to Amsterdam is too fast with the default margin, and passes with a 100 km one.
    const tight = [result({ ms: T0, ok: true, pop: "ams", region: "eu-central-1", timings: { totalMs: 3, rttMs: 3 } })];
    expect(impossibleRtts(minRtts(tight)).findings.map((f) => f.pop)).toEqual(["ams"]);
    expect(impossibleRtts(minRtts(tight), { marginKm: 100 }).findings).toEqual([]);
  });

  it("reports unknown PoPs and regions as missing, never as impossible", () => {
    const results = [
      result({ ms: T0, ok: true, pop: "pop-q", region: "us-east-1", timings: { totalMs: 0.1, rttMs: 0.1 } }),
      result({ ms: T0, ok: true, pop: "syd", region: "local", timings: { totalMs: 0.1, rttMs: 0.1 } }),
    ];
    expect(impossibleRtts(minRtts(results))).toEqual({
      findings: [],
      missing: [
        { target: "anycast", region: "local", pop: null, missing: "region" },
        { target: "anycast", region: "us-east-1", pop: "pop-q", missing: "pop" },
      ],
    });
    const withCatalogue = impossibleRtts(minRtts(results), {
      catalogue: createPopCatalogue({ "pop-q": { lat: -33.9, lon: 151.2 } }),
      regionLocations: { local: { lat: 40.7, lon: -74 } },
    });
    expect(withCatalogue.findings.map((f) => [f.region, f.pop])).toEqual([
      ["local", "syd"],
      ["us-east-1", "pop-q"],
    ]);
  });
});
