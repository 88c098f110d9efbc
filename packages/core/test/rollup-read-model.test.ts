import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type RollupSpan, RollupView, fallbackReads, planRollupReads, spanPeriods, subtractRanges } from "../src/rollup/read-model";
import type { Rollup } from "../src/rollup/rollup";
import type { PeriodRange } from "../src/rollup/windows";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 11, 1);

/** A stand-in rollup: the view only files and returns them, so a marker is enough to tell items apart. */
const marker = (granularity: string, startMs: number) => ({ target: `${granularity}@${startMs}` }) as unknown as Rollup;

/** A view holding every minute of [fromMs, toMs) and the given hours. */
function viewWith(region: string, fromMs: number, toMs: number, hours: readonly number[]): RollupView {
  const view = new RollupView();
  for (let start = fromMs; start < toMs; start += MINUTE) view.add(region, "minute", start, [marker("minute", start)]);
  for (const start of hours) view.add(region, "hour", start, [marker("hour", start)]);
  return view;
}

/** The [start, end) of each marker a span returned, in time order. */
function covered(rollups: readonly Rollup[]): [number, number][] {
  return rollups
    .map((r) => {
      const [granularity, start] = r.target.split("@") as [string, string];
      return [Number(start), Number(start) + (granularity === "hour" ? HOUR : MINUTE)] as [number, number];
    })
    .sort((a, b) => a[0] - b[0]);
}

describe("spanPeriods", () => {
  it("takes minutes at the edges and hours between, aligned outwards to minutes", () => {
    const span: RollupSpan = { fromMs: T0 + 10 * MINUTE + 5_000, toMs: T0 + 3 * HOUR + 20 * MINUTE + 1, finest: "hour" };
    expect(spanPeriods(span)).toEqual([
      { granularity: "minute", fromMs: T0 + 10 * MINUTE, toMs: T0 + HOUR },
      { granularity: "hour", fromMs: T0 + HOUR, toMs: T0 + 3 * HOUR },
      { granularity: "minute", fromMs: T0 + 3 * HOUR, toMs: T0 + 3 * HOUR + 21 * MINUTE },
    ]);
  });

  it("an hour counts only when the span covers all of it; a minute span reads minutes only", () => {
    expect(spanPeriods({ fromMs: T0 + 30_000, toMs: T0 + HOUR + 30_000, finest: "hour" })).toEqual([
      { granularity: "minute", fromMs: T0, toMs: T0 + HOUR + MINUTE },
    ]);
    expect(spanPeriods({ fromMs: T0, toMs: T0 + 5 * HOUR, finest: "minute" })).toEqual([
      { granularity: "minute", fromMs: T0, toMs: T0 + 5 * HOUR },
    ]);
    expect(spanPeriods({ fromMs: T0, toMs: T0, finest: "hour" })).toEqual([]);
  });
});

describe("planRollupReads", () => {
  it("merges the windows' ranges and the spans' periods into non-overlapping reads per granularity", () => {
    const plan = planRollupReads({
      ranges: [
        { granularity: "day", fromMs: T0, toMs: T0 + DAY },
        { granularity: "hour", fromMs: T0 + DAY, toMs: T0 + DAY + 2 * HOUR },
        { granularity: "minute", fromMs: T0 + DAY + 2 * HOUR, toMs: T0 + DAY + 2 * HOUR + 5 * MINUTE },
      ],
      spans: [{ fromMs: T0 + DAY + HOUR, toMs: T0 + DAY + 2 * HOUR + 30 * MINUTE, finest: "hour" }],
    });
    expect(plan.reads).toEqual([
      { granularity: "day", fromMs: T0, toMs: T0 + DAY },
      { granularity: "hour", fromMs: T0 + DAY, toMs: T0 + DAY + 2 * HOUR },
      { granularity: "minute", fromMs: T0 + DAY + 2 * HOUR, toMs: T0 + DAY + 2 * HOUR + 30 * MINUTE },
    ]);
  });

  it("refuses a range that is not aligned to its granularity", () => {
    expect(() => planRollupReads({ ranges: [{ granularity: "hour", fromMs: T0 + MINUTE, toMs: T0 + HOUR }] })).toThrow(RangeError);
  });
});

