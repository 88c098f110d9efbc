// Item formats of BGP events and routing minutes: how an event becomes a key
// that is the same for the same update whatever feed or re-read brought it,
// and how items decode back (anything else is store_corrupt).

import { createHash } from "node:crypto";
import { type BgpEvent, type RoutingMinute, SECOND_MS, periodKey } from "@popwatch/core";
import { WRITE_CODEC, encodePayloadText } from "./codec";
import { type Item, corrupt, invalid, payloadOf } from "./items";
import { PARTITION_KEY, SORT_KEY, bgpEventSortKey, routingMinutePartitionKey } from "./keys";

/** Hex digits of the sha-256 kept in a key: 80 bits, no collision among the updates of a prefix-hour. */
const DIGEST_HEX = 20;

/** `YYYY-MM-DDTHH:MM:SS` of an instant (UTC), the second an event key starts with. */
export function secondIso(ms: number): string {
  const minute = periodKey("minute", ms);
  if (minute === null) throw invalid(`time ${ms} out of range`);
  return `${minute}:${String(new Date(ms).getUTCSeconds()).padStart(2, "0")}`;
}

/**
 * The digest of what makes two events the same update: feed, peer, prefix,
 * type and second, and the attributes (path, next hop, communities). The
 * second and not the millisecond, because RIS Live stamps fractions of a
 * second where the MRT archive of the same collector has whole seconds;
 * communities sorted, because feeds need not keep their order.
 */
export function bgpEventDigest(event: BgpEvent): string {
  const second = Math.floor(event.timeMs / SECOND_MS);
  const identity =
    event.type === "STATE"
      ? [event.source, event.peer, event.peerAs, "STATE", second, event.up, event.oldState ?? null, event.newState ?? null]
      : [
          event.source,
          event.peer,
          event.peerAs,
          event.prefix,
          event.type,
          second,
          event.asPath,
          event.nextHop ?? null,
          [...(event.communities ?? [])].sort(),
          [...(event.largeCommunities ?? [])].sort(),
          event.policy ?? null,
        ];
  return createHash("sha256").update(JSON.stringify(identity)).digest("hex").slice(0, DIGEST_HEX);
}

export function bgpEventItem(pk: string, event: BgpEvent, expiresAt: number): Item {
  return {
    [PARTITION_KEY]: { S: pk },
    [SORT_KEY]: { S: bgpEventSortKey(secondIso(event.timeMs), bgpEventDigest(event)) },
    event: { S: JSON.stringify(event) },
    expiresAt: { N: String(expiresAt) },
  };
}

export function decodeBgpEventItem(item: Item): BgpEvent {
  const text = item.event?.S;
  if (text === undefined) throw corrupt(item, "has no event attribute");
  let event: unknown;
  try {
    event = JSON.parse(text);
  } catch (err) {
    throw corrupt(item, "holds an event that is not JSON", err);
  }
  const loose = event as Partial<BgpEvent> | null;
  if (
    typeof loose !== "object" ||
    loose === null ||
    typeof loose.timeMs !== "number" ||
    typeof loose.source !== "string" ||
    typeof loose.peer !== "string" ||
    !(loose.type === "STATE" || ((loose.type === "A" || loose.type === "W" || loose.type === "B") && typeof loose.prefix === "string"))
  ) {
    throw corrupt(item, "holds no BGP event");
  }
  return loose as BgpEvent;
}

/** The key of a watched prefix's minute (`BM#<prefix>#<day>` / `HH:MM`). */
export function routingMinuteKey(prefix: string, minuteStartMs: number): { pk: string; sk: string } {
  const minute = periodKey("minute", minuteStartMs);
  if (minute === null) throw invalid(`minuteStartMs ${minuteStartMs} out of range`);
  return { pk: routingMinutePartitionKey(prefix, minute.slice(0, 10)), sk: minute.slice(11) };
}

export function routingMinuteItem(minute: RoutingMinute, expiresAt: number): Item {
  const { pk, sk } = routingMinuteKey(minute.prefix, minute.minuteStartMs);
  return {
    [PARTITION_KEY]: { S: pk },
    [SORT_KEY]: { S: sk },
    data: { B: encodePayloadText(JSON.stringify(minute)) },
    codec: { S: WRITE_CODEC },
    expiresAt: { N: String(expiresAt) },
  };
}

export function decodeRoutingMinuteItem(item: Item, prefix: string): RoutingMinute {
  const minute = payloadOf(item) as Partial<RoutingMinute> | null;
  if (
    typeof minute !== "object" ||
    minute === null ||
    minute.prefix !== prefix ||
    typeof minute.minuteStartMs !== "number" ||
    typeof minute.peersReporting !== "number" ||
    typeof minute.peersSeeing !== "number" ||
    typeof minute.origins !== "object" ||
    !Array.isArray(minute.moreSpecifics)
  ) {
    throw corrupt(item, `does not hold a routing minute of ${prefix}`);
  }
  return minute as RoutingMinute;
}
