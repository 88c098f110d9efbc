// What every BGP reader (MRT files, BMP, RIS Live) yields and every routing
// consumer (store, analytics, CLI) takes: one event per prefix, in feed order.
//
// Readers canonicalise text before it gets here (IPv4 dotted quad, IPv6 in
// RFC 5952 form, prefixes as `<network>/<length>` with host bits zero), so
// equality of strings is equality of addresses and prefixes everywhere after.

/** How a route event came to be: announced, withdrawn, or a RIB (table dump) entry. */
export type RouteEventType = "A" | "W" | "B";

/** An ORIGIN attribute (RFC 4271 §5.1.1). */
export type RouteOriginAttribute = "IGP" | "EGP" | "INCOMPLETE";

/** One route of one prefix as one peer (of one collector or router) reported it. */
export interface RouteEvent {
  /** `A` announcement, `W` withdrawal, `B` an entry of a RIB dump (a route the peer had at that time). */
  type: RouteEventType;
  /** Unix time in milliseconds (MRT seconds, plus the microseconds of *_ET records; RIS Live's fractional seconds). */
  timeMs: number;
  /** The feed: a collector (`rrc00`, `route-views2`), `bmp:<router>`, or `mrt` for a file of unknown origin. */
  source: string;
  /** The BGP peer (neighbour) that sent the route to the collector or router, as an IP address. */
  peer: string;
  peerAs: number;
  /** The prefix, canonical (`198.51.100.0/24`, `2001:db8::/32`). */
  prefix: string;
  /**
   * AS numbers from the peer towards the origin, AS4_PATH merged (RFC 6793
   * §4.2.3); AS_SET members follow in their order. Empty for withdrawals.
   */
  asPath: number[];
  /** Set when the path holds AS_SETs: their members, for display (`{64500,64501}`); asPath already lists them. */
  asSets?: number[][];
  /** The AS that originated the route: the last AS_SEQUENCE member; null for withdrawals and paths ending in an AS_SET. */
  origin: number | null;
  originAttribute?: RouteOriginAttribute;
  nextHop?: string;
  /** `asn:value` (RFC 1997). */
  communities?: string[];
  /** `global:local1:local2` (RFC 8092). */
  largeCommunities?: string[];
  /** BMP only: whether the route is before or after the router's inbound policy. */
  policy?: "pre" | "post";
}

/** A BGP session between a collector (or router) and a peer went up or down; down implicitly withdraws its routes. */
export interface PeerStateEvent {
  type: "STATE";
  timeMs: number;
  source: string;
  peer: string;
  peerAs: number;
  /** True when the session reached Established, false when it left it. */
  up: boolean;
  /** The FSM state names when the feed gives them (MRT STATE_CHANGE: Idle … Established). */
  oldState?: string;
  newState?: string;
}

export type BgpEvent = RouteEvent | PeerStateEvent;
