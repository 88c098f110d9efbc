// The cascade rule: which coarser periods a rollUp builds, decided without a store.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildsUnbuiltHoursFirst,
  cascadePeriods,
  finerGranularity,
  periodsOverlapping,
  periodsToRebuild,
  planRollUp,
  unbuiltHours,
} from "../src/rollup/cascade";

const ms = (iso: string) => Date.parse(iso);

describe("cascade rule", () => {
  it("builds an hour once the range reaches its end, a day once the range reaches midnight", () => {
    // One invocation's minute, mid-hour: nothing coarser has ended.
    expect(cascadePeriods("hour", ms("2025-03-02T10:07:00Z"), ms("2025-03-02T10:08:00Z"))).toEqual({ ended: [], open: ["2025-03-02T10"] });
    // The last minute of the hour ends the hour, not the day.
    expect(cascadePeriods("hour", ms("2025-03-02T10:59:00Z"), ms("2025-03-02T11:00:00Z"))).toEqual({ ended: ["2025-03-02T10"], open: [] });
    expect(cascadePeriods("day", ms("2025-03-02T10:59:00Z"), ms("2025-03-02T11:00:00Z"))).toEqual({ ended: [], open: ["2025-03-02"] });
    // The last minute of the day ends both.
    expect(cascadePeriods("hour", ms("2025-03-02T23:59:00Z"), ms("2025-03-03T00:00:00Z"))).toEqual({ ended: ["2025-03-02T23"], open: [] });
    expect(cascadePeriods("day", ms("2025-03-02T23:59:00Z"), ms("2025-03-03T00:00:00Z"))).toEqual({ ended: ["2025-03-02"], open: [] });
    // A range across an hour boundary: the earlier hour ended, the later one is open.
    expect(cascadePeriods("hour", ms("2025-03-02T10:58:00Z"), ms("2025-03-02T11:02:00Z"))).toEqual({
      ended: ["2025-03-02T10"],
      open: ["2025-03-02T11"],
    });
    expect(cascadePeriods("hour", 5, 5)).toEqual({ ended: [], open: [] });
  });

  it("every period overlapping the range is either ended or open, and ended exactly when it ends by `to`", () => {
    const start = ms("2025-01-01T00:00:00Z");
    fc.assert(
      fc.property(
        fc.constantFrom("minute" as const, "hour" as const, "day" as const),
        fc.integer({ min: 0, max: 40 * 86_400_000 }),
        fc.integer({ min: 1, max: 3 * 86_400_000 }),
        (granularity, offset, length) => {
          const from = start + offset;
          const to = from + length;
          const { ended, open } = cascadePeriods(granularity, from, to);
          const all = periodsOverlapping(granularity, from, to);
          expect([...ended, ...open]).toEqual(all);
          expect(open.length).toBeLessThanOrEqual(1);
          const step = { minute: 60_000, hour: 3_600_000, day: 86_400_000 }[granularity];
          for (const period of ended)
            expect(ms(`${period}${granularity === "day" ? "T00:00" : granularity === "hour" ? ":00" : ""}:00Z`) + step).toBeLessThanOrEqual(
              to,
            );
          expect(all[0]).toBe(new Date(from).toISOString().slice(0, { minute: 16, hour: 13, day: 10 }[granularity]));
        },
      ),
    );
  });
});

describe("rollUp plan", () => {
  it("recomputes the requested periods and, with cascade, plans every coarser level finest first", () => {
    const plan = planRollUp("minute", ms("2025-03-02T23:58:00Z"), ms("2025-03-03T00:00:00Z"), true);
    expect(plan.periods).toEqual(["2025-03-02T23:58", "2025-03-02T23:59"]);
    expect(plan.cascade).toEqual([
      { level: "hour", ended: ["2025-03-02T23"], open: [] },
      { level: "day", ended: ["2025-03-02"], open: [] },
    ]);
    expect(planRollUp("minute", ms("2025-03-02T23:58:00Z"), ms("2025-03-03T00:00:00Z"), false).cascade).toEqual([]);
    expect(planRollUp("hour", ms("2025-03-02T10:00:00Z"), ms("2025-03-02T11:00:00Z"), true).cascade.map((level) => level.level)).toEqual([
      "day",
    ]);
    expect(planRollUp("day", ms("2025-03-02T00:00:00Z"), ms("2025-03-03T00:00:00Z"), true)).toEqual({
      periods: ["2025-03-02"],
      cascade: [],
    });
    expect(planRollUp("minute", 5, 5, true)).toEqual({ periods: [], cascade: [] });
  });

  it("rebuilds ended periods and only those open periods that are stored already", () => {
    const level = { ended: ["2025-03-02T11", "2025-03-02T10"], open: ["2025-03-02T12"] };
    expect(periodsToRebuild(level, [])).toEqual(["2025-03-02T10", "2025-03-02T11"]);
    expect(periodsToRebuild(level, ["2025-03-02T12"])).toEqual(["2025-03-02T10", "2025-03-02T11", "2025-03-02T12"]);
    expect(periodsToRebuild(level, ["2025-03-02T09"])).toEqual(["2025-03-02T10", "2025-03-02T11"]);
  });

  it("repairs a day's unbuilt hours only when days follow a minute rollUp", () => {
    expect(buildsUnbuiltHoursFirst("minute", "day")).toBe(true);
    expect(buildsUnbuiltHoursFirst("minute", "hour")).toBe(false);
    expect(buildsUnbuiltHoursFirst("hour", "day")).toBe(false);
    const stored = new Set(
      Array.from({ length: 24 }, (_, h) => `2025-03-02T${String(h).padStart(2, "0")}`).filter((hour) => hour !== "2025-03-02T07"),
    );
    expect(unbuiltHours(["2025-03-02"], stored)).toEqual(["2025-03-02T07"]);
    expect(unbuiltHours(["2025-03-03"], stored)).toHaveLength(24);
    expect(unbuiltHours([], stored)).toEqual([]);
  });

  it("merges hours from minutes and days from hours; minutes come from raw results", () => {
    expect(finerGranularity("day")).toBe("hour");
    expect(finerGranularity("hour")).toBe("minute");
  });
});
