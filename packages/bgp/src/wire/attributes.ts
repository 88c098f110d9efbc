// Path attributes of an UPDATE (RFC 4271 §4.3, §5) and of a TABLE_DUMP_V2 RIB
// entry (RFC 6396 §4.3.4, where MP_REACH_NLRI may hold only the next hop).
import type { RouteOriginAttribute } from "@popwatch/core";
import { BgpWireError } from "../errors";
import { AFI_IPV4, AFI_IPV6, ipv4Text, ipv6Text, prefixText, prefixWireLength } from "./address";
import { u16At, u32At } from "./reader";
import {
  AS_CONFED_SEQUENCE,
  AS_CONFED_SET,
  AS_SET,
  type AsPathSegment,
  type AsPathSegmentType,
  type MpReach,
  type Nlri,
  type PathAttributes,
} from "./types";

const ORIGIN = 1;
const AS_PATH = 2;
const NEXT_HOP = 3;
const MED = 4;
const LOCAL_PREF = 5;
const ATOMIC_AGGREGATE = 6;
const AGGREGATOR = 7;
const COMMUNITIES = 8;
const MP_REACH_NLRI = 14;
const MP_UNREACH_NLRI = 15;
const AS4_PATH = 17;
const AS4_AGGREGATOR = 18;
const LARGE_COMMUNITY = 32;

const AS_TRANS = 23456;
const ORIGINS: RouteOriginAttribute[] = ["IGP", "EGP", "INCOMPLETE"];
const EXTENDED_LENGTH = 0x10;

export interface AttributeContext {
  /** AS_PATH and AGGREGATOR carry 4-byte AS numbers. */
  as4: boolean;
  addPath: boolean;
  /** TABLE_DUMP_V2: the AFI of the RIB, for an MP_REACH_NLRI abbreviated to its next hop. */
  ribAfi?: number;
}

