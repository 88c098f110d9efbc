import { describe, expect, it } from "vitest";
import {
  type FastRoutingInput,
  fastRoutingObservations,
  fastRoutingSeverities,
  roundOutcome,
  roundOutcomes,
  roundPop,
} from "../src/alerts/fast-routing";
import { ANALYTICS_DEFAULTS, analyticsConfigSchema } from "../src/analytics/config";
import { type AlertState, type Notification, type RegionalResult, planAlerts } from "../src/index";
import { ROUND_MS, T0, result, stream } from "./analytics-fixtures";

const REGION = "eu-central-1";
const ALERTING = { renotifyMinutes: 240, maintenance: [], quorum: {} };

/** One round's results from a token per kind, as analytics-fixtures reads them ("fra", "x", "x:ams", "?"). */
function round(index: number, byKind: Partial<Record<"dns" | "http" | "tcp", string>>, target = "anycast"): RegionalResult[] {
  return Object.entries(byKind).flatMap(([kind, token]) =>
    stream(token!, { target, region: REGION, kind: kind as "dns", startMs: T0 + index * ROUND_MS }),
  );
}

/**
 * Drives the lifecycle round by round as the probe does: observations from
 * each round and the rounds before it, planned against the states the last
 * round left. Returns every notification in order.
 */
function drive(rounds: RegionalResult[][], analytics = ANALYTICS_DEFAULTS): Notification[] {
  const outcomes = rounds.map((results, i) => roundOutcome(REGION, T0 + i * ROUND_MS, results));
  let states: AlertState[] = [];
  const sent: Notification[] = [];
  outcomes.forEach((current, i) => {
    const observations = fastRoutingObservations({
      current,
      history: outcomes.slice(0, i),
      detectedAtMs: current.slotMs + 1500,
      analytics,
    });
    const plan = planAlerts({ now: current.slotMs, observations, previous: states, config: ALERTING });
    states = plan.next;
    sent.push(...plan.notifications);
  });
  return sent;
}

const brief = (n: Notification) => ({ slo: n.slo, kind: n.kind, anycast: n.anycast });

