// The contract between routing's pure logic and the store that keeps BGP
// events, routing state and per-minute routing rollups. The DynamoDB store
// (embedded dynalite locally) implements it; core decides what to write.
import type { BgpEvent, RouteEvent } from "./event";

/**
 * What a watched prefix looks like from the collectors and routers at one
 * instant: the route every peer has for the prefix or any more-specific of it,
 * and the peers that report (sessions up). Folding events into it is pure
 * (core); the store only keeps it.
 */
export interface RoutingSnapshot {
  /** The watched prefix (canonical). */
  prefix: string;
  /** Time of the newest event folded in. */
  asOfMs: number;
  /** One per (source, peer, prefix): the newest announcement or RIB entry not withdrawn since. */
  routes: RouteEvent[];
  /** Peers that report: seen in the feed with their session not down. */
  peers: RoutingPeer[];
  /**
   * Peers whose session went down since they were last seen, kept for their
   * `lastSeenMs`: the watermark that stops a re-read event from before the
   * down from bringing their routes back (see ./state.ts). Absent when none.
   */
  downPeers?: RoutingPeer[];
}

/** A peer of a feed and the time of its newest event folded into a snapshot. */
export interface RoutingPeer {
  source: string;
  peer: string;
  peerAs: number;
  lastSeenMs: number;
}

/** One watched prefix over one UTC minute, for visibility and origin history without re-reading events. */
export interface RoutingMinute {
  prefix: string;
  minuteStartMs: number;
  /** At the minute's end. */
  peersReporting: number;
  /** Peers with a route to the prefix itself at the minute's end. */
  peersSeeing: number;
  /** Origin AS (decimal text) → peers whose route to the prefix itself it originates, at the minute's end. */
  origins: Record<string, number>;
  /** More-specifics of the prefix any peer had during the minute. */
  moreSpecifics: string[];
  announcements: number;
  withdrawals: number;
}

export interface BgpEventQuery {
  /** Watched prefixes (canonical): events of each and of its more-specifics. */
  prefixes: readonly string[];
  fromMs: number;
  /** Exclusive. */
  toMs: number;
}

export interface RoutingRepository {
  /**
   * Writes events under keys derived from their content (source, peer, prefix,
   * type, second, attributes), so re-reading a file or an overlapping feed
   * writes nothing twice. Events outside every watched prefix are the caller's
   * to drop; peer state events are kept per source.
   */
  putEvents(watchedPrefixes: readonly string[], events: readonly BgpEvent[]): Promise<{ written: number; duplicates: number }>;
  /** Events of the prefixes in time order (and the peer state events of their sources). */
  queryEvents(query: BgpEventQuery): Promise<BgpEvent[]>;
  getSnapshot(prefix: string): Promise<RoutingSnapshot | null>;
  putSnapshot(snapshot: RoutingSnapshot): Promise<void>;
  /** Replaces the minute of each rollup (recomputing a minute is idempotent). */
  putMinutes(minutes: readonly RoutingMinute[]): Promise<void>;
  readMinutes(prefix: string, fromMs: number, toMs: number): Promise<RoutingMinute[]>;
}
