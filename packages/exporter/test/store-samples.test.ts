// The bounds of the store metrics' label sets, for any catchment the store
// can hold: PoP ids are whatever a probe parsed out of an answer (NSID, a
// header), so they are arbitrary strings.
import { type Catchment, STORE_METRICS, parseConfig } from "@popwatch/core";
import fc from "fast-check";
import { Gauge, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { OTHER_POPS, storeSamples } from "../src/store-samples";

const CONFIG = parseConfig({
  targets: [
    { name: "a", address: "198.51.100.1", probes: { dns: {} } },
    { name: "b", address: "198.51.100.2", probes: { dns: {} } },
  ],
});

const popId = fc.oneof(
  fc.constantFrom("lhr", "iad", OTHER_POPS, "__proto__", 'q"uote', "back\\slash", "new\nline"),
  fc.string({ minLength: 1, maxLength: 12 }),
);

const catchmentArb = fc
  .record({
    target: fc.constantFrom("a", "b", "gone"),
    region: fc.constantFrom("eu-west-1", "us-east-1"),
    counts: fc.dictionary(popId, fc.integer({ min: 1, max: 1000 }), { maxKeys: 12 }),
    changes: fc.nat({ max: 50 }),
  })
  .map(({ target, region, counts, changes }): Catchment => {
    const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
    return {
      target,
      region,
      counts,
      shares: Object.fromEntries(Object.entries(counts).map(([pop, n]) => [pop, n / total])),
      dominant: null,
      total,
      unidentified: 0,
      changes: Array.from({ length: changes }, () => ({ at: "2026-12-06T00:00:00.000Z", from: "x", to: "y" })),
    };
  });

/** One catchment per target and region, as core's catchment() returns them. */
const catchmentsArb = fc.uniqueArray(catchmentArb, { selector: (c) => `${c.target}\u0000${c.region}`, maxLength: 6 });

describe("store samples: catchment bounds", () => {
  it("keeps at most topPops PoPs plus other per configured target and region, the largest shares, summing to 1", () => {
    fc.assert(
      fc.property(catchmentsArb, fc.integer({ min: 1, max: 6 }), (catchments, topPops) => {
        const samples = storeSamples({ config: { ...CONFIG, slos: [] }, scopes: [], alertStates: [], catchments, topPops });
        for (const entry of catchments) {
          const shown = samples.catchmentShare.filter((s) => s.labels.target === entry.target && s.labels.region === entry.region);
          const failovers = samples.failovers.filter((s) => s.labels.target === entry.target && s.labels.region === entry.region);
          if (entry.target === "gone") {
            expect(shown).toEqual([]);
            expect(failovers).toEqual([]);
            continue;
          }
          expect(failovers).toEqual([{ labels: { target: entry.target, region: entry.region }, value: entry.changes.length }]);
          const pops = Object.keys(entry.shares);
          expect(shown.length).toBeLessThanOrEqual(topPops + 1);
          expect(new Set(shown.map((s) => s.labels.pop)).size).toBe(shown.length);
          if (pops.length > 0) expect(shown.reduce((sum, s) => sum + s.value, 0)).toBeCloseTo(1, 9);
          const named = shown.filter((s) => s.labels.pop !== OTHER_POPS);
          const summed = pops.filter((pop) => pop === OTHER_POPS || !named.some((s) => s.labels.pop === pop));
          expect(named.length).toBe(Math.min(topPops, pops.filter((pop) => pop !== OTHER_POPS).length));
          for (const s of named) expect(s.value).toBe(entry.shares[s.labels.pop!]);
          // Every PoP summed into other (a PoP literally named other aside) has a share no larger than any PoP shown by name.
          const smallestNamed = Math.min(...named.map((s) => s.value));
          for (const pop of summed) if (pop !== OTHER_POPS) expect(entry.shares[pop]!).toBeLessThanOrEqual(smallestNamed);
          const other = shown.find((s) => s.labels.pop === OTHER_POPS);
          if (summed.length === 0) expect(other).toBeUndefined();
          else
            expect(other?.value).toBeCloseTo(
              summed.reduce((sum, pop) => sum + entry.shares[pop]!, 0),
              12,
            );
        }
      }),
      { numRuns: 300 },
    );
  });

  it("renders any PoP id as a label value that reads back unchanged", async () => {
    await fc.assert(
      fc.asyncProperty(catchmentsArb, async (catchments) => {
        const samples = storeSamples({ config: { ...CONFIG, slos: [] }, scopes: [], alertStates: [], catchments, topPops: 3 });
        const spec = STORE_METRICS.catchmentShare;
        const registry = new Registry();
        const gauge = new Gauge({ name: spec.name, help: spec.help, labelNames: spec.labels, registers: [registry] });
        for (const s of samples.catchmentShare) gauge.set(s.labels, s.value);
        const text = await registry.metrics();
        const read = text
          .split("\n")
          .filter((line) => line.startsWith(`${spec.name}{`))
          .map((line) => {
            const match = /pop="((?:[^"\\]|\\.)*)"/.exec(line);
            return JSON.parse(`"${match![1]!}"`) as string;
          });
        expect(read.sort()).toEqual(samples.catchmentShare.map((s) => s.labels.pop!).sort());
      }),
      { numRuns: 100 },
    );
  });
});
