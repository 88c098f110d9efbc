// Slack and PagerDuty texts of routing alerts: the AS numbers and prefixes
// involved while they fire, and what recovered when they resolve.
import { type AlertObservation, type AlertState, type Notification, type RoutingAlertDetail, planAlerts } from "@popwatch/core";
import { describe, expect, it } from "vitest";
import { describeRouting, pagerDutyEvent, slackMessage, summaryLine } from "../src/sinks/formats";

const CONFIG = { renotifyMinutes: 240, maintenance: [], quorum: {} };
const FIRED_AT = "2026-03-01T12:00:00.000Z";
const RESOLVED_AT = "2026-03-01T12:07:00.000Z";

const base: RoutingAlertDetail = {
  condition: "origin-hijack",
  prefix: "198.51.100.0/24",
  asns: [],
  prefixes: [],
  peers: 0,
  expected: [64500],
  originsSeen: [64500],
  upstreamsSeen: [64510],
  peersSeeing: 9,
  peersReporting: 10,
  visibility: 0.9,
  minVisibility: 0.8,
  minPeers: 3,
  asOf: "2026-03-01T11:59:30.000Z",
};

function observation(routing: RoutingAlertDetail, burning: boolean): AlertObservation {
  return {
    slo: `routing:${routing.condition}:${routing.prefix}`,
    severity: "page",
    scope: "pooled",
    burning,
    shortWindowClean: !burning,
    burnRates: {},
    budgetRemaining: null,
    rule: { long: "state", short: "state", factor: 1 },
    routing,
  };
}

/** The firing and the resolved notification of one routing alert. */
function lifecycle(firing: RoutingAlertDetail, recovered: RoutingAlertDetail): [Notification, Notification] {
  const first = planAlerts({ now: FIRED_AT, observations: [observation(firing, true)], previous: [], config: CONFIG });
  const previous: AlertState[] = first.next;
  const second = planAlerts({ now: RESOLVED_AT, observations: [observation(recovered, false)], previous, config: CONFIG });
  return [first.notifications[0]!, second.notifications[0]!];
}

describe("routing alert texts", () => {
  it("names the hijacking origins, prefixes and peers, then says the origin is restored", () => {
    const [fired, resolved] = lifecycle(
      { ...base, asns: [64666], prefixes: ["198.51.100.0/24", "198.51.100.128/25"], peers: 4, originsSeen: [64500, 64666] },
      base,
    );
    expect(summaryLine(fired)).toBe(
      "[FIRING] routing:origin-hijack:198.51.100.0/24 (page): origin hijack: AS64666 originates 198.51.100.0/24, 198.51.100.128/25 (expected AS64500), seen by 4 peers",
    );
    expect(summaryLine(resolved)).toBe(
      "[RESOLVED] routing:origin-hijack:198.51.100.0/24 (page): origin restored: 198.51.100.0/24 originated by AS64500 (expected AS64500)",
    );
    const slack = slackMessage(resolved);
    expect(slack.text).toBe(summaryLine(resolved));
    expect(JSON.stringify(slack.blocks)).toContain(
      `origin restored: 198.51.100.0/24 originated by AS64500 (expected AS64500), at ${RESOLVED_AT}`,
    );
    expect(JSON.stringify(slackMessage(fired).blocks)).toContain("AS64666 originates");
    const pd = pagerDutyEvent(resolved, "key");
    expect(pd).toMatchObject({ event_action: "resolve", dedup_key: "popwatch/routing:origin-hijack:198.51.100.0/24/page" });
    expect(pd.payload.summary).toContain("origin restored");
    expect(pd.payload.custom_details.routing).toEqual(base);
  });

  it.each([
    [
      { ...base, condition: "sub-prefix-hijack", asns: [64666], prefixes: ["198.51.100.128/25"], peers: 1, maxLength: 24 },
      "sub-prefix hijack: 198.51.100.128/25 inside 198.51.100.0/24 (longer than /24) announced by AS64666, seen by 1 peer",
      "more-specific withdrawn: nothing longer than /24 inside 198.51.100.0/24",
    ],
    [
      { ...base, condition: "low-visibility", peersSeeing: 2, visibility: 0.2 },
      "198.51.100.0/24 visible to only 2 of 10 peers (20%, threshold 80%)",
      "visible again: 198.51.100.0/24 seen by 9 of 10 peers (90%, threshold 80%)",
    ],
    [
      { ...base, condition: "unexpected-upstream", asns: [64999], prefixes: ["198.51.100.0/24"], peers: 3, expected: [64510, 64511] },
      "unexpected upstream: AS64999 next to the origin of 198.51.100.0/24 (expected AS64510, AS64511), seen by 3 peers",
      "upstream as expected: AS64510 next to the origin of 198.51.100.0/24 (expected AS64510, AS64511)",
    ],
    [
      { ...base, condition: "rpki-invalid", asns: [64666], prefixes: ["198.51.100.0/25"], peers: 5 },
      "RPKI invalid: 198.51.100.0/25 originated by AS64666, seen by 5 peers",
      "RPKI valid again: no invalid announcement inside 198.51.100.0/24",
    ],
  ] as [RoutingAlertDetail, string, string][])("tells %o while it holds and when it recovers", (firing, whileHolds, recovered) => {
    const resolvedDetail = {
      ...base,
      condition: firing.condition,
      expected: firing.expected,
      ...(firing.maxLength === undefined ? {} : { maxLength: firing.maxLength }),
    };
    const [fired, resolved] = lifecycle(firing, resolvedDetail);
    expect(summaryLine(fired)).toBe(`[FIRING] ${fired.slo} (page): ${whileHolds}`);
    expect(summaryLine(resolved)).toBe(`[RESOLVED] ${fired.slo} (page): ${recovered}`);
  });

  it("lists at most eight AS numbers or prefixes and counts the rest", () => {
    const many = Array.from({ length: 11 }, (_, i) => 64600 + i);
    expect(describeRouting({ ...base, asns: many, prefixes: ["198.51.100.0/24"], peers: 3 }, true)).toBe(
      "origin hijack: AS64600, AS64601, AS64602, AS64603, AS64604, AS64605, AS64606, AS64607 and 3 more originate 198.51.100.0/24 (expected AS64500), seen by 3 peers",
    );
  });
});
