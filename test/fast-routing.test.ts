// Fast routing notifications end to end: real DNS servers (NSD, Knot) behind
// one loopback "anycast" address whose route the test switches between
// rounds, real probes, the embedded store (dynalite) for results and alert
// state, and a loopback webhook receiving the notifications. The wall clock of
// the invocation is simulated (the waits between slots take no time), so
// "before the next round" is checked against when the next round's first
// query reached the anycast address, in real time.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type InvocationSummary,
  type LogEntry,
  type RoundReport,
  anycastAlertsEnabled,
  fastRoutingEnabled,
  invocationIdFor,
  runQueuedRound,
  runScheduled,
} from "@popwatch/agent";
import { type Notification, type PopwatchConfig, parseConfig, roundSlotMs } from "@popwatch/core";
import { createSinks } from "@popwatch/notify";
import { DEFAULT_TABLE_NAME, type EmbeddedStore, startEmbeddedStore } from "@popwatch/store";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createHandler } from "../functions/probe";
import { type DnsSwitch, type DnsUpstream, startDnsSwitch } from "./support/dns-switch";
import { requireServer, skipUnless, useTestServers } from "./support/servers";
import { type WebhookReceiver, startWebhookReceiver } from "./support/webhook-receiver";

const servers = useTestServers();
const needs = [skipUnless(servers.dns.nsd), skipUnless(servers.dns.knot)];
const skip = needs.some((n) => n.skip);
const note = needs.map((n) => n.note).join("");

const REGION = "eu-central-1";
const ROUNDS = 6;
const INTERVAL_MS = 10_000;

let embedded: EmbeddedStore;
let dataDir: string;
let dns: DnsSwitch;
let hook: WebhookReceiver;
let nsd: DnsUpstream;
let knot: DnsUpstream;

beforeAll(async () => {
  if (skip) return;
  dataDir = await mkdtemp(join(tmpdir(), "popwatch-fast-"));
  embedded = await startEmbeddedStore({ dataDir, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5, maxElapsedMs: 2_000 } });
  nsd = requireServer(servers.dns.nsd);
  knot = requireServer(servers.dns.knot);
  dns = await startDnsSwitch(nsd);
  hook = await startWebhookReceiver();
});
afterAll(async () => {
  await dns?.close();
  await hook?.close();
  await embedded?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});
afterEach(() => {
  hook.received.length = 0;
  dns.queries.length = 0;
});

function fastConfig(): PopwatchConfig {
  return parseConfig({
    regions: [REGION],
    schedule: { rateMinutes: 1, roundsPerInvocation: ROUNDS, timeoutMs: 1000, concurrency: 4 },
    targets: [
      {
        name: "anycast",
        address: dns.address,
        probes: { dns: { port: dns.port, qname: servers.records.a.name, qtype: "A" } },
      },
    ],
    alerting: { sinks: [{ type: "webhook", url: hook.url, format: "json" }] },
  });
}

/** Runs one scheduled invocation on a simulated clock; `routeFor(round)` picks the route before each round probes. */
async function invocation(config: PopwatchConfig, scheduledAt: string, routeFor: (round: number) => DnsUpstream | null) {
  let nowMs = Date.parse(scheduledAt);
  const rounds: RoundReport[] = [];
  // Index in dns.queries of each round's first query: when the round really started probing.
  const firstQuery: number[] = [];
  const logs: LogEntry[] = [];
  dns.route(routeFor(0));
  firstQuery.push(dns.queries.length);
  const summary = await runScheduled({
    config,
    region: REGION,
    scheduledAt,
    store: embedded.store,
    fastRouting: { alerts: embedded.alerts, sinks: createSinks(config.alerting.sinks) },
    remainingMs: () => Date.parse(scheduledAt) + 58_000 - nowMs,
    now: () => nowMs,
    sleep: async (ms) => {
      nowMs += ms;
      // The next round probes right after this wait: route it now.
      dns.route(routeFor(rounds.length));
      firstQuery.push(dns.queries.length);
    },
    logger: (entry) => logs.push(entry),
    onRound: (round) => rounds.push(round),
  });
  const roundStartedAtMs = firstQuery.map((index) => dns.queries[index]?.atMs ?? Number.NaN);
  return { summary, rounds, roundStartedAtMs, logs };
}

