// SLO arithmetic: exact thresholds, the workbook's factors for each period,
// error budget, multiwindow evaluation, the low-traffic guard, pooling.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PopwatchCoreError } from "../src/errors";
import {
  ALERT_WINDOWS,
  type EventCounts,
  type SloPeriod,
  WINDOW_MS,
  alertRulesFor,
  burnRate,
  compareRational,
  evaluateSlo,
  parseDecimal,
  poolCounts,
  rational,
  rationalToNumber,
} from "../src/index";
import { budgetRemainingExact, burnRateExact, errorBudget, timeToExhaustionExact, timeToExhaustionMs } from "../src/slo/budget";
import { errorRatioExceeds, multiply as multiplyRational, fromNumber as rationalFromNumber } from "../src/slo/rational";
import type { AlertWindow } from "../src/slo/rules";

const HOUR = 3_600_000;

describe("rationals", () => {
  it("reads a JS number as the decimal it was written as", () => {
    expect(rationalFromNumber(0.999)).toEqual({ num: 999n, den: 1000n });
    expect(rationalFromNumber(0.9995)).toEqual({ num: 1999n, den: 2000n });
    expect(rationalFromNumber(1e-7)).toEqual({ num: 1n, den: 10_000_000n });
    expect(rationalFromNumber(14.4)).toEqual({ num: 72n, den: 5n });
    expect(parseDecimal("99.90")).toEqual({ num: 999n, den: 10n });
    expect(parseDecimal("2.5e3")).toEqual({ num: 2500n, den: 1n });
    expect(parseDecimal("0.9.9")).toBeNull();
    expect(parseDecimal("1e999999")).toBeNull();
    expect(() => rationalFromNumber(Number.NaN)).toThrow(RangeError);
  });

  it("round-trips every finite double through its shortest decimal", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        expect(rationalToNumber(rationalFromNumber(x))).toBe(x === 0 ? 0 : x);
      }),
    );
  });

  it("compares strictly where floating point would not: exactly 14.4× at 99.95 % does not exceed 14.4×", () => {
    // In doubles 1 − 0.9995 is 0.0004999999999999449, so both naive forms call an exact 14.4× burn "above 14.4".
    expect(72 / 10_000 > 14.4 * (1 - 0.9995)).toBe(true);
    expect(72 / 10_000 / (1 - 0.9995) > 14.4).toBe(true);
    expect(errorRatioExceeds(72, 10_000, rational(72, 5), rationalFromNumber(0.9995))).toBe(false);
    expect(errorRatioExceeds(73, 10_000, rational(72, 5), rationalFromNumber(0.9995))).toBe(true);
    expect(errorRatioExceeds(144, 10_000, rational(72, 5), rationalFromNumber(0.999))).toBe(false);
    expect(errorRatioExceeds(145, 10_000, rational(72, 5), rationalFromNumber(0.999))).toBe(true);
    expect(errorRatioExceeds(0, 0, rational(1), rationalFromNumber(0.5))).toBe(false);
  });

  it("errorRatioExceeds agrees with a BigInt reference on random integers", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 12n }),
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        fc.bigInt({ min: 1n, max: 10n ** 6n }),
        fc.bigInt({ min: 1n, max: 10n ** 6n }),
        fc.integer({ min: 1, max: 9 }),
        fc.bigInt({ min: 1n, max: 10n ** 9n - 1n }),
        (total, badSeed, factorNum, factorDen, digits, objectiveSeed) => {
          const bad = badSeed % (total + 1n);
          const scale = 10n ** BigInt(digits);
          const objectiveNum = (objectiveSeed % (scale - 1n)) + 1n; // 0 < objective < 1
          // bad/total > (fn/fd)·(1 − on/s)  ⇔  bad·fd·s > fn·(s − on)·total
          const reference = bad * factorDen * scale > factorNum * (scale - objectiveNum) * total;
          expect(errorRatioExceeds(bad, total, rational(factorNum, factorDen), rational(objectiveNum, scale))).toBe(reference);
        },
      ),
    );
  });
});

