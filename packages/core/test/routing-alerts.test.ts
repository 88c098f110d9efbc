// Routing findings through the alert lifecycle end to end: BGP events folded
// into a snapshot, judged, observed, planned: a hijack pages once, renotifies,
// and resolves with the state that ended it; quorum never gates it,
// maintenance holds it, a collector outage neither fires nor resolves.
import { describe, expect, it } from "vitest";
import { routingAlertObservations } from "../src/alerts/routing";
import {
  type AlertPlan,
  type AlertState,
  type AlertingConfig,
  alertEventDetailSchema,
  decodeAlertKey,
  mergeNotificationParts,
  planAlerts,
} from "../src/index";
import { type BgpConfig, bgpConfigSchema } from "../src/routing/config";
import type { BgpEvent } from "../src/routing/event";
import { routingAssessment } from "../src/routing/findings";
import type { RoutingSnapshot } from "../src/routing/repository";
import { indexVrps } from "../src/routing/rpki";
import { applyBgpEvents } from "../src/routing/state";
import { MINUTE_MS } from "../src/time";
import { T0, WATCHED, announce, cleanAnnouncements, session, withdraw } from "./routing-fixtures";

const BGP: BgpConfig = bgpConfigSchema.parse({ prefixes: [WATCHED], minPeers: 3 });
type Config = Pick<AlertingConfig, "renotifyMinutes" | "maintenance" | "quorum">;
const ALERTING: Config = { renotifyMinutes: 60, maintenance: [], quorum: {} };
const HIJACK = "routing:origin-hijack:198.51.100.0/24";
const hijack = (timeMs: number) => [1, 2, 3].map((n) => announce(n, timeMs + n, [65000 + n, 64666]));
const restore = (timeMs: number) => [1, 2, 3].map((n) => announce(n, timeMs + n, [65000 + n, 64510, 64500]));

/** Evaluations once a minute; each step's events are folded into the snapshot before it is judged. */
function run(steps: BgpEvent[][], alerting: Config = ALERTING, bgp: BgpConfig = BGP): { plans: AlertPlan[]; states: AlertState[] } {
  let snapshot: RoutingSnapshot | null = null;
  let previous: AlertState[] = [];
  const plans: AlertPlan[] = [];
  steps.forEach((events, i) => {
    snapshot = applyBgpEvents(snapshot, WATCHED, events);
    const observations = routingAlertObservations([routingAssessment(snapshot, WATCHED, bgp)], bgp);
    const plan = planAlerts({ now: T0 + (i + 1) * MINUTE_MS, observations, previous, config: alerting });
    plans.push(plan);
    previous = plan.next;
  });
  return { plans, states: previous };
}

const sent = (plan: AlertPlan) => plan.notifications.map((n) => `${n.kind} ${n.slo}`);

