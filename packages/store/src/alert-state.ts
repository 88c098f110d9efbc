// Alert state on the single table, written so that concurrent evaluators agree
// on every transition and a crash never loses a notification.
//
// The items and their codecs are in ./alert-state-items.ts, which outbox parts
// go out together under which id in ./alert-state-outbox.ts; this file is the
// protocol that reads and writes them.
//
// Protocol (README.md, "Alert state", says the same with the item table):
//
// 1. Claim. An evaluator loads every state with its `version`, plans with
//    @popwatch/core's planAlerts, and writes each changed key with ONE
//    conditional UpdateItem on `A#<slo>#<scope>#<severity>`:
//      SET state, version = v + 1,
//          unpublished = list_append(unpublished or [], <this key's notification parts and transitions>)
//      IF attribute_not_exists(pk) OR version = v
//    The state change and what it owes receivers land in the same item, in
//    the same request: that is the atomicity TransactWriteItems would give
//    (dynalite has none). Of several evaluators that loaded version v, one
//    wins; the others get ConditionalCheckFailed and queue nothing.
// 2. Publish. The winner copies every entry of the item's `unpublished` list
//    (as returned by the update, so entries of an earlier writer that crashed
//    are included) to the outbox (`O#outbox`) and the history (`AH#<yyyy-mm>`),
//    each a PutItem IF attribute_not_exists(pk) under a deterministic key: a
//    second copy is a no-op, and a delivered outbox item is never reset.
// 3. Clear. REMOVE unpublished IF version = v + 1. If that fails, a newer
//    writer has the list (list_append kept it) and publishes it.
//    A crash anywhere before 3 leaves `unpublished` on the item; the next
//    loadStates repeats 2 and 3 for it before anyone plans on it.
// 4. Deliver. pendingNotifications merges the outbox parts (one per key) of
//    each notification id. A deliverer leases a notification (`O#lease`,
//    PutItem IF absent or expired), re-reads it, sends it to the sinks not
//    yet done, records them (set ADD: idempotent), marks it delivered, and
//    drops the lease. A crash between sending and marking sends it again
//    later with the same notification id, so delivery is at least once and
//    receivers can drop duplicates by id.
//
// Parts of one notification can come from two writers (same evaluation
// instant, keys won by different evaluators), and the second may arrive after
// the first was sent. So the first claim of an id seals it (`O#seal`: the
// scopes it holds then): the id always stands for exactly those parts, a
// resend is identical to the first send, and a part arriving later goes out
// on its own as `<id>+<scopes>`, which a receiver deduplicating by id does not
// drop, and which marking the sealed id delivered cannot swallow.

import { randomUUID } from "node:crypto";
import {
  BatchGetItemCommand,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import {
  type AlertKeyFields,
  type AlertPlan,
  type AlertState,
  type AlertStateRepository,
  type AlertTransition,
  type ApplyPlanReport,
  DAY_MS,
  type DeliveryClaim,
  type Notification,
  type PendingNotification,
  type StoredAlertState,
  alertEventDetailSchema,
  alertKeyString,
  alertStateSchema,
  alertTransitionSchema,
  compareStrings,
  decodeAlertKey,
  describeAlertKey,
  notificationPart,
} from "@popwatch/core";
import {
  ALERT_HISTORY_PREFIX,
  ALERT_KEY_INDEX_PARTITION,
  type Item,
  OUTBOX_LEASE_PARTITION,
  OUTBOX_PARTITION,
  OUTBOX_SEAL_PARTITION,
  type OutboxPart,
  STATE_SORT_KEY,
  type UnpublishedEntry,
  decodeHistoryItem,
  decodeKeyIndexItem,
  decodeOutboxItem,
  decodeSealItem,
  decodeStateItem,
  historyItem,
  keyIndexItem,
  outboxItem,
  statePartitionKey,
} from "./alert-state-items";
import { type DeliveryGroup, deliveryGroups, splitDeliveryId, toPending } from "./alert-state-outbox";
import { mapWithConcurrency } from "./concurrency";
import { StoreError } from "./errors";
import { escapeKeyPart } from "./keys";
import { DEFAULT_RETRY_POLICY, DEFAULT_RETRY_RUNTIME, type RetryPolicy, type RetryRuntime, sendWithRetry } from "./retry";

const BATCH_GET_LIMIT = 100;

export interface DynamoAlertStateStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  retry?: Partial<RetryPolicy>;
  retryRuntime?: Partial<RetryRuntime>;
  /** Epoch ms: lease expiry and the current history month. */
  clock?: () => number;
  /** Outbox items (delivered or not) and leases expire this long after the notification. Default 7. */
  outboxRetentionDays?: number;
  /** History items expire this long after the transition. Default 400. */
  historyRetentionDays?: number;
  /** Months history() walks back at most. Default 13. */
  historyMonths?: number;
  /** Requests in flight at once within one call. Default 4. */
  concurrency?: number;
}

