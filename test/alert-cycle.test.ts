import type { Notification } from "@popwatch/core";
import { DynamoAlertStateStore, ensureTable } from "@popwatch/store";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { deliverPending, runAlertCycle } from "../packages/agent/src/alert-cycle";
import { EventBridgeSink } from "../packages/notify/src/sinks/eventbridge";
import type { Sink } from "../packages/notify/src/sinks/sink";
import { WebhookSink } from "../packages/notify/src/sinks/webhook";
import {
  CONFIG,
  T0,
  type WebhookReceiver,
  eventBridgeClient,
  observe,
  recordingRuntime,
  startWebhookReceiver,
} from "../packages/notify/test/support/fixtures";
import { type MemoryTable, startMemoryTable } from "../packages/store/test/support/memory-table";
import { type EventBridgeEndpoint, startEventBridgeEndpoint } from "./support/eventbridge-endpoint";

const RETRY = { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 100, maxElapsedMs: 5_000 };
const REGIONS = ["eu-west-1", "us-east-1", "ap-south-1"];

let table: MemoryTable;
let endpoint: EventBridgeEndpoint;
let receiver: WebhookReceiver;
let tableName: string;
let counter = 0;

beforeAll(async () => {
  [table, endpoint, receiver] = await Promise.all([startMemoryTable(), startEventBridgeEndpoint(), startWebhookReceiver()]);
});
afterAll(async () => {
  await Promise.all([table.close(), endpoint.close(), receiver.close()]);
});
beforeEach(async () => {
  tableName = `cycle-${++counter}`;
  await ensureTable(table.client, tableName, { pollMs: 10 });
  await endpoint.start();
  endpoint.events.length = 0;
  endpoint.requests.length = 0;
  receiver.requests.length = 0;
});

function repository(clock?: () => number): DynamoAlertStateStore {
  return new DynamoAlertStateStore({
    client: table.newClient(),
    tableName,
    retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 4, maxElapsedMs: 2_000 },
    ...(clock ? { clock } : {}),
  });
}

function eventBridgeSink(): EventBridgeSink {
  return new EventBridgeSink({ client: eventBridgeClient(endpoint.endpoint), busName: "alerts", id: "sinks.0", timeoutMs: 1000 });
}

function cycle(repo: DynamoAlertStateStore, at: number, burning: Record<string, boolean>, sinks: Sink[]) {
  return runAlertCycle({
    repository: repo,
    observations: Object.entries(burning).map(([region, hot]) => observe(region, hot)),
    now: at,
    config: CONFIG,
    sinks,
    delivery: { retry: RETRY, runtime: recordingRuntime(), leaseMs: 30_000 },
  });
}

/** `<change>:<scope>` for every scope entry of every event the endpoint accepted. */
function deliveredEntries(): string[] {
  return endpoint.events.flatMap((e) => (e.Detail as Notification).scopes.map((s) => `${s.change}:${s.scope}`)).sort();
}

describe("alert cycle: store, outbox, EventBridge", () => {
  it("a notification the endpoint could not take is delivered on the next evaluation, once", async () => {
    const repo = repository();
    await endpoint.stop();
    const first = await cycle(repo, T0, { "eu-west-1": true }, [eventBridgeSink()]);
    expect(first.plan.notifications).toHaveLength(1);
    expect(first.delivery.delivered).toEqual([]);
    expect(first.delivery.outcomes).toMatchObject([{ ok: false, code: "connect_refused", retryable: true, attempts: 2 }]);
    expect(await repo.pendingNotifications()).toHaveLength(1);

    await endpoint.start();
    const second = await cycle(repo, T0 + 60_000, { "eu-west-1": true }, [eventBridgeSink()]);
    expect(second.plan.notifications).toEqual([]);
    expect(second.delivery.delivered).toEqual([first.plan.notifications[0]!.notificationId]);
    expect(endpoint.events.map((e) => e.Detail)).toEqual(first.plan.notifications);

    const third = await cycle(repo, T0 + 120_000, { "eu-west-1": true }, [eventBridgeSink()]);
    expect(third.delivery.outcomes).toEqual([]);
    expect(endpoint.events).toHaveLength(1);
  });

  it("five evaluators at once: each transition reaches EventBridge exactly once", async () => {
    const evaluators = Array.from({ length: 5 }, () => repository());
    const rounds: Record<string, boolean>[] = [
      { "eu-west-1": true, "us-east-1": true, "ap-south-1": false },
      { "eu-west-1": false, "us-east-1": true, "ap-south-1": true },
      { "eu-west-1": false, "us-east-1": false, "ap-south-1": false },
    ];
    for (const [index, burning] of rounds.entries()) {
      const reports = await Promise.all(evaluators.map((repo) => cycle(repo, T0 + index * 60_000, burning, [eventBridgeSink()])));
      expect(reports.every((r) => r.delivery.outcomes.every((o) => o.ok))).toBe(true);
    }
    expect(deliveredEntries()).toEqual([...REGIONS.map((r) => `firing:${r}`), ...REGIONS.map((r) => `resolved:${r}`)].sort());
    const ids = endpoint.events.map((e) => (e.Detail as Notification).notificationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const repo of evaluators) expect(await repo.pendingNotifications()).toEqual([]);
  });

  it("five deliverers draining one outbox send each notification once, firing before resolve", async () => {
    const repo = repository();
    await endpoint.stop();
    await cycle(repo, T0, { "eu-west-1": true, "us-east-1": true }, [eventBridgeSink()]);
    await cycle(repo, T0 + 60_000, { "eu-west-1": false, "us-east-1": true }, [eventBridgeSink()]);
    expect((await repo.pendingNotifications()).map((p) => p.notification.kind)).toEqual(["firing", "resolved"]);
    await endpoint.start();
    const deliverers = Array.from({ length: 5 }, () => repository());
    const reports = await Promise.all(
      deliverers.map((d) => deliverPending(d, [eventBridgeSink()], { retry: RETRY, runtime: recordingRuntime() })),
    );
    const delivered = reports.flatMap((r) => r.delivered);
    // Whatever the interleaving, nothing goes out twice; what a pass left (a resolve queued behind a leased firing) the next pass sends.
    expect(new Set(delivered).size).toBe(delivered.length);
    await deliverPending(repo, [eventBridgeSink()], { retry: RETRY, runtime: recordingRuntime() });
    expect(deliveredEntries()).toEqual(["firing:eu-west-1", "firing:us-east-1", "resolved:eu-west-1"]);
    expect(endpoint.events.map((e) => (e.Detail as Notification).kind)).toEqual(["firing", "resolved"]);
    expect(await repo.pendingNotifications()).toEqual([]);
  });
});

