import { describe, expect, it } from "vitest";
import { PopwatchCoreError } from "../src/errors";
import { type Failover, analyzeFailovers, convergenceSli } from "../src/index";
import { ROUND_MS, T0, stream, times } from "./analytics-fixtures";

const at = (round: number) => new Date(T0 + round * ROUND_MS).toISOString();
const series = { target: "anycast", kind: "dns", region: "eu-central-1" };

describe("failovers", () => {
  it("reports a failover faster than one round with convergence = resolution = the round interval", () => {
    const { failovers, outages, blips } = analyzeFailovers(stream("fra fra fra ams ams ams"));
    expect(failovers).toEqual([
      {
        ...series,
        from: "fra",
        to: "ams",
        lastGoodFromAt: at(2),
        firstFailureAt: null,
        firstGoodToAt: at(3),
        convergenceMs: ROUND_MS,
        outageMs: null,
        resolutionMs: ROUND_MS,
        failedSamples: 0,
        failback: false,
      },
    ]);
    expect(outages).toEqual([]);
    expect(blips).toEqual([]);
  });

  it("measures a failover through failures: convergence from the last good answer, outage from the first failure", () => {
    const { failovers, outages } = analyzeFailovers(stream("fra fra fra x x x ams ams"));
    expect(failovers).toEqual([
      expect.objectContaining({
        from: "fra",
        to: "ams",
        lastGoodFromAt: at(2),
        firstFailureAt: at(3),
        firstGoodToAt: at(6),
        convergenceMs: 4 * ROUND_MS,
        outageMs: 3 * ROUND_MS,
        resolutionMs: ROUND_MS,
        failedSamples: 3,
      }),
    ]);
    expect(outages).toEqual([]);
  });

  it("marks the return to the PoP a failover left as failback", () => {
    const { failovers } = analyzeFailovers(stream("fra fra fra ams ams ams x fra fra lhr lhr"));
    expect(failovers.map((f) => [f.from, f.to, f.failback])).toEqual([
      ["fra", "ams", false],
      ["ams", "fra", true],
      ["fra", "lhr", false],
    ]);
    expect(failovers[1]).toMatchObject({ firstFailureAt: at(6), outageMs: ROUND_MS, convergenceMs: 2 * ROUND_MS });
  });

  it("reports a black hole (failures, no PoP change) as an outage, not a failover", () => {
    const { failovers, outages } = analyzeFailovers(stream(`fra fra ${times(5, "x")} fra fra`));
    expect(failovers).toEqual([]);
    expect(outages).toEqual([
      {
        ...series,
        pop: "fra",
        lastGoodAt: at(1),
        firstFailureAt: at(2),
        recoveredAt: at(7),
        outageMs: 5 * ROUND_MS,
        resolutionMs: ROUND_MS,
        failedSamples: 5,
        ongoing: false,
      },
    ]);
  });

  it("reports a black hole still failing at the end as an ongoing outage, measured to now when given", () => {
    const tokens = `fra fra fra ${times(4, "x")}`;
    expect(analyzeFailovers(stream(tokens)).outages).toEqual([
      expect.objectContaining({
        pop: "fra",
        firstFailureAt: at(3),
        recoveredAt: null,
        outageMs: 3 * ROUND_MS,
        ongoing: true,
        failedSamples: 4,
      }),
    ]);
    expect(analyzeFailovers(stream(tokens), { now: T0 + 60_000 }).outages[0]!.outageMs).toBe(60_000 - 3 * ROUND_MS);
    // Answering again but not yet settled: reported once a PoP holds.
    expect(analyzeFailovers(stream(`${tokens} ams`)).outages).toEqual([]);
    expect(analyzeFailovers(stream(`${tokens} ams ams`)).failovers).toHaveLength(1);
  });

  it("treats a one-sample excursion as a blip by default, and as failover plus failback with minStableSamples 1", () => {
    const tokens = "fra fra fra ams fra fra";
    const byDefault = analyzeFailovers(stream(tokens));
    expect(byDefault.failovers).toEqual([]);
    expect(byDefault.blips).toEqual([{ ...series, pop: "fra", excursion: ["ams"], firstAt: at(3), lastAt: at(3), samples: 1 }]);

    const strict = analyzeFailovers(stream(tokens), { minStableSamples: 1 });
    expect(strict.blips).toEqual([]);
    expect(strict.failovers.map((f) => [f.from, f.to, f.convergenceMs, f.failback])).toEqual([
      ["fra", "ams", ROUND_MS, false],
      ["ams", "fra", ROUND_MS, true],
    ]);
  });

  it("needs minStableSamples answers before a PoP counts as settled", () => {
    const tokens = "fra fra fra ams ams lhr fra fra fra";
    expect(analyzeFailovers(stream(tokens), { minStableSamples: 3 }).blips).toEqual([
      expect.objectContaining({ pop: "fra", excursion: ["ams", "lhr"], samples: 3 }),
    ]);
    expect(analyzeFailovers(stream(tokens), { minStableSamples: 2 }).failovers.map((f) => `${f.from}>${f.to}`)).toEqual([
      "fra>ams",
      "ams>fra",
    ]);
  });

  it("ignores answers without a PoP: no change, no break, but they bound the resolution", () => {
    expect(analyzeFailovers(stream("fra fra ? ? fra fra"))).toEqual({ failovers: [], outages: [], blips: [] });
    const { failovers } = analyzeFailovers(stream("fra fra ? ams ams"));
    expect(failovers).toEqual([expect.objectContaining({ from: "fra", to: "ams", convergenceMs: 2 * ROUND_MS, resolutionMs: ROUND_MS })]);
  });

  it("counts failures that carry a PoP as failures (an error page from the new site)", () => {
    const { failovers } = analyzeFailovers(stream("fra fra x:ams x:ams ams ams"));
    expect(failovers).toEqual([
      expect.objectContaining({ from: "fra", to: "ams", firstFailureAt: at(2), firstGoodToAt: at(4), failedSamples: 2 }),
    ]);
  });

  it("ends an outage at the first success after the last failure, even one without a PoP", () => {
    const { outages, failovers } = analyzeFailovers(stream("fra fra x ? x ? fra fra"));
    expect(failovers).toEqual([]);
    expect(outages).toEqual([
      expect.objectContaining({ firstFailureAt: at(2), recoveredAt: at(5), outageMs: 3 * ROUND_MS, failedSamples: 2 }),
    ]);
  });

  it("does not classify what happens before the first stable run", () => {
    expect(analyzeFailovers(stream("x x ams fra fra fra"))).toEqual({ failovers: [], outages: [], blips: [] });
  });

  it("keeps series apart and sorts them", () => {
    const results = [
      ...stream("ams ams fra fra", { region: "us-east-1" }),
      ...stream("fra fra ams ams", { kind: "http" }),
      ...stream("fra fra ams ams"),
    ].reverse();
    expect(analyzeFailovers(results).failovers.map((f) => [f.kind, f.region, f.from])).toEqual([
      ["dns", "eu-central-1", "fra"],
      ["dns", "us-east-1", "ams"],
      ["http", "eu-central-1", "fra"],
    ]);
  });

  it("restricts to a window", () => {
    const results = stream("fra fra ams ams fra fra");
    expect(analyzeFailovers(results, { window: { from: T0 + 2 * ROUND_MS, to: T0 + 6 * ROUND_MS } }).failovers.map((f) => f.to)).toEqual([
      "fra",
    ]);
  });

  it("refuses invalid options", () => {
    for (const options of [{ minStableSamples: 0 }, { minStableSamples: 1.5 }, { now: "soon" }]) {
      expect(() => analyzeFailovers(stream("fra"), options)).toThrow(PopwatchCoreError);
    }
  });
});