export class DynamoAlertStateStore implements AlertStateRepository {
  readonly tableName: string;
  private readonly client: DynamoDBClient;
  private readonly policy: RetryPolicy;
  private readonly runtime: RetryRuntime;
  private readonly clock: () => number;
  private readonly outboxRetentionMs: number;
  private readonly historyRetentionMs: number;
  private readonly historyMonths: number;
  private readonly concurrency: number;

  constructor(options: DynamoAlertStateStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.policy = { ...DEFAULT_RETRY_POLICY, ...definedOnly(options.retry) };
    this.runtime = { ...DEFAULT_RETRY_RUNTIME, ...definedOnly(options.retryRuntime) };
    this.clock = options.clock ?? Date.now;
    this.outboxRetentionMs = positive(options.outboxRetentionDays ?? 7, "outboxRetentionDays") * DAY_MS;
    this.historyRetentionMs = positive(options.historyRetentionDays ?? 400, "historyRetentionDays") * DAY_MS;
    this.historyMonths = Math.max(1, Math.floor(options.historyMonths ?? 13));
    this.concurrency = Math.max(1, options.concurrency ?? 4);
  }

  /** Every stored state with its version, after publishing whatever a crashed writer left unpublished. */
  async loadStates(): Promise<StoredAlertState[]> {
    const indexItems = await this.queryAll(ALERT_KEY_INDEX_PARTITION, "loading the alert key index");
    const keys = indexItems.map((item) => statePartitionKey(decodeKeyIndexItem(item)));
    const items: Item[] = [];
    for (let start = 0; start < keys.length; start += BATCH_GET_LIMIT) {
      items.push(...(await this.batchGet(keys.slice(start, start + BATCH_GET_LIMIT))));
    }
    const loaded = await mapWithConcurrency(items, this.concurrency, async (item) => {
      const stored = decodeStateItem(item);
      if (stored.unpublished.length > 0) await this.publish(stored.pk, stored.version, stored.unpublished);
      return { state: stored.state, version: stored.version };
    });
    return loaded.sort((a, b) => compareStrings(alertKeyString(a.state), alertKeyString(b.state)));
  }

  /** One key's state, or null when it was never written. */
  async getState(key: AlertKeyFields): Promise<StoredAlertState | null> {
    const pk = statePartitionKey(key);
    const [item] = await this.batchGet([pk]);
    if (item === undefined) return null;
    const stored = decodeStateItem(item);
    if (stored.unpublished.length > 0) await this.publish(pk, stored.version, stored.unpublished);
    return { state: stored.state, version: stored.version };
  }

