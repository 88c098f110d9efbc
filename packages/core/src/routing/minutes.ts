// Per-minute routing rollups of one watched prefix: visibility and origins at
// each minute's end, announcements, withdrawals and more-specifics within it,
// so history (the dashboards' visibility and origin AS over time) is read
// without re-reading events.
//
// A minute's rollup replaces the stored one (RoutingRepository.putMinutes), so
// its counts must describe the whole minute: pass every event of each minute
// the batch touches (the ingest reads them back from the store, where
// re-reads are already deduplicated), with `before` the snapshot as stored.
// Counts take every event given inside the watched prefix (RIB entries, B,
// count as neither announcement nor withdrawal); the state follows
// the fold's watermark rule (./state.ts), so events already folded do not
// change it. A minute of late events (older than the snapshot) therefore shows
// the state as of the newest event, not as it was then.
import { MINUTE_MS } from "../time";
import type { BgpEvent, RouteEvent } from "./event";
import type { RoutingMinute, RoutingSnapshot } from "./repository";
import { SnapshotFold, type WatchedPrefixRef, peerKey, sortedByTime } from "./state";

export interface RoutingMinutesResult {
  /** The snapshot after every event (what applyBgpEvents returns). */
  snapshot: RoutingSnapshot;
  /** One per UTC minute that had events, in time order. */
  minutes: RoutingMinute[];
}

export function routingMinutes(
  before: RoutingSnapshot | null,
  watched: WatchedPrefixRef,
  events: readonly BgpEvent[],
): RoutingMinutesResult {
  const fold = new SnapshotFold(before, watched);
  const minutes: RoutingMinute[] = [];
  const sorted = sortedByTime(events);
  let i = 0;
  while (i < sorted.length) {
    const minuteStartMs = Math.floor(sorted[i]!.timeMs / MINUTE_MS) * MINUTE_MS;
    const moreSpecifics = new Set<string>();
    const noteMoreSpecific = (route: RouteEvent) => {
      if (route.prefix !== fold.prefix) moreSpecifics.add(route.prefix);
    };
    for (const route of fold.currentRoutes()) noteMoreSpecific(route);
    let announcements = 0;
    let withdrawals = 0;
    for (; i < sorted.length && sorted[i]!.timeMs < minuteStartMs + MINUTE_MS; i++) {
      const event = sorted[i]!;
      fold.apply(event);
      if (event.type === "STATE" || !fold.covers(event.prefix)) continue;
      if (event.type === "W") withdrawals++;
      else {
        if (event.type === "A") announcements++;
        noteMoreSpecific(event);
      }
    }
    minutes.push({ minuteStartMs, ...visibilityOf(fold.snapshot()), moreSpecifics: [...moreSpecifics].sort(), announcements, withdrawals });
  }
  return { snapshot: fold.snapshot(), minutes };
}

/** Peers reporting, peers with a route to the watched prefix itself, and its origins, of a snapshot. */
export function visibilityOf(snapshot: RoutingSnapshot): Pick<RoutingMinute, "prefix" | "peersReporting" | "peersSeeing" | "origins"> {
  const reporting = new Set(snapshot.peers.map((peer) => peerKey(peer.source, peer.peer)));
  const seeing = new Set<string>();
  const originPeers = new Map<string, Set<string>>();
  for (const route of snapshot.routes) {
    const key = peerKey(route.source, route.peer);
    if (route.prefix !== snapshot.prefix || !reporting.has(key)) continue;
    seeing.add(key);
    // A path ending in an AS_SET has no single origin (RFC 6811 §2): seen, but no origin to count.
    if (route.origin === null) continue;
    const origin = String(route.origin);
    let peers = originPeers.get(origin);
    if (peers === undefined) {
      peers = new Set();
      originPeers.set(origin, peers);
    }
    peers.add(key);
  }
  const origins: Record<string, number> = {};
  for (const origin of [...originPeers.keys()].sort()) origins[origin] = originPeers.get(origin)!.size;
  return { prefix: snapshot.prefix, peersReporting: reporting.size, peersSeeing: seeing.size, origins };
}