// Google SRE Workbook, "Alerting on SLOs" (30d); Sloth's google-28d and 7d windows with Pyrra's factor 1 for the slow ticket.
const EXPECTED_FACTORS: Record<SloPeriod, [bigint, bigint][]> = {
  "30d": [
    [72n, 5n],
    [6n, 1n],
    [3n, 1n],
    [1n, 1n],
  ], // 14.4, 6, 3, 1
  "28d": [
    [336n, 25n],
    [28n, 5n],
    [14n, 5n],
    [1n, 1n],
  ], // 13.44, 5.6, 2.8, 1
  "7d": [
    [336n, 25n],
    [7n, 2n],
    [7n, 5n],
    [1n, 1n],
  ], // 13.44, 3.5, 1.4, 1
};

describe("alert rules", () => {
  it("are the workbook's pairs: page 1h/5m and 6h/30m, ticket 1d/2h and 3d/6h, short = long / 12", () => {
    const rules = alertRulesFor("30d");
    expect(rules.map((r) => [r.severity, r.long, r.short])).toEqual([
      ["page", "1h", "5m"],
      ["page", "6h", "30m"],
      ["ticket", "1d", "2h"],
      ["ticket", "3d", "6h"],
    ]);
    for (const rule of rules) expect(WINDOW_MS[rule.long]).toBe(12 * WINDOW_MS[rule.short]);
  });

  for (const period of ["30d", "28d", "7d"] as const) {
    it(`has exact factors for ${period}`, () => {
      expect(alertRulesFor(period).map((r) => [r.factor.num, r.factor.den])).toEqual(EXPECTED_FACTORS[period]);
    });

    it(`${period}: each rule is silent at exactly its factor and fires one bad event above, in each window`, () => {
      for (const objective of [0.999, 0.9995, 0.99, 0.95]) {
        const o = rationalFromNumber(objective);
        for (const rule of alertRulesFor(period)) {
          // total chosen so that factor × (1 − objective) × total is a whole number of bad events.
          const total = Number(o.den * rule.factor.den * 10n);
          const atThreshold = Number((rule.factor.num * (o.den - o.num) * BigInt(total)) / (o.den * rule.factor.den));
          if (atThreshold >= total) continue; // a burn this high is impossible at this objective
          const at: EventCounts = { bad: atThreshold, total };
          const above: EventCounts = { bad: atThreshold + 1, total };
          const fired = (long: EventCounts, short: EventCounts) =>
            evaluateSlo({ objective, period, counts: { [rule.long]: long, [rule.short]: short }, minEvents: 0 }).rules.find(
              (r) => r.long === rule.long,
            )!;
          expect(burnRate(at, objective)).toBeCloseTo(rationalToNumber(rule.factor), 12);
          expect(fired(at, at)).toMatchObject({ firing: false, status: "quiet" });
          expect(fired(at, above)).toMatchObject({ firing: false, status: "quiet" });
          expect(fired(above, at)).toMatchObject({ firing: false, status: "quiet" });
          expect(fired(above, above)).toMatchObject({ firing: true, status: "firing", severity: rule.severity });
        }
      }
    });
  }

  it("the workbook's own example: 99.9 % over 30d, 1h window, exactly 14.4× does not page, one more bad event does", () => {
    const counts = (bad1h: number) => ({ "1h": { bad: bad1h, total: 10_000 }, "5m": { bad: 20, total: 1000 } });
    expect(evaluateSlo({ objective: 0.999, period: "30d", counts: counts(144), minEvents: 0 }).firing).toEqual([]);
    expect(evaluateSlo({ objective: 0.999, period: "30d", counts: counts(145), minEvents: 0 }).firing).toEqual([
      { severity: "page", long: "1h", short: "5m", factor: 14.4 },
    ]);
  });

  it("evaluateSlo fires exactly when the BigInt reference says both windows exceed 14.4× (random objectives and counts)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9999 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (objectivePerTenThousand, longTotal, shortTotal, longShare, shortShare) => {
          const objective = objectivePerTenThousand / 10_000;
          const long = { bad: Math.floor(longShare * longTotal), total: longTotal };
          const short = { bad: Math.floor(shortShare * shortTotal), total: shortTotal };
          const o = rationalFromNumber(objective);
          // bad/total > (72/5)·(1 − o)
          const exceeds = (c: EventCounts) => BigInt(c.bad) * 5n * o.den > 72n * (o.den - o.num) * BigInt(c.total);
          const result = evaluateSlo({ objective, period: "30d", counts: { "1h": long, "5m": short }, minEvents: 0 });
          expect(result.rules[0]!.firing).toBe(exceeds(long) && exceeds(short));
        },
      ),
    );
  });
});

