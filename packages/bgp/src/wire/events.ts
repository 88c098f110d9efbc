// Core's RouteEvent from decoded BGP: one event per prefix, withdrawals first
// then announcements (the order bgpdump prints), unicast only.
import type { RouteEvent } from "@popwatch/core";
import { AFI_IPV4, AFI_IPV6 } from "./address";
import { AS_CONFED_SEQUENCE, AS_CONFED_SET, AS_SET, type BgpUpdate, type PathAttributes } from "./types";

export interface RouteEventContext {
  timeMs: number;
  source: string;
  peer: string;
  peerAs: number;
}

/** The route fields an UPDATE's (or RIB entry's) attributes give every prefix they carry. */
export interface RouteFields {
  asPath: number[];
  asSets: number[][] | undefined;
  origin: number | null;
  originAttribute: RouteEvent["originAttribute"];
  communities: string[] | undefined;
  largeCommunities: string[] | undefined;
}

/**
 * Computes the fields once per UPDATE: events of one UPDATE share these
 * arrays (treat them as read-only). Confederation segments are left out of
 * `asPath`: they are hops inside one AS.
 */
export function routeFields(attributes: PathAttributes): RouteFields {
  const asPath: number[] = [];
  let asSets: number[][] | undefined;
  let origin: number | null = null;
  for (const segment of attributes.asPath ?? []) {
    if (segment.type === AS_CONFED_SEQUENCE || segment.type === AS_CONFED_SET) continue;
    for (const asn of segment.asns) asPath.push(asn);
    if (segment.type === AS_SET) {
      if (asSets === undefined) asSets = [];
      asSets.push(segment.asns);
      origin = null;
    } else {
      origin = segment.asns.length > 0 ? (segment.asns[segment.asns.length - 1] as number) : origin;
    }
  }
  return {
    asPath,
    asSets,
    origin,
    originAttribute: attributes.origin ?? undefined,
    communities: attributes.communities ? communityTexts(attributes.communities) : undefined,
    largeCommunities: attributes.largeCommunities ? largeCommunityTexts(attributes.largeCommunities) : undefined,
  };
}

function communityTexts(values: number[]): string[] {
  const texts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    texts[i] = `${value >>> 16}:${value & 0xffff}`;
  }
  return texts;
}

function largeCommunityTexts(values: number[]): string[] {
  const texts: string[] = [];
  for (let i = 0; i + 2 < values.length; i += 3) texts.push(`${values[i]}:${values[i + 1]}:${values[i + 2]}`);
  return texts;
}

/** A route event with the fields of `fields`; optional ones only when present. */
export function routeEvent(
  type: RouteEvent["type"],
  context: RouteEventContext,
  prefix: string,
  fields: RouteFields | null,
  nextHop: string | null,
): RouteEvent {
  const event: RouteEvent = {
    type,
    timeMs: context.timeMs,
    source: context.source,
    peer: context.peer,
    peerAs: context.peerAs,
    prefix,
    asPath: fields === null ? [] : fields.asPath,
    origin: fields === null ? null : fields.origin,
  };
  if (fields === null) return event;
  if (fields.asSets) event.asSets = fields.asSets;
  if (fields.originAttribute) event.originAttribute = fields.originAttribute;
  if (nextHop !== null) event.nextHop = nextHop;
  if (fields.communities) event.communities = fields.communities;
  if (fields.largeCommunities) event.largeCommunities = fields.largeCommunities;
  return event;
}

/** IPv4 or IPv6 unicast: the only routes that become events. */
export function isUnicast(afi: number, safi: number): boolean {
  return (afi === AFI_IPV4 || afi === AFI_IPV6) && safi === 1;
}

/** One RouteEvent per unicast prefix of an UPDATE: withdrawals (plain, then MP_UNREACH), then announcements (plain, then MP_REACH). */
export function updateRouteEvents(update: BgpUpdate, context: RouteEventContext): RouteEvent[] {
  const events: RouteEvent[] = [];
  const { attributes } = update;
  for (const prefix of update.withdrawn.prefixes) events.push(routeEvent("W", context, prefix, null, null));
  const unreach = attributes.mpUnreach;
  if (unreach && isUnicast(unreach.afi, unreach.safi)) {
    for (const prefix of unreach.nlri.prefixes) events.push(routeEvent("W", context, prefix, null, null));
  }
  const reach = attributes.mpReach;
  const reachPrefixes = reach && isUnicast(reach.afi, reach.safi) ? reach.nlri.prefixes : [];
  if (update.announced.prefixes.length === 0 && reachPrefixes.length === 0) return events;
  const fields = routeFields(attributes);
  for (const prefix of update.announced.prefixes) events.push(routeEvent("A", context, prefix, fields, attributes.nextHop));
  for (const prefix of reachPrefixes) events.push(routeEvent("A", context, prefix, fields, reach?.nextHop ?? null));
  return events;
}
