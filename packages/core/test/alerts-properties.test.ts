import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { MaintenanceWindow } from "../src/alerts/schema";
import {
  type AlertObservation,
  type AlertState,
  type AlertingConfig,
  alertEventDetailSchema,
  alertKeyString,
  mergeNotificationParts,
  planAlerts,
} from "../src/index";

type Config = Pick<AlertingConfig, "renotifyMinutes" | "maintenance" | "quorum">;
const T0 = Date.parse("2025-03-01T00:00:00.000Z");
const SCOPES = ["pooled", "eu-west-1", "us-east-1", "ap-south-1"] as const;
const SEVERITIES = ["page", "ticket"] as const;
const SLOS = ["checkout", "login"] as const;

const observationArb = fc.record({
  slo: fc.constantFrom(...SLOS),
  severity: fc.constantFrom(...SEVERITIES),
  scope: fc.constantFrom(...SCOPES),
  burning: fc.boolean(),
  shortWindowClean: fc.boolean(),
  heldBack: fc.option(fc.boolean(), { nil: undefined }),
  burnRates: fc.record({ "1h": fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: null }) }),
  budgetRemaining: fc.option(fc.double({ min: -2, max: 1, noNaN: true }), { nil: null }),
});

const stepArb = fc.record({
  /** Minutes since the previous evaluation. */
  advance: fc.integer({ min: 1, max: 150 }),
  observations: fc.uniqueArray(observationArb, { selector: (o) => alertKeyString(o), maxLength: 12 }),
});

const windowArb = fc
  .record({
    startMinute: fc.integer({ min: 0, max: 3000 }),
    length: fc.integer({ min: 1, max: 600 }),
    slos: fc.option(fc.subarray([...SLOS], { minLength: 1 }), { nil: undefined }),
    regions: fc.option(fc.subarray([...SCOPES], { minLength: 1 }), { nil: undefined }),
  })
  .map(
    ({ startMinute, length, slos, regions }): MaintenanceWindow => ({
      start: new Date(T0 + startMinute * 60_000).toISOString(),
      end: new Date(T0 + (startMinute + length) * 60_000).toISOString(),
      ...(slos === undefined ? {} : { slos }),
      ...(regions === undefined ? {} : { regions }),
    }),
  );

const configArb = fc.record({
  renotifyMinutes: fc.constantFrom(0, 30, 240),
  maintenance: fc.array(windowArb, { maxLength: 2 }),
  quorum: fc
    .option(fc.integer({ min: 1, max: 3 }), { nil: undefined })
    .map((q): Record<string, number> => (q === undefined ? {} : { checkout: q })),
});

interface Observed {
  at: number;
  plan: ReturnType<typeof planAlerts>;
  observations: AlertObservation[];
}

function simulate(config: Config, steps: { advance: number; observations: Omit<AlertObservation, "rule">[] }[]): Observed[] {
  let previous: AlertState[] = [];
  let at = T0;
  const history: Observed[] = [];
  for (const step of steps) {
    at += step.advance * 60_000;
    const observations = step.observations.map((o) => ({ ...o, rule: { long: "1h", short: "5m", factor: 14.4 } }));
    const plan = planAlerts({ now: at, observations, previous, config });
    history.push({ at, plan, observations });
    previous = plan.next;
  }
  return history;
}

function covered(config: Config, key: { slo: string; scope: string }, at: number): boolean {
  return config.maintenance.some(
    (w) =>
      Date.parse(w.start) <= at &&
      at < Date.parse(w.end) &&
      (w.slos?.includes(key.slo) ?? true) &&
      (w.regions?.includes(key.scope) ?? true),
  );
}

const RUNS = { numRuns: 300 };