describe("fast routing: PoP change", () => {
  it("A, A, B: one change A→B, resolved once B has answered failoverMinStableSamples rounds", () => {
    const sent = drive([round(0, { dns: "fra" }), round(1, { dns: "fra" }), round(2, { dns: "ams" }), round(3, { dns: "ams" })]);
    expect(sent.map((n) => [n.slo, n.kind, n.at])).toEqual([
      ["anycast:pop-change:anycast", "firing", new Date(T0 + 2 * ROUND_MS).toISOString()],
      ["anycast:pop-change:anycast", "resolved", new Date(T0 + 3 * ROUND_MS).toISOString()],
    ]);
    expect(sent[0]!.anycast).toEqual({
      condition: "pop-change",
      target: "anycast",
      from: "fra",
      to: "ams",
      changedAt: new Date(T0 + 2 * ROUND_MS).toISOString(),
      kinds: { dns: "ams" },
      stableRounds: 1,
      stableSamples: 2,
      slotAt: new Date(T0 + 2 * ROUND_MS).toISOString(),
      detectedAt: new Date(T0 + 2 * ROUND_MS + 1500).toISOString(),
    });
    expect(sent[0]!.severity).toBe("ticket");
    expect(sent[0]!.scopes[0]!.scope).toBe(REGION);
    expect(sent[1]!.anycast).toMatchObject({ from: "fra", to: "ams", stableRounds: 2 });
  });

  it("a steady PoP notifies nothing", () => {
    expect(drive([0, 1, 2, 3, 4].map((i) => round(i, { dns: "fra", http: "fra" })))).toEqual([]);
  });

  it("flapping A, B, A, B, B fires once and resolves once, after the PoP it settled on was stable", () => {
    const sent = drive(["fra", "ams", "fra", "ams", "ams"].map((pop, i) => round(i, { dns: pop })));
    expect(sent.map((n) => n.kind)).toEqual(["firing", "resolved"]);
    expect(sent[0]!.anycast).toMatchObject({ from: "fra", to: "ams" });
    expect(sent[1]!.at).toBe(new Date(T0 + 4 * ROUND_MS).toISOString());
    expect(sent[1]!.anycast).toMatchObject({ from: "fra", to: "ams", stableRounds: 2 });
  });

  it("kinds disagreeing in a tie keep the previous PoP: no change", () => {
    const sent = drive([
      round(0, { dns: "fra", http: "fra" }),
      round(1, { dns: "fra", http: "ams" }),
      round(2, { dns: "ams", http: "fra" }),
    ]);
    expect(sent).toEqual([]);
  });

  it("the PoP most kinds agree on decides; a majority moving is a change", () => {
    const sent = drive([
      round(0, { dns: "fra", http: "fra", tcp: "fra" }),
      round(1, { dns: "ams", http: "ams", tcp: "fra" }),
      round(2, { dns: "ams", http: "ams", tcp: "ams" }),
    ]);
    expect(sent.map(brief)).toEqual([
      {
        slo: "anycast:pop-change:anycast",
        kind: "firing",
        anycast: expect.objectContaining({ from: "fra", to: "ams", kinds: { dns: "ams", http: "ams", tcp: "fra" } }),
      },
      { slo: "anycast:pop-change:anycast", kind: "resolved", anycast: expect.objectContaining({ to: "ams", stableRounds: 2 }) },
    ]);
  });

  it("a tie without the previous PoP among it is undetermined: the round is held back", () => {
    const outcomes = [
      roundOutcome(REGION, T0, round(0, { dns: "fra", http: "fra" })),
      roundOutcome(REGION, T0 + ROUND_MS, round(1, { dns: "ams", http: "lhr" })),
    ];
    const [change] = fastRoutingObservations(input(outcomes[1]!, outcomes.slice(0, 1))).filter((o) => o.slo.includes("pop-change"));
    expect(change).toMatchObject({ heldBack: true, burning: false, anycast: { to: null, from: null } });
    expect(roundPop(outcomes[1]!.targets.anycast, "ams")).toBe("ams");
    expect(roundPop(outcomes[1]!.targets.anycast, null)).toBeNull();
  });

  it("a change across a round without answers is still a change from the last PoP identified", () => {
    const sent = drive([round(0, { dns: "fra" }), round(1, { dns: "x" }), round(2, { dns: "ams" })]).filter((n) =>
      n.slo.includes("pop-change"),
    );
    expect(sent.map((n) => [n.kind, n.anycast])).toEqual([["firing", expect.objectContaining({ from: "fra", to: "ams" })]]);
  });
});

describe("fast routing: outage", () => {
  it("fires once when every probe fails, stays quiet while it lasts, resolves once when the target answers", () => {
    const tokens = ["fra", "fra", "x", "x", "x", "fra", "fra"];
    const sent = drive(tokens.map((t, i) => round(i, { dns: t, http: t }))).filter((n) => n.slo.includes("outage"));
    expect(sent.map((n) => [n.kind, n.at, n.severity])).toEqual([
      ["firing", new Date(T0 + 2 * ROUND_MS).toISOString(), "page"],
      ["resolved", new Date(T0 + 5 * ROUND_MS).toISOString(), "page"],
    ]);
    expect(sent[0]!.anycast).toEqual({
      condition: "outage",
      target: "anycast",
      probes: 2,
      failed: 2,
      failures: ["timeout"],
      lastOkAt: new Date(T0 + ROUND_MS).toISOString(),
      slotAt: new Date(T0 + 2 * ROUND_MS).toISOString(),
      detectedAt: new Date(T0 + 2 * ROUND_MS + 1500).toISOString(),
    });
  });

  it("one kind still answering is no outage", () => {
    expect(drive([round(0, { dns: "fra", http: "fra" }), round(1, { dns: "x", http: "fra" })])).toEqual([]);
  });

  it("a target failing from its first round is judged from the round after (it must have been seen before)", () => {
    const sent = drive([round(0, { dns: "x" }), round(1, { dns: "x" })]);
    expect(sent.map((n) => [n.slo, n.kind, n.at])).toEqual([["anycast:outage:anycast", "firing", new Date(T0 + ROUND_MS).toISOString()]]);
  });

  it("flapping up and down fires and resolves each episode once", () => {
    const tokens = ["fra", "x", "fra", "x", "x", "fra"];
    const sent = drive(tokens.map((t, i) => round(i, { dns: t }))).filter((n) => n.slo.includes("outage"));
    expect(sent.map((n) => n.kind)).toEqual(["firing", "resolved", "firing", "resolved"]);
  });

  it("targets are judged apart", () => {
    const sent = drive([
      [...round(0, { dns: "fra" }, "a"), ...round(0, { dns: "fra" }, "b")],
      [...round(1, { dns: "x" }, "a"), ...round(1, { dns: "fra" }, "b")],
    ]);
    expect(sent.map((n) => n.slo)).toEqual(["anycast:outage:a"]);
  });
});

