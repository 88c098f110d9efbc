// Anycast alert observations (catchment shift, flapping, detour) from
// rollups, and their path through planAlerts into notifications.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AnycastAlertInput } from "../src/alerts/anycast";
import { anycastAlertCommand } from "../src/alerts/command";
import { anycastAlertName, parseAnycastAlertName } from "../src/alerts/key";
import { ANALYTICS_DEFAULTS, type AnalyticsConfig } from "../src/analytics/config";
import {
  type AlertObservation,
  PERIOD_MS,
  type RegionalResult,
  type Rollup,
  alertEventDetailSchema,
  anycastAlertObservations,
  anycastReadRanges,
  createPopCatalogue,
  periodStartMs,
  planAlerts,
  rollupPeriod,
  rollupResults,
} from "../src/index";
import { periodInRanges } from "../src/rollup/windows";

const MINUTE = PERIOD_MS.minute;
const HOUR = PERIOD_MS.hour;
/** Half past: the minute rollups start at 11:00, the baseline's hours end there. */
const END = Date.parse("2025-03-02T12:30:00.000Z");
const RECENT_FROM = END - HOUR;
const BASELINE_FROM = Date.parse("2025-03-01T11:00:00.000Z");
const REGION = "eu-central-1";
const TARGET = "edge";

/** One answer per `intervalMs` in [fromMs, toMs) from the PoP `popAt` names (null: a timeout). */
function answers(
  fromMs: number,
  toMs: number,
  popAt: (ms: number) => string | null,
  options: { region?: string; kind?: "dns" | "tcp"; intervalMs?: number; target?: string } = {},
): RegionalResult[] {
  const out: RegionalResult[] = [];
  for (let ms = fromMs; ms < toMs; ms += options.intervalMs ?? MINUTE) {
    const pop = popAt(ms);
    const at = new Date(ms).toISOString();
    out.push({
      kind: options.kind ?? "dns",
      target: "198.51.100.53:53",
      address: "198.51.100.53",
      port: 53,
      name: options.target ?? TARGET,
      ok: pop !== null,
      startedAt: at,
      slotAt: at,
      timings: { totalMs: 12 },
      pop: pop === null ? null : { id: pop, source: "nsid", raw: pop, iata: null },
      failure: pop === null ? { code: "timeout", message: "no answer" } : null,
      region: options.region ?? REGION,
    } as unknown as RegionalResult);
  }
  return out;
}

/** What the store holds for these results and the evaluator reads: hour items for the baseline's hours, minute items after. */
function storedRollups(results: readonly RegionalResult[], endMs = END): Rollup[] {
  const ranges = anycastReadRanges(endMs);
  const byRegion = new Map<string, RegionalResult[]>();
  for (const r of results) byRegion.set(r.region, [...(byRegion.get(r.region) ?? []), r]);
  const out: Rollup[] = [];
  for (const [region, list] of byRegion) {
    for (const granularity of ["hour", "minute"] as const) {
      for (const rollup of rollupResults(list, { region, granularity })) {
        if (periodInRanges(granularity, periodStartMs(granularity, rollupPeriod(rollup))!, ranges)) out.push(rollup);
      }
    }
  }
  return out;
}

function analytics(over: Partial<Omit<AnalyticsConfig, "alerts">> & { alerts?: Partial<AnalyticsConfig["alerts"]> } = {}) {
  return { ...ANALYTICS_DEFAULTS, ...over, alerts: { ...ANALYTICS_DEFAULTS.alerts, ...over.alerts } };
}

function evaluate(results: readonly RegionalResult[], over: Partial<AnycastAlertInput> = {}) {
  return anycastAlertObservations({
    endMs: END,
    rollups: storedRollups(results),
    targets: [TARGET],
    regions: [REGION],
    analytics: analytics(),
    ...over,
  });
}

function observationOf(observations: readonly AlertObservation[], condition: string, region = REGION): AlertObservation {
  const found = observations.find((o) => o.slo === anycastAlertName(condition as "flapping", TARGET) && o.scope === region);
  expect(found, `${condition} in ${region}`).toBeDefined();
  return found!;
}

const baseline = (pop: string) => answers(BASELINE_FROM, RECENT_FROM, () => pop);

