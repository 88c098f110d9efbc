// Properties of fast routing over arbitrary round sequences, driven through
// the real lifecycle: receivers hear firing and resolved alternately, never a
// resolve first; a PoP-change episode starts only in a round whose PoP
// differs from the last one identified; an outage fires only in a round in
// which every probe failed and resolves only in one in which a probe answered.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fastRoutingObservations, roundOutcome, roundPop } from "../src/alerts/fast-routing";
import { ANALYTICS_DEFAULTS, analyticsConfigSchema } from "../src/analytics/config";
import { type AlertState, type Notification, type RegionalResult, planAlerts } from "../src/index";
import { ROUND_MS, T0, result } from "./analytics-fixtures";

const REGION = "eu-central-1";
const ALERTING = { renotifyMinutes: 240, maintenance: [], quorum: {} };
const KINDS = ["dns", "tcp", "http"] as const;

/** A round: per kind, null (failed, no PoP) or the PoP that answered. */
const roundArb = fc.array(fc.option(fc.constantFrom("fra", "ams", "lhr"), { nil: null }), { minLength: 1, maxLength: 3 });

function results(index: number, pops: readonly (string | null)[]): RegionalResult[] {
  return pops.map((pop, k) =>
    result({ target: "edge", region: REGION, kind: KINDS[k]!, ms: T0 + index * ROUND_MS, ok: pop !== null, pop }),
  );
}

describe("fast routing properties", () => {
  it("alternates firing and resolved per alert, and fires or resolves only on rounds that say so", () => {
    fc.assert(
      fc.property(fc.array(roundArb, { minLength: 1, maxLength: 25 }), fc.integer({ min: 1, max: 4 }), (rounds, stable) => {
        const analytics = analyticsConfigSchema.parse({ failoverMinStableSamples: stable });
        const outcomes = rounds.map((pops, i) => roundOutcome(REGION, T0 + i * ROUND_MS, results(i, pops)));
        let states: AlertState[] = [];
        const heard = new Map<string, Notification["kind"][]>();
        let last: string | null = null;
        outcomes.forEach((current, i) => {
          const observations = fastRoutingObservations({ current, history: outcomes.slice(0, i), detectedAtMs: current.slotMs, analytics });
          const plan = planAlerts({ now: current.slotMs, observations, previous: states, config: ALERTING });
          states = plan.next;
          const pop = roundPop(current.targets.edge, last);
          const allFailed = rounds[i]!.every((p) => p === null);
          for (const n of plan.notifications) {
            heard.set(n.slo, [...(heard.get(n.slo) ?? []), n.kind]);
            if (n.slo === "anycast:outage:edge") expect(n.kind === "firing" ? allFailed : !allFailed).toBe(true);
            if (n.slo === "anycast:pop-change:edge" && n.kind === "firing") {
              expect(pop).not.toBeNull();
              expect(last).not.toBeNull();
              expect(pop).not.toBe(last);
            }
          }
          if (pop !== null) last = pop;
        });
        for (const kinds of heard.values()) {
          expect(kinds).toEqual(kinds.map((_, k) => (k % 2 === 0 ? "firing" : "resolved")));
        }
      }),
      { numRuns: 300 },
    );
  });

  it("never throws on arbitrary outcomes, and every observation passes the lifecycle's checks", () => {
    const outcomeArb = fc
      .record({
        probes: fc.nat(5),
        ok: fc.nat(5),
        kinds: fc.dictionary(fc.constantFrom(...KINDS), fc.string({ minLength: 1, maxLength: 8 })),
        failures: fc.array(fc.constantFrom("timeout", "refused")),
      })
      .map((o) => ({ ...o, ok: Math.min(o.ok, o.probes) }));
    fc.assert(
      fc.property(fc.array(fc.dictionary(fc.constantFrom("a", "b:c", "d"), outcomeArb), { minLength: 1, maxLength: 6 }), (rounds) => {
        const outcomes = rounds.map((targets, i) => ({ region: REGION, slotMs: T0 + i * ROUND_MS, targets }));
        for (let i = 0; i < outcomes.length; i++) {
          const observations = fastRoutingObservations({
            current: outcomes[i]!,
            history: outcomes.slice(0, i),
            detectedAtMs: T0,
            analytics: ANALYTICS_DEFAULTS,
          });
          expect(() => planAlerts({ now: T0, observations, previous: [], config: ALERTING })).not.toThrow();
        }
      }),
      { numRuns: 200 },
    );
  });

  it("an outcome that contradicts itself is refused with a classified error", () => {
    const current = { region: REGION, slotMs: T0, targets: { edge: { probes: 1, ok: 2, kinds: {}, failures: [] } } };
    expect(() => fastRoutingObservations({ current, history: [], detectedAtMs: T0, analytics: ANALYTICS_DEFAULTS })).toThrow(
      expect.objectContaining({ code: "alert_input_invalid", message: expect.stringMatching(/edge has 2 of 1 probes ok/) }),
    );
  });
});
