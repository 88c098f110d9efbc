// Which outbox parts go out together, under which delivery id. Pure: the
// store reads the parts and seals, this decides. See "Parts of one
// notification" in ./alert-state.ts for why ids are sealed.
import { type PendingNotification, mergeNotificationParts } from "@popwatch/core";
import type { OutboxPart } from "./alert-state-items";

/** Separates a notification id from the scopes of a late remainder; encodeURIComponent never leaves a '+' in an id. */
const LATE_PART_SEPARATOR = "+";

export interface DeliveryGroup {
  /** The id it is delivered under. */
  id: string;
  parts: OutboxPart[];
}

/**
 * What remains to deliver of one notification id: the sealed parts under the
 * id itself (all of them, so a resend is identical to the first send), and
 * parts that arrived after the seal (another evaluator won their keys a
 * moment later) under `<id>+<their scopes>`. Without a seal nothing was sent
 * yet, and every part belongs to the id.
 */
export function deliveryGroups(baseId: string, parts: readonly OutboxPart[], seal: Set<string> | null): DeliveryGroup[] {
  const sealed = seal === null ? [...parts] : parts.filter((part) => seal.has(part.scope));
  const late = seal === null ? [] : parts.filter((part) => !seal.has(part.scope) && !part.delivered);
  const groups: DeliveryGroup[] = [];
  if (sealed.some((part) => !part.delivered)) groups.push({ id: baseId, parts: sealed });
  // Late parts some sink already took stay apart from newer ones: merged, the id would change and that sink would get them again.
  const bySinksDone = new Map<string, OutboxPart[]>();
  for (const part of late) {
    const signature = JSON.stringify([...part.deliveredTo].sort());
    const list = bySinksDone.get(signature);
    if (list) list.push(part);
    else bySinksDone.set(signature, [part]);
  }
  for (const parts of bySinksDone.values()) {
    const scopes = parts.map((part) => part.scope).sort();
    groups.push({ id: `${baseId}${LATE_PART_SEPARATOR}${scopes.map(encodeURIComponent).join(",")}`, parts });
  }
  return groups;
}

export function toPending(group: DeliveryGroup): PendingNotification {
  const [merged] = mergeNotificationParts(group.parts.map((part) => part.part));
  // Delivered to a sink only when every part was.
  const [first, ...rest] = group.parts.map((part) => new Set(part.deliveredTo));
  const deliveredTo = new Set(first);
  for (const sinks of rest) for (const sink of deliveredTo) if (!sinks.has(sink)) deliveredTo.delete(sink);
  return { notification: { ...merged!, notificationId: group.id }, deliveredTo: [...deliveredTo].sort() };
}

export function splitDeliveryId(notificationId: string): { baseId: string; scopes: Set<string> | null } {
  const separator = notificationId.indexOf(LATE_PART_SEPARATOR);
  if (separator < 0) return { baseId: notificationId, scopes: null };
  const scopes = notificationId
    .slice(separator + 1)
    .split(",")
    .map(decodeURIComponent);
  return { baseId: notificationId.slice(0, separator), scopes: new Set(scopes) };
}
