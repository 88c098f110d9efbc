// Hand-built BGP events for the routing tests: what a collector's peers would
// report about the documentation prefixes.
import type { PeerStateEvent, RouteEvent } from "../src/routing/event";

export const T0 = Date.parse("2026-03-01T12:00:00Z");
export const WATCHED = { prefix: "198.51.100.0/24", origins: [64500], upstreams: [64510, 64511] };
export const WATCHED6 = { prefix: "2001:db8::/32", origins: [64500] };

/** Peer n of rrc00: 203.0.113.n, AS 65000+n. */
export function peerOf(n: number): { source: string; peer: string; peerAs: number } {
  return { source: "rrc00", peer: `203.0.113.${n}`, peerAs: 65000 + n };
}

export function announce(
  n: number,
  timeMs: number,
  asPath: number[],
  prefix = WATCHED.prefix,
  extra: Partial<RouteEvent> = {},
): RouteEvent {
  const last = asPath[asPath.length - 1];
  return {
    type: "A",
    timeMs,
    ...peerOf(n),
    prefix,
    asPath,
    origin: extra.asSets === undefined && last !== undefined ? last : null,
    ...extra,
  };
}

export function withdraw(n: number, timeMs: number, prefix = WATCHED.prefix): RouteEvent {
  return { type: "W", timeMs, ...peerOf(n), prefix, asPath: [], origin: null };
}

export function session(n: number, timeMs: number, up: boolean): PeerStateEvent {
  return { type: "STATE", timeMs, ...peerOf(n), up };
}

/** Peers 1..count announce the prefix on a clean path (peer → upstream 64510 → origin 64500). */
export function cleanAnnouncements(count: number, timeMs: number, prefix = WATCHED.prefix): RouteEvent[] {
  return Array.from({ length: count }, (_, i) => announce(i + 1, timeMs + i, [65001 + i, 64510, 64500], prefix));
}
