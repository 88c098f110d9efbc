import { describe, expect, it } from "vitest";
import { PopwatchCoreError } from "../src/errors";
import {
  type AlertObservation,
  type AlertPlan,
  type AlertState,
  type AlertingConfig,
  type Notification,
  alertEventDetailSchema,
  mergeNotificationParts,
  planAlerts,
} from "../src/index";

type Config = Pick<AlertingConfig, "renotifyMinutes" | "maintenance" | "quorum">;
const BASE: Config = { renotifyMinutes: 240, maintenance: [], quorum: {} };
const T0 = Date.parse("2025-03-01T12:00:00.000Z");
const minutes = (n: number): number => T0 + n * 60_000;
const iso = (n: number): string => new Date(minutes(n)).toISOString();

const PAGE_RULE = { long: "1h", short: "5m", factor: 14.4 };

function observe(scope: string, state: "burning" | "dirty" | "clean" | "held", extra: Partial<AlertObservation> = {}): AlertObservation {
  return {
    slo: "checkout",
    severity: "page",
    scope,
    burning: state === "burning",
    shortWindowClean: state === "clean",
    ...(state === "held" ? { heldBack: true } : {}),
    burnRates: { "1h": state === "burning" ? 20 : 2, "5m": state === "burning" ? 30 : 0 },
    budgetRemaining: 0.8,
    rule: PAGE_RULE,
    ...extra,
  };
}

/** Runs evaluations in order, feeding each plan's states into the next. */
function runSteps(
  steps: { at: number; observations: AlertObservation[] }[],
  config: Config = BASE,
): { plans: AlertPlan[]; states: AlertState[] } {
  let previous: AlertState[] = [];
  const plans: AlertPlan[] = [];
  for (const step of steps) {
    const plan = planAlerts({ now: minutes(step.at), observations: step.observations, previous, config });
    plans.push(plan);
    previous = plan.next;
  }
  return { plans, states: previous };
}

function entries(plan: AlertPlan): string[] {
  return plan.notifications.flatMap((n) => n.scopes.map((s) => `${n.kind}:${s.scope}`));
}

