import { GetItemCommand, type PutItemCommandInput } from "@aws-sdk/client-dynamodb";
import { type AlertObservation, type AlertingConfig, type Notification, planAlerts } from "@popwatch/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { OUTBOX_PARTITION, statePartitionKey } from "../src/alert-state-items";
import { DynamoAlertStateStore, StoreError } from "../src/index";
import { type MemoryTable, startMemoryTable } from "./support/memory-table";
import { partitionItems } from "./support/store-fixtures";

const CONFIG: Pick<AlertingConfig, "renotifyMinutes" | "maintenance" | "quorum"> = { renotifyMinutes: 240, maintenance: [], quorum: {} };
const T0 = Date.parse("2025-03-01T12:00:00.000Z");
const FAST = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 4, maxElapsedMs: 2_000 };
const REGIONS = ["eu-west-1", "us-east-1", "ap-south-1", "sa-east-1"];

function observe(scope: string, burning: boolean, extra: Partial<AlertObservation> = {}): AlertObservation {
  return {
    slo: "checkout",
    severity: "page",
    scope,
    burning,
    shortWindowClean: !burning,
    burnRates: { "1h": burning ? 20 : 0.5, "5m": burning ? 25 : 0 },
    budgetRemaining: 0.7,
    rule: { long: "1h", short: "5m", factor: 14.4 },
    ...extra,
  };
}

let table: MemoryTable;
let tableName: string;
let counter = 0;

beforeAll(async () => {
  table = await startMemoryTable();
});
afterAll(async () => {
  await table.close();
});
// A fresh table name per test keeps tests independent on one dynalite.
beforeEach(async () => {
  tableName = `alerts-${++counter}`;
  const { ensureTable } = await import("../src/table");
  await ensureTable(table.client, tableName, { pollMs: 10 });
});

function store(options: { clock?: () => number; client?: MemoryTable["client"] } = {}): DynamoAlertStateStore {
  return new DynamoAlertStateStore({
    client: options.client ?? table.newClient(),
    tableName,
    retry: FAST,
    ...(options.clock ? { clock: options.clock } : {}),
  });
}

/** One evaluator: load, plan, write. */
async function evaluate(evaluator: DynamoAlertStateStore, now: number, observations: AlertObservation[]) {
  const loaded = await evaluator.loadStates();
  const plan = planAlerts({ now, observations, previous: loaded.map((s) => s.state), config: CONFIG });
  return { plan, report: await evaluator.applyPlan(loaded, plan) };
}

/** How many outbox parts announce each (scope, kind). */
async function outboxCounts(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const item of await partitionItems(table.client, tableName, OUTBOX_PARTITION)) {
    const part = JSON.parse(item.part!.S!) as Notification;
    for (const entry of part.scopes) counts.set(`${entry.change}:${entry.scope}`, (counts.get(`${entry.change}:${entry.scope}`) ?? 0) + 1);
  }
  return counts;
}