describe("anycast alert names", () => {
  it("round-trip, and SLO names (which cannot contain ':') are not anycast names", () => {
    expect(anycastAlertName("catchment-shift", "k-root")).toBe("anycast:catchment-shift:k-root");
    expect(parseAnycastAlertName("anycast:detour:k-root")).toEqual({ condition: "detour", target: "k-root" });
    expect(parseAnycastAlertName("anycast:flapping:a:b")).toEqual({ condition: "flapping", target: "a:b" });
    for (const name of ["edge-availability", "anycast:wobble:x", "anycast:detour:", "anycast"])
      expect(parseAnycastAlertName(name)).toBeNull();
  });

  it("point receivers at the catchment or the detour report", () => {
    expect(anycastAlertCommand({ condition: "flapping", target: "edge" }, REGION)).toBe(
      "popwatch catchment --since 1h --bucket minute --target edge --region eu-central-1",
    );
    expect(anycastAlertCommand({ condition: "catchment-shift", target: "edge" })).toBe("popwatch catchment --since 25h --target edge");
    expect(anycastAlertCommand({ condition: "detour", target: "edge" }, REGION)).toBe("popwatch report --since 1h --region eu-central-1");
  });
});

describe("read ranges", () => {
  it("24 hour items before the recent window's first hour, then minutes to the end", () => {
    expect(anycastReadRanges(END)).toEqual([
      { granularity: "hour", fromMs: BASELINE_FROM, toMs: Date.parse("2025-03-02T11:00:00.000Z") },
      { granularity: "minute", fromMs: Date.parse("2025-03-02T11:00:00.000Z"), toMs: END },
    ]);
    // On the hour the minutes are exactly the last hour.
    const onTheHour = Date.parse("2025-03-02T12:00:00.000Z");
    expect(anycastReadRanges(onTheHour)[1]).toEqual({ granularity: "minute", fromMs: onTheHour - HOUR, toMs: onTheHour });
    expect(() => anycastReadRanges(END + 1)).toThrow(expect.objectContaining({ code: "alert_input_invalid" }));
  });
});

describe("catchment shift", () => {
  // [case, last hour's PoP by minute offset in it, burning, heldBack, shortWindowClean]
  const cases: [string, (minute: number) => string | null, boolean, boolean, boolean][] = [
    ["fra → ams for the whole hour", () => "ams", true, false, false],
    ["ams 45 min, back to fra for the last 15", (m) => (m < 45 ? "ams" : "fra"), true, false, true],
    ["no change", () => "fra", false, false, true],
    ["noise: ams leads with 45 %", (m) => (m % 20 < 9 ? "ams" : m % 20 < 16 ? "fra" : "cdg"), false, false, true],
    ["a tie is no majority", (m) => (m % 2 === 0 ? "ams" : "fra"), false, false, true],
    ["too few answers to judge", (m) => (m < 20 ? "ams" : null), false, true, true],
  ];
  it.each(cases)("%s", (_name, popAt, burning, heldBack, shortWindowClean) => {
    const results = [...baseline("fra"), ...answers(RECENT_FROM, END, (ms) => popAt((ms - RECENT_FROM) / MINUTE))];
    const shift = observationOf(evaluate(results).observations, "catchment-shift");
    expect({ burning: shift.burning, heldBack: shift.heldBack, shortWindowClean: shift.shortWindowClean }).toEqual({
      burning,
      heldBack,
      shortWindowClean,
    });
    expect(shift).toMatchObject({
      severity: "ticket",
      scope: REGION,
      burnRates: {},
      budgetRemaining: null,
      rule: { long: "1h", short: "15m", factor: 1 },
    });
    expect(shift.anycast).toMatchObject({
      condition: "catchment-shift",
      target: TARGET,
      before: "fra",
      beforeShare: 1,
      baselineEvents: 1470,
    });
  });

  it("reports the PoPs and shares it compared", () => {
    const results = [...baseline("fra"), ...answers(RECENT_FROM, END, (ms) => ((ms - RECENT_FROM) / MINUTE < 48 ? "ams" : "fra"))];
    expect(observationOf(evaluate(results).observations, "catchment-shift").anycast).toEqual({
      condition: "catchment-shift",
      target: TARGET,
      before: "fra",
      beforeShare: 1,
      after: "ams",
      afterShare: 0.8,
      baselineEvents: 1470,
      recentEvents: 60,
    });
  });

  it("needs a majority in the baseline too: a region split between two PoPs has no catchment to shift from", () => {
    const split = answers(BASELINE_FROM, RECENT_FROM, (ms) => (Math.floor(ms / MINUTE) % 2 === 0 ? "ams" : "fra"));
    const shift = observationOf(evaluate([...split, ...answers(RECENT_FROM, END, () => "cdg")]).observations, "catchment-shift");
    expect(shift.burning).toBe(false);
    expect(shift.anycast).toMatchObject({ before: "ams", beforeShare: 0.5, after: "cdg" });
  });

  it("minEvents is configurable", () => {
    const results = [...baseline("fra"), ...answers(RECENT_FROM, END, (ms) => ((ms - RECENT_FROM) / MINUTE < 20 ? "ams" : null))];
    const shift = observationOf(evaluate(results, { analytics: analytics({ alerts: { minEvents: 20 } }) }).observations, "catchment-shift");
    expect(shift).toMatchObject({ burning: true, heldBack: false });
  });
});