  /**
   * Writes `nextState` if the stored version is still `expectedVersion` (0:
   * never written), queueing the notifications (restricted to this key's
   * scope) and transitions with it. False when another writer got there
   * first: then nothing was queued.
   */
  async transition(
    expectedVersion: number,
    nextState: AlertState,
    outboxEntries: readonly Notification[],
    transitions: readonly AlertTransition[] = [],
  ): Promise<boolean> {
    if (!Number.isInteger(expectedVersion) || expectedVersion < 0) throw invalid("expectedVersion must be a non-negative integer");
    const state = parseOrInvalid(alertStateSchema, nextState, "nextState");
    const entries: UnpublishedEntry[] = [];
    for (const notification of outboxEntries) {
      const part = notificationPart(parseOrInvalid(alertEventDetailSchema, notification, "outbox entry"), state.scope);
      if (part === null || part.slo !== state.slo || part.severity !== state.severity) {
        throw invalid(`notification ${notification.notificationId} does not list ${describeAlertKey(state)}`);
      }
      entries.push({ type: "notification", part });
    }
    for (const transition of transitions) {
      const parsed = parseOrInvalid(alertTransitionSchema, transition, "transition");
      if (alertKeyString(parsed) !== alertKeyString(state)) throw invalid(`transition ${parsed.id} is not of ${describeAlertKey(state)}`);
      entries.push({ type: "transition", transition: parsed });
    }

    const pk = statePartitionKey(state);
    if (expectedVersion === 0) {
      // Before the state exists, so loadStates always finds a written state through the index.
      await this.send("writing the alert key index", () =>
        this.client.send(new PutItemCommand({ TableName: this.tableName, Item: keyIndexItem(state) })),
      );
    }
    let written: Item;
    try {
      const output = await this.send(`transition of ${describeAlertKey(state)}`, () =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: { pk: { S: pk }, sk: { S: STATE_SORT_KEY } },
            UpdateExpression:
              "SET #state = :state, #version = :next, #slo = :slo, #scope = :scope, #severity = :severity, #unpublished = list_append(if_not_exists(#unpublished, :empty), :entries)",
            ConditionExpression: "attribute_not_exists(#pk) OR #version = :expected",
            ExpressionAttributeNames: {
              "#pk": "pk",
              "#state": "state",
              "#version": "version",
              "#slo": "slo",
              "#scope": "scope",
              "#severity": "severity",
              "#unpublished": "unpublished",
            },
            ExpressionAttributeValues: {
              ":state": { S: JSON.stringify(state) },
              ":next": { N: String(expectedVersion + 1) },
              ":expected": { N: String(expectedVersion) },
              ":slo": { S: state.slo },
              ":scope": { S: state.scope },
              ":severity": { S: state.severity },
              ":empty": { L: [] },
              ":entries": { L: entries.map((entry) => ({ S: JSON.stringify(entry) })) },
            },
            ReturnValues: "ALL_NEW",
          }),
        ),
      );
      written = output.Attributes ?? {};
    } catch (err) {
      if (err instanceof StoreError && err.code === "store_conflict") return false;
      throw err;
    }
    const stored = decodeStateItem({ ...written, pk: { S: pk }, sk: { S: STATE_SORT_KEY } });
    await this.publish(pk, stored.version, stored.unpublished);
    return true;
  }

  async applyPlan(loaded: readonly StoredAlertState[], plan: AlertPlan): Promise<ApplyPlanReport> {
    const versions = new Map(loaded.map((stored) => [alertKeyString(stored.state), stored.version]));
    const won = await mapWithConcurrency(plan.updates, this.concurrency, (update) =>
      this.transition(versions.get(alertKeyString(update.state)) ?? 0, update.state, update.notifications, update.transitions),
    );
    const report: ApplyPlanReport = { applied: [], conflicts: [] };
    plan.updates.forEach((update, index) => {
      (won[index] ? report.applied : report.conflicts).push(decodeAlertKey(update.state));
    });
    return report;
  }

  async pendingNotifications(): Promise<PendingNotification[]> {
    const [outboxItems, sealItems] = await Promise.all([
      this.queryAll(OUTBOX_PARTITION, "reading the outbox"),
      this.queryAll(OUTBOX_SEAL_PARTITION, "reading outbox seals"),
    ]);
    const seals = new Map(sealItems.map((item) => decodeSealItem(item)));
    const byBaseId = new Map<string, OutboxPart[]>();
    for (const part of outboxItems.map(decodeOutboxItem)) {
      const list = byBaseId.get(part.part.notificationId);
      if (list) list.push(part);
      else byBaseId.set(part.part.notificationId, [part]);
    }
    const pending = [...byBaseId].flatMap(([baseId, parts]) => deliveryGroups(baseId, parts, seals.get(baseId) ?? null).map(toPending));
    return pending.sort((a, b) => compareStrings(a.notification.notificationId, b.notification.notificationId));
  }

  async claimDelivery(notificationId: string, leaseMs: number): Promise<DeliveryClaim | null> {
    if (!(Number.isFinite(leaseMs) && leaseMs > 0)) throw invalid("leaseMs must be a positive number");
    const now = this.clock();
    const token = randomUUID();
    try {
      await this.send(`leasing ${notificationId}`, () =>
        this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: {
              pk: { S: OUTBOX_LEASE_PARTITION },
              sk: { S: escapeKeyPart(notificationId) },
              token: { S: token },
              leaseUntil: { N: String(now + leaseMs) },
              expiresAt: { N: String(Math.floor((now + this.outboxRetentionMs) / 1000)) },
            },
            ConditionExpression: "attribute_not_exists(pk) OR leaseUntil < :now",
            ExpressionAttributeValues: { ":now": { N: String(now) } },
          }),
        ),
      );
    } catch (err) {
      if (err instanceof StoreError && err.code === "store_conflict") return null;
      throw err;
    }
    // Re-read under the lease (a deliverer that read the outbox before someone else finished must not send
    // again), sealing the notification's content before its first send.
    const group = await this.deliveryGroup(notificationId);
    if (group === null || group.parts.every((part) => part.delivered)) {
      await this.releaseDelivery(notificationId, token);
      return null;
    }
    return { token, pending: toPending(group) };
  }

  async recordDelivery(notificationId: string, sinkIds: readonly string[]): Promise<void> {
    if (sinkIds.length === 0) return;
    const parts = (await this.deliveryGroup(notificationId))?.parts ?? [];
    await mapWithConcurrency(parts, this.concurrency, (part) =>
      this.send(`recording delivery of ${notificationId}`, () =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: { pk: { S: OUTBOX_PARTITION }, sk: { S: part.sk } },
            // ADD on a string set is idempotent, unlike a numeric ADD: a retried request adds nothing twice.
            UpdateExpression: "ADD deliveredTo :sinks",
            ConditionExpression: "attribute_exists(pk)",
            ExpressionAttributeValues: { ":sinks": { SS: [...new Set(sinkIds)] } },
          }),
        ),
      ),
    );
  }

  async markDelivered(notificationId: string): Promise<void> {
    const parts = (await this.deliveryGroup(notificationId))?.parts ?? [];
    const deliveredAt = new Date(this.clock()).toISOString();
    await mapWithConcurrency(parts, this.concurrency, (part) =>
      this.send(`marking ${notificationId} delivered`, () =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: { pk: { S: OUTBOX_PARTITION }, sk: { S: part.sk } },
            UpdateExpression: "SET #status = :delivered, deliveredAt = :at",
            ConditionExpression: "attribute_exists(pk)",
            ExpressionAttributeNames: { "#status": "status" },
            ExpressionAttributeValues: { ":delivered": { S: "delivered" }, ":at": { S: deliveredAt } },
          }),
        ),
      ),
    );
  }

  async releaseDelivery(notificationId: string, token: string): Promise<void> {
    try {
      await this.send(`releasing ${notificationId}`, () =>
        this.client.send(
          new DeleteItemCommand({
            TableName: this.tableName,
            Key: { pk: { S: OUTBOX_LEASE_PARTITION }, sk: { S: escapeKeyPart(notificationId) } },
            ConditionExpression: "#token = :token",
            ExpressionAttributeNames: { "#token": "token" },
            ExpressionAttributeValues: { ":token": { S: token } },
          }),
        ),
      );
    } catch (err) {
      // The lease expired and someone else holds it now: theirs to release.
      if (!(err instanceof StoreError && err.code === "store_conflict")) throw err;
    }
  }

  /** The latest transitions, newest first, from at most `historyMonths` months back. */
  async history(limit = 50): Promise<AlertTransition[]> {
    if (!(Number.isInteger(limit) && limit > 0)) throw invalid("limit must be a positive integer");
    const transitions: AlertTransition[] = [];
    const now = new Date(this.clock());
    for (let back = 0; back < this.historyMonths && transitions.length < limit; back++) {
      const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1)).toISOString().slice(0, 7);
      let startKey: Item | undefined;
      do {
        const page = await this.send(`reading alert history ${month}`, () =>
          this.client.send(
            new QueryCommand({
              TableName: this.tableName,
              KeyConditionExpression: "pk = :pk",
              ExpressionAttributeValues: { ":pk": { S: `${ALERT_HISTORY_PREFIX}${month}` } },
              ScanIndexForward: false,
              Limit: limit - transitions.length,
              ExclusiveStartKey: startKey,
            }),
          ),
        );
        for (const item of page.Items ?? []) transitions.push(decodeHistoryItem(item));
        startKey = transitions.length < limit ? page.LastEvaluatedKey : undefined;
      } while (startKey !== undefined);
    }
    return transitions.slice(0, limit);
  }

  private async publish(pk: string, version: number, entries: readonly UnpublishedEntry[]): Promise<void> {
    await mapWithConcurrency(entries, this.concurrency, (entry) =>
      this.putIfAbsent(
        entry.type === "notification"
          ? outboxItem(entry.part, this.outboxRetentionMs)
          : historyItem(entry.transition, this.historyRetentionMs),
      ),
    );
    try {
      await this.send(`clearing published entries of ${pk}`, () =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: { pk: { S: pk }, sk: { S: STATE_SORT_KEY } },
            UpdateExpression: "REMOVE #unpublished",
            ConditionExpression: "#version = :version",
            ExpressionAttributeNames: { "#unpublished": "unpublished", "#version": "version" },
            ExpressionAttributeValues: { ":version": { N: String(version) } },
          }),
        ),
      );
    } catch (err) {
      // A newer writer appended to the list and will publish all of it.
      if (!(err instanceof StoreError && err.code === "store_conflict")) throw err;
    }
  }

  private async putIfAbsent(item: Item): Promise<void> {
    try {
      await this.send(`publishing ${item.pk?.S ?? "?"} / ${item.sk?.S ?? "?"}`, () =>
        this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item, ConditionExpression: "attribute_not_exists(pk)" })),
      );
    } catch (err) {
      if (!(err instanceof StoreError && err.code === "store_conflict")) throw err;
    }
  }

  /**
   * The parts a delivery id stands for. A base id stands for the parts in its
   * seal, written the first time the id is claimed or recorded (so its
   * content never changes once a receiver may have seen it); `<id>+<scopes>`
   * for exactly the scopes it names.
   */
  private async deliveryGroup(notificationId: string): Promise<DeliveryGroup | null> {
    const { baseId, scopes } = splitDeliveryId(notificationId);
    const parts = (await this.queryAll(OUTBOX_PARTITION, `reading outbox parts of ${notificationId}`, `${escapeKeyPart(baseId)}#`))
      .map(decodeOutboxItem)
      .filter((part) => part.part.notificationId === baseId);
    if (parts.length === 0) return null;
    if (scopes !== null) {
      const named = parts.filter((part) => scopes.has(part.scope));
      return named.length === scopes.size ? { id: notificationId, parts: named } : null;
    }
    const seal = await this.ensureSeal(baseId, parts);
    return { id: baseId, parts: parts.filter((part) => seal.has(part.scope)) };
  }

  private async ensureSeal(baseId: string, parts: readonly OutboxPart[]): Promise<Set<string>> {
    const key = { pk: { S: OUTBOX_SEAL_PARTITION }, sk: { S: escapeKeyPart(baseId) } };
    const scopes = [...new Set(parts.map((part) => part.scope))].sort();
    const at = Date.parse(parts[0]!.part.at);
    await this.putIfAbsent({
      ...key,
      notificationId: { S: baseId },
      scopes: { S: JSON.stringify(scopes) },
      expiresAt: { N: String(Math.floor((at + this.outboxRetentionMs) / 1000)) },
    });
    const stored = await this.send(`reading the seal of ${baseId}`, () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: key, ConsistentRead: true })),
    );
    if (stored.Item === undefined) throw new StoreError("store_unavailable", `the seal of ${baseId} vanished right after it was written`);
    return decodeSealItem(stored.Item)[1];
  }

  private async queryAll(pk: string, what: string, skPrefix?: string): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.send(what, () =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: skPrefix === undefined ? "pk = :pk" : "pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues: { ":pk": { S: pk }, ...(skPrefix === undefined ? {} : { ":prefix": { S: skPrefix } }) },
            ExclusiveStartKey: startKey,
            ConsistentRead: true,
          }),
        ),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }

  private async batchGet(partitionKeys: readonly string[]): Promise<Item[]> {
    if (partitionKeys.length === 0) return [];
    let keys: Item[] = [...new Set(partitionKeys)].map((pk) => ({ pk: { S: pk }, sk: { S: STATE_SORT_KEY } }));
    const items: Item[] = [];
    // UnprocessedKeys are not an error to the SDK; asking again for them is ours to do.
    for (let round = 0; keys.length > 0; round++) {
      if (round >= this.policy.maxAttempts) {
        throw new StoreError("store_throttled", `BatchGetItem left ${keys.length} alert states unread after ${round} rounds`, {
          attempts: round,
        });
      }
      if (round > 0)
        await this.runtime.sleep(Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** (round - 1)) * this.runtime.random());
      const request = keys;
      const output = await this.send("reading alert states", () =>
        this.client.send(new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: request, ConsistentRead: true } } })),
      );
      items.push(...(output.Responses?.[this.tableName] ?? []));
      keys = output.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
    }
    return items;
  }

  private send<T>(what: string, request: () => Promise<T>): Promise<T> {
    return sendWithRetry(what, request, this.policy, this.runtime);
  }
}

function parseOrInvalid<T>(
  schema: {
    safeParse(
      value: unknown,
    ): { success: true; data: T } | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } };
  },
  value: unknown,
  what: string,
): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw invalid(`${what}${issue && issue.path.length > 0 ? `.${issue.path.map(String).join(".")}` : ""}: ${issue?.message ?? "invalid"}`);
}

function invalid(message: string): StoreError {
  return new StoreError("store_invalid", message);
}

function positive(value: number, name: string): number {
  if (!(Number.isFinite(value) && value > 0)) throw invalid(`${name} must be a positive number`);
  return value;
}

function definedOnly<T extends object>(partial: Partial<T> | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(partial ?? {}).filter(([, value]) => value !== undefined)) as Partial<T>;
}