describe("routing alerts through planAlerts", () => {
  it("pages an origin hijack once, renotifies, and resolves with the origin restored", () => {
    const steps: BgpEvent[][] = [
      cleanAnnouncements(5, T0),
      hijack(T0 + MINUTE_MS),
      [],
      ...Array.from({ length: 60 }, () => []),
      restore(T0 + 70 * MINUTE_MS),
      [],
    ];
    const { plans, states } = run(steps);
    const timeline = plans.map(sent);
    expect(timeline[0]).toEqual([]);
    expect(timeline[1]).toEqual([`firing ${HIJACK}`]);
    expect(timeline.slice(2, 61).flat()).toEqual([]);
    expect(timeline[61]).toEqual([`renotify ${HIJACK}`]);
    expect(timeline[63]).toEqual([`resolved ${HIJACK}`]);
    expect(timeline[64]).toEqual([]);

    const fired = plans[1]!.notifications[0]!;
    expect(alertEventDetailSchema.parse(fired)).toEqual(fired);
    expect(fired).toMatchObject({
      severity: "page",
      scopes: [expect.objectContaining({ scope: "pooled" })],
      regions: [],
      command: "popwatch bgp events --prefix 198.51.100.0/24 --since 1h",
      routing: {
        condition: "origin-hijack",
        prefix: "198.51.100.0/24",
        asns: [64666],
        prefixes: ["198.51.100.0/24"],
        peers: 3,
        expected: [64500],
        originsSeen: [64500, 64666],
        peersSeeing: 5,
        peersReporting: 5,
        visibility: 1,
        minPeers: 3,
        asOf: new Date(T0 + MINUTE_MS + 3).toISOString(),
      },
    });
    const resolved = plans[63]!.notifications[0]!;
    expect(alertEventDetailSchema.parse(resolved)).toEqual(resolved);
    // The resolve carries the state that ended it: only the expected origin now.
    expect(resolved.routing).toMatchObject({ asns: [], prefixes: [], peers: 0, originsSeen: [64500] });
    expect(states.find((s) => s.slo === HIJACK)).toMatchObject({ status: "resolved", announced: false });
    // Parts stored per key merge back into what was sent.
    expect(mergeNotificationParts(plans[1]!.updates.flatMap((u) => u.notifications))).toEqual(plans[1]!.notifications);
  });

  it("pages a more-specific and resolves once it is withdrawn", () => {
    const more = [1, 2, 3].map((n) => announce(n, T0 + MINUTE_MS + n, [65000 + n, 64510, 64500], "198.51.100.128/25"));
    const gone = [1, 2, 3].map((n) => withdraw(n, T0 + 2 * MINUTE_MS + n, "198.51.100.128/25"));
    const { plans } = run([cleanAnnouncements(4, T0), more, gone]);
    expect(plans.map(sent)).toEqual([
      [],
      ["firing routing:sub-prefix-hijack:198.51.100.0/24"],
      ["resolved routing:sub-prefix-hijack:198.51.100.0/24"],
    ]);
    expect(plans[1]!.notifications[0]!.routing).toMatchObject({ asns: [64500], prefixes: ["198.51.100.128/25"], maxLength: 24 });
  });

  it("is never held by a region quorum, even one configured under its name", () => {
    const { plans } = run([cleanAnnouncements(5, T0), hijack(T0 + MINUTE_MS)], { ...ALERTING, quorum: { [HIJACK]: 3 } });
    expect(plans[1]!.notifications.map((n) => n.slo)).toEqual([HIJACK]);
  });

  it("is held in a maintenance window that names it, and delivered when the window ends", () => {
    const window = { start: new Date(T0).toISOString(), end: new Date(T0 + 3 * MINUTE_MS).toISOString(), slos: [HIJACK] };
    const { plans } = run([cleanAnnouncements(5, T0), hijack(T0 + MINUTE_MS), [], []], { ...ALERTING, maintenance: [window] });
    // Evaluations at T0 + 1…4 minutes; the window ends (exclusive) at the third.
    expect(plans.map(sent)).toEqual([[], [], [`firing ${HIJACK}`], []]);
    expect(plans[1]!.transitions[0]).toMatchObject({ slo: HIJACK, to: "firing", suppressedBy: "maintenance" });
  });

  it("neither fires nor resolves while too few peers report", () => {
    const outage = [1, 2, 3, 4].map((n) => session(n, T0 + 2 * MINUTE_MS + n, false));
    const back = [...cleanAnnouncements(5, T0 + 3 * MINUTE_MS)];
    const { plans } = run([cleanAnnouncements(5, T0), hijack(T0 + MINUTE_MS), outage, back]);
    expect(plans.map(sent)).toEqual([[], [`firing ${HIJACK}`], [], [`resolved ${HIJACK}`]]);
    // During the outage every routing observation was held back.
    expect(plans[2]!.transitions).toEqual([]);
  });

  it("alerts on visibility with the configured severity and says when it is visible again", () => {
    const bgp = bgpConfigSchema.parse({ prefixes: [WATCHED], minPeers: 3, visibilitySeverity: "ticket" });
    const lost = [1, 2, 3].map((n) => withdraw(n, T0 + MINUTE_MS + n));
    const { plans } = run([cleanAnnouncements(5, T0), lost, restore(T0 + 2 * MINUTE_MS)], ALERTING, bgp);
    expect(plans.map(sent)).toEqual([
      [],
      ["firing routing:low-visibility:198.51.100.0/24"],
      ["resolved routing:low-visibility:198.51.100.0/24"],
    ]);
    expect(plans[1]!.notifications[0]).toMatchObject({
      severity: "ticket",
      routing: { peersSeeing: 2, peersReporting: 5, visibility: 0.4, minVisibility: 0.8 },
    });
    expect(plans[2]!.notifications[0]!.routing).toMatchObject({ peersSeeing: 5, visibility: 1 });
  });

  it("observes upstreams only where configured and RPKI only with a VRP file, as tickets", () => {
    const bgp = bgpConfigSchema.parse({
      prefixes: [WATCHED, { prefix: "203.0.113.0/24", origins: [64500] }],
      rpki: { vrpFile: "vrps.json" },
    });
    const assessment = routingAssessment(applyBgpEvents(null, WATCHED, cleanAnnouncements(5, T0)), WATCHED, {
      ...bgp,
      vrps: indexVrps([{ asn: 64500, prefix: WATCHED.prefix, maxLength: 24 }]),
    });
    const observations = routingAlertObservations([assessment], bgp);
    expect(observations.map((o) => [o.slo, o.severity, o.burning, o.heldBack])).toEqual([
      ["routing:low-visibility:198.51.100.0/24", "page", false, false],
      ["routing:low-visibility:203.0.113.0/24", "page", false, true],
      ["routing:origin-hijack:198.51.100.0/24", "page", false, false],
      ["routing:origin-hijack:203.0.113.0/24", "page", false, true],
      ["routing:rpki-invalid:198.51.100.0/24", "ticket", false, false],
      ["routing:rpki-invalid:203.0.113.0/24", "ticket", false, true],
      ["routing:sub-prefix-hijack:198.51.100.0/24", "page", false, false],
      ["routing:sub-prefix-hijack:203.0.113.0/24", "page", false, true],
      ["routing:unexpected-upstream:198.51.100.0/24", "ticket", false, false],
    ]);
    for (const o of observations) expect(decodeAlertKey(o)).toMatchObject({ kind: "routing", scope: "pooled" });
    // Judged without VRPs (the file failed to load): RPKI is held back, the rest is judged.
    const withoutVrps = routingAlertObservations([{ ...assessment, rpkiChecked: false }], bgp);
    expect(withoutVrps.find((o) => o.slo === "routing:rpki-invalid:198.51.100.0/24")?.heldBack).toBe(true);
  });

  it("refuses routing figures that do not match the key", () => {
    const [observation] = routingAlertObservations([routingAssessment(null, WATCHED, BGP)], BGP);
    const wrong = { ...observation!, slo: "routing:origin-hijack:203.0.113.0/24" };
    expect(() => planAlerts({ now: T0, observations: [wrong], previous: [], config: ALERTING })).toThrow(
      /observations\.0\.routing: low-visibility of 198\.51\.100\.0\/24 on alert routing:origin-hijack:203\.0\.113\.0\/24/,
    );
    const bare = { ...observation!, routing: undefined };
    expect(() => planAlerts({ now: T0, observations: [bare], previous: [], config: ALERTING })).toThrow(
      /routing: required on routing alert/,
    );
  });
});
