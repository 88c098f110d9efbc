// The bodies of the MRT records popwatch reads (RFC 6396 §4.3, §4.4; ADD-PATH
// subtypes of RFC 8050). Framing is the reader's; this decodes one body.
import { BgpWireError } from "../errors";
import { AFI_IPV4, AFI_IPV6, addressText, ipv4Text, ipv6Text, prefixText, prefixWireLength } from "../wire/address";
import { decodePathAttributes } from "../wire/attributes";
import { BGP_HEADER_LENGTH, decodeUpdate } from "../wire/message";
import { u16At, u32At } from "../wire/reader";
import type { MrtEntry, MrtStats } from "./entries";

export const MRT_HEADER_LENGTH = 12;
export const TABLE_DUMP_V2 = 13;
export const BGP4MP = 16;
export const BGP4MP_ET = 17;

interface Peer {
  address: string;
  asn: number;
}

/** State carried from record to record: the PEER_INDEX_TABLE that RIB records refer to. */
export interface MrtReaderState {
  peers: Peer[] | null;
}

/** Where a record's body lies: `bytes[start..end)`, `fileOffset` being `start`'s offset in the stream. */
export interface RecordBody {
  bytes: Uint8Array;
  start: number;
  end: number;
  fileOffset: number;
  seconds: number;
  type: number;
  subtype: number;
}

/**
 * Appends the entries of one record to `out`. Malformed bodies become a
 * warning entry (the record is skipped); unknown types are counted.
 */
export function decodeRecord(record: RecordBody, state: MrtReaderState, out: MrtEntry[], stats: MrtStats): void {
  try {
    if (record.type === BGP4MP || record.type === BGP4MP_ET) decodeBgp4mp(record, out, stats);
    else if (record.type === TABLE_DUMP_V2) decodeTableDumpV2(record, state, out, stats);
    else stats.unsupported++;
  } catch (err) {
    if (!(err instanceof BgpWireError)) throw err;
    stats.warnings++;
    const offset = record.fileOffset + (err.offset - record.start);
    out.push({ kind: "warning", code: err.code, offset, message: `MRT record type ${record.type}/${record.subtype}: ${err.detail}` });
  }
}

function need(record: RecordBody, at: number, count: number, what: string): void {
  if (at + count > record.end) throw new BgpWireError("truncated", at, `${what} needs ${count} bytes`);
}

// BGP4MP subtypes: 0 STATE_CHANGE, 1 MESSAGE, 4 MESSAGE_AS4, 5 STATE_CHANGE_AS4,
// 8 MESSAGE_ADDPATH, 9 MESSAGE_AS4_ADDPATH. The *_LOCAL ones (6, 7, 10, 11)
// are messages the dumping router sent, not routes a peer reported: skipped.
function decodeBgp4mp(record: RecordBody, out: MrtEntry[], stats: MrtStats): void {
  const subtype = record.subtype;
  const isState = subtype === 0 || subtype === 5;
  const isMessage = subtype === 1 || subtype === 4 || subtype === 8 || subtype === 9;
  if (!isState && !isMessage) {
    stats.unsupported++;
    return;
  }
  const b = record.bytes;
  const extendedTime = record.type === BGP4MP_ET;
  let p = record.start;
  let microseconds = 0;
  if (extendedTime) {
    need(record, p, 4, "BGP4MP_ET microseconds");
    microseconds = u32At(b, p);
    p += 4;
  }
  const as4 = subtype === 4 || subtype === 5 || subtype === 9;
  const asSize = as4 ? 4 : 2;
  need(record, p, 2 * asSize + 4, "BGP4MP peer header");
  const peerAs = as4 ? u32At(b, p) : u16At(b, p);
  p += 2 * asSize + 2; // peer AS, local AS, interface index
  const afi = u16At(b, p);
  p += 2;
  if (afi !== AFI_IPV4 && afi !== AFI_IPV6) throw new BgpWireError("bad-address-family", p - 2, `BGP4MP address family ${afi}`);
  const addressSize = afi === AFI_IPV4 ? 4 : 16;
  need(record, p, 2 * addressSize, "BGP4MP peer and local addresses");
  const peer = addressText(b, p, afi);
  p += 2 * addressSize;
  const seconds = record.seconds;
  if (isState) {
    need(record, p, 4, "BGP4MP state change");
    out.push({ kind: "state", seconds, microseconds, extendedTime, peer, peerAs, oldState: u16At(b, p), newState: u16At(b, p + 2) });
    return;
  }
  need(record, p, BGP_HEADER_LENGTH, "BGP message header");
  for (let i = 0; i < 16; i++) if (b[p + i] !== 0xff) throw new BgpWireError("bad-marker", p + i, "BGP marker is not all ones");
  const length = u16At(b, p + 16);
  if (length < BGP_HEADER_LENGTH || p + length > record.end)
    throw new BgpWireError("bad-length", p + 16, `BGP message length ${length} in a record of ${record.end - p} bytes`);
  // Only UPDATEs carry routes; OPEN, KEEPALIVE and NOTIFICATION are counted.
  if (b[p + 18] !== 2) {
    stats.otherMessages++;
    return;
  }
  const addPath = subtype === 8 || subtype === 9;
  const update = decodeUpdate(b, p + BGP_HEADER_LENGTH, p + length, { as4, addPath });
  out.push({ kind: "update", seconds, microseconds, extendedTime, peer, peerAs, addPath, update });
}

