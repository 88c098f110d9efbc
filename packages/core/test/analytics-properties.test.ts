import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { popChangesPerHour } from "../src/analytics/pop-changes";
import { type RegionalResult, analyzeFailovers, catchment } from "../src/index";
import { ROUND_MS, T0, result, rollupsOf } from "./analytics-fixtures";

const POPS = ["fra", "ams", "lhr", "jfk"] as const;

// Results scattered over three hours, two targets, two regions, two kinds; PoP often missing.
const scattered: fc.Arbitrary<RegionalResult[]> = fc
  .array(
    fc.record({
      target: fc.constantFrom("a", "b"),
      region: fc.constantFrom("eu-central-1", "us-east-1"),
      kind: fc.constantFrom("dns" as const, "http" as const),
      slot: fc.integer({ min: 0, max: (3 * 3_600_000) / ROUND_MS - 1 }),
      ok: fc.boolean(),
      pop: fc.option(fc.constantFrom(...POPS), { freq: 4 }),
    }),
    { maxLength: 150 },
  )
  .map((items) => items.map(({ slot, ...rest }) => result({ ...rest, ms: T0 + slot * ROUND_MS })));

// One series as runs (a PoP answering, failures, answers without a PoP), as failovers look in practice.
const runs: fc.Arbitrary<RegionalResult[]> = fc
  .array(fc.record({ token: fc.constantFrom<string | null>(...POPS, "x", null), length: fc.integer({ min: 1, max: 6 }) }), {
    maxLength: 25,
  })
  .chain((segments) => fc.tuple(fc.constant(segments), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 200, maxLength: 200 })))
  .map(([segments, gaps]) => {
    const out: RegionalResult[] = [];
    let ms = T0;
    for (const { token, length } of segments) {
      for (let i = 0; i < length; i++) {
        out.push(result({ ms, ok: token !== "x", pop: token === "x" ? null : token }));
        // Uneven gaps: a skipped round is a longer gap, so resolution varies.
        ms += (gaps[out.length % gaps.length] ?? 1) * ROUND_MS;
      }
    }
    return out;
  });

const shuffled = <T>(items: readonly T[]) => fc.shuffledSubarray([...items], { minLength: items.length, maxLength: items.length });

describe("analytics properties", () => {
  it("catchment shares sum to 1 whenever a PoP was identified, and count every result once", () => {
    fc.assert(
      fc.property(scattered, (results) => {
        const entries = catchment(results);
        let counted = 0;
        for (const entry of entries) {
          const sum = Object.values(entry.shares).reduce((a, b) => a + b, 0);
          if (entry.total > 0) expect(sum).toBeCloseTo(1, 12);
          else expect(entry.shares).toEqual({});
          expect(entry.total).toBe(Object.values(entry.counts).reduce((a, b) => a + b, 0));
          if (entry.dominant !== null) expect(entry.counts[entry.dominant]).toBe(Math.max(...Object.values(entry.counts)));
          entry.changes.forEach((change, i) => {
            expect(change.from).not.toBe(change.to);
            if (i > 0) expect(change.from).toBe(entry.changes[i - 1]!.to);
          });
          counted += entry.total + entry.unidentified;
        }
        expect(counted).toBe(results.length);
      }),
    );
  });

  it("catchment is the same from results in any order, and from their minute or hour rollups", () => {
    fc.assert(
      fc.property(
        scattered.chain((results) => fc.tuple(fc.constant(results), shuffled(results))),
        ([results, reordered]) => {
          const expected = catchment(results);
          expect(catchment([...results].reverse())).toEqual(expected);
          expect(catchment(reordered)).toEqual(expected);
          expect(catchment(rollupsOf(results, "minute"))).toEqual(expected);
          expect(catchment(rollupsOf(reordered, "hour"))).toEqual(expected);
        },
      ),
    );
  });

  it("PoP changes per hour are the same from results in any order and from minute or hour rollups", () => {
    fc.assert(
      fc.property(
        scattered.chain((results) => fc.tuple(fc.constant(results), shuffled(results))),
        ([results, reordered]) => {
          const expected = popChangesPerHour(results);
          expect(popChangesPerHour(reordered)).toEqual(expected);
          expect(popChangesPerHour(rollupsOf(reordered, "minute"))).toEqual(expected);
          expect(popChangesPerHour(rollupsOf(results, "hour"))).toEqual(expected);
        },
      ),
    );
  });

  it("failover analysis: convergence ≥ resolution > 0, outages within it, and input order never matters", () => {
    fc.assert(
      fc.property(
        runs.chain((results) => fc.tuple(fc.constant(results), shuffled(results))),
        fc.integer({ min: 1, max: 3 }),
        ([results, reordered], minStableSamples) => {
          const analysis = analyzeFailovers(results, { minStableSamples });
          expect(analyzeFailovers([...results].reverse(), { minStableSamples })).toEqual(analysis);
          expect(analyzeFailovers(reordered, { minStableSamples })).toEqual(analysis);
          for (const f of analysis.failovers) {
            expect(f.from).not.toBe(f.to);
            expect(f.resolutionMs).toBeGreaterThan(0);
            expect(f.convergenceMs).toBeGreaterThanOrEqual(f.resolutionMs);
            expect(f.convergenceMs).toBe(Date.parse(f.firstGoodToAt) - Date.parse(f.lastGoodFromAt));
            expect(f.outageMs === null).toBe(f.firstFailureAt === null);
            if (f.outageMs !== null) {
              expect(f.outageMs).toBeGreaterThan(0);
              expect(f.outageMs).toBeLessThanOrEqual(f.convergenceMs - f.resolutionMs);
            }
          }
          for (const o of analysis.outages) {
            expect(o.outageMs).toBeGreaterThanOrEqual(0);
            expect(o.recoveredAt === null).toBe(o.ongoing);
          }
          // Consecutive failovers chain: each starts where the previous ended.
          analysis.failovers.forEach((f, i) => {
            if (i > 0) expect(f.from).toBe(analysis.failovers[i - 1]!.to);
            expect(f.failback).toBe(i > 0 && analysis.failovers[i - 1]!.from === f.to);
          });
        },
      ),
    );
  });
});