/** Decodes the attributes in `bytes[start..end)`; throws a classified BgpWireError on malformed ones. */
export function decodePathAttributes(bytes: Uint8Array, start: number, end: number, context: AttributeContext): PathAttributes {
  const attributes: PathAttributes = {
    origin: null,
    asPath: null,
    nextHop: null,
    med: null,
    localPref: null,
    atomicAggregate: false,
    aggregator: null,
    communities: null,
    largeCommunities: null,
    mpReach: null,
    mpUnreach: null,
    unknownCount: 0,
  };
  let as4Path: AsPathSegment[] | null = null;
  let as4Aggregator: { asn: number; address: string } | null = null;
  let p = start;
  while (p < end) {
    const headerAt = p;
    if (p + 3 > end) throw new BgpWireError("truncated", p, "path attribute header");
    const flags = bytes[p] as number;
    const type = bytes[p + 1] as number;
    let length: number;
    if (flags & EXTENDED_LENGTH) {
      if (p + 4 > end) throw new BgpWireError("truncated", p, "path attribute extended length");
      length = u16At(bytes, p + 2);
      p += 4;
    } else {
      length = bytes[p + 2] as number;
      p += 3;
    }
    const valueEnd = p + length;
    if (valueEnd > end) throw new BgpWireError("truncated", headerAt, `attribute ${type} of ${length} bytes runs past the attributes`);
    switch (type) {
      case ORIGIN: {
        const origin = length === 1 ? ORIGINS[bytes[p] as number] : undefined;
        if (origin === undefined) throw new BgpWireError("bad-attribute", headerAt, "ORIGIN must be one byte 0..2");
        attributes.origin = origin;
        break;
      }
      case AS_PATH:
        attributes.asPath = decodeAsPath(bytes, p, valueEnd, context.as4 ? 4 : 2);
        break;
      case AS4_PATH:
        as4Path = decodeAsPath(bytes, p, valueEnd, 4);
        break;
      case NEXT_HOP:
        if (length !== 4) throw new BgpWireError("bad-attribute", headerAt, `NEXT_HOP of ${length} bytes`);
        attributes.nextHop = ipv4Text(bytes, p);
        break;
      case MED:
        if (length !== 4) throw new BgpWireError("bad-attribute", headerAt, `MULTI_EXIT_DISC of ${length} bytes`);
        attributes.med = u32At(bytes, p);
        break;
      case LOCAL_PREF:
        if (length !== 4) throw new BgpWireError("bad-attribute", headerAt, `LOCAL_PREF of ${length} bytes`);
        attributes.localPref = u32At(bytes, p);
        break;
      case ATOMIC_AGGREGATE:
        attributes.atomicAggregate = true;
        break;
      case AGGREGATOR:
        if (length === 8) attributes.aggregator = { asn: u32At(bytes, p), address: ipv4Text(bytes, p + 4) };
        else if (length === 6) attributes.aggregator = { asn: u16At(bytes, p), address: ipv4Text(bytes, p + 2) };
        else throw new BgpWireError("bad-attribute", headerAt, `AGGREGATOR of ${length} bytes`);
        break;
      case AS4_AGGREGATOR:
        if (length !== 8) throw new BgpWireError("bad-attribute", headerAt, `AS4_AGGREGATOR of ${length} bytes`);
        as4Aggregator = { asn: u32At(bytes, p), address: ipv4Text(bytes, p + 4) };
        break;
      case COMMUNITIES: {
        if (length % 4 !== 0) throw new BgpWireError("bad-attribute", headerAt, `COMMUNITIES of ${length} bytes`);
        const values = new Array<number>(length >> 2);
        for (let i = 0; i < values.length; i++) values[i] = u32At(bytes, p + 4 * i);
        attributes.communities = values;
        break;
      }
      case LARGE_COMMUNITY: {
        if (length % 12 !== 0) throw new BgpWireError("bad-attribute", headerAt, `LARGE_COMMUNITY of ${length} bytes`);
        const values = new Array<number>(length >> 2);
        for (let i = 0; i < values.length; i++) values[i] = u32At(bytes, p + 4 * i);
        attributes.largeCommunities = values;
        break;
      }
      case MP_REACH_NLRI:
        attributes.mpReach = decodeMpReach(bytes, p, valueEnd, context);
        break;
      case MP_UNREACH_NLRI: {
        if (length < 3) throw new BgpWireError("truncated", headerAt, "MP_UNREACH_NLRI shorter than AFI and SAFI");
        const afi = u16At(bytes, p);
        const safi = bytes[p + 2] as number;
        attributes.mpUnreach = { afi, safi, nlri: decodeMpNlri(bytes, p + 3, valueEnd, afi, safi, context.addPath) };
        break;
      }
      default:
        attributes.unknownCount++;
    }
    p = valueEnd;
  }
  if (!context.as4) mergeAs4(attributes, as4Path, as4Aggregator);
  return attributes;
}

function decodeAsPath(bytes: Uint8Array, start: number, end: number, asnSize: 2 | 4): AsPathSegment[] {
  const segments: AsPathSegment[] = [];
  let p = start;
  while (p < end) {
    if (p + 2 > end) throw new BgpWireError("truncated", p, "AS_PATH segment header");
    const type = bytes[p] as number;
    const count = bytes[p + 1] as number;
    if (type < AS_SET || type > AS_CONFED_SET) throw new BgpWireError("bad-attribute", p, `AS_PATH segment type ${type}`);
    if (p + 2 + count * asnSize > end) throw new BgpWireError("truncated", p, `AS_PATH segment of ${count} AS numbers`);
    const asns = new Array<number>(count);
    p += 2;
    if (asnSize === 4) for (let i = 0; i < count; i++, p += 4) asns[i] = u32At(bytes, p);
    else for (let i = 0; i < count; i++, p += 2) asns[i] = u16At(bytes, p);
    segments.push({ type: type as AsPathSegmentType, asns });
  }
  return segments;
}

/** Path length as RFC 6793 §4.2.3 counts it: a set counts one, confederation segments none. */
function pathLength(segments: AsPathSegment[]): number {
  let length = 0;
  for (const segment of segments) {
    if (segment.type === AS_SET) length += 1;
    else if (segment.type !== AS_CONFED_SEQUENCE && segment.type !== AS_CONFED_SET) length += segment.asns.length;
  }
  return length;
}