describe("DynamoAlertStateStore", () => {
  it("writes a state conditionally on its version", async () => {
    const s = store();
    const plan = planAlerts({ now: T0, observations: [observe("eu-west-1", true)], previous: [], config: CONFIG });
    const next = plan.updates[0]!.state;
    expect(await s.transition(0, next, plan.updates[0]!.notifications, plan.updates[0]!.transitions)).toBe(true);
    // A second writer that also loaded "nothing stored" loses, and queues nothing.
    expect(await s.transition(0, { ...next, announced: false }, [])).toBe(false);
    expect(await s.transition(2, next, [])).toBe(false);
    expect(await s.loadStates()).toEqual([{ state: next, version: 1 }]);
    expect(await s.getState(next)).toEqual({ state: next, version: 1 });
    expect(await s.transition(1, { ...next, lastNotifiedAt: new Date(T0 + 1).toISOString() }, [])).toBe(true);
    expect((await s.getState(next))!.version).toBe(2);
  });

  it("refuses notifications that do not belong to the key", async () => {
    const s = store();
    const plan = planAlerts({
      now: T0,
      observations: [observe("eu-west-1", true), observe("us-east-1", true)],
      previous: [],
      config: CONFIG,
    });
    const [eu, us] = plan.updates;
    await expect(s.transition(0, eu!.state, us!.notifications)).rejects.toMatchObject({ name: "StoreError", code: "store_invalid" });
    await expect(s.transition(-1, eu!.state, [])).rejects.toBeInstanceOf(StoreError);
  });

  it("queues the plan's notifications in the outbox and hands them out until delivered", async () => {
    const s = store();
    const { plan, report } = await evaluate(s, T0, [observe("eu-west-1", true), observe("us-east-1", true), observe("pooled", false)]);
    expect(report.conflicts).toEqual([]);
    expect(report.applied.map((k) => k.scope)).toEqual(["eu-west-1", "us-east-1"]);
    const pending = await s.pendingNotifications();
    expect(pending.map((p) => p.notification)).toEqual(plan.notifications);
    expect(pending[0]!.deliveredTo).toEqual([]);

    const id = plan.notifications[0]!.notificationId;
    const claim = await s.claimDelivery(id, 30_000);
    expect(claim!.pending.notification).toEqual(plan.notifications[0]);
    expect(await s.claimDelivery(id, 30_000)).toBeNull();
    await s.recordDelivery(id, ["sinks.0"]);
    await s.recordDelivery(id, ["sinks.0", "sinks.1"]);
    expect((await s.pendingNotifications())[0]!.deliveredTo).toEqual(["sinks.0", "sinks.1"]);
    await s.markDelivered(id);
    await s.releaseDelivery(id, claim!.token);
    expect(await s.pendingNotifications()).toEqual([]);
    // Delivered means delivered: a new lease finds nothing to send.
    expect(await s.claimDelivery(id, 30_000)).toBeNull();
  });

  it("five concurrent evaluators: every transition is won once and queued once", async () => {
    const evaluators = Array.from({ length: 5 }, () => store());
    const rounds: { at: number; burning: Record<string, boolean> }[] = [
      { at: T0, burning: { "eu-west-1": true, "us-east-1": true, "ap-south-1": false, "sa-east-1": true } },
      { at: T0 + 60_000, burning: { "eu-west-1": false, "us-east-1": true, "ap-south-1": true, "sa-east-1": true } },
      { at: T0 + 120_000, burning: { "eu-west-1": false, "us-east-1": false, "ap-south-1": false, "sa-east-1": false } },
    ];
    for (const round of rounds) {
      const observations = REGIONS.map((region) => observe(region, round.burning[region]!));
      const before = await evaluators[0]!.loadStates();
      const reference = planAlerts({ now: round.at, observations, previous: before.map((s) => s.state), config: CONFIG });
      // All load before any writes, so every key is contested by all five.
      const loaded = await Promise.all(evaluators.map((e) => e.loadStates()));
      // Same scheduled instant for some, a millisecond apart for others: both must hold.
      const reports = await Promise.all(
        evaluators.map((e, i) => {
          const plan = planAlerts({ now: round.at + (i % 2), observations, previous: loaded[i]!.map((s) => s.state), config: CONFIG });
          return e.applyPlan(loaded[i]!, plan);
        }),
      );
      const changed = reference.updates.map((u) => u.state.scope).sort();
      expect(reports.flatMap((r) => r.applied.map((k) => k.scope)).sort()).toEqual(changed);
      expect(reports.flatMap((r) => r.conflicts)).toHaveLength(changed.length * (evaluators.length - 1));
    }
    // eu fired then resolved; us, sa fired and resolved; ap fired in round 2 and resolved in round 3.
    expect(Object.fromEntries(await outboxCounts())).toEqual({
      "firing:eu-west-1": 1,
      "firing:us-east-1": 1,
      "firing:sa-east-1": 1,
      "firing:ap-south-1": 1,
      "resolved:eu-west-1": 1,
      "resolved:us-east-1": 1,
      "resolved:sa-east-1": 1,
      "resolved:ap-south-1": 1,
    });
    const states = await evaluators[1]!.loadStates();
    expect(states.map((s) => [s.state.scope, s.state.status, s.state.announced])).toEqual(
      ["ap-south-1", "eu-west-1", "sa-east-1", "us-east-1"].map((scope) => [scope, "resolved", false]),
    );
    // And the leases let exactly one deliverer take each notification.
    const pending = await evaluators[0]!.pendingNotifications();
    for (const { notification } of pending) {
      const claims = await Promise.all(evaluators.map((e) => e.claimDelivery(notification.notificationId, 30_000)));
      expect(claims.filter((c) => c !== null)).toHaveLength(1);
    }
  });

  it("a writer that dies after its state write loses nothing: the next load publishes", async () => {
    const crashing = table.newClient();
    // The outbox write fails for good, as if the process died right after the state's UpdateItem.
    crashing.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as PutItemCommandInput;
        if (context.commandName === "PutItemCommand" && input.Item?.pk?.S === OUTBOX_PARTITION) {
          throw Object.assign(new Error("injected"), { name: "AccessDeniedException", $metadata: { httpStatusCode: 400 } });
        }
        return next(args);
      },
      { step: "initialize", name: "popwatchTestOutboxCrash" },
    );
    const dying = store({ client: crashing });
    await expect(evaluate(dying, T0, [observe("eu-west-1", true)])).rejects.toMatchObject({ code: "store_misconfigured" });
    const raw = await table.client.send(
      new GetItemCommand({
        TableName: tableName,
        Key: { pk: { S: statePartitionKey({ slo: "checkout", severity: "page", scope: "eu-west-1" }) }, sk: { S: "state" } },
      }),
    );
    expect(raw.Item!.unpublished!.L).toHaveLength(2);
    expect(await partitionItems(table.client, tableName, OUTBOX_PARTITION)).toEqual([]);

    // Another evaluator comes along: it sees the firing as done (no second firing) and publishes the dead writer's entries.
    const survivor = store({ clock: () => T0 + 120_000 });
    const { plan } = await evaluate(survivor, T0 + 60_000, [observe("eu-west-1", true)]);
    expect(plan.notifications).toEqual([]);
    const pending = await survivor.pendingNotifications();
    expect(pending.map((p) => [p.notification.kind, p.notification.at])).toEqual([["firing", new Date(T0).toISOString()]]);
    expect((await survivor.history(10)).map((t) => [t.from, t.to])).toEqual([["inactive", "firing"]]);
    const after = await table.client.send(
      new GetItemCommand({
        TableName: tableName,
        Key: { pk: { S: statePartitionKey({ slo: "checkout", severity: "page", scope: "eu-west-1" }) }, sk: { S: "state" } },
      }),
    );
    expect(after.Item!.unpublished).toBeUndefined();
  });

  it("a part that arrives after its notification was delivered goes out under its own id", async () => {
    const s = store();
    const plan = planAlerts({
      now: T0,
      observations: [observe("eu-west-1", true), observe("us-east-1", true)],
      previous: [],
      config: CONFIG,
    });
    const [eu, us] = plan.updates;
    await s.transition(0, eu!.state, eu!.notifications, eu!.transitions);
    const first = (await s.pendingNotifications())[0]!.notification;
    expect(first.regions).toEqual(["eu-west-1"]);
    await s.markDelivered(first.notificationId);
    await s.transition(0, us!.state, us!.notifications, us!.transitions);
    const [late] = await s.pendingNotifications();
    expect(late!.notification.notificationId).toBe(`${first.notificationId}+us-east-1`);
    expect(late!.notification.regions).toEqual(["us-east-1"]);
    const claim = await s.claimDelivery(late!.notification.notificationId, 1000);
    expect(claim!.pending.notification).toEqual(late!.notification);
    await s.markDelivered(late!.notification.notificationId);
    expect(await s.pendingNotifications()).toEqual([]);
  });

  it("a part published while its notification is being sent is not swallowed by marking it delivered", async () => {
    const s = store();
    const plan = planAlerts({
      now: T0,
      observations: [observe("eu-west-1", true), observe("us-east-1", true)],
      previous: [],
      config: CONFIG,
    });
    const [eu, us] = plan.updates;
    await s.transition(0, eu!.state, eu!.notifications, eu!.transitions);
    const id = plan.notifications[0]!.notificationId;
    const claim = await s.claimDelivery(id, 30_000);
    expect(claim!.pending.notification.regions).toEqual(["eu-west-1"]);
    // The other evaluator's part lands between the claim and the mark.
    await s.transition(0, us!.state, us!.notifications, us!.transitions);
    await s.recordDelivery(id, ["sinks.0"]);
    await s.markDelivered(id);
    await s.releaseDelivery(id, claim!.token);
    const [late] = await s.pendingNotifications();
    expect(late!.notification.notificationId).toBe(`${id}+us-east-1`);
    expect(late!.notification.regions).toEqual(["us-east-1"]);
    expect(late!.deliveredTo).toEqual([]);
  });

  it("a late part partly delivered is not sent again under a new id when another late part arrives", async () => {
    const s = store();
    const plan = planAlerts({
      now: T0,
      observations: ["eu-west-1", "us-east-1", "ap-south-1"].map((r) => observe(r, true)),
      previous: [],
      config: CONFIG,
    });
    const update = (scope: string) => plan.updates.find((u) => u.state.scope === scope)!;
    const write = (scope: string) => s.transition(0, update(scope).state, update(scope).notifications, update(scope).transitions);
    const id = plan.notifications[0]!.notificationId;
    await write("eu-west-1");
    await s.markDelivered((await s.pendingNotifications())[0]!.notification.notificationId);
    await write("us-east-1");
    const lateId = `${id}+us-east-1`;
    // sinks.0 took the late part, sinks.1 failed: it stays pending for sinks.1 only.
    const claim = await s.claimDelivery(lateId, 30_000);
    await s.recordDelivery(lateId, ["sinks.0"]);
    await s.releaseDelivery(lateId, claim!.token);
    await write("ap-south-1");
    const pending = (await s.pendingNotifications()).map((p) => ({
      id: p.notification.notificationId,
      regions: p.notification.regions,
      deliveredTo: p.deliveredTo,
    }));
    expect(pending).toEqual([
      { id: `${id}+ap-south-1`, regions: ["ap-south-1"], deliveredTo: [] },
      { id: lateId, regions: ["us-east-1"], deliveredTo: ["sinks.0"] },
    ]);
  });

  it("a lease expires; releasing needs its token", async () => {
    let now = T0;
    const s = store({ clock: () => now });
    await evaluate(s, T0, [observe("eu-west-1", true)]);
    const notification = (await s.pendingNotifications())[0]!.notification;
    const first = await s.claimDelivery(notification.notificationId, 10_000);
    expect(first).not.toBeNull();
    await s.releaseDelivery(notification.notificationId, "not-the-token");
    expect(await s.claimDelivery(notification.notificationId, 10_000)).toBeNull();
    now += 10_001;
    const second = await s.claimDelivery(notification.notificationId, 10_000);
    expect(second).not.toBeNull();
    // The first holder's release no longer removes the second holder's lease.
    await s.releaseDelivery(notification.notificationId, first!.token);
    expect(await s.claimDelivery(notification.notificationId, 10_000)).toBeNull();
  });

  it("history: newest first, bounded by limit, across months", async () => {
    let now = Date.parse("2025-04-02T00:00:00.000Z");
    const s = store({ clock: () => now });
    const times = ["2025-02-27T10:00:00.000Z", "2025-03-30T10:00:00.000Z", "2025-03-31T10:00:00.000Z", "2025-04-01T10:00:00.000Z"].map(
      Date.parse,
    );
    for (const [index, at] of times.entries()) await evaluate(s, at, [observe("eu-west-1", index % 2 === 0)]);
    const all = await s.history(10);
    expect(all.map((t) => [t.at, t.to])).toEqual([
      ["2025-04-01T10:00:00.000Z", "resolved"],
      ["2025-03-31T10:00:00.000Z", "firing"],
      ["2025-03-30T10:00:00.000Z", "resolved"],
      ["2025-02-27T10:00:00.000Z", "firing"],
    ]);
    expect((await s.history(2)).map((t) => t.at)).toEqual(["2025-04-01T10:00:00.000Z", "2025-03-31T10:00:00.000Z"]);
    expect(all[0]!.notificationId).toBe(`2025-04-01T10:00:00.000Z/page/resolved/checkout`);
    now = Date.parse("2026-06-01T00:00:00.000Z");
    expect(await s.history(10)).toEqual([]);
    await expect(s.history(0)).rejects.toMatchObject({ code: "store_invalid" });
  });
});