const notifications = () => hook.received.map((r) => r.body as Notification);

describe.skipIf(skip)(`fast routing${note}`, () => {
  it("a PoP change reaches the webhook before the next round starts, once; a retried invocation sends nothing again", async () => {
    const config = fastConfig();
    const scheduledAt = "2026-03-02T10:00:00.000Z";
    // Rounds 0 and 1 answered by NSD, then the route moves to Knot.
    const routeFor = (round: number) => (round < 2 ? nsd : knot);
    const first = await invocation(config, scheduledAt, routeFor);
    expect(first.summary).toMatchObject({ rounds: ROUNDS, failed: 0, errors: [] });
    const pops = first.rounds.map((r) => r.results[0]!.pop?.id);
    const [before, after] = [pops[0]!, pops[2]!];
    expect(before).not.toBe(after);
    expect(pops).toEqual([before, before, after, after, after, after]);

    const sent = notifications();
    expect(sent.map((n) => [n.slo, n.kind, n.scopes.map((s) => s.scope)])).toEqual([
      ["anycast:pop-change:anycast", "firing", [REGION]],
      ["anycast:pop-change:anycast", "resolved", [REGION]],
    ]);
    const slot2 = new Date(roundSlotMs(config.schedule, Date.parse(scheduledAt), 2)).toISOString();
    expect(sent[0]!.at).toBe(slot2);
    expect(sent[0]!.anycast).toMatchObject({ condition: "pop-change", from: before, to: after, changedAt: slot2, slotAt: slot2 });
    expect(sent[1]!.anycast).toMatchObject({ from: before, to: after, stableRounds: 2, stableSamples: 2 });

    // Delivered before round 3 sent its first query; latency from round 2's first query (the new PoP's first answer) to the webhook.
    const changeQueryAtMs = first.roundStartedAtMs[2]!;
    const firingAtMs = hook.received[0]!.atMs;
    expect(firingAtMs).toBeLessThan(first.roundStartedAtMs[3]!);
    const latencyMs = firingAtMs - changeQueryAtMs;
    console.log(`fast routing: PoP change ${before} → ${after} delivered ${latencyMs} ms after the round that saw it started`);
    expect(latencyMs).toBeLessThan(INTERVAL_MS);
    const fastLog = first.logs.find((l) => l.msg === "fast routing" && (l.planned as string[]).length > 0);
    expect(fastLog).toMatchObject({ slotAt: slot2, delivered: [sent[0]!.notificationId] });
    expect(first.summary.fastRouting?.map((r) => r.planned.length)).toEqual([0, 0, 1, 1, 0, 0]);
    // Rounds after the resolve plan against the states in memory: no table reads.
    expect(first.summary.fastRouting?.map((r) => r.cycled)).toEqual([true, false, true, true, false, false]);

    // Lambda retries the same scheduled event: the same rounds, the same slots, the same ids.
    hook.received.length = 0;
    const retry = await invocation(config, scheduledAt, routeFor);
    expect(retry.summary).toMatchObject({ rounds: ROUNDS, errors: [] });
    expect(retry.summary.fastRouting?.flatMap((r) => r.planned)).toEqual(sent.map((n) => n.notificationId));
    expect(hook.received).toEqual([]);
  }, 60_000);

  it("an outage fires in the first round every probe fails and resolves in the first one answered (through the probe handler)", async () => {
    const config = fastConfig();
    // The minute after the previous test: the rounds before come from the store (Knot answered last).
    const scheduledAt = "2026-03-02T10:01:00.000Z";
    let nowMs = Date.parse(scheduledAt);
    let round = 0;
    const routeFor = (r: number) => (r === 1 || r === 2 ? null : knot);
    const logs: LogEntry[] = [];
    const probe = createHandler({
      config,
      client: embedded.client,
      env: { AWS_REGION: REGION, POPWATCH_TABLE: DEFAULT_TABLE_NAME, POPWATCH_TABLE_REGION: REGION },
      logger: (entry) => logs.push(entry),
      now: () => nowMs,
      sleep: async (ms) => {
        nowMs += ms;
        round++;
        dns.route(routeFor(round));
      },
    });
    dns.route(routeFor(0));
    const event = {
      id: "e1",
      "detail-type": "Scheduled Event",
      source: "aws.events",
      time: scheduledAt.replace(".000Z", "Z"),
      region: REGION,
      detail: {},
    };
    const summary = (await probe(event, { getRemainingTimeInMillis: () => Date.parse(scheduledAt) + 58_000 - nowMs })) as InvocationSummary;
    expect(summary).toMatchObject({ rounds: ROUNDS, failed: 2, errors: [] });

    const slot = (r: number) => new Date(roundSlotMs(config.schedule, Date.parse(scheduledAt), r)).toISOString();
    const sent = notifications();
    expect(sent.map((n) => [n.slo, n.severity, n.kind, n.at])).toEqual([
      ["anycast:outage:anycast", "page", "firing", slot(1)],
      ["anycast:outage:anycast", "page", "resolved", slot(3)],
    ]);
    expect(sent[0]!.anycast).toMatchObject({
      condition: "outage",
      probes: 1,
      failed: 1,
      failures: ["timeout"],
      lastOkAt: slot(0),
      slotAt: slot(1),
    });
    // Back on the same PoP: no PoP change.
    expect(sent.some((n) => n.slo.startsWith("anycast:pop-change"))).toBe(false);
    const states = (await embedded.alerts.loadStates()).map((s) => s.state);
    expect(states.find((s) => s.slo === "anycast:outage:anycast")).toMatchObject({ status: "resolved", announced: false, scope: REGION });
  }, 60_000);

  it("queued rounds (one invocation each) compare with the round before through the store", async () => {
    const config = fastConfig();
    const scheduledAt = "2026-03-02T10:05:00.000Z";
    const invocationId = invocationIdFor(REGION, scheduledAt);
    const fastRouting = { alerts: embedded.alerts, sinks: createSinks(config.alerting.sinks) };
    const summaries: InvocationSummary[] = [];
    for (const [round, route] of [nsd, nsd, knot].entries()) {
      dns.route(route);
      let nowMs = roundSlotMs(config.schedule, Date.parse(scheduledAt), round);
      summaries.push(
        await runQueuedRound(
          { v: 1, region: REGION, scheduledAt, invocationId, round },
          {
            config,
            store: embedded.store,
            fastRouting,
            remainingMs: () => 20_000,
            now: () => nowMs,
            sleep: async (ms) => {
              nowMs += ms;
            },
            logger: () => undefined,
          },
        ),
      );
    }
    expect(summaries.map((s) => [s.rounds, s.errors.length])).toEqual([
      [1, 0],
      [1, 0],
      [1, 0],
    ]);
    const slot2 = new Date(roundSlotMs(config.schedule, Date.parse(scheduledAt), 2)).toISOString();
    // Each queued round starts with no memory: the previous round comes from the store.
    expect(notifications().map((n) => [n.slo, n.kind, n.at])).toEqual([["anycast:pop-change:anycast", "firing", slot2]]);
    expect(notifications()[0]!.anycast).toMatchObject({ from: expect.stringContaining("nsd"), to: expect.stringContaining("knot") });
    expect(summaries[2]!.fastRouting?.[0]).toMatchObject({ cycled: true, slotAt: slot2 });
  }, 60_000);
});

describe("which side judges what", () => {
  const targets = [{ name: "k", address: "198.51.100.53", probes: { dns: {} } }];
  it("the evaluator reads anycast windows only for its own conditions; the probe judges the fast ones", () => {
    const fastOnly = parseConfig({ targets, analytics: { alerts: { catchmentShift: false, flapping: false, detour: false } } });
    expect(anycastAlertsEnabled(fastOnly)).toBe(false);
    expect(fastRoutingEnabled(fastOnly)).toBe(true);
    const rollupOnly = parseConfig({ targets, analytics: { alerts: { popChange: false, outage: false } } });
    expect(anycastAlertsEnabled(rollupOnly)).toBe(true);
    expect(fastRoutingEnabled(rollupOnly)).toBe(false);
  });
});