describe("convergence SLI", () => {
  const failover = (region: string, convergenceMs: number) => ({ region, convergenceMs }) as Failover;

  it("is the share of failovers per region converged within the threshold, at the threshold included", () => {
    const failovers = [
      failover("eu-central-1", 30_000),
      failover("eu-central-1", 30_001),
      failover("us-east-1", 10_000),
      failover("eu-central-1", 5_000),
    ];
    expect(convergenceSli(failovers)).toEqual([
      { region: "eu-central-1", thresholdMs: 30_000, failovers: 3, converged: 2, sli: 2 / 3 },
      { region: "us-east-1", thresholdMs: 30_000, failovers: 1, converged: 1, sli: 1 },
    ]);
    expect(convergenceSli(failovers, { thresholdMs: 8_000 }).map((s) => s.converged)).toEqual([1, 0]);
    expect(convergenceSli([])).toEqual([]);
    expect(() => convergenceSli(failovers, { thresholdMs: 0 })).toThrow(PopwatchCoreError);
  });

  it("reads failovers measured from results", () => {
    const { failovers } = analyzeFailovers([
      ...stream("fra fra ams ams"),
      ...stream(`fra fra ${times(5, "x")} ams ams`, { target: "other" }),
    ]);
    expect(failovers.map((f) => f.convergenceMs)).toEqual([ROUND_MS, 6 * ROUND_MS]);
    expect(convergenceSli(failovers)).toEqual([{ region: "eu-central-1", thresholdMs: 30_000, failovers: 2, converged: 1, sli: 0.5 }]);
  });
});
