// Folding BGP events into the routing snapshot of one watched prefix: which
// route every peer has for the prefix and its more-specifics, and which peers
// report. Pure; the store keeps the result.
//
// Re-reading the same file, or a second feed overlapping the first (RIS Live
// and the RIS archive of the same collector), must not apply an event twice.
// The rule, per peer (source and peer address), is a watermark: the peer's
// `lastSeenMs`, the time of the newest event of that peer already folded.
// - an event older than its peer's watermark is ignored (already folded, or
//   too late to matter: a newer event of that peer already decided the state);
// - an event at the watermark is folded again: A/B replace, W and a session
//   down remove, so re-folding the events of that one instant, in their
//   order, leaves what folding them once left;
// - a peer never seen has no watermark.
// The watermark is per peer rather than the snapshot's `asOfMs` so that a
// second feed lagging behind the first (its peers, its clock) still counts.
// Peers whose session went down keep their watermark in `downPeers`, or a
// re-read announcement from before the down would bring their routes back.
//
// Events are folded in time order (a stable sort: feed order within one
// millisecond). Routes are keyed by (source, peer, prefix, policy): a BMP
// router's pre- and post-policy views of a route are two routes of one peer.
import { compareStrings } from "../compare";
import type { BgpEvent, RouteEvent } from "./event";
import { type Prefix, parsePrefix, prefixContains, prefixOf } from "./prefix";
import type { RoutingPeer, RoutingSnapshot } from "./repository";

/** A watched prefix as the fold needs it; `WatchedPrefix` from the config fits. */
export interface WatchedPrefixRef {
  prefix: string;
}

/**
 * The snapshot of `watched` after folding `events` into `snapshot` (null: no
 * state yet). Route events outside the watched prefix only mark their peer as
 * reporting. Returns a new snapshot; the input is not changed.
 */
export function applyBgpEvents(snapshot: RoutingSnapshot | null, watched: WatchedPrefixRef, events: readonly BgpEvent[]): RoutingSnapshot {
  const fold = new SnapshotFold(snapshot, watched);
  for (const event of sortedByTime(events)) fold.apply(event);
  return fold.snapshot();
}

/** Stable sort by time; the input is returned as is when already in order (the usual case). */
export function sortedByTime<T extends { timeMs: number }>(events: readonly T[]): readonly T[] {
  for (let i = 1; i < events.length; i++) {
    if (events[i]!.timeMs < events[i - 1]!.timeMs) return [...events].sort((a, b) => a.timeMs - b.timeMs);
  }
  return events;
}

/** Identity of a peer of a feed. */
export function peerKey(source: string, peer: string): string {
  return `${source}\u0000${peer}`;
}

function routeKey(route: Pick<RouteEvent, "source" | "peer" | "prefix" | "policy">): string {
  return `${route.source}\u0000${route.peer}\u0000${route.prefix}\u0000${route.policy ?? ""}`;
}

/** The incremental fold behind applyBgpEvents; routingMinutes reads its state between minutes. */
export class SnapshotFold {
  readonly prefix: string;
  private readonly watched: Prefix;
  private readonly inside = new Map<string, boolean>();
  private asOfMs: number;
  private readonly routes = new Map<string, RouteEvent>();
  private readonly up = new Map<string, RoutingPeer>();
  private readonly down = new Map<string, RoutingPeer>();

  constructor(snapshot: RoutingSnapshot | null, watched: WatchedPrefixRef) {
    this.prefix = watched.prefix;
    this.watched = prefixOf(watched.prefix);
    this.asOfMs = snapshot?.asOfMs ?? 0;
    for (const route of snapshot?.routes ?? []) this.routes.set(routeKey(route), route);
    for (const peer of snapshot?.peers ?? []) this.up.set(peerKey(peer.source, peer.peer), { ...peer });
    for (const peer of snapshot?.downPeers ?? []) this.down.set(peerKey(peer.source, peer.peer), { ...peer });
  }

  /** True when the prefix (canonical text) is the watched one or a more-specific of it. */
  covers(prefix: string): boolean {
    let known = this.inside.get(prefix);
    if (known === undefined) {
      // Readers canonicalise prefixes; a text that is not one is nothing of ours.
      const parsed = parsePrefix(prefix).prefix;
      known = parsed !== null && prefixContains(this.watched, parsed);
      this.inside.set(prefix, known);
    }
    return known;
  }

  /** Folds one event; false when the watermark rule ignored it. */
  apply(event: BgpEvent): boolean {
    const key = peerKey(event.source, event.peer);
    const known = this.up.get(key) ?? this.down.get(key);
    if (known !== undefined && event.timeMs < known.lastSeenMs) return false;
    if (event.timeMs > this.asOfMs) this.asOfMs = event.timeMs;
    const peer: RoutingPeer = { source: event.source, peer: event.peer, peerAs: event.peerAs, lastSeenMs: event.timeMs };
    if (event.type === "STATE" && !event.up) {
      this.up.delete(key);
      this.down.set(key, peer);
      for (const [id, route] of this.routes) if (route.source === event.source && route.peer === event.peer) this.routes.delete(id);
      return true;
    }
    this.down.delete(key);
    this.up.set(key, peer);
    if (event.type === "STATE" || !this.covers(event.prefix)) return true;
    if (event.type === "W") this.routes.delete(routeKey(event));
    else this.routes.set(routeKey(event), event);
    return true;
  }

  /** The routes held now (any order). */
  currentRoutes(): IterableIterator<RouteEvent> {
    return this.routes.values();
  }

  snapshot(): RoutingSnapshot {
    const byPeer = (a: RoutingPeer, b: RoutingPeer) => compareStrings(a.source, b.source) || compareStrings(a.peer, b.peer);
    const routes = [...this.routes.values()].sort(
      (a, b) =>
        compareStrings(a.prefix, b.prefix) ||
        compareStrings(a.source, b.source) ||
        compareStrings(a.peer, b.peer) ||
        compareStrings(a.policy ?? "", b.policy ?? ""),
    );
    const snapshot: RoutingSnapshot = {
      prefix: this.prefix,
      asOfMs: this.asOfMs,
      routes,
      peers: [...this.up.values()].sort(byPeer),
    };
    if (this.down.size > 0) snapshot.downPeers = [...this.down.values()].sort(byPeer);
    return snapshot;
  }
}
