// How alert state, its outbox, leases, seals and history lie in the single
// table: item keys, and items to and from what @popwatch/core defines. The
// protocol that writes them is in ./alert-state.ts. A key is stored in its
// record form (the alert's name, scope and severity): names written by
// earlier versions decode as they did (see @popwatch/core's alerts/key.ts).
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import {
  type AlertKeyFields,
  type AlertState,
  type AlertTransition,
  type Notification,
  alertEventDetailSchema,
  alertStateSchema,
  alertTransitionSchema,
} from "@popwatch/core";
import { StoreError } from "./errors";
import { escapeKeyPart } from "./keys";

export const ALERT_STATE_PREFIX = "A#";
/** One item per alert key ever written, so loadStates needs no Scan. */
export const ALERT_KEY_INDEX_PARTITION = "AK";
export const OUTBOX_PARTITION = "O#outbox";
export const OUTBOX_LEASE_PARTITION = "O#lease";
/** Per notification id, the scopes it was first delivered with. */
export const OUTBOX_SEAL_PARTITION = "O#seal";
export const ALERT_HISTORY_PREFIX = "AH#";
export const STATE_SORT_KEY = "state";

export type Item = Record<string, AttributeValue>;

export type UnpublishedEntry = { type: "notification"; part: Notification } | { type: "transition"; transition: AlertTransition };

export function statePartitionKey(key: AlertKeyFields): string {
  return `${ALERT_STATE_PREFIX}${keyPath(key)}`;
}

function keyPath(key: AlertKeyFields): string {
  return `${escapeKeyPart(key.slo)}#${escapeKeyPart(key.scope)}#${escapeKeyPart(key.severity)}`;
}

function outboxSortKey(notificationId: string, scope: string): string {
  return `${escapeKeyPart(notificationId)}#${escapeKeyPart(scope)}`;
}

export function keyIndexItem(key: AlertKeyFields): Item {
  return {
    pk: { S: ALERT_KEY_INDEX_PARTITION },
    sk: { S: keyPath(key) },
    slo: { S: key.slo },
    scope: { S: key.scope },
    severity: { S: key.severity },
  };
}

export function decodeKeyIndexItem(item: Item): AlertKeyFields {
  const slo = item.slo?.S;
  const scope = item.scope?.S;
  const severity = item.severity?.S;
  if (slo === undefined || scope === undefined || (severity !== "page" && severity !== "ticket"))
    throw corrupt(item, "alert key index item");
  return { slo, scope, severity };
}

interface DecodedState {
  pk: string;
  state: AlertState;
  version: number;
  unpublished: UnpublishedEntry[];
}

export function decodeStateItem(item: Item): DecodedState {
  const version = Number(item.version?.N);
  const state = alertStateSchema.safeParse(parseJson(item.state?.S));
  if (!Number.isInteger(version) || version < 1 || !state.success) throw corrupt(item, "alert state");
  const unpublished = (item.unpublished?.L ?? []).map((value) => {
    const entry = parseJson(value.S) as { type?: unknown; part?: unknown; transition?: unknown } | undefined;
    if (entry?.type === "notification") {
      const part = alertEventDetailSchema.safeParse(entry.part);
      if (part.success) return { type: "notification", part: part.data } satisfies UnpublishedEntry;
    } else if (entry?.type === "transition") {
      const transition = alertTransitionSchema.safeParse(entry.transition);
      if (transition.success) return { type: "transition", transition: transition.data } satisfies UnpublishedEntry;
    }
    throw corrupt(item, "unpublished alert entry");
  });
  return { pk: item.pk?.S ?? "", state: state.data, version, unpublished };
}

export interface OutboxPart {
  sk: string;
  scope: string;
  part: Notification;
  delivered: boolean;
  deliveredTo: string[];
}

export function decodeOutboxItem(item: Item): OutboxPart {
  const part = alertEventDetailSchema.safeParse(parseJson(item.part?.S));
  const sk = item.sk?.S;
  const scope = item.scope?.S;
  if (!part.success || sk === undefined || scope === undefined) throw corrupt(item, "outbox item");
  return { sk, scope, part: part.data, delivered: item.status?.S === "delivered", deliveredTo: item.deliveredTo?.SS ?? [] };
}

export function decodeHistoryItem(item: Item): AlertTransition {
  const transition = alertTransitionSchema.safeParse(parseJson(item.transition?.S));
  if (!transition.success) throw corrupt(item, "alert history item");
  return transition.data;
}

export function decodeSealItem(item: Item): [string, Set<string>] {
  const id = item.notificationId?.S;
  const scopes = parseJson(item.scopes?.S);
  if (id === undefined || !Array.isArray(scopes) || !scopes.every((scope) => typeof scope === "string")) throw corrupt(item, "outbox seal");
  return [id, new Set(scopes as string[])];
}

export function outboxItem(part: Notification, retentionMs: number): Item {
  const scope = part.scopes[0]!.scope;
  return {
    pk: { S: OUTBOX_PARTITION },
    sk: { S: outboxSortKey(part.notificationId, scope) },
    notificationId: { S: part.notificationId },
    scope: { S: scope },
    part: { S: JSON.stringify(part) },
    status: { S: "pending" },
    expiresAt: { N: String(Math.floor((Date.parse(part.at) + retentionMs) / 1000)) },
  };
}

export function historyItem(transition: AlertTransition, retentionMs: number): Item {
  return {
    pk: { S: `${ALERT_HISTORY_PREFIX}${transition.at.slice(0, 7)}` },
    sk: { S: `${transition.at}#${escapeKeyPart(transition.id)}` },
    transition: { S: JSON.stringify(transition) },
    expiresAt: { N: String(Math.floor((Date.parse(transition.at) + retentionMs) / 1000)) },
  };
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function corrupt(item: Item, what: string): StoreError {
  return new StoreError("store_corrupt", `${what} ${item.pk?.S ?? "?"} / ${item.sk?.S ?? "?"} does not decode`);
}
