// Slack and PagerDuty texts of anycast alerts: they say what happened in PoPs,
// changes and kilometres, not in burn rates (which anycast alerts do not have).
import { type AlertObservation, type AnycastAlertDetail, type Notification, planAlerts } from "@popwatch/core";
import { describe, expect, it } from "vitest";
import { describeAnycast, pagerDutyEvent, slackMessage, summaryLine } from "../src/sinks/formats";

const AT = "2025-06-02T12:00:00.000Z";
const CONFIG = { renotifyMinutes: 240, maintenance: [], quorum: {} };

function observation(scope: string, anycast: AnycastAlertDetail, burning = true): AlertObservation {
  return {
    slo: `anycast:${anycast.condition}:${anycast.target}`,
    severity: anycast.condition === "flapping" ? "page" : "ticket",
    scope,
    burning,
    shortWindowClean: !burning,
    burnRates: {},
    budgetRemaining: null,
    rule: { long: "1h", short: anycast.condition === "detour" ? "1h" : "15m", factor: 1 },
    anycast,
  };
}

function fire(...observations: AlertObservation[]): Notification {
  const [notification] = planAlerts({ now: AT, observations, previous: [], config: CONFIG }).notifications;
  return notification!;
}

const flap = (changes: number): AnycastAlertDetail => ({
  condition: "flapping",
  target: "edge",
  changesPerHour: changes,
  kind: "tcp",
  threshold: 6,
  shortWindowChanges: 2,
  recentEvents: 120,
});
const shift: AnycastAlertDetail = {
  condition: "catchment-shift",
  target: "edge",
  before: "fra",
  beforeShare: 0.97,
  after: "ams",
  afterShare: 0.8,
  baselineEvents: 1440,
  recentEvents: 60,
};
const detour: AnycastAlertDetail = {
  condition: "detour",
  target: "edge",
  pop: "nrt",
  nearestPop: "fra",
  distanceKm: 9352.4,
  nearestKm: 9.6,
  excessKm: 9342.8,
  detourKm: 1000,
  recentEvents: 60,
};

describe("anycast alert texts", () => {
  it.each([
    [flap(9), "answering PoP changed 9 times over 1h (tcp) (threshold 6; 2 over 15m)"],
    [shift, "dominant PoP fra → ams (80% of 60 answers over 1h; 97% of 1440 over the 24 h before)"],
    [detour, "served by nrt 9352 km away, 9343 km further than fra (threshold 1000 km)"],
    [
      { ...detour, pop: "edge42x", nearestPop: null, distanceKm: null, nearestKm: null, excessKm: null },
      "serving PoP edge42x not located (threshold 1000 km)",
    ],
  ] as const)("%#: %s", (detail, text) => {
    expect(describeAnycast(detail, { long: "1h", short: "15m" })).toBe(text);
  });

  it("the summary line and Slack lines use them instead of burn rates", () => {
    const notification = fire(observation("eu-central-1", flap(9)), observation("us-east-1", flap(7)));
    expect(summaryLine(notification)).toBe(
      "[FIRING] anycast:flapping:edge (page) in eu-central-1, us-east-1: answering PoP changed 9 times over 1h (tcp) (threshold 6; 2 over 15m)",
    );
    const slack = slackMessage(notification);
    expect(slack.text).toBe(summaryLine(notification));
    const section = (slack.blocks[1] as { text: { text: string } }).text.text;
    expect(section.split("\n")).toEqual([
      `*eu-central-1* answering PoP changed 9 times over 1h (tcp) (threshold 6; 2 over 15m), since ${AT}`,
      `*us-east-1* answering PoP changed 7 times over 1h (tcp) (threshold 6; 2 over 15m), since ${AT}`,
    ]);
    expect(JSON.stringify(slack)).not.toMatch(/burn|n\/a/);
  });

  it("PagerDuty: one incident per anycast alert and severity, the detail carried along", () => {
    const event = pagerDutyEvent(fire(observation("eu-central-1", detour)), "key");
    expect(event).toMatchObject({
      event_action: "trigger",
      dedup_key: "popwatch/anycast:detour:edge/ticket",
      payload: { severity: "warning", component: "anycast:detour:edge", custom_details: { anycast: detour } },
    });
    expect(event.payload.summary).toBe(
      "[FIRING] anycast:detour:edge (ticket) in eu-central-1: served by nrt 9352 km away, 9343 km further than fra (threshold 1000 km)",
    );
  });

  it("SLO notifications keep their burn-rate texts", () => {
    const slo = fire({
      slo: "edge-availability",
      severity: "page",
      scope: "eu-central-1",
      burning: true,
      shortWindowClean: false,
      burnRates: { "1h": 20, "5m": 100 },
      budgetRemaining: 0.5,
      rule: { long: "1h", short: "5m", factor: 14.4 },
    });
    expect(slo.anycast).toBeUndefined();
    expect(summaryLine(slo)).toBe(
      "[FIRING] edge-availability (page) in eu-central-1: burn rate 20× over 1h (threshold 14.4×), 50% of the error budget left",
    );
  });
});

describe("truncate", () => {
  it("never leaves half of a surrogate pair, and stays within the limit", async () => {
    const { truncate } = await import("../src/sinks/formats");
    const text = `${"a".repeat(8)}😀😀`; // the emoji starts at index 8
    expect(truncate(text, 10)).toBe(`${"a".repeat(8)}…`);
    expect(truncate(text, 11)).toBe(`${"a".repeat(8)}😀…`);
    expect(truncate(text, 12)).toBe(text);
    for (let limit = 2; limit < 12; limit++) {
      const out = truncate(text, limit);
      expect(out.length).toBeLessThanOrEqual(limit);
      expect(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(out)).toBe(false);
    }
  });
});