describe("error budget", () => {
  it("remaining = 1 − (bad/total)/(1 − objective), unclamped; consumed = 1 − remaining", () => {
    expect(errorBudget({ bad: 250, total: 1_000_000 }, 0.999)).toEqual({
      errorRatio: 0.00025,
      burnRate: 0.25,
      remaining: 0.75,
      consumed: 0.25,
    });
    expect(errorBudget({ bad: 3000, total: 1_000_000 }, 0.999)).toMatchObject({ remaining: -2, consumed: 3, burnRate: 3 });
    expect(errorBudget({ bad: 0, total: 0 }, 0.999)).toEqual({ errorRatio: null, burnRate: null, remaining: null, consumed: null });
  });

  it("time to exhaustion is remaining × period / burn; 0 once spent; null at burn 0 or without data", () => {
    const period = WINDOW_MS["30d"];
    expect(timeToExhaustionMs(0.5, 14.4, period)).toBe((0.5 * period) / 14.4);
    expect(timeToExhaustionMs(0.1, 3, period)).toBe(24 * HOUR);
    expect(timeToExhaustionMs(-0.2, 3, period)).toBe(0);
    expect(timeToExhaustionMs(0, 0, period)).toBe(0);
    expect(timeToExhaustionMs(0.5, 0, period)).toBeNull();
    expect(timeToExhaustionMs(null, 2, period)).toBeNull();
    expect(timeToExhaustionMs(0.5, null, period)).toBeNull();
  });

  it("rejects counts that are not counts, and objectives outside (0, 1)", () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        expect(err).toBeInstanceOf(PopwatchCoreError);
        return (err as PopwatchCoreError).code;
      }
      return "did not throw";
    };
    expect(code(() => errorBudget({ bad: 2, total: 1 }, 0.99))).toBe("slo_input_invalid");
    expect(code(() => errorBudget({ bad: -1, total: 1 }, 0.99))).toBe("slo_input_invalid");
    expect(code(() => errorBudget({ bad: 0.5, total: 1 }, 0.99))).toBe("slo_input_invalid");
    expect(code(() => errorBudget({ bad: 0, total: 1 }, 1))).toBe("slo_input_invalid");
    expect(code(() => errorBudget({ bad: 0, total: 1 }, 0))).toBe("slo_input_invalid");
    expect(code(() => evaluateSlo({ objective: 0.99, period: "30d", counts: { "28d": { bad: 0, total: 1 } }, minEvents: 0 }))).toBe(
      "slo_input_invalid",
    );
  });

  const objectiveArb = fc.integer({ min: 1, max: 99_999 }).map((n) => n / 100_000);
  const countsArb = fc
    .integer({ min: 1, max: 1_000_000 })
    .chain((total) => fc.record({ total: fc.constant(total), bad: fc.integer({ min: 0, max: total }) }));

  it("property: remaining is exactly 1 with zero bad events", () => {
    fc.assert(
      fc.property(objectiveArb, fc.integer({ min: 1, max: 10 ** 9 }), (objective, total) => {
        expect(errorBudget({ bad: 0, total }, objective).remaining).toBe(1);
        expect(budgetRemainingExact({ bad: 0, total }, rationalFromNumber(objective))).toEqual({ num: 1n, den: 1n });
      }),
    );
  });

  it("property: at the same total, more bad events never leave more budget", () => {
    fc.assert(
      fc.property(objectiveArb, countsArb, fc.integer({ min: 1, max: 1000 }), (objective, counts, extra) => {
        const worse = { bad: Math.min(counts.total, counts.bad + extra), total: counts.total };
        const o = rationalFromNumber(objective);
        expect(compareRational(budgetRemainingExact(worse, o)!, budgetRemainingExact(counts, o)!)).toBeLessThanOrEqual(0);
        expect(errorBudget(worse, objective).remaining!).toBeLessThanOrEqual(errorBudget(counts, objective).remaining!);
      }),
    );
  });

  it("property: burning at the current rate for the time to exhaustion spends exactly the remaining budget", () => {
    fc.assert(
      fc.property(objectiveArb, countsArb, countsArb, (objective, periodCounts, hourCounts) => {
        const o = rationalFromNumber(objective);
        const remaining = budgetRemainingExact(periodCounts, o)!;
        const burn = burnRateExact(hourCounts, o)!;
        const ttl = timeToExhaustionExact(remaining, burn, WINDOW_MS["30d"]);
        if (remaining.num <= 0n) expect(ttl).toEqual(rational(0));
        else if (burn.num === 0n) expect(ttl).toBeNull();
        // budget spent in t at burn b is b × t / period
        else expect(compareRational(multiplyRational(burn, multiplyRational(ttl!, rational(1, WINDOW_MS["30d"]))), remaining)).toBe(0);
      }),
    );
  });
});

