import { describe, expect, it } from "vitest";
import { type Catchment, UNKNOWN_GROUP, type Vantage, groupCatchments } from "../src/index";

function entry(region: string, counts: Record<string, number>, unidentified = 0, target = "anycast"): Catchment {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return {
    target,
    region,
    counts,
    shares: Object.fromEntries(Object.entries(counts).map(([pop, n]) => [pop, n / total])),
    dominant: null,
    total,
    unidentified,
    changes: [],
  };
}

const atlas = (id: number, country: string | null, asn: number | null): Vantage => ({
  name: `atlas-${id}`,
  source: "atlas",
  claimed: null,
  country,
  asn,
  atlasProbeId: id,
});

describe("catchment grouped by vantage, country or AS", () => {
  const vantages = [atlas(1, "DE", 3320), atlas(2, "DE", 3320), atlas(3, "FR", 3215), atlas(4, null, null)];
  // atlas-1 probed 9 times, atlas-2 once: each vantage still weighs the same in the group's shares.
  const entries = [
    entry("atlas-1", { fra: 9 }, 1),
    entry("atlas-2", { ams: 1 }),
    entry("atlas-3", { cdg: 4 }),
    entry("atlas-4", { fra: 2 }),
    entry("atlas-5", { lhr: 2 }),
    entry("atlas-1", { fra: 3 }, 0, "other"),
  ];

  it("by country: counts summed, shares averaged over the vantages, unknown and unregistered in one group", () => {
    const groups = groupCatchments(entries, vantages, "country");
    expect(groups.map((g) => [g.target, g.group, g.vantages])).toEqual([
      ["anycast", "DE", ["atlas-1", "atlas-2"]],
      ["anycast", "FR", ["atlas-3"]],
      ["anycast", UNKNOWN_GROUP, ["atlas-4", "atlas-5"]],
      ["other", "DE", ["atlas-1"]],
    ]);
    expect(groups[0]).toEqual({
      target: "anycast",
      group: "DE",
      vantages: ["atlas-1", "atlas-2"],
      counts: { ams: 1, fra: 9 },
      shares: { ams: 0.5, fra: 0.5 },
      dominant: "ams",
      total: 10,
      unidentified: 1,
    });
    expect(groups[2]!.shares).toEqual({ fra: 0.5, lhr: 0.5 });
  });

  it("by AS names the group AS<n>", () => {
    expect(groupCatchments(entries, vantages, "asn").map((g) => g.group)).toEqual(["AS3215", "AS3320", UNKNOWN_GROUP, "AS3320"]);
  });

  it("by vantage keeps one group per vantage with its own shares", () => {
    const groups = groupCatchments(entries, vantages, "vantage");
    expect(groups.map((g) => g.group)).toEqual(["atlas-1", "atlas-2", "atlas-3", "atlas-4", "atlas-5", "atlas-1"]);
    expect(groups.map((g) => g.shares)).toEqual(entries.map((e) => e.shares));
  });

  it("shares sum to 1 whenever a vantage identified a PoP; a group with no identified answer has no dominant PoP", () => {
    for (const group of groupCatchments(entries, vantages, "country")) {
      expect(Object.values(group.shares).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
    const silent = groupCatchments([entry("atlas-1", {}, 4)], vantages, "country");
    expect(silent).toEqual([
      { target: "anycast", group: "DE", vantages: ["atlas-1"], counts: {}, shares: {}, dominant: null, total: 0, unidentified: 4 },
    ]);
  });
});