describe("alert cycle: webhook order and sink bookkeeping", () => {
  it("keeps a group's order per sink: a resolve waits for its undelivered firing", async () => {
    const repo = repository();
    const sink = new WebhookSink({ url: receiver.url, id: "sinks.0" });
    receiver.script({ status: 503 }, { status: 503 });
    const first = await cycle(repo, T0, { "eu-west-1": true }, [sink]);
    expect(first.delivery.outcomes).toMatchObject([{ ok: false, code: "http_5xx" }]);

    receiver.script({ status: 503 }, { status: 503 });
    const second = await cycle(repo, T0 + 60_000, { "eu-west-1": false }, [sink]);
    expect(second.plan.notifications.map((n) => n.kind)).toEqual(["resolved"]);
    expect(second.delivery.deferred).toEqual([{ notificationId: second.plan.notifications[0]!.notificationId, sinkId: "sinks.0" }]);

    const third = await cycle(repo, T0 + 120_000, { "eu-west-1": false }, [sink]);
    expect(third.delivery.delivered).toEqual([first.plan.notifications[0]!.notificationId, second.plan.notifications[0]!.notificationId]);
    const kinds = receiver.requests.map((r) => (r.body as Notification).kind);
    // Four refused firings, then the firing and its resolve, in that order; the resolve never went first.
    expect(kinds).toEqual(["firing", "firing", "firing", "firing", "firing", "resolved"]);
  });

  it("a sink that refuses for good is not retried; a sink that delivered is not sent again", async () => {
    const repo = repository();
    const refusing = new WebhookSink({ url: receiver.url, id: "sinks.refusing", headers: { "x-sink": "refusing" } });
    const flaky = new WebhookSink({ url: receiver.url, id: "sinks.flaky", headers: { "x-sink": "flaky" } });
    const good = new WebhookSink({ url: receiver.url, id: "sinks.good", headers: { "x-sink": "good" } });
    receiver.script({ status: 400 }, { status: 500 }, { status: 500 });
    const first = await cycle(repo, T0, { "eu-west-1": true }, [refusing]);
    expect(first.delivery.outcomes).toMatchObject([{ sinkId: "sinks.refusing", ok: false, code: "http_4xx", retryable: false }]);
    expect(first.delivery.delivered).toHaveLength(1);

    const second = await cycle(repo, T0 + 60_000, { "us-east-1": true }, [flaky]);
    expect(second.delivery.outcomes).toMatchObject([{ sinkId: "sinks.flaky", ok: false, code: "http_5xx", attempts: 2 }]);
    const third = await cycle(repo, T0 + 120_000, { "us-east-1": true }, [flaky, good]);
    expect(third.delivery.outcomes.map((o) => [o.sinkId, o.ok])).toEqual([
      ["sinks.flaky", true],
      ["sinks.good", true],
    ]);
    const fourth = await cycle(repo, T0 + 180_000, { "us-east-1": true }, [flaky, good]);
    expect(fourth.delivery.outcomes).toEqual([]);
    // The two sinks of the third cycle run in parallel, so count rather than order.
    expect(receiver.requests.map((r) => r.headers["x-sink"]).sort()).toEqual(["flaky", "flaky", "flaky", "good", "refusing"]);
  });
});
