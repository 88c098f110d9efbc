// Route dynamics over a time range: withdrawals and path churn per peer, and
// the bursts of updates that are one convergence event each (SLI M2 starts at
// a burst's first update). Pure; callers pass the events of the range.
import { compareStrings } from "../compare";
import type { BgpEvent, RouteEvent } from "./event";
import { type Prefix, parsePrefix, prefixContains, prefixOf } from "./prefix";
import { peerKey, sortedByTime } from "./state";

export interface PeerChurn {
  source: string;
  peer: string;
  peerAs: number;
  announcements: number;
  withdrawals: number;
  /**
   * Announcements whose AS path differs from the peer's previous route for
   * that prefix (in these events; a RIB entry sets it). A withdrawal does not
   * forget the path, so withdrawing and re-announcing the same path is no
   * change, and coming back on another path is one. The first route a peer
   * shows for a prefix is no change.
   */
  pathChanges: number;
}

/** Per peer (source, peer address), sorted; peers with only session events are left out. */
export function pathChurn(events: readonly BgpEvent[]): PeerChurn[] {
  const peers = new Map<string, PeerChurn>();
  const lastPath = new Map<string, string>();
  for (const event of sortedByTime(events)) {
    if (event.type === "STATE") continue;
    const key = peerKey(event.source, event.peer);
    let churn = peers.get(key);
    if (churn === undefined) {
      churn = { source: event.source, peer: event.peer, peerAs: event.peerAs, announcements: 0, withdrawals: 0, pathChanges: 0 };
      peers.set(key, churn);
    }
    if (event.type === "W") {
      churn.withdrawals++;
      continue;
    }
    const routeKey = `${key}\u0000${event.prefix}\u0000${event.policy ?? ""}`;
    const path = event.asPath.join(" ");
    const before = lastPath.get(routeKey);
    if (event.type === "A") {
      churn.announcements++;
      if (before !== undefined && before !== path) churn.pathChanges++;
    }
    lastPath.set(routeKey, path);
  }
  return [...peers.values()].sort((a, b) => compareStrings(a.source, b.source) || compareStrings(a.peer, b.peer));
}

/** What a burst did: only withdrawals, only announcements, or both. */
export type BurstKind = "withdrawal" | "announcement" | "mixed";

export interface BgpBurst {
  /** The watched prefix whose routes (itself or more-specifics) the updates are about. */
  prefix: string;
  /** First and last update of the burst. */
  startMs: number;
  endMs: number;
  durationMs: number;
  /** Announcements and withdrawals (RIB entries are not updates). */
  updates: number;
  announcements: number;
  withdrawals: number;
  /** Distinct peers that sent an update. */
  peers: number;
  /** Prefixes updated (the watched one and/or more-specifics), sorted. */
  prefixes: string[];
  /** Origins announced during the burst, ascending. */
  origins: number[];
  kind: BurstKind;
}

/**
 * Bursts of updates per watched prefix: updates of the prefix or a
 * more-specific closer than `gapMs` to the previous one belong to one burst.
 * An update inside several watched prefixes (nested) counts for each. Session
 * events are left out: a session down is one peer's event, not a change of
 * the prefix's routes everywhere. Sorted by start, then prefix.
 */
export function bgpBursts(events: readonly BgpEvent[], gapMs: number, watchedPrefixes: readonly string[]): BgpBurst[] {
  const watched = watchedPrefixes.map((text) => ({ text, prefix: prefixOf(text) }));
  const inside = new Map<string, string[]>();
  const watchersOf = (prefix: string): string[] => {
    let list = inside.get(prefix);
    if (list === undefined) {
      const parsed = parsePrefix(prefix).prefix;
      list = parsed === null ? [] : watched.filter((w) => prefixContains(w.prefix, parsed as Prefix)).map((w) => w.text);
      inside.set(prefix, list);
    }
    return list;
  };
  const open = new Map<string, BurstBuilder>();
  const bursts: BgpBurst[] = [];
  for (const event of sortedByTime(events)) {
    if (event.type === "STATE" || event.type === "B") continue;
    for (const prefix of watchersOf(event.prefix)) {
      let burst = open.get(prefix);
      if (burst !== undefined && event.timeMs - burst.endMs >= gapMs) {
        bursts.push(burst.build());
        burst = undefined;
      }
      if (burst === undefined) {
        burst = new BurstBuilder(prefix, event.timeMs);
        open.set(prefix, burst);
      }
      burst.add(event);
    }
  }
  for (const burst of open.values()) bursts.push(burst.build());
  return bursts.sort((a, b) => a.startMs - b.startMs || compareStrings(a.prefix, b.prefix));
}

class BurstBuilder {
  endMs: number;
  private announcements = 0;
  private withdrawals = 0;
  private readonly peers = new Set<string>();
  private readonly prefixes = new Set<string>();
  private readonly origins = new Set<number>();

  constructor(
    private readonly prefix: string,
    private readonly startMs: number,
  ) {
    this.endMs = startMs;
  }

  add(event: RouteEvent): void {
    this.endMs = event.timeMs;
    if (event.type === "W") this.withdrawals++;
    else {
      this.announcements++;
      if (event.origin !== null) this.origins.add(event.origin);
    }
    this.peers.add(peerKey(event.source, event.peer));
    this.prefixes.add(event.prefix);
  }

  build(): BgpBurst {
    return {
      prefix: this.prefix,
      startMs: this.startMs,
      endMs: this.endMs,
      durationMs: this.endMs - this.startMs,
      updates: this.announcements + this.withdrawals,
      announcements: this.announcements,
      withdrawals: this.withdrawals,
      peers: this.peers.size,
      prefixes: [...this.prefixes].sort(compareStrings),
      origins: [...this.origins].sort((a, b) => a - b),
      kind: this.withdrawals === 0 ? "announcement" : this.announcements === 0 ? "withdrawal" : "mixed",
    };
  }
}
