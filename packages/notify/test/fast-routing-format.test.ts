// Texts of the fast routing alerts: a PoP change says from which PoP to which,
// an outage how many probes failed and since when the target last answered;
// both name the round's slot and when it was judged (the latency's two ends).
import { type AlertObservation, type AnycastAlertDetail, type Notification, planAlerts } from "@popwatch/core";
import { describe, expect, it } from "vitest";
import { describeAnycast, pagerDutyEvent, slackMessage, summaryLine } from "../src/sinks/formats";

const SLOT = "2026-03-02T10:00:20.000Z";
const DETECTED = "2026-03-02T10:00:20.412Z";
const CONFIG = { renotifyMinutes: 240, maintenance: [], quorum: {} };
const RULE = { long: "1 round", short: "2 rounds" };

const change: AnycastAlertDetail = {
  condition: "pop-change",
  target: "edge",
  from: "fra",
  to: "ams",
  changedAt: SLOT,
  kinds: { dns: "ams", http: "ams" },
  stableRounds: 1,
  stableSamples: 2,
  slotAt: SLOT,
  detectedAt: DETECTED,
};
const outage: AnycastAlertDetail = {
  condition: "outage",
  target: "edge",
  probes: 3,
  failed: 3,
  failures: ["refused", "timeout"],
  lastOkAt: "2026-03-02T10:00:10.000Z",
  slotAt: SLOT,
  detectedAt: DETECTED,
};

function fire(anycast: AnycastAlertDetail, severity: "page" | "ticket"): Notification {
  const observation: AlertObservation = {
    slo: `anycast:${anycast.condition}:${anycast.target}`,
    severity,
    scope: "eu-west-1",
    burning: true,
    shortWindowClean: false,
    burnRates: {},
    budgetRemaining: null,
    rule: { ...RULE, factor: 1 },
    anycast,
  };
  return planAlerts({ now: SLOT, observations: [observation], previous: [], config: CONFIG }).notifications[0]!;
}

describe("fast routing alert texts", () => {
  it("a PoP change names both PoPs, the round and the detection time", () => {
    expect(describeAnycast(change, RULE)).toBe(
      `answering PoP fra → ams since the round of ${SLOT} (1 of 2 rounds stable; round ${SLOT}, detected ${DETECTED})`,
    );
    const notification = fire(change, "ticket");
    expect(summaryLine(notification)).toBe(`[FIRING] anycast:pop-change:edge (ticket) in eu-west-1: ${describeAnycast(change, RULE)}`);
    expect(JSON.stringify(slackMessage(notification).blocks)).toContain("answering PoP fra → ams");
    expect(notification.command).toBe("popwatch catchment --since 1h --bucket minute --target edge --region eu-west-1");
  });

  it("a PoP change with unknown ends says so", () => {
    expect(describeAnycast({ ...change, from: null, to: null, changedAt: null }, RULE)).toBe(
      `answering PoP unknown → undetermined (1 of 2 rounds stable; round ${SLOT}, detected ${DETECTED})`,
    );
  });

  it("an outage counts the failed probes, their codes and the last answer; it pages", () => {
    expect(describeAnycast(outage, RULE)).toBe(
      `3 of 3 probes failed (refused, timeout); last answer 2026-03-02T10:00:10.000Z (round ${SLOT}, detected ${DETECTED})`,
    );
    expect(describeAnycast({ ...outage, failures: [], lastOkAt: null }, RULE)).toBe(
      `3 of 3 probes failed; last answer not within the rounds kept (round ${SLOT}, detected ${DETECTED})`,
    );
    const notification = fire(outage, "page");
    const event = pagerDutyEvent(notification, "key");
    expect(event.payload.severity).toBe("critical");
    expect(event.payload.summary).toContain("3 of 3 probes failed");
    expect(notification.command).toBe("popwatch results --since 15m --target edge --region eu-west-1");
  });
});
