import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mergeSketches, quantile, sketchCount, sketchFromLatencies } from "../src/index";
import { MAX_TRACKED_MS, MIN_TRACKED_MS, RELATIVE_ACCURACY, addLatency, emptySketch, isLatencySketch } from "../src/rollup/sketch";

// Latencies a probe can report: sub-microsecond through minutes, plus the odd zero.
const latency = fc.oneof(
  { weight: 8, arbitrary: fc.double({ min: MIN_TRACKED_MS * 1.0001, max: 600_000, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(0, MIN_TRACKED_MS, 1, 1000) },
);
const latencies = fc.array(latency, { maxLength: 200 });
const sketch = latencies.map((values) => sketchFromLatencies(values));
const quantileArg = fc.oneof(fc.constantFrom(0, 0.5, 0.9, 0.95, 0.99, 0.999, 1), fc.double({ min: 0, max: 1, noNaN: true }));

function nearestRank(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}

describe("latency sketch", () => {
  it("merge is commutative", () => {
    fc.assert(
      fc.property(sketch, sketch, (a, b) => {
        expect(mergeSketches(a, b)).toEqual(mergeSketches(b, a));
      }),
    );
  });

  it("merge is associative", () => {
    fc.assert(
      fc.property(sketch, sketch, sketch, (a, b, c) => {
        expect(mergeSketches(mergeSketches(a, b), c)).toEqual(mergeSketches(a, mergeSketches(b, c)));
      }),
    );
  });

  it("merging equals building from the union, byte for byte", () => {
    fc.assert(
      fc.property(latencies, latencies, (xs, ys) => {
        const merged = mergeSketches(sketchFromLatencies(xs), sketchFromLatencies(ys));
        const direct = sketchFromLatencies([...ys, ...xs]);
        expect(merged).toEqual(direct);
        expect(JSON.stringify(merged)).toBe(JSON.stringify(direct));
        expect(sketchCount(merged)).toBe(xs.length + ys.length);
      }),
    );
  });

  it("adding one at a time equals building at once", () => {
    fc.assert(
      fc.property(latencies, (xs) => {
        expect(xs.reduce((s, x) => addLatency(s, x), emptySketch())).toEqual(sketchFromLatencies(xs));
      }),
    );
  });

  it("quantile is within α of the exact nearest-rank quantile", () => {
    fc.assert(
      fc.property(fc.array(latency, { minLength: 1, maxLength: 300 }), quantileArg, (xs, q) => {
        const exact = nearestRank(xs, q);
        const estimate = quantile(sketchFromLatencies(xs), q);
        if (exact <= MIN_TRACKED_MS) {
          expect(estimate).toBe(0);
        } else {
          // The tiny slack covers floating-point rounding of log() at exact bucket edges.
          expect(Math.abs(estimate! - exact)).toBeLessThanOrEqual(exact * RELATIVE_ACCURACY * (1 + 1e-9));
        }
      }),
      { numRuns: 500 },
    );
  });

  it("quantile of merged sketches is within α of the union's quantile", () => {
    fc.assert(
      fc.property(latencies, fc.array(latency, { minLength: 1, maxLength: 100 }), quantileArg, (xs, ys, q) => {
        const exact = nearestRank([...xs, ...ys], q);
        const estimate = quantile(mergeSketches(sketchFromLatencies(xs), sketchFromLatencies(ys)), q)!;
        if (exact <= MIN_TRACKED_MS) expect(estimate).toBe(0);
        else expect(Math.abs(estimate - exact)).toBeLessThanOrEqual(exact * RELATIVE_ACCURACY * (1 + 1e-9));
      }),
    );
  });

  it("is compact: a realistic minute of probes fills a handful of buckets", () => {
    const minute = Array.from({ length: 12 }, (_, i) => 20 + (i % 3) * 0.1);
    const s = sketchFromLatencies(minute);
    expect(Object.keys(s).length).toBeLessThanOrEqual(3);
    expect(sketchCount(s)).toBe(12);
    expect(quantile(s, 0.5)).toBeCloseTo(20.1, 0);
  });

  it("handles odd numbers without throwing", () => {
    const s = sketchFromLatencies([Number.NaN, -5, 0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e300]);
    expect(sketchCount(s)).toBe(5); // NaN carries no latency and is dropped
    expect(isLatencySketch(s)).toBe(true);
    expect(quantile(s, 0)).toBe(0);
    // Anything above the tracked maximum is recorded as the maximum.
    expect(quantile(s, 1)! / MAX_TRACKED_MS).toBeCloseTo(1, 1);
  });

  it("answers null for an empty sketch and rejects q outside [0, 1]", () => {
    expect(quantile(emptySketch(), 0.5)).toBeNull();
    expect(() => quantile(sketchFromLatencies([1]), 1.5)).toThrow(RangeError);
    expect(() => quantile(sketchFromLatencies([1]), Number.NaN)).toThrow(RangeError);
  });

  it("recognises only well-formed serialised sketches", () => {
    expect(isLatencySketch({ z: 1, "-3": 2, "170": 4 })).toBe(true);
    expect(isLatencySketch({ "1.5": 1 })).toBe(false);
    expect(isLatencySketch({ "3": 0 })).toBe(false);
    expect(isLatencySketch({ "3": 1.5 })).toBe(false);
    expect(isLatencySketch([1])).toBe(false);
    expect(isLatencySketch(null)).toBe(false);
  });
});
