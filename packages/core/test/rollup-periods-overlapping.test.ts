// periodsOverlapping: the periods a write marks pending and a rollUp or compaction walks.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PERIOD_MS, periodStartMs, periodsOverlapping } from "../src/rollup/period";

const ms = (iso: string) => Date.parse(iso);

describe("periodsOverlapping", () => {
  it("lists every period the range touches, earliest first; none for an empty or reversed range", () => {
    expect(periodsOverlapping("hour", ms("2025-01-01T22:30:00Z"), ms("2025-01-02T01:00:00Z"))).toEqual([
      "2025-01-01T22",
      "2025-01-01T23",
      "2025-01-02T00",
    ]);
    expect(periodsOverlapping("day", ms("2025-02-28T12:00:00Z"), ms("2025-03-01T00:00:01Z"))).toEqual(["2025-02-28", "2025-03-01"]);
    expect(periodsOverlapping("minute", 5, 5)).toEqual([]);
    expect(periodsOverlapping("minute", 10, 5)).toEqual([]);
  });

  it("consecutive periods, the first holding `from` and the last holding `to - 1`", () => {
    const start = ms("2025-01-01T00:00:00Z");
    fc.assert(
      fc.property(
        fc.constantFrom("minute" as const, "hour" as const, "day" as const),
        fc.integer({ min: 0, max: 40 * 86_400_000 }),
        fc.integer({ min: 1, max: 3 * 86_400_000 }),
        (granularity, offset, length) => {
          const from = start + offset;
          const to = from + length;
          const periods = periodsOverlapping(granularity, from, to);
          const starts = periods.map((period) => periodStartMs(granularity, period)!);
          expect(starts[0]).toBeLessThanOrEqual(from);
          expect(starts[0]! + PERIOD_MS[granularity]).toBeGreaterThan(from);
          expect(starts.at(-1)).toBeLessThan(to);
          expect(starts.at(-1)! + PERIOD_MS[granularity]).toBeGreaterThanOrEqual(to);
          for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBe(PERIOD_MS[granularity]);
        },
      ),
    );
  });
});
