// Routing alerts end to end on real parts: BGP events go through the real
// ingest (ingestBgpEvents: the store's conditional event writes, the fold into
// snapshots) on the embedded store (dynalite), the evaluation cycle judges the
// snapshots with the SLO machinery's lifecycle (alert state and outbox in the
// same table), and notifications go to a loopback webhook receiver as Slack
// messages (whose text says what recovered). Times are fixed; the evaluation
// instant is passed, never read.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type EvaluationCycleReport,
  ingestBgpEvents,
  runEvaluationCycle,
  runRoutingAlertCycle,
  summariseEvaluation,
} from "@popwatch/agent";
import { type BgpEvent, type PopwatchConfig, type PopwatchConfigInput, type RouteEvent, parseConfig } from "@popwatch/core";
import { createSinks } from "@popwatch/notify";
import {
  DynamoAlertStateStore,
  DynamoResultStore,
  DynamoRoutingRepository,
  type EmbeddedStore,
  ensureTable,
  startEmbeddedStore,
} from "@popwatch/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type WebhookReceiver, startWebhookReceiver } from "./support/webhook-receiver";

const MINUTE = 60_000;
const T = Date.parse("2025-06-02T12:00:00.000Z");
const PREFIX = "203.0.113.0/24";
const MORE_SPECIFIC = "203.0.113.128/25";
const LEGIT = 64500;
const ROGUE = 64666;
const PEERS = [
  { peer: "198.51.100.1", peerAs: 64601 },
  { peer: "198.51.100.2", peerAs: 64602 },
  { peer: "198.51.100.3", peerAs: 64603 },
  { peer: "198.51.100.4", peerAs: 64604 },
];
const HIJACK = `routing:origin-hijack:${PREFIX}`;
const SUB_PREFIX = `routing:sub-prefix-hijack:${PREFIX}`;
const VISIBILITY = `routing:low-visibility:${PREFIX}`;

function announce(atMs: number, peers: typeof PEERS, prefix: string, origin: number): RouteEvent[] {
  return peers.map(({ peer, peerAs }) => ({
    type: "A",
    timeMs: atMs,
    source: "rrc00",
    peer,
    peerAs,
    prefix,
    asPath: [peerAs, 64510, origin],
    origin,
  }));
}

function withdraw(atMs: number, peers: typeof PEERS, prefix: string): RouteEvent[] {
  return peers.map(({ peer, peerAs }) => ({ type: "W", timeMs: atMs, source: "rrc00", peer, peerAs, prefix, asPath: [], origin: null }));
}

async function* stream(events: readonly BgpEvent[]): AsyncIterable<BgpEvent> {
  yield* events;
}

let dir: string;
let embedded: EmbeddedStore;
let receiver: WebhookReceiver;
let tableSeq = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-routing-alerts-"));
  embedded = await startEmbeddedStore({ dataDir: join(dir, "data") });
  receiver = await startWebhookReceiver();
});
afterAll(async () => {
  await receiver?.close();
  await embedded?.close();
  await rm(dir, { recursive: true, force: true });
});

interface Harness {
  config: PopwatchConfig;
  routing: DynamoRoutingRepository;
  alerts: DynamoAlertStateStore;
  ingest(events: readonly BgpEvent[]): Promise<void>;
  evaluate(atMs: number): Promise<EvaluationCycleReport>;
  /** Webhook bodies received since the harness was made: [header text, full text]. */
  received(): { header: string; text: string }[];
}