describe("alert lifecycle", () => {
  it("fires once, stays quiet while firing, resolves only when the short window is clean", () => {
    const { plans, states } = runSteps([
      { at: 0, observations: [observe("eu-west-1", "burning")] },
      { at: 1, observations: [observe("eu-west-1", "burning")] },
      { at: 2, observations: [observe("eu-west-1", "dirty")] },
      { at: 3, observations: [observe("eu-west-1", "clean")] },
      { at: 4, observations: [observe("eu-west-1", "clean")] },
    ]);
    expect(plans.map(entries)).toEqual([["firing:eu-west-1"], [], [], ["resolved:eu-west-1"], []]);
    const fired = plans[0]!.notifications[0]!;
    expect(fired).toMatchObject({
      kind: "firing",
      status: "firing",
      slo: "checkout",
      severity: "page",
      at: iso(0),
      startedAt: iso(0),
      regions: ["eu-west-1"],
      active: ["eu-west-1"],
      budgetRemaining: 0.8,
      rule: PAGE_RULE,
      command: "popwatch report --slo checkout --region eu-west-1",
    });
    expect(fired.notificationId).toBe(`${iso(0)}/page/firing/checkout`);
    const resolved = plans[3]!.notifications[0]!;
    expect(resolved).toMatchObject({ kind: "resolved", status: "resolved", startedAt: iso(0), active: [] });
    expect(resolved.scopes[0]).toMatchObject({ change: "resolved", startedAt: iso(0), resolvedAt: iso(3) });
    expect(states[0]).toMatchObject({ status: "resolved", announced: false, startedAt: iso(0), resolvedAt: iso(3) });
    expect(plans[3]!.transitions).toMatchObject([
      { from: "firing", to: "resolved", notificationId: resolved.notificationId, suppressedBy: null },
    ]);
    for (const plan of plans) for (const n of plan.notifications) expect(alertEventDetailSchema.safeParse(n).success).toBe(true);
  });

  it("an alert raised by the 6h/30m rule resolves only once the 30m window is clean, not on a clean 5m window", () => {
    const slow = { long: "6h", short: "30m", factor: 6 };
    const { plans, states } = runSteps([
      { at: 0, observations: [observe("eu-west-1", "burning", { rule: slow, cleanShortWindows: ["5m"] })] },
      // Nothing burns now; the evaluator shows the fastest rule, whose 5m window is clean, but 30m still has errors.
      { at: 10, observations: [observe("eu-west-1", "clean", { cleanShortWindows: ["5m"] })] },
      // Renotify while waiting must not swap the rule that decides the resolve.
      { at: 250, observations: [observe("eu-west-1", "clean", { cleanShortWindows: ["5m"] })] },
      { at: 260, observations: [observe("eu-west-1", "clean", { cleanShortWindows: ["5m", "30m"] })] },
    ]);
    expect(plans.map(entries)).toEqual([["firing:eu-west-1"], [], ["renotify:eu-west-1"], ["resolved:eu-west-1"]]);
    expect(states[0]).toMatchObject({ status: "resolved", resolvedAt: iso(260) });
  });

  it("without cleanShortWindows, shortWindowClean decides as before", () => {
    const { plans } = runSteps([
      { at: 0, observations: [observe("eu-west-1", "burning", { rule: { long: "6h", short: "30m", factor: 6 } })] },
      { at: 1, observations: [observe("eu-west-1", "clean")] },
    ]);
    expect(plans.map(entries)).toEqual([["firing:eu-west-1"], ["resolved:eu-west-1"]]);
  });

  it("fires again after a resolve, as a new episode", () => {
    const { plans } = runSteps([
      { at: 0, observations: [observe("eu-west-1", "burning")] },
      { at: 5, observations: [observe("eu-west-1", "clean")] },
      { at: 9, observations: [observe("eu-west-1", "burning")] },
    ]);
    expect(plans.map(entries)).toEqual([["firing:eu-west-1"], ["resolved:eu-west-1"], ["firing:eu-west-1"]]);
    expect(plans[2]!.notifications[0]!.startedAt).toBe(iso(9));
    expect(plans[2]!.transitions[0]).toMatchObject({ from: "resolved", to: "firing" });
  });

  it("renotifies after the interval, measured from the last notification", () => {
    const steps = [0, 100, 239, 240, 300, 479, 480].map((at) => ({ at, observations: [observe("eu-west-1", "burning")] }));
    const { plans } = runSteps(steps);
    expect(plans.map((p) => p.notifications.map((n) => n.kind))).toEqual([["firing"], [], [], ["renotify"], [], [], ["renotify"]]);
    expect(plans[3]!.notifications[0]!.startedAt).toBe(iso(0));
    expect(plans[3]!.notifications[0]!.scopes[0]!.change).toBe("renotify");
  });

  it("never renotifies when renotifyMinutes is 0", () => {
    const steps = [0, 240, 10_000].map((at) => ({ at, observations: [observe("eu-west-1", "burning")] }));
    expect(runSteps(steps, { ...BASE, renotifyMinutes: 0 }).plans.map(entries)).toEqual([["firing:eu-west-1"], [], []]);
  });

  it("a held-back observation neither fires nor resolves", () => {
    const quiet = runSteps([{ at: 0, observations: [observe("eu-west-1", "burning", { heldBack: true })] }]);
    expect(quiet.plans[0]!.notifications).toEqual([]);
    expect(quiet.states[0]!.status).toBe("inactive");
    const { plans, states } = runSteps([
      { at: 0, observations: [observe("eu-west-1", "burning")] },
      { at: 1, observations: [observe("eu-west-1", "held", { shortWindowClean: true })] },
    ]);
    expect(plans[1]!.transitions).toEqual([]);
    expect(states[0]!.status).toBe("firing");
  });

  it("keeps the state of a key that is no longer observed", () => {
    const { plans, states } = runSteps([
      { at: 0, observations: [observe("eu-west-1", "burning")] },
      { at: 1, observations: [] },
    ]);
    expect(plans[1]!.updates).toEqual([]);
    expect(states).toHaveLength(1);
    expect(states[0]!.status).toBe("firing");
  });

  it("does not renotify a key that is no longer observed (no current figures to repeat)", () => {
    const { plans } = runSteps([
      { at: 0, observations: [observe("eu-west-1", "burning")] },
      { at: 250, observations: [] },
      { at: 251, observations: [observe("eu-west-1", "burning")] },
    ]);
    expect(plans.map(entries)).toEqual([["firing:eu-west-1"], [], ["renotify:eu-west-1"]]);
  });

  it("groups regions of one SLO and severity into one notification per kind", () => {
    const { plans } = runSteps([
      { at: 0, observations: [observe("eu-west-1", "burning"), observe("us-east-1", "burning"), observe("ap-south-1", "clean")] },
      {
        at: 1,
        observations: [
          observe("eu-west-1", "clean"),
          observe("us-east-1", "burning"),
          observe("ap-south-1", "burning", { burnRates: { "1h": 50, "5m": 60 } }),
        ],
      },
    ]);
    expect(plans[0]!.notifications).toHaveLength(1);
    expect(plans[0]!.notifications[0]!.regions).toEqual(["eu-west-1", "us-east-1"]);
    expect(plans[1]!.notifications.map((n) => [n.kind, n.regions, n.active])).toEqual([
      ["firing", ["ap-south-1"], ["ap-south-1", "us-east-1"]],
      ["resolved", ["eu-west-1"], ["ap-south-1", "us-east-1"]],
    ]);
  });

  it("orders scopes most burning first and leads the summary with the first", () => {
    const { plans } = runSteps([
      {
        at: 0,
        observations: [
          observe("eu-west-1", "burning", { burnRates: { "1h": 16, "5m": 20 }, budgetRemaining: 0.9 }),
          observe("pooled", "burning", { burnRates: { "1h": 15, "5m": 20 }, budgetRemaining: 0.95 }),
          observe("us-east-1", "burning", { burnRates: { "1h": 40, "5m": 50 }, budgetRemaining: 0.3 }),
        ],
      },
    ]);
    const [n] = plans[0]!.notifications;
    expect(n!.scopes.map((s) => s.scope)).toEqual(["us-east-1", "eu-west-1", "pooled"]);
    expect(n!.regions).toEqual(["us-east-1", "eu-west-1"]);
    expect(n!.burnRates).toEqual({ "1h": 40, "5m": 50 });
    expect(n!.budgetRemaining).toBe(0.3);
    expect(n!.command).toBe("popwatch report --slo checkout");
    expect(n!.scopes[2]!.command).toBe("popwatch report --slo checkout");
  });

  describe("maintenance", () => {
    const window = { start: iso(10), end: iso(20) };

    it("suppresses a firing inside the window and delivers it when the window ends", () => {
      const { plans } = runSteps(
        [
          { at: 12, observations: [observe("eu-west-1", "burning")] },
          { at: 15, observations: [observe("eu-west-1", "burning")] },
          { at: 20, observations: [observe("eu-west-1", "burning")] },
        ],
        { ...BASE, maintenance: [window] },
      );
      expect(plans.map(entries)).toEqual([[], [], ["firing:eu-west-1"]]);
      expect(plans[0]!.transitions).toMatchObject([{ from: "inactive", to: "firing", notificationId: null, suppressedBy: "maintenance" }]);
      expect(plans[0]!.next[0]!.held).toBe("maintenance");
      // Delivered late, the notification still says when the episode started.
      expect(plans[2]!.notifications[0]!.startedAt).toBe(iso(12));
      expect(plans[2]!.transitions).toEqual([]);
    });

    it("never delivers an episode that began and ended inside the window", () => {
      const { plans } = runSteps(
        [
          { at: 12, observations: [observe("eu-west-1", "burning")] },
          { at: 15, observations: [observe("eu-west-1", "clean")] },
          { at: 25, observations: [observe("eu-west-1", "clean")] },
        ],
        { ...BASE, maintenance: [window] },
      );
      expect(plans.flatMap((p) => p.notifications)).toEqual([]);
      expect(plans[1]!.transitions).toMatchObject([{ to: "resolved", suppressedBy: "maintenance" }]);
    });

    it("delivers a resolve held by the window once it ends", () => {
      const { plans } = runSteps(
        [
          { at: 5, observations: [observe("eu-west-1", "burning")] },
          { at: 15, observations: [observe("eu-west-1", "clean")] },
          { at: 21, observations: [observe("eu-west-1", "clean")] },
        ],
        { ...BASE, maintenance: [window] },
      );
      expect(plans.map(entries)).toEqual([["firing:eu-west-1"], [], ["resolved:eu-west-1"]]);
      expect(plans[2]!.notifications[0]!.scopes[0]!.resolvedAt).toBe(iso(15));
    });

    it("covers only the SLOs and regions it names", () => {
      const scoped = { ...window, slos: ["checkout"], regions: ["eu-west-1"] };
      const { plans } = runSteps(
        [
          {
            at: 12,
            observations: [
              observe("eu-west-1", "burning"),
              observe("us-east-1", "burning"),
              observe("eu-west-1", "burning", { slo: "login" }),
            ],
          },
        ],
        { ...BASE, maintenance: [scoped] },
      );
      expect(plans[0]!.notifications.map((n) => [n.slo, n.regions])).toEqual([
        ["checkout", ["us-east-1"]],
        ["login", ["eu-west-1"]],
      ]);
    });
  });

  describe("region quorum", () => {
    const quorum: Config = { ...BASE, quorum: { checkout: 2 } };

    it("holds per-region pages until enough regions fire, then sends them together", () => {
      const { plans } = runSteps(
        [
          { at: 0, observations: [observe("eu-west-1", "burning"), observe("us-east-1", "clean")] },
          { at: 1, observations: [observe("eu-west-1", "burning"), observe("us-east-1", "burning")] },
        ],
        quorum,
      );
      expect(plans[0]!.notifications).toEqual([]);
      expect(plans[0]!.transitions).toMatchObject([{ scope: "eu-west-1", suppressedBy: "quorum" }]);
      expect(plans[1]!.notifications.map((n) => [n.kind, n.regions])).toEqual([["firing", ["eu-west-1", "us-east-1"]]]);
      expect(plans[1]!.notifications[0]!.scopes.find((s) => s.scope === "eu-west-1")!.startedAt).toBe(iso(0));
    });

    it("does not gate the pooled scope, tickets, or resolves", () => {
      const { plans } = runSteps(
        [
          {
            at: 0,
            observations: [
              observe("pooled", "burning"),
              observe("eu-west-1", "burning", { severity: "ticket" }),
              observe("eu-west-1", "burning"),
              observe("us-east-1", "burning"),
            ],
          },
          {
            at: 1,
            observations: [
              observe("pooled", "burning"),
              observe("eu-west-1", "burning", { severity: "ticket" }),
              observe("eu-west-1", "clean"),
              observe("us-east-1", "burning"),
            ],
          },
        ],
        quorum,
      );
      expect(plans[0]!.notifications.map((n) => [n.severity, n.kind, n.scopes.map((s) => s.scope).sort()])).toEqual([
        ["page", "firing", ["eu-west-1", "pooled", "us-east-1"]],
        ["ticket", "firing", ["eu-west-1"]],
      ]);
      // Quorum is lost when eu-west-1 resolves, but its resolve still goes out.
      expect(plans[1]!.notifications.map((n) => [n.kind, n.regions])).toEqual([["resolved", ["eu-west-1"]]]);
    });
  });

  it("is deterministic, and replaying an evaluation on its own result changes nothing", () => {
    const observations = [observe("eu-west-1", "burning"), observe("pooled", "burning"), observe("us-east-1", "clean")];
    const first = planAlerts({ now: minutes(0), observations, previous: [], config: BASE });
    expect(planAlerts({ now: minutes(0), observations, previous: [], config: BASE })).toEqual(first);
    const replay = planAlerts({ now: minutes(0), observations, previous: first.next, config: BASE });
    expect(replay.notifications).toEqual([]);
    expect(replay.updates).toEqual([]);
    expect(replay.next).toEqual(first.next);
  });

  it("writes only changed states, each with its own share of the notifications", () => {
    const { plans } = runSteps([
      { at: 0, observations: [observe("eu-west-1", "burning"), observe("us-east-1", "burning"), observe("ap-south-1", "clean")] },
    ]);
    const plan = plans[0]!;
    expect(plan.updates.map((u) => u.state.scope)).toEqual(["eu-west-1", "us-east-1"]);
    for (const update of plan.updates) {
      expect(update.notifications.every((n) => n.scopes.length === 1 && n.scopes[0]!.scope === update.state.scope)).toBe(true);
    }
    expect(mergeNotificationParts(plan.updates.flatMap((u) => u.notifications))).toEqual(plan.notifications);
  });

  it("refuses input it cannot plan on, naming the field", () => {
    const fail = (observations: unknown[], previous: AlertState[] = []): string => {
      try {
        planAlerts({ now: T0, observations: observations as AlertObservation[], previous, config: BASE });
      } catch (err) {
        expect(err).toBeInstanceOf(PopwatchCoreError);
        expect((err as PopwatchCoreError).code).toBe("alert_input_invalid");
        return (err as Error).message;
      }
      throw new Error("expected a PopwatchCoreError");
    };
    expect(fail([observe("eu-west-1", "burning", { severity: "urgent" as never })])).toMatch(/^observations\.0\.severity: /);
    expect(fail([observe("eu-west-1", "clean"), observe("eu-west-1", "burning")])).toMatch(/^observations\.1: a second observation/);
    expect(fail([observe("eu-west-1", "clean", { burnRates: { "1h": Number.NaN } })])).toMatch(/^observations\.0\.burnRates\.1h: /);
    expect(() => planAlerts({ now: "yesterday", observations: [], previous: [], config: BASE })).toThrow(PopwatchCoreError);
  });

  it("emits notifications the detail schema accepts, and the schema refuses drift", () => {
    const n: Notification = runSteps([{ at: 0, observations: [observe("eu-west-1", "burning")] }]).plans[0]!.notifications[0]!;
    expect(alertEventDetailSchema.parse(n)).toEqual(n);
    expect(alertEventDetailSchema.safeParse({ ...n, extra: 1 }).success).toBe(false);
    expect(alertEventDetailSchema.safeParse({ ...n, scopes: [] }).success).toBe(false);
    expect(alertEventDetailSchema.safeParse({ ...n, severity: "critical" }).success).toBe(false);
  });
});