describe("fallbackReads and RollupView.span", () => {
  const span: RollupSpan = { fromMs: T0 + 20 * MINUTE, toMs: T0 + 5 * HOUR + 10 * MINUTE, finest: "hour" };

  it("reads the minutes of trailing hours not rolled up yet, less the minutes already read", () => {
    const plan = planRollupReads({
      spans: [span],
      ranges: [{ granularity: "minute", fromMs: T0 + 4 * HOUR, toMs: T0 + 4 * HOUR + 10 * MINUTE }],
    });
    // Hours 1 and 2 are there, 3 and 4 not yet.
    const view = viewWith("r", T0 + 20 * MINUTE, T0 + HOUR, [T0 + HOUR, T0 + 2 * HOUR]);
    for (const read of plan.reads) view.markRead("r", read);
    expect(fallbackReads(plan, view, "r")).toEqual([
      { granularity: "minute", fromMs: T0 + 3 * HOUR, toMs: T0 + 4 * HOUR },
      { granularity: "minute", fromMs: T0 + 4 * HOUR + 10 * MINUTE, toMs: T0 + 5 * HOUR },
    ]);
    // Every hour there: nothing more to read.
    const full = viewWith(
      "r",
      T0,
      T0,
      [1, 2, 3, 4].map((h) => T0 + h * HOUR),
    );
    for (const read of plan.reads) full.markRead("r", read);
    expect(fallbackReads(plan, full, "r")).toEqual([]);
  });

  it("a day span falls back from a missing trailing day to its hours, then from missing hours to minutes", () => {
    const daySpan: RollupSpan = { fromMs: T0 - 2 * HOUR, toMs: T0 + 3 * DAY + 90 * MINUTE, finest: "day" };
    const plan = planRollupReads({ spans: [daySpan] });
    expect(plan.reads).toEqual([
      { granularity: "day", fromMs: T0, toMs: T0 + 3 * DAY },
      { granularity: "hour", fromMs: T0 - 2 * HOUR, toMs: T0 },
      { granularity: "hour", fromMs: T0 + 3 * DAY, toMs: T0 + 3 * DAY + HOUR },
      { granularity: "minute", fromMs: T0 + 3 * DAY + HOUR, toMs: T0 + 3 * DAY + 90 * MINUTE },
    ]);
    // The third day is not rolled up yet, nor its last three hours.
    const view = new RollupView();
    for (const read of plan.reads) view.markRead("r", read);
    for (const day of [0, 1]) view.add("r", "day", T0 + day * DAY, [marker("day", T0 + day * DAY)]);
    for (const h of [-2, -1]) view.add("r", "hour", T0 + h * HOUR, [marker("hour", T0 + h * HOUR)]);
    const round1 = fallbackReads(plan, view, "r");
    expect(round1).toEqual([
      { granularity: "hour", fromMs: T0 + 2 * DAY, toMs: T0 + 3 * DAY },
      { granularity: "minute", fromMs: T0 + 3 * DAY, toMs: T0 + 3 * DAY + HOUR },
    ]);
    for (const read of round1) view.markRead("r", read);
    for (let h = 0; h < 21; h++) view.add("r", "hour", T0 + 2 * DAY + h * HOUR, [marker("hour", T0 + 2 * DAY + h * HOUR)]);
    const round2 = fallbackReads(plan, view, "r");
    expect(round2).toEqual([{ granularity: "minute", fromMs: T0 + 2 * DAY + 21 * HOUR, toMs: T0 + 3 * DAY }]);
    for (const read of round2) view.markRead("r", read);
    expect(fallbackReads(plan, view, "r")).toEqual([]);
  });

  it("span covers the span exactly once, whichever trailing hours exist", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 * 60 }),
        fc.integer({ min: 1, max: 8 * 60 }),
        fc.integer({ min: 0, max: 8 }),
        fc.boolean(),
        (fromMinute, lengthMinutes, hoursPresent, minuteFinest) => {
          const fromMs = T0 + fromMinute * MINUTE;
          const toMs = fromMs + lengthMinutes * MINUTE;
          const s: RollupSpan = { fromMs, toMs, finest: minuteFinest ? "minute" : "hour" };
          const firstHour = Math.ceil(fromMs / HOUR) * HOUR;
          const hours = Array.from({ length: hoursPresent }, (_, i) => firstHour + i * HOUR).filter((h) => h + HOUR <= toMs);
          const view = viewWith("r", fromMs, toMs, hours);
          const parts = covered(view.span("r", s));
          expect(parts[0]?.[0]).toBe(fromMs);
          expect(parts.at(-1)?.[1]).toBe(toMs);
          for (let i = 1; i < parts.length; i++) expect(parts[i]![0]).toBe(parts[i - 1]![1]);
          if (minuteFinest) expect(parts.every(([a, b]) => b - a === MINUTE)).toBe(true);
          else expect(parts.filter(([a, b]) => b - a === HOUR).map(([a]) => a)).toEqual(hours);
        },
      ),
    );
  });
});

describe("RollupView", () => {
  it("looks items up by region, granularity and start, and refuses an item added twice", () => {
    const view = new RollupView();
    view.add("eu-west-1", "hour", T0, [marker("hour", T0)]);
    view.addRegion("us-east-1");
    expect(view.get("eu-west-1", "hour", T0)).toHaveLength(1);
    expect(view.has("eu-west-1", "minute", T0)).toBe(false);
    expect(view.regions()).toEqual(["eu-west-1", "us-east-1"]);
    expect(view.size).toBe(1);
    expect(() => view.add("eu-west-1", "hour", T0, [])).toThrow(/added twice/);
  });

  it("inRanges and countInRanges see only the items present", () => {
    const view = viewWith("r", T0, T0 + 3 * MINUTE, []);
    const ranges: PeriodRange[] = [{ granularity: "minute", fromMs: T0 - MINUTE, toMs: T0 + 10 * MINUTE }];
    expect(view.inRanges("r", ranges)).toHaveLength(3);
    expect(view.countInRanges("r", ranges)).toBe(3);
    expect(view.inRanges("elsewhere", ranges)).toEqual([]);
  });
});

describe("subtractRanges", () => {
  it("keeps the parts outside every cut", () => {
    const range: PeriodRange = { granularity: "minute", fromMs: 0, toMs: 10 * MINUTE };
    expect(
      subtractRanges(range, [
        { granularity: "minute", fromMs: 2 * MINUTE, toMs: 4 * MINUTE },
        { granularity: "hour", fromMs: 0, toMs: HOUR },
        { granularity: "minute", fromMs: 8 * MINUTE, toMs: 20 * MINUTE },
      ]),
    ).toEqual([
      { granularity: "minute", fromMs: 0, toMs: 2 * MINUTE },
      { granularity: "minute", fromMs: 4 * MINUTE, toMs: 8 * MINUTE },
    ]);
  });
});