async function harness(bgp: Partial<NonNullable<PopwatchConfigInput["bgp"]>> = {}, alerting: PopwatchConfigInput["alerting"] = {}) {
  const tableName = `routing-alerts-${++tableSeq}`;
  await ensureTable(embedded.client, tableName, { pollMs: 10 });
  const config = parseConfig({
    regions: ["eu-central-1"],
    targets: [{ name: "edge", address: "203.0.113.10", probes: { dns: {} } }],
    bgp: { prefixes: [{ prefix: PREFIX, origins: [LEGIT] }], ...bgp },
    alerting: { ...alerting, sinks: [{ type: "webhook", url: receiver.url, format: "slack" }] },
  } as PopwatchConfigInput);
  const store = new DynamoResultStore({ client: embedded.client, tableName });
  const routing = new DynamoRoutingRepository({ client: embedded.client, tableName, clock: () => T });
  const alerts = new DynamoAlertStateStore({ client: embedded.client, tableName });
  const sinks = createSinks(config.alerting.sinks, { homeRegion: config.homeRegion });
  const from = receiver.received.length;
  const h: Harness = {
    config,
    routing,
    alerts,
    ingest: async (events) => {
      const report = await ingestBgpEvents(routing, config.bgp!, stream(events));
      expect(report.interrupted).toBeUndefined();
      expect(report.written).toBe(events.length);
    },
    evaluate: (atMs) => runEvaluationCycle({ config, store, alerts, routing, sinks, regions: config.regions, now: atMs }),
    received: () =>
      receiver.received.slice(from).map((r) => {
        const body = r.body as { text: string; blocks: Array<{ text?: { text: string } }> };
        return { header: body.blocks[0]!.text!.text, text: JSON.stringify(body) };
      }),
  };
  return h;
}