// TABLE_DUMP_V2 subtypes: 1 PEER_INDEX_TABLE, 2 RIB_IPV4_UNICAST,
// 4 RIB_IPV6_UNICAST, 8 RIB_IPV4_UNICAST_ADDPATH, 10 RIB_IPV6_UNICAST_ADDPATH.
function decodeTableDumpV2(record: RecordBody, state: MrtReaderState, out: MrtEntry[], stats: MrtStats): void {
  const subtype = record.subtype;
  if (subtype === 1) {
    state.peers = decodePeerIndex(record);
    return;
  }
  const afi = subtype === 2 || subtype === 8 ? AFI_IPV4 : subtype === 4 || subtype === 10 ? AFI_IPV6 : 0;
  if (afi === 0) {
    stats.unsupported++;
    return;
  }
  const addPath = subtype === 8 || subtype === 10;
  const b = record.bytes;
  let p = record.start + 4; // sequence number
  need(record, record.start, 5, "RIB header");
  const prefix = prefixText(b, p, record.end, afi);
  p += prefixWireLength(b, p);
  need(record, p, 2, "RIB entry count");
  const count = u16At(b, p);
  p += 2;
  const peers = state.peers;
  for (let i = 0; i < count; i++) {
    need(record, p, addPath ? 12 : 8, "RIB entry header");
    const index = u16At(b, p);
    const peer = peers?.[index];
    if (!peer)
      throw new BgpWireError(
        "bad-peer-index",
        p,
        peers ? `peer index ${index} of ${peers.length}` : "RIB record before any PEER_INDEX_TABLE",
      );
    p += 6; // peer index, originated time
    let pathId: number | null = null;
    if (addPath) {
      pathId = u32At(b, p);
      p += 4;
    }
    const attributesLength = u16At(b, p);
    p += 2;
    need(record, p, attributesLength, "RIB entry attributes");
    // RFC 6396 §4.3.4: RIB attributes always carry 4-byte AS numbers.
    const attributes = decodePathAttributes(b, p, p + attributesLength, { as4: true, addPath: false, ribAfi: afi });
    p += attributesLength;
    out.push({
      kind: "rib",
      seconds: record.seconds,
      microseconds: 0,
      extendedTime: false,
      peer: peer.address,
      peerAs: peer.asn,
      addPath,
      prefix,
      pathId,
      attributes,
    });
  }
}

function decodePeerIndex(record: RecordBody): Peer[] {
  const b = record.bytes;
  let p = record.start + 4; // collector BGP ID
  need(record, record.start, 6, "PEER_INDEX_TABLE header");
  p += 2 + u16At(b, p); // view name
  need(record, p, 2, "PEER_INDEX_TABLE peer count");
  const count = u16At(b, p);
  p += 2;
  const peers: Peer[] = [];
  for (let i = 0; i < count; i++) {
    need(record, p, 5, "peer entry");
    const type = b[p] as number;
    p += 5; // type, BGP ID
    const ipv6 = (type & 1) !== 0;
    const as4 = (type & 2) !== 0;
    need(record, p, (ipv6 ? 16 : 4) + (as4 ? 4 : 2), "peer entry address and AS");
    const address = ipv6 ? ipv6Text(b, p) : ipv4Text(b, p);
    p += ipv6 ? 16 : 4;
    const asn = as4 ? u32At(b, p) : u16At(b, p);
    p += as4 ? 4 : 2;
    peers.push({ address, asn });
  }
  return peers;
}