describe("evaluateSlo", () => {
  it("reports burn rates for every window and the period, null where nothing was given", () => {
    const r = evaluateSlo({
      objective: 0.99,
      period: "28d",
      counts: { "5m": { bad: 1, total: 50 }, "28d": { bad: 100, total: 100_000 } },
      minEvents: 0,
    });
    expect(Object.keys(r.burnRates)).toEqual([...ALERT_WINDOWS, "28d"]);
    expect(r.burnRates["5m"]).toBe(2);
    expect(r.burnRates["1h"]).toBeNull();
    expect(r.budgetRemaining).toBe(0.9);
  });

  it("a rule whose windows lack counts or events cannot fire and says which are missing", () => {
    const r = evaluateSlo({
      objective: 0.999,
      period: "30d",
      counts: { "5m": { bad: 50, total: 50 }, "1h": { bad: 0, total: 0 } },
      minEvents: 0,
    });
    expect(r.rules[0]).toMatchObject({ status: "no_data", firing: false, missing: ["1h"], shortWindowClean: false });
    expect(r.rules[1]).toMatchObject({ status: "no_data", missing: ["6h", "30m"] });
    expect(r.firing).toEqual([]);
  });

  it("low-rate probing: one failure among a dozen probes is held back by minEvents, and says so", () => {
    // One probe every 5 minutes: 12 events an hour, 1 in the last 5 minutes, and it failed.
    const counts = { "1h": { bad: 1, total: 12 }, "5m": { bad: 1, total: 1 } };
    const guarded = evaluateSlo({ objective: 0.999, period: "30d", counts, minEvents: 30 });
    expect(guarded.rules[0]).toMatchObject({ status: "held_back", heldBack: true, firing: false, longEvents: 12 });
    expect(guarded.rules[0]!.longBurnRate).toBeGreaterThan(80);
    expect(guarded.firing).toEqual([]);
    const unguarded = evaluateSlo({ objective: 0.999, period: "30d", counts, minEvents: 0 });
    expect(unguarded.firing.map((f) => f.long)).toEqual(["1h"]);
    // Once the long window has enough events the same error ratio fires.
    const busier = evaluateSlo({
      objective: 0.999,
      period: "30d",
      counts: { "1h": { bad: 3, total: 36 }, "5m": { bad: 1, total: 3 } },
      minEvents: 30,
    });
    expect(busier.rules[0]).toMatchObject({ status: "firing", heldBack: false });
  });

  it("a quiet rule is not held back even when traffic is low", () => {
    const r = evaluateSlo({
      objective: 0.999,
      period: "30d",
      counts: { "1h": { bad: 0, total: 5 }, "5m": { bad: 0, total: 1 } },
      minEvents: 30,
    });
    expect(r.rules[0]).toMatchObject({ status: "quiet", heldBack: false, shortWindowClean: true });
  });

  it("pooled vs per region: one region burning hot pages on its own budget, the pooled budget does not", () => {
    const hot = { "1h": { bad: 10, total: 360 }, "5m": { bad: 2, total: 30 } };
    const healthy = { "1h": { bad: 0, total: 360 }, "5m": { bad: 0, total: 30 } };
    const regions = [hot, ...Array.from({ length: 10 }, () => healthy)];
    const perRegion = regions.map((counts) => evaluateSlo({ objective: 0.999, period: "30d", counts, minEvents: 30 }).firing.length);
    expect(perRegion).toEqual([1, ...Array(10).fill(0)]);
    const pooled = Object.fromEntries((["1h", "5m"] as const).map((w) => [w, poolCounts(regions.map((r) => r[w]))])) as Record<
      AlertWindow,
      EventCounts
    >;
    expect(pooled["1h"]).toEqual({ bad: 10, total: 3960 });
    const result = evaluateSlo({ objective: 0.999, period: "30d", counts: pooled, minEvents: 30 });
    expect(result.firing).toEqual([]);
    expect(result.burnRates["1h"]).toBeCloseTo(10 / 3960 / 0.001, 9);
  });

  it("poolCounts is the event-weighted sum, not a mean of ratios", () => {
    expect(
      poolCounts([
        { bad: 1, total: 1 },
        { bad: 0, total: 99 },
      ]),
    ).toEqual({ bad: 1, total: 100 });
    expect(poolCounts([])).toEqual({ bad: 0, total: 0 });
    expect(() => poolCounts([{ bad: 3, total: 2 }])).toThrow(PopwatchCoreError);
  });

  describe("exhaustion rule (seed 001: ≥ 3× and budget gone within 24 h)", () => {
    const base = { objective: 0.999, period: "30d" as const, minEvents: 0, exhaustionRule: true };
    const exhaustion = (counts: Record<string, EventCounts>) =>
      evaluateSlo({ ...base, counts }).rules.find((r) => r.rule === "exhaustion")!;

    it("pages at 1h burn 3 when exactly 10 % of a 30-day budget remains (runs out in exactly 24 h)", () => {
      // remaining 0.1: period bad/total = 0.9 × 0.001
      const counts = { "30d": { bad: 900, total: 1_000_000 }, "1h": { bad: 3, total: 1000 } };
      const r = evaluateSlo({ ...base, counts });
      expect(r.timeToExhaustionMs).toBe(24 * HOUR);
      expect(exhaustion(counts)).toMatchObject({ status: "firing", severity: "page", long: "1h", short: null, factor: 3 });
      expect(r.firing).toContainEqual({ severity: "page", long: "1h", short: null, factor: 3 });
    });

    it("stays quiet with one more good event in the period (slightly more than 24 h left) or a burn just under 3", () => {
      expect(exhaustion({ "30d": { bad: 900, total: 1_000_001 }, "1h": { bad: 3, total: 1000 } }).status).toBe("quiet");
      expect(exhaustion({ "30d": { bad: 999, total: 1_000_000 }, "1h": { bad: 2999, total: 1_000_000 } }).status).toBe("quiet");
    });

    it("pages when the budget is already spent and the burn is at least 3", () => {
      expect(exhaustion({ "30d": { bad: 2000, total: 1_000_000 }, "1h": { bad: 3, total: 1000 } }).status).toBe("firing");
    });

    it("needs both the 1h and period counts, and respects minEvents on the 1h window", () => {
      expect(exhaustion({ "1h": { bad: 3, total: 1000 } })).toMatchObject({ status: "no_data", missing: ["30d"] });
      const held = evaluateSlo({
        ...base,
        minEvents: 2000,
        counts: { "30d": { bad: 900, total: 1_000_000 }, "1h": { bad: 3, total: 1000 } },
      });
      expect(held.rules.find((r) => r.rule === "exhaustion")).toMatchObject({ status: "held_back", heldBack: true });
    });

    it("is absent unless enabled", () => {
      const r = evaluateSlo({
        ...base,
        exhaustionRule: false,
        counts: { "30d": { bad: 900, total: 1_000_000 }, "1h": { bad: 3, total: 1000 } },
      });
      expect(r.rules.map((rule) => rule.rule)).toEqual(["multiwindow", "multiwindow", "multiwindow", "multiwindow"]);
    });
  });
});