describe("routing alerts through the evaluation cycle", { timeout: 60_000 }, () => {
  it("origin hijack, then sub-prefix hijack: each page once, each recovery with its text", async () => {
    const h = await harness();
    await h.ingest(announce(T, PEERS, PREFIX, LEGIT));
    const calm = await h.evaluate(T + MINUTE);
    expect(calm.routing?.observations.map((o) => [o.slo, o.burning, o.heldBack])).toEqual([
      [VISIBILITY, false, false],
      [HIJACK, false, false],
      [SUB_PREFIX, false, false],
    ]);
    expect(calm.alerts.plan.notifications).toEqual([]);

    // A rogue origin from three of the four peers.
    await h.ingest(announce(T + 2 * MINUTE, PEERS.slice(0, 3), PREFIX, ROGUE));
    const hijacked = await h.evaluate(T + 3 * MINUTE);
    expect(summariseEvaluation(hijacked, h.config.regions)).toMatchObject({
      routingObservations: 3,
      routingProblems: [],
      firing: [{ slo: HIJACK, scope: "pooled", severity: "page" }],
      notificationsPlanned: 1,
      delivered: 1,
      undelivered: 0,
    });
    expect(h.received()).toHaveLength(1);
    expect(h.received()[0]!.header).toContain(HIJACK);
    expect(h.received()[0]!.text).toContain(`origin hijack: AS${ROGUE} originates ${PREFIX} (expected AS${LEGIT}), seen by 3 peers`);

    // The same instant again (a retried scheduled event), and a later minute: nothing new.
    const retried = await h.evaluate(T + 3 * MINUTE);
    expect(retried.alerts.plan.notifications).toEqual([]);
    expect(retried.alerts.delivery.delivered).toEqual([]);
    expect((await h.evaluate(T + 4 * MINUTE)).alerts.plan.notifications).toEqual([]);
    expect(h.received()).toHaveLength(1);

    // A more-specific from the rogue origin: the sub-prefix page.
    await h.ingest(announce(T + 5 * MINUTE, PEERS.slice(0, 3), MORE_SPECIFIC, ROGUE));
    const sub = await h.evaluate(T + 6 * MINUTE);
    expect(sub.alerts.plan.notifications.map((n) => [n.slo, n.kind])).toEqual([[SUB_PREFIX, "firing"]]);
    expect(h.received()).toHaveLength(2);
    expect(h.received()[1]!.text).toContain(
      `sub-prefix hijack: ${MORE_SPECIFIC} inside ${PREFIX} (longer than /24) announced by AS${ROGUE}`,
    );

    // The rogue withdraws the more-specific and the legit origin is back: both resolve, once.
    await h.ingest([
      ...withdraw(T + 8 * MINUTE, PEERS.slice(0, 3), MORE_SPECIFIC),
      ...announce(T + 8 * MINUTE, PEERS.slice(0, 3), PREFIX, LEGIT),
    ]);
    const restored = await h.evaluate(T + 9 * MINUTE);
    expect(restored.alerts.plan.notifications.map((n) => [n.slo, n.kind]).sort()).toEqual([
      [HIJACK, "resolved"],
      [SUB_PREFIX, "resolved"],
    ]);
    expect((await h.evaluate(T + 9 * MINUTE)).alerts.plan.notifications).toEqual([]);
    const texts = h.received().map((r) => r.text);
    expect(texts).toHaveLength(4);
    expect(texts.filter((t) => t.includes(`origin restored: ${PREFIX} originated by AS${LEGIT}`))).toHaveLength(1);
    expect(texts.filter((t) => t.includes(`more-specific withdrawn: nothing longer than /24 inside ${PREFIX}`))).toHaveLength(1);
    const states = await h.alerts.loadStates();
    expect(states.map((s) => [s.state.slo, s.state.status]).sort()).toEqual([
      [HIJACK, "resolved"],
      [SUB_PREFIX, "resolved"],
    ]);
  });

  it("visibility: peers withdraw below minVisibility → page; announced again → 'visible again'", async () => {
    const h = await harness();
    await h.ingest(announce(T, PEERS, PREFIX, LEGIT));
    expect((await h.evaluate(T + MINUTE)).alerts.plan.notifications).toEqual([]);
    // One of four gone: 75 % < 80 %.
    await h.ingest(withdraw(T + 2 * MINUTE, PEERS.slice(0, 1), PREFIX));
    const low = await h.evaluate(T + 3 * MINUTE);
    expect(low.alerts.plan.notifications.map((n) => [n.slo, n.kind, n.severity])).toEqual([[VISIBILITY, "firing", "page"]]);
    expect(h.received()[0]!.text).toContain(`${PREFIX} visible to only 3 of 4 peers (75%, threshold 80%)`);
    await h.ingest(withdraw(T + 4 * MINUTE, PEERS.slice(1, 2), PREFIX));
    expect((await h.evaluate(T + 5 * MINUTE)).alerts.plan.notifications).toEqual([]);
    await h.ingest(announce(T + 6 * MINUTE, PEERS.slice(0, 2), PREFIX, LEGIT));
    const again = await h.evaluate(T + 7 * MINUTE);
    expect(again.alerts.plan.notifications.map((n) => [n.slo, n.kind])).toEqual([[VISIBILITY, "resolved"]]);
    expect(h.received()).toHaveLength(2);
    expect(h.received()[1]!.text).toContain(`visible again: ${PREFIX} seen by 4 of 4 peers (100%`);
  });

  it("visibilitySeverity ticket: lost visibility is a ticket", async () => {
    const h = await harness({ visibilitySeverity: "ticket" });
    await h.ingest([...announce(T, PEERS, PREFIX, LEGIT), ...withdraw(T + MINUTE, PEERS.slice(0, 2), PREFIX)]);
    const low = await h.evaluate(T + 2 * MINUTE);
    expect(low.alerts.plan.notifications.map((n) => [n.slo, n.severity])).toEqual([[VISIBILITY, "ticket"]]);
    expect(h.received()).toHaveLength(1);
  });

  it("a maintenance window naming the routing alert holds its page back; after it the page goes out", async () => {
    const end = new Date(T + 10 * MINUTE).toISOString();
    const h = await harness({}, { maintenance: [{ start: new Date(T).toISOString(), end, slos: [HIJACK], reason: "re-homing" }] });
    await h.ingest([...announce(T, PEERS, PREFIX, LEGIT), ...announce(T + MINUTE, PEERS.slice(0, 3), PREFIX, ROGUE)]);
    const during = await h.evaluate(T + 2 * MINUTE);
    expect(summariseEvaluation(during, h.config.regions).firing).toEqual([{ slo: HIJACK, scope: "pooled", severity: "page" }]);
    expect(during.alerts.plan.notifications).toEqual([]);
    expect(h.received()).toEqual([]);
    const after = await h.evaluate(T + 11 * MINUTE);
    expect(after.alerts.plan.notifications.map((n) => [n.slo, n.kind])).toEqual([[HIJACK, "firing"]]);
    expect(h.received()).toHaveLength(1);
  });

  it("RPKI: an invalid announcement is a ticket; a bad VRP file is a classified problem and the other alerts still run", async () => {
    const vrps = join(dir, "vrps.json");
    await writeFile(vrps, JSON.stringify({ roas: [{ asn: "AS64500", prefix: PREFIX, maxLength: 24, ta: "test" }] }));
    const good = await harness({ rpki: { vrpFile: vrps } });
    await good.ingest([...announce(T, PEERS, PREFIX, LEGIT), ...announce(T + MINUTE, PEERS.slice(0, 3), PREFIX, ROGUE)]);
    const invalid = await good.evaluate(T + 2 * MINUTE);
    expect(invalid.alerts.plan.notifications.map((n) => [n.slo, n.severity]).sort()).toEqual([
      [HIJACK, "page"],
      [`routing:rpki-invalid:${PREFIX}`, "ticket"],
    ]);

    const broken = join(dir, "broken-vrps.json");
    await writeFile(broken, '{"roas":[{"asn":"AS64500","prefix":"203.0.113.1/24","maxLength":24}]}');
    const bad = await harness({ rpki: { vrpFile: broken } });
    await bad.ingest([...announce(T, PEERS, PREFIX, LEGIT), ...announce(T + MINUTE, PEERS.slice(0, 3), PREFIX, ROGUE)]);
    const report = await bad.evaluate(T + 2 * MINUTE);
    const summary = summariseEvaluation(report, bad.config.regions);
    expect(summary.routingProblems).toEqual([
      { code: "vrp_file_invalid", message: expect.stringContaining(`${broken}: roas[0]: prefix:`) },
    ]);
    expect(report.routing?.observations.find((o) => o.slo === `routing:rpki-invalid:${PREFIX}`)?.heldBack).toBe(true);
    expect(report.alerts.plan.notifications.map((n) => n.slo)).toEqual([HIJACK]);

    const missing = await harness({ rpki: { vrpFile: join(dir, "absent.json") } });
    await missing.ingest(announce(T, PEERS, PREFIX, LEGIT));
    expect(summariseEvaluation(await missing.evaluate(T + MINUTE), missing.config.regions).routingProblems).toEqual([
      { code: "vrp_file_unreadable", message: expect.stringContaining("(ENOENT)") },
    ]);
  });
});

