// The per-period burn-rate tables: every rule of 7d, 28d and 30d (windows,
// factor, severity), and the invariant that a burn rate at or below 1 never
// fires, whatever the period, rule, objective and counts.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type EventCounts, SLO_PERIODS, type SloPeriod, WINDOW_MS, alertRulesFor, evaluateSlo, rational } from "../src/index";
import { compare, fromNumber, toNumber } from "../src/slo/rational";
import { type AlertWindow, budgetConsumed } from "../src/slo/rules";

const TABLES: Record<SloPeriod, [severity: string, long: AlertWindow, short: AlertWindow, factor: number, budgetShare: number][]> = {
  // Workbook / Sloth google-30d: 2 %, 5 %, 10 %, 10 % of the budget.
  "30d": [
    ["page", "1h", "5m", 14.4, 0.02],
    ["page", "6h", "30m", 6, 0.05],
    ["ticket", "1d", "2h", 3, 0.1],
    ["ticket", "3d", "6h", 1, 0.1],
  ],
  // Sloth google-28d (2 %, 5 %, 10 %), slow ticket at factor 1: 3/28 of the budget.
  "28d": [
    ["page", "1h", "5m", 13.44, 0.02],
    ["page", "6h", "30m", 5.6, 0.05],
    ["ticket", "1d", "2h", 2.8, 0.1],
    ["ticket", "3d", "6h", 1, 3 / 28],
  ],
  // Sloth 7d (8 %, 12.5 %, 20 %), slow ticket at factor 1: 3/7 of the budget.
  "7d": [
    ["page", "1h", "5m", 13.44, 0.08],
    ["page", "6h", "30m", 3.5, 0.125],
    ["ticket", "1d", "2h", 1.4, 0.2],
    ["ticket", "3d", "6h", 1, 3 / 7],
  ],
};

const OBJECTIVES = [0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999];

describe("burn-rate rule tables", () => {
  for (const period of SLO_PERIODS) {
    it(`${period}: every rule's windows, factor, severity and budget share`, () => {
      const rules = alertRulesFor(period);
      expect(rules.map((r) => [r.severity, r.long, r.short, toNumber(r.factor)])).toEqual(
        TABLES[period].map(([severity, long, short, factor]) => [severity, long, short, factor]),
      );
      rules.forEach((rule, i) => {
        expect(toNumber(budgetConsumed(rule, period))).toBeCloseTo(TABLES[period][i]![4], 12);
        // The short window is 1/12 of the long one (workbook): the alert resets soon after errors stop.
        expect(WINDOW_MS[rule.long]).toBe(12 * WINDOW_MS[rule.short]);
      });
    });

    it(`${period}: no factor is below 1, and only the slow ticket sits at exactly 1`, () => {
      for (const rule of alertRulesFor(period)) {
        expect(compare(rule.factor, rational(1))).toBeGreaterThanOrEqual(0);
        if (compare(rule.factor, rational(1)) === 0) expect([rule.severity, rule.long, rule.short]).toEqual(["ticket", "3d", "6h"]);
      }
    });

    it(`${period}: a burn rate of exactly 1 in every window fires nothing`, () => {
      for (const objective of OBJECTIVES) {
        const o = fromNumber(objective);
        const total = Number(o.den) * 7; // bad = total × (1 − objective) exactly
        const bad = Number((o.den - o.num) * 7n);
        const counts: Partial<Record<AlertWindow, EventCounts>> = {};
        for (const rule of alertRulesFor(period)) counts[rule.long] = counts[rule.short] = { bad, total };
        const evaluation = evaluateSlo({ objective, period, counts, minEvents: 0 });
        for (const window of Object.keys(counts) as AlertWindow[]) expect(evaluation.burnRates[window]).toBe(1);
        expect(evaluation.firing).toEqual([]);
        expect(evaluation.rules.every((r) => r.status === "quiet")).toBe(true);
        // One bad event more in both windows of the factor-1 rule, and it fires: the comparison is strict, not blind.
        const slow = alertRulesFor(period).find((r) => compare(r.factor, rational(1)) === 0)!;
        const above = evaluateSlo({
          objective,
          period,
          counts: { ...counts, [slow.long]: { bad: bad + 1, total }, [slow.short]: { bad: bad + 1, total } },
          minEvents: 0,
        });
        expect(above.firing).toContainEqual({ severity: "ticket", long: slow.long, short: slow.short, factor: 1 });
      }
    });
  }

  it("property: for every period, rule and objective, burn rates ≤ 1 in every window never fire", () => {
    const window = fc.integer({ min: 1, max: 5_000_000 });
    fc.assert(
      fc.property(
        fc.constantFrom(...SLO_PERIODS),
        fc.constantFrom(...OBJECTIVES),
        fc.array(fc.tuple(window, fc.double({ min: 0, max: 1, noNaN: true })), { minLength: 7, maxLength: 7 }),
        (period, objective, draws) => {
          const o = fromNumber(objective);
          const counts: Partial<Record<AlertWindow, EventCounts>> = {};
          const windows = [...new Set(alertRulesFor(period).flatMap((r) => [r.long, r.short]))];
          windows.forEach((w, i) => {
            const [total, share] = draws[i]!;
            // The most bad events with burn ≤ 1: floor(total × (1 − objective)), scaled down by share.
            const most = Number((BigInt(total) * (o.den - o.num)) / o.den);
            counts[w] = { bad: Math.floor(most * share), total };
          });
          const evaluation = evaluateSlo({ objective, period, counts, minEvents: 0 });
          for (const w of windows) expect(evaluation.burnRates[w]!).toBeLessThanOrEqual(1);
          expect(evaluation.firing).toEqual([]);
        },
      ),
      { numRuns: 500 },
    );
  });
});
