// What the BGP wire decoder returns: messages as sent, attributes decoded but
// not interpreted (except AS4_PATH, merged into AS_PATH as RFC 6793 says).
import type { RouteOriginAttribute } from "@popwatch/core";

export const AS_SET = 1;
export const AS_SEQUENCE = 2;
export const AS_CONFED_SEQUENCE = 3;
export const AS_CONFED_SET = 4;
export type AsPathSegmentType = typeof AS_SET | typeof AS_SEQUENCE | typeof AS_CONFED_SEQUENCE | typeof AS_CONFED_SET;

export interface AsPathSegment {
  type: AsPathSegmentType;
  asns: number[];
}

/**
 * Prefixes of one NLRI field, canonical text; `pathIds[i]` belongs to `prefixes[i]` on ADD-PATH sessions.
 * Read-only: every empty field is one shared, frozen value.
 */
export interface Nlri {
  prefixes: string[];
  pathIds: number[] | null;
}

/** MP_REACH_NLRI (RFC 4760). Only AFI 1/2 with SAFI 1 (unicast) or 2 (multicast) have their prefixes decoded. */
export interface MpReach {
  afi: number;
  safi: number;
  /** The (global) next hop; null when the length is not 4, 16 or 32 bytes. */
  nextHop: string | null;
  /** The link-local half of a 32-byte IPv6 next hop (RFC 2545). */
  linkLocalNextHop: string | null;
  nlri: Nlri;
}

export interface MpUnreach {
  afi: number;
  safi: number;
  nlri: Nlri;
}

export interface PathAttributes {
  origin: RouteOriginAttribute | null;
  /** AS_PATH, with AS4_PATH merged on 2-byte sessions; null when absent. */
  asPath: AsPathSegment[] | null;
  nextHop: string | null;
  med: number | null;
  localPref: number | null;
  atomicAggregate: boolean;
  /** AGGREGATOR (AS4_AGGREGATOR substituted for AS_TRANS). */
  aggregator: { asn: number; address: string } | null;
  /** RFC 1997 values as unsigned 32-bit numbers. */
  communities: number[] | null;
  /** RFC 8092 values, three unsigned 32-bit numbers per community. */
  largeCommunities: number[] | null;
  mpReach: MpReach | null;
  mpUnreach: MpUnreach | null;
  /** Attributes of types this decoder does not know, skipped. */
  unknownCount: number;
}

export interface BgpUpdate {
  type: "UPDATE";
  withdrawn: Nlri;
  attributes: PathAttributes;
  announced: Nlri;
}

export interface BgpOpen {
  type: "OPEN";
  version: number;
  /** The 2-byte My AS field (AS_TRANS, 23456, when the speaker has a 4-byte AS). */
  myAs: number;
  /** The 4-octet AS capability's value (RFC 6793), when sent. */
  as4: number | null;
  holdTime: number;
  bgpId: string;
}

export interface BgpNotification {
  type: "NOTIFICATION";
  errorCode: number;
  errorSubcode: number;
  data: Uint8Array;
}

export interface BgpKeepalive {
  type: "KEEPALIVE";
}

export interface BgpRouteRefresh {
  type: "ROUTE-REFRESH";
  afi: number;
  safi: number;
}

export type BgpMessage = BgpUpdate | BgpOpen | BgpNotification | BgpKeepalive | BgpRouteRefresh;

export interface BgpDecodeOptions {
  /** The session negotiated 4-byte AS numbers (MRT *_AS4 subtypes; BMP peer flag). */
  as4: boolean;
  /** NLRI carry 4-byte path identifiers (RFC 7911; MRT *_ADDPATH subtypes). */
  addPath?: boolean;
}