/** By minute of the last hour: fra, then `changes` switches between ams and fra every 3 minutes from minute `from`. */
const flaps =
  (changes: number, from = 0) =>
  (m: number) => {
    const switched = m < from ? 0 : Math.min(changes, Math.floor((m - from) / 3) + 1);
    return switched % 2 === 1 ? "ams" : "fra";
  };
const lastHour = (popAt: (minute: number) => string | null, options: Parameters<typeof answers>[3] = {}) =>
  answers(RECENT_FROM, END, (ms) => popAt((ms - RECENT_FROM) / MINUTE), options);

describe("flapping", () => {
  // [case, changes, flapChangesPerHour, burning]
  const cases: [string, number, number, boolean][] = [
    ["one below the threshold", 5, 6, false],
    ["exactly at the threshold", 6, 6, true],
    ["above it", 9, 6, true],
    ["a threshold of 1: one failover flaps", 1, 1, true],
  ];
  it.each(cases)("%s", (_name, changes, threshold, burning) => {
    const results = [...baseline("fra"), ...lastHour(flaps(changes))];
    const flap = observationOf(evaluate(results, { analytics: analytics({ flapChangesPerHour: threshold }) }).observations, "flapping");
    expect(flap).toMatchObject({
      burning,
      heldBack: false,
      severity: "page",
      shortWindowClean: true,
      rule: { long: "1h", short: "15m", factor: 1 },
    });
    expect(flap.anycast).toEqual({
      condition: "flapping",
      target: TARGET,
      changesPerHour: changes,
      kind: "dns",
      threshold,
      shortWindowChanges: 0,
      recentEvents: 60,
    });
  });

  it("counts changes inside minutes, across minute boundaries and into the window, as the analytics count them", () => {
    // Two answers a minute: 11:29:30 fra, then from 11:30:00 ams, fra, ams… with a switch every 30 s for the first 4 minutes.
    const results = [
      ...answers(BASELINE_FROM, RECENT_FROM, () => "fra", { intervalMs: 30_000 }),
      ...answers(RECENT_FROM, END, (ms) => (ms < RECENT_FROM + 4 * MINUTE && ((ms - RECENT_FROM) / 30_000) % 2 === 0 ? "ams" : "fra"), {
        intervalMs: 30_000,
      }),
    ];
    const flap = observationOf(evaluate(results).observations, "flapping");
    // 11:30:00 fra→ams (into the window), then 7 more switches up to 11:33:30 (4 inside minutes, 3 across their boundaries).
    expect(flap.anycast).toMatchObject({ changesPerHour: 8, kind: "dns" });
    expect(flap.burning).toBe(true);
  });

  it("judges the probe kind that changed most", () => {
    const results = [
      ...answers(BASELINE_FROM, END, () => "fra"),
      ...answers(BASELINE_FROM, RECENT_FROM, () => "fra", { kind: "tcp" }),
      ...lastHour(flaps(7), { kind: "tcp" }),
    ];
    expect(observationOf(evaluate(results).observations, "flapping").anycast).toMatchObject({ changesPerHour: 7, kind: "tcp" });
  });

  it("is not clean while the last 15 minutes still change", () => {
    const results = [...baseline("fra"), ...lastHour(flaps(3, 50))];
    const flap = observationOf(evaluate(results).observations, "flapping");
    expect(flap).toMatchObject({ burning: false, shortWindowClean: false });
    expect(flap.anycast).toMatchObject({ changesPerHour: 3, shortWindowChanges: 3 });
  });

  it.each([
    ["ticket", "ticket"],
    [true, "page"],
  ] as const)("severity %s → %s", (flapping, severity) => {
    const { observations } = evaluate(baseline("fra"), { analytics: analytics({ alerts: { flapping } }) });
    expect(observationOf(observations, "flapping").severity).toBe(severity);
  });

  it("conditions turned off are not observed", () => {
    const { observations } = evaluate(baseline("fra"), { analytics: analytics({ alerts: { flapping: false, catchmentShift: false } }) });
    expect(observations.map((o) => o.slo)).toEqual(["anycast:detour:edge"]);
  });

  // The rollups' count agrees with the raw answers of the window, whatever the sequence (fast-check).
  it("equals the changes between consecutive identified answers of the last hour", () => {
    const pops = fc.constantFrom("fra", "ams", "cdg", null);
    fc.assert(
      fc.property(
        fc.array(pops, { minLength: 240, maxLength: 240 }),
        fc.constantFrom<string | null>("fra", "ams", null),
        (sequence, before) => {
          // 4 answers a minute over the last hour; one answer (or none) just before it.
          const recent = answers(RECENT_FROM, END, (ms) => sequence[(ms - RECENT_FROM) / 15_000]!, { intervalMs: 15_000 });
          const results = [...answers(RECENT_FROM - MINUTE, RECENT_FROM, () => before), ...recent];
          let expected = 0;
          let last = before;
          for (const pop of sequence) {
            if (pop === null) continue;
            if (last !== null && pop !== last) expected++;
            last = pop;
          }
          const flap = observationOf(evaluate(results, { analytics: analytics({ alerts: { minEvents: 0 } }) }).observations, "flapping");
          expect((flap.anycast as { changesPerHour: number }).changesPerHour).toBe(expected);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("detour", () => {
  const others = (pop: string) => answers(BASELINE_FROM, END, () => pop, { region: "us-east-1" });

  it("fires when the serving PoP is more than detourKm further than the nearest known one", () => {
    // us-east-1 reached fra in the baseline: Frankfurt is a PoP the target has; eu-central-1 is served from Tokyo.
    const results = [
      ...baseline("nrt"),
      ...answers(RECENT_FROM, END, () => "nrt"),
      ...answers(BASELINE_FROM, END, () => "fra", { region: "us-east-1" }),
    ];
    const { observations, missing } = evaluate(results, { regions: [REGION, "us-east-1"] });
    const detour = observationOf(observations, "detour");
    expect(detour).toMatchObject({
      burning: true,
      heldBack: false,
      shortWindowClean: false,
      severity: "ticket",
      rule: { long: "1h", short: "1h", factor: 1 },
    });
    expect(detour.anycast).toMatchObject({ condition: "detour", pop: "nrt", nearestPop: "fra", detourKm: 1000, recentEvents: 60 });
    const { distanceKm, nearestKm, excessKm } = detour.anycast as { distanceKm: number; nearestKm: number; excessKm: number };
    expect(distanceKm).toBeGreaterThan(9000);
    expect(nearestKm).toBeLessThan(20);
    expect(excessKm).toBeCloseTo(distanceKm - nearestKm, 6);
    expect(missing).toEqual([]);
    // us-east-1 served from Frankfurt while nrt is known too: Tokyo is further still, so fra is its nearest and no detour.
    expect(observationOf(observations, "detour", "us-east-1").burning).toBe(false);
  });

  it("operator catalogue entries count as PoPs the target has", () => {
    const catalogue = createPopCatalogue({ "fra-edge": { lat: 50.1, lon: 8.6 } });
    const results = [...baseline("nrt"), ...answers(RECENT_FROM, END, () => "nrt")];
    expect(observationOf(evaluate(results).observations, "detour").burning).toBe(false);
    expect(observationOf(evaluate(results, { catalogue }).observations, "detour").anycast).toMatchObject({
      pop: "nrt",
      nearestPop: "fra-edge",
    });
    expect(observationOf(evaluate(results, { catalogue, analytics: analytics({ detourKm: 20_000 }) }).observations, "detour").burning).toBe(
      false,
    );
  });

  it("a serving PoP missing from the catalogue raises no alert and is reported missing", () => {
    const results = [...answers(RECENT_FROM, END, () => "edge42x"), ...others("fra")];
    const { observations, missing } = evaluate(results, { regions: [REGION, "us-east-1"] });
    expect(observationOf(observations, "detour")).toMatchObject({ burning: false, heldBack: true });
    expect(observationOf(observations, "detour").anycast).toMatchObject({ pop: "edge42x", nearestPop: null, excessKm: null });
    expect(missing).toEqual([{ target: TARGET, region: REGION, pop: "edge42x", missing: "pop" }]);
  });

  it("a region without a location is reported missing", () => {
    const results = answers(BASELINE_FROM, END, () => "fra", { region: "laptop" });
    const { observations, missing } = evaluate(results, { regions: ["laptop"] });
    expect(observationOf(observations, "detour", "laptop")).toMatchObject({ burning: false, heldBack: true });
    expect(missing).toEqual([{ target: TARGET, region: "laptop", pop: null, missing: "region" }]);
    // The other conditions need no location.
    expect(observationOf(observations, "flapping", "laptop")).toMatchObject({ burning: false, heldBack: false });
  });
});

describe("through the alert lifecycle", () => {
  const config = { renotifyMinutes: 240, maintenance: [], quorum: {} };
  // 8 switches (at the threshold of 6 or above) or 2; in the first half hour, or (not clean) in the last 15 minutes.
  const flapping = (burning: boolean, shortWindowClean: boolean) =>
    evaluate([...baseline("fra"), ...lastHour(flaps(burning ? 8 : 2, shortWindowClean ? 0 : 50))]).observations;

  it("fires once with what happened, renotifies nothing new, resolves once the short window is clean", () => {
    const first = planAlerts({ now: END, observations: flapping(true, true), previous: [], config });
    expect(first.notifications).toHaveLength(1);
    const [fired] = first.notifications;
    expect(alertEventDetailSchema.parse(fired)).toEqual(fired);
    expect(fired).toMatchObject({
      kind: "firing",
      slo: "anycast:flapping:edge",
      severity: "page",
      regions: [REGION],
      burnRates: {},
      budgetRemaining: null,
      command: "popwatch catchment --since 1h --bucket minute --target edge --region eu-central-1",
      anycast: { condition: "flapping", target: TARGET, changesPerHour: 8, threshold: 6 },
    });
    expect(fired!.scopes[0]!.anycast).toEqual(fired!.anycast);

    const again = planAlerts({ now: END + MINUTE, observations: flapping(true, true), previous: first.next, config });
    expect(again.notifications).toEqual([]);
    // Below the threshold but still changing in the last 15 minutes: keeps firing.
    const held = planAlerts({ now: END + 2 * MINUTE, observations: flapping(false, false), previous: again.next, config });
    expect(held.notifications).toEqual([]);
    const resolved = planAlerts({ now: END + 3 * MINUTE, observations: flapping(false, true), previous: held.next, config });
    expect(resolved.notifications.map((n) => [n.kind, n.slo, n.anycast?.condition])).toEqual([
      ["resolved", "anycast:flapping:edge", "flapping"],
    ]);
    expect(resolved.notifications[0]!.anycast).toMatchObject({ changesPerHour: 2 });
  });

  it.each([
    ["by alert name and region", { slos: ["anycast:flapping:edge"], regions: [REGION] }, true],
    ["by region alone", { regions: [REGION] }, true],
    ["of another region", { regions: ["us-east-1"] }, false],
    ["of an SLO", { slos: ["edge-availability"] }, false],
  ])("a maintenance window %s holds=%s", (_name, scope, holds) => {
    const window = { start: new Date(END - HOUR).toISOString(), end: new Date(END + HOUR).toISOString(), ...scope };
    const plan = planAlerts({ now: END, observations: flapping(true, true), previous: [], config: { ...config, maintenance: [window] } });
    const flap = plan.next.find((s) => s.slo === "anycast:flapping:edge")!;
    expect(flap.status).toBe("firing");
    expect(plan.notifications.length).toBe(holds ? 0 : 1);
    expect(flap.held).toBe(holds ? "maintenance" : null);
  });

  it("quorum by alert name gates a per-region page", () => {
    const plan = planAlerts({
      now: END,
      observations: flapping(true, true),
      previous: [],
      config: { ...config, quorum: { "anycast:flapping:edge": 2 } },
    });
    expect(plan.notifications).toEqual([]);
    expect(plan.next.find((s) => s.slo === "anycast:flapping:edge")!.held).toBe("quorum");
  });
});