describe("runRoutingAlertCycle: right after an ingest", { timeout: 60_000 }, () => {
  it("delivers the hijack page; the evaluator at the same or a later instant sends nothing twice", async () => {
    const h = await harness();
    const sinks = createSinks(h.config.alerting.sinks, { homeRegion: h.config.homeRegion });
    await h.ingest([...announce(T, PEERS, PREFIX, LEGIT), ...announce(T + MINUTE, PEERS.slice(0, 3), PREFIX, ROGUE)]);
    const fast = await runRoutingAlertCycle({ config: h.config, routing: h.routing, alerts: h.alerts, sinks, now: T + 90_000 });
    expect(fast?.alerts.plan.notifications.map((n) => [n.slo, n.kind])).toEqual([[HIJACK, "firing"]]);
    expect(fast?.alerts.delivery.delivered).toHaveLength(1);
    const again = await runRoutingAlertCycle({ config: h.config, routing: h.routing, alerts: h.alerts, sinks, now: T + 90_000 });
    expect(again?.alerts.plan.notifications).toEqual([]);
    expect((await h.evaluate(T + 2 * MINUTE)).alerts.plan.notifications).toEqual([]);
    expect(h.received()).toHaveLength(1);
    expect(
      await runRoutingAlertCycle({ config: { ...h.config, bgp: undefined }, routing: h.routing, alerts: h.alerts, sinks, now: T }),
    ).toBeNull();
  });
});