describe("fast routing: config and inputs", () => {
  it("severities follow analytics.alerts; false turns a condition off", () => {
    expect(fastRoutingSeverities(ANALYTICS_DEFAULTS)).toEqual({ "pop-change": "ticket", outage: "page" });
    const off = analyticsConfigSchema.parse({ alerts: { popChange: false, outage: "ticket" } });
    expect(fastRoutingSeverities(off)).toEqual({ outage: "ticket" });
    const on = analyticsConfigSchema.parse({ alerts: { popChange: true, outage: true } });
    expect(fastRoutingSeverities(on)).toEqual({ "pop-change": "ticket", outage: "page" });
    const none = analyticsConfigSchema.parse({ alerts: { popChange: false, outage: false } });
    const outcome = roundOutcome(REGION, T0, round(0, { dns: "x" }));
    expect(fastRoutingObservations({ ...input(outcome, [outcome]), analytics: none })).toEqual([]);
  });

  it("a resolve waits for failoverMinStableSamples rounds of the new PoP", () => {
    const analytics = analyticsConfigSchema.parse({ failoverMinStableSamples: 3 });
    const sent = drive(
      ["fra", "ams", "ams", "ams"].map((pop, i) => round(i, { dns: pop })),
      analytics,
    );
    expect(sent.map((n) => [n.kind, n.at])).toEqual([
      ["firing", new Date(T0 + ROUND_MS).toISOString()],
      ["resolved", new Date(T0 + 3 * ROUND_MS).toISOString()],
    ]);
  });

  it("roundOutcomes groups stored results by slot and region; later or other-region history is ignored", () => {
    const results = [
      ...round(0, { dns: "fra", http: "fra" }),
      ...round(1, { dns: "x:ams" }),
      result({ ms: T0, ok: true, pop: "lhr", region: "us-east-1" }),
    ];
    const rounds = roundOutcomes(REGION, results);
    expect(rounds).toEqual([
      { region: REGION, slotMs: T0, targets: { anycast: { probes: 2, ok: 2, kinds: { dns: "fra", http: "fra" }, failures: [] } } },
      { region: REGION, slotMs: T0 + ROUND_MS, targets: { anycast: { probes: 1, ok: 0, kinds: { dns: "ams" }, failures: ["timeout"] } } },
    ]);
    const later = { ...rounds[1]!, slotMs: T0 + 5 * ROUND_MS };
    const elsewhere = { ...rounds[1]!, region: "us-east-1" };
    expect(fastRoutingObservations(input(rounds[0]!, [later, elsewhere]))).toEqual(fastRoutingObservations(input(rounds[0]!, [])));
  });

  it("rejects a detection time that is not an instant", () => {
    const outcome = roundOutcome(REGION, T0, round(0, { dns: "fra" }));
    expect(() => fastRoutingObservations({ ...input(outcome, []), detectedAtMs: Number.NaN })).toThrow(/instants/);
  });
});

function input(current: FastRoutingInput["current"], history: FastRoutingInput["history"]): FastRoutingInput {
  return { current, history, detectedAtMs: current.slotMs + 100, analytics: ANALYTICS_DEFAULTS };
}