// RFC 6793 §4.2.3: on a 2-byte session, the AS4 attributes restore the AS
// numbers that AS_TRANS stood for; an AGGREGATOR that is not AS_TRANS means
// a 2-byte speaker aggregated after them, so they are stale and ignored.
function mergeAs4(
  attributes: PathAttributes,
  as4Path: AsPathSegment[] | null,
  as4Aggregator: { asn: number; address: string } | null,
): void {
  if (attributes.aggregator && as4Aggregator) {
    if (attributes.aggregator.asn !== AS_TRANS) return;
    attributes.aggregator = as4Aggregator;
  }
  const asPath = attributes.asPath;
  if (!as4Path || !asPath) return;
  const keep = pathLength(asPath) - pathLength(as4Path);
  if (keep < 0) return;
  const merged: AsPathSegment[] = [];
  let kept = 0;
  for (const segment of asPath) {
    if (kept >= keep) break;
    if (segment.type === AS_SET) {
      merged.push(segment);
      kept += 1;
    } else if (segment.type === AS_CONFED_SEQUENCE || segment.type === AS_CONFED_SET) {
      merged.push(segment);
    } else {
      const take = Math.min(segment.asns.length, keep - kept);
      merged.push(take === segment.asns.length ? segment : { type: segment.type, asns: segment.asns.slice(0, take) });
      kept += take;
    }
  }
  for (const segment of as4Path) merged.push(segment);
  attributes.asPath = merged;
}

function decodeMpReach(bytes: Uint8Array, start: number, end: number, context: AttributeContext): MpReach {
  const length = end - start;
  // RFC 6396 §4.3.4: in RIB entries only the next hop length and next hop are kept.
  if (context.ribAfi !== undefined && length >= 1 && (bytes[start] as number) + 1 === length) {
    const [nextHop, linkLocal] = nextHops(bytes, start + 1, bytes[start] as number);
    return { afi: context.ribAfi, safi: 1, nextHop, linkLocalNextHop: linkLocal, nlri: { prefixes: [], pathIds: null } };
  }
  if (length < 5) throw new BgpWireError("truncated", start, "MP_REACH_NLRI shorter than its fixed fields");
  const afi = u16At(bytes, start);
  const safi = bytes[start + 2] as number;
  const nextHopLength = bytes[start + 3] as number;
  const reservedAt = start + 4 + nextHopLength;
  if (reservedAt + 1 > end) throw new BgpWireError("truncated", start + 3, `MP_REACH_NLRI next hop of ${nextHopLength} bytes`);
  const [nextHop, linkLocal] = nextHops(bytes, start + 4, nextHopLength);
  return { afi, safi, nextHop, linkLocalNextHop: linkLocal, nlri: decodeMpNlri(bytes, reservedAt + 1, end, afi, safi, context.addPath) };
}

function nextHops(bytes: Uint8Array, at: number, length: number): [string | null, string | null] {
  if (length === 4) return [ipv4Text(bytes, at), null];
  if (length === 16) return [ipv6Text(bytes, at), null];
  if (length === 32) return [ipv6Text(bytes, at), ipv6Text(bytes, at + 16)];
  return [null, null];
}

// Shared by every empty NLRI field (most UPDATEs have one): decoders allocate per record, so this saves two objects each.
const NO_PREFIXES: Nlri = Object.freeze({ prefixes: Object.freeze([]) as unknown as string[], pathIds: null }) as Nlri;

function decodeMpNlri(bytes: Uint8Array, start: number, end: number, afi: number, safi: number, addPath: boolean): Nlri {
  // Labelled, VPN and flow-spec NLRI are encoded differently; they are not routes popwatch reads.
  if ((afi !== AFI_IPV4 && afi !== AFI_IPV6) || (safi !== 1 && safi !== 2)) return NO_PREFIXES;
  return decodeNlri(bytes, start, end, afi, addPath);
}

/** Decodes the prefixes in `bytes[start..end)` (withdrawn routes, NLRI, or an MP attribute's). */
export function decodeNlri(bytes: Uint8Array, start: number, end: number, afi: number, addPath: boolean): Nlri {
  if (start >= end) return NO_PREFIXES;
  const prefixes: string[] = [];
  const pathIds: number[] | null = addPath ? [] : null;
  let p = start;
  while (p < end) {
    if (pathIds) {
      if (p + 4 > end) throw new BgpWireError("truncated", p, "ADD-PATH path identifier");
      pathIds.push(u32At(bytes, p));
      p += 4;
    }
    prefixes.push(prefixText(bytes, p, end, afi));
    p += prefixWireLength(bytes, p);
  }
  return { prefixes, pathIds };
}