describe("alert lifecycle properties", () => {
  it("per key, receivers hear firing, renotifies, resolved, firing… and never a resolve first", () => {
    fc.assert(
      fc.property(configArb, fc.array(stepArb, { minLength: 1, maxLength: 40 }), (config, steps) => {
        const announced = new Map<string, boolean>();
        for (const { plan } of simulate(config, steps)) {
          for (const notification of plan.notifications) {
            for (const entry of notification.scopes) {
              const key = alertKeyString({ slo: notification.slo, severity: notification.severity, scope: entry.scope });
              const before = announced.get(key) ?? false;
              if (entry.change === "firing") expect(before).toBe(false);
              else expect(before).toBe(true);
              announced.set(key, entry.change !== "resolved");
            }
          }
          // The state's own idea of what receivers believe matches what they were sent.
          for (const state of plan.next) expect(state.announced).toBe(announced.get(alertKeyString(state)) ?? false);
        }
      }),
      RUNS,
    );
  });

  it("renotifies only after the interval since the key's last firing or renotify", () => {
    let renotifies = 0;
    fc.assert(
      fc.property(configArb, fc.array(stepArb, { minLength: 1, maxLength: 40 }), (config, steps) => {
        const lastSent = new Map<string, number>();
        for (const { at, plan } of simulate(config, steps)) {
          for (const notification of plan.notifications) {
            for (const entry of notification.scopes) {
              const key = alertKeyString({ slo: notification.slo, severity: notification.severity, scope: entry.scope });
              if (entry.change === "renotify") {
                renotifies++;
                expect(config.renotifyMinutes).toBeGreaterThan(0);
                expect(at - lastSent.get(key)!).toBeGreaterThanOrEqual(config.renotifyMinutes * 60_000);
              }
              if (entry.change !== "resolved") lastSent.set(key, at);
            }
          }
        }
      }),
      RUNS,
    );
    // The property must not hold vacuously.
    expect(renotifies).toBeGreaterThan(0);
  });

  it("delivers nothing for a key inside a maintenance window that covers it", () => {
    let suppressed = 0;
    fc.assert(
      fc.property(configArb, fc.array(stepArb, { minLength: 1, maxLength: 40 }), (config, steps) => {
        for (const { at, plan } of simulate(config, steps)) {
          for (const notification of plan.notifications) {
            for (const entry of notification.scopes) expect(covered(config, { slo: notification.slo, scope: entry.scope }, at)).toBe(false);
          }
          for (const transition of plan.transitions) {
            if (covered(config, transition, at)) {
              suppressed++;
              expect(transition.notificationId).toBeNull();
              expect(transition.suppressedBy).toBe("maintenance");
            }
          }
        }
      }),
      RUNS,
    );
    expect(suppressed).toBeGreaterThan(0);
  });

  it("changes status only on what the observation says (hysteresis), never on a held-back one", () => {
    fc.assert(
      fc.property(configArb, fc.array(stepArb, { minLength: 1, maxLength: 40 }), (config, steps) => {
        for (const { plan, observations } of simulate(config, steps)) {
          for (const transition of plan.transitions) {
            const observation = observations.find((o) => alertKeyString(o) === alertKeyString(transition))!;
            expect(observation.heldBack).not.toBe(true);
            if (transition.to === "firing") expect(observation.burning).toBe(true);
            else expect([observation.burning, observation.shortWindowClean]).toEqual([false, true]);
          }
        }
      }),
      RUNS,
    );
  });

  it("sends a per-region page only while the region quorum is met", () => {
    let gated = 0;
    fc.assert(
      fc.property(configArb, fc.array(stepArb, { minLength: 1, maxLength: 40 }), (config, steps) => {
        const needed = config.quorum.checkout;
        for (const { plan } of simulate(config, steps)) {
          const firingRegions = plan.next.filter(
            (s) => s.slo === "checkout" && s.severity === "page" && s.scope !== "pooled" && s.status === "firing",
          ).length;
          for (const notification of plan.notifications) {
            if (
              needed === undefined ||
              notification.slo !== "checkout" ||
              notification.severity !== "page" ||
              notification.kind === "resolved"
            )
              continue;
            if (notification.regions.length > 0) {
              gated++;
              expect(firingRegions).toBeGreaterThanOrEqual(needed);
            }
          }
        }
      }),
      RUNS,
    );
    expect(gated).toBeGreaterThan(0);
  });

  it("groups per (SLO, severity, kind), with unique deterministic ids, and replays to a no-op", () => {
    fc.assert(
      fc.property(configArb, fc.array(stepArb, { minLength: 1, maxLength: 25 }), (config, steps) => {
        let previous: AlertState[] = [];
        const ids = new Set<string>();
        for (const { at, plan, observations } of simulate(config, steps)) {
          const groups = plan.notifications.map((n) => `${n.slo}/${n.severity}/${n.kind}`);
          expect(new Set(groups).size).toBe(groups.length);
          for (const n of plan.notifications) {
            expect(ids.has(n.notificationId)).toBe(false);
            ids.add(n.notificationId);
            expect(alertEventDetailSchema.safeParse(n).success).toBe(true);
          }
          expect(mergeNotificationParts(plan.updates.flatMap((u) => u.notifications))).toEqual(plan.notifications);
          expect(planAlerts({ now: at, observations, previous, config })).toEqual(plan);
          const replay = planAlerts({ now: at, observations, previous: plan.next, config });
          expect(replay.notifications).toEqual([]);
          expect(replay.updates).toEqual([]);
          previous = plan.next;
        }
      }),
      { numRuns: 150 },
    );
  });

  it("pays every held firing once nothing holds it any more", () => {
    fc.assert(
      fc.property(configArb, fc.array(stepArb, { minLength: 1, maxLength: 30 }), (config, steps) => {
        const history = simulate(config, steps);
        const last = history[history.length - 1]!;
        // Far past every window, with nothing burning and no quorum: everything owed goes out now.
        const later = last.at + 30 * 24 * 60 * 60_000;
        const observations = last.plan.next.map((s) => ({
          slo: s.slo,
          severity: s.severity,
          scope: s.scope,
          burning: s.status === "firing",
          shortWindowClean: false,
          burnRates: {},
          budgetRemaining: null,
          rule: { long: "1h", short: "5m", factor: 14.4 },
        }));
        const plan = planAlerts({ now: later, observations, previous: last.plan.next, config: { ...config, quorum: {} } });
        for (const state of plan.next) {
          expect(state.held).toBeNull();
          expect(state.announced).toBe(state.status === "firing");
        }
      }),
      RUNS,
    );
  });
});
