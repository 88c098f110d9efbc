// Counting an SLO's good and bad events from rollups: target and kind
// filtering, availability, and latency read from the DDSketch.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ProbeKind, type ProbeResult, mergeRollups, rollupMinute, sketchFromLatencies, sloCountsFromRollups } from "../src/index";
import { SKETCH_GAMMA } from "../src/rollup/sketch";
import { sketchBucketUpperBound, sketchCountAtMost } from "../src/slo/sli";

function result(kind: ProbeKind, name: string, startedAt: string, ok: boolean, totalMs: number): ProbeResult {
  return {
    kind,
    target: "127.0.0.1:53",
    address: "127.0.0.1",
    port: 53,
    name,
    ok,
    startedAt,
    timings: { totalMs },
    pop: null,
    failure: ok ? null : { code: "timeout", message: "timed out" },
  } as ProbeResult;
}

describe("sloCountsFromRollups", () => {
  // Two minutes of dns and tcp probes of "edge" from one region, plus another target's results.
  const results = [
    result("dns", "edge", "2025-03-01T10:00:00.000Z", true, 12),
    result("dns", "edge", "2025-03-01T10:00:10.000Z", true, 80),
    result("dns", "edge", "2025-03-01T10:00:20.000Z", false, 5000),
    result("dns", "edge", "2025-03-01T10:01:00.000Z", true, 20),
    result("tcp", "edge", "2025-03-01T10:00:00.000Z", true, 5),
    result("tcp", "edge", "2025-03-01T10:01:00.000Z", false, 5000),
    result("dns", "other", "2025-03-01T10:00:00.000Z", false, 5000),
  ];
  const minutes = rollupMinute(results, { region: "eu-west-1" });
  const hours = mergeRollups(minutes, "hour");

  it("availability: bad = total − good over the SLO's target and kinds only", () => {
    const availability = { type: "availability" } as const;
    expect(sloCountsFromRollups({ target: "edge", sli: availability }, minutes)).toEqual({ bad: 2, total: 6 });
    expect(sloCountsFromRollups({ target: "edge", kinds: ["dns"], sli: availability }, minutes)).toEqual({ bad: 1, total: 4 });
    expect(sloCountsFromRollups({ target: "edge", kinds: ["http"], sli: availability }, minutes)).toEqual({ bad: 0, total: 0 });
    expect(sloCountsFromRollups({ target: "other", sli: availability }, minutes)).toEqual({ bad: 1, total: 1 });
  });

  it("latency: good = ok results no slower than the threshold; failures and slow answers are bad", () => {
    const latency = { type: "latency", thresholdMs: 50 } as const;
    // dns: 12 and 20 fast, 80 slow, one failure.
    expect(sloCountsFromRollups({ target: "edge", kinds: ["dns"], sli: latency }, minutes)).toEqual({ bad: 2, total: 4 });
    expect(sloCountsFromRollups({ target: "edge", sli: latency }, minutes)).toEqual({ bad: 3, total: 6 });
  });

  it("gives the same counts from minute rollups and from the hour rollups merged from them", () => {
    for (const sli of [{ type: "availability" }, { type: "latency", thresholdMs: 50 }] as const) {
      expect(sloCountsFromRollups({ target: "edge", sli }, hours)).toEqual(sloCountsFromRollups({ target: "edge", sli }, minutes));
    }
  });
});

describe("sketchCountAtMost", () => {
  it("bucket upper bounds: index i holds (γ^(i−1), γ^i]", () => {
    const sketch = sketchFromLatencies([10]);
    const [key] = Object.keys(sketch);
    expect(sketchBucketUpperBound(key!)).toBeGreaterThanOrEqual(10);
    expect(sketchBucketUpperBound(key!) / SKETCH_GAMMA).toBeLessThan(10);
  });

  it("property: never counts a slow latency as fast; misses only latencies within a factor γ below the threshold", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.01, max: 10_000, noNaN: true }), { maxLength: 200 }),
        fc.double({ min: 0.1, max: 5000, noNaN: true }),
        (latencies, thresholdMs) => {
          const counted = sketchCountAtMost(sketchFromLatencies(latencies), thresholdMs);
          const atMost = latencies.filter((ms) => ms <= thresholdMs).length;
          // Allow for the float rounding in the bucket index right at a bucket edge.
          const surelyFast = latencies.filter((ms) => ms <= (thresholdMs / SKETCH_GAMMA) * (1 - 1e-12)).length;
          expect(counted).toBeLessThanOrEqual(atMost);
          expect(counted).toBeGreaterThanOrEqual(surelyFast);
        },
      ),
    );
  });
});
