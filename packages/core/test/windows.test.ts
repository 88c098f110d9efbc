import { PERIOD_MS, type PeriodRange, mergePeriodReads, windowPeriods } from "@popwatch/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { periodInRanges, windowCoveredFromMs } from "../src/rollup/windows";

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const END = Date.parse("2026-11-22T10:37:00.000Z");

const covered = (ranges: PeriodRange[]) => ranges.reduce((sum, r) => sum + (r.toMs - r.fromMs), 0);
const items = (ranges: PeriodRange[]) => ranges.reduce((sum, r) => sum + (r.toMs - r.fromMs) / PERIOD_MS[r.granularity], 0);

describe("windowPeriods", () => {
  it("windows without a whole hour inside are minutes; others whole hours with minutes at the edges", () => {
    expect(windowPeriods(END, 5 * MIN)).toEqual([{ granularity: "minute", fromMs: END - 5 * MIN, toMs: END }]);
    expect(windowPeriods(END, HOUR)).toEqual([{ granularity: "minute", fromMs: END - HOUR, toMs: END }]);
    expect(windowPeriods(END, 6 * HOUR)).toEqual([
      { granularity: "minute", fromMs: Date.parse("2026-11-22T04:37:00Z"), toMs: Date.parse("2026-11-22T05:00:00Z") },
      { granularity: "hour", fromMs: Date.parse("2026-11-22T05:00:00Z"), toMs: Date.parse("2026-11-22T10:00:00Z") },
      { granularity: "minute", fromMs: Date.parse("2026-11-22T10:00:00Z"), toMs: END },
    ]);
    expect(items(windowPeriods(END, 6 * HOUR))).toBe(23 + 5 + 37);
  });

  it("a day: exact to the minute, 23 + 23 + 37 items instead of 1 440", () => {
    expect(windowPeriods(END, DAY)).toEqual([
      { granularity: "minute", fromMs: Date.parse("2026-11-21T10:37:00Z"), toMs: Date.parse("2026-11-21T11:00:00Z") },
      { granularity: "hour", fromMs: Date.parse("2026-11-21T11:00:00Z"), toMs: Date.parse("2026-11-22T10:00:00Z") },
      { granularity: "minute", fromMs: Date.parse("2026-11-22T10:00:00Z"), toMs: END },
    ]);
    expect(items(windowPeriods(END, 3 * DAY))).toBe(23 + 13 + 2 + 10 + 37);
  });

  it("30 days: days in the middle, hours and minutes at the edges; ~200 items instead of 43 200", () => {
    const ranges = windowPeriods(END, 30 * DAY);
    expect(ranges.filter((r) => r.granularity === "day").map((r) => (r.toMs - r.fromMs) / DAY)).toEqual([29]);
    expect(items(ranges)).toBeLessThan(29 + 24 + 24 + 60);
  });

  it("ranges never overlap, are aligned, end at the window's end, and cover it minus less than an hour (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2_000_000 }), fc.integer({ min: 1, max: 60 * 24 * 40 }), (endMinute, lengthMinutes) => {
        const end = Date.parse("2024-01-01T00:00:00Z") + endMinute * MIN;
        const ranges = windowPeriods(end, lengthMinutes * MIN);
        const sorted = [...ranges].sort((a, b) => a.fromMs - b.fromMs);
        for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.fromMs).toBe(sorted[i - 1]!.toMs);
        for (const r of ranges) {
          expect(r.fromMs % PERIOD_MS[r.granularity]).toBe(0);
          expect(r.toMs % PERIOD_MS[r.granularity]).toBe(0);
          expect(r.fromMs).toBeLessThan(r.toMs);
        }
        expect(sorted.at(-1)!.toMs).toBe(end);
        expect(sorted[0]!.fromMs).toBe(windowCoveredFromMs(end, lengthMinutes * MIN));
        const shortBy = lengthMinutes * MIN - covered(ranges);
        expect(shortBy).toBeGreaterThanOrEqual(0);
        expect(shortBy).toBeLessThan(lengthMinutes * MIN <= 3 * DAY ? 1 : HOUR);
      }),
    );
  });

  it("rejects ends off a minute boundary and empty windows", () => {
    expect(() => windowPeriods(END + 1, 5 * MIN)).toThrow(/minute boundary/);
    expect(() => windowPeriods(END, 0)).toThrow(/positive number of minutes/);
  });
});

describe("mergePeriodReads", () => {
  it("a handful of reads serve every standard window; every window's periods are inside the reads", () => {
    const windows = [5 * MIN, 30 * MIN, HOUR, 2 * HOUR, 6 * HOUR, DAY, 3 * DAY, 30 * DAY];
    const all = windows.flatMap((w) => windowPeriods(END, w));
    const reads = mergePeriodReads(all);
    for (const r of all) {
      for (let p = r.fromMs; p < r.toMs; p += PERIOD_MS[r.granularity]) expect(periodInRanges(r.granularity, p, reads)).toBe(true);
    }
    expect(items(reads)).toBeLessThan(300);
    // One minute range per window start edge, plus the shared hour, day and end-edge ranges.
    expect(reads.length).toBeLessThanOrEqual(10);
  });
});
