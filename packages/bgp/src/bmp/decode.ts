// One BMP message (RFC 7854 §4) from its bytes: the common header, the
// per-peer header, and each message type's body. Pure; a malformed message
// is a classified error with the byte offset inside the message, never a throw.
// The BGP UPDATE inside Route Monitoring stays bytes here: decoding it needs
// the session's 4-byte-AS state, which the session (session.ts) keeps.

import { BgpWireError } from "../errors";
import { ipv4Text, ipv6Text } from "../wire/address";
import { decodeBgpMessage } from "../wire/message";
import { ByteReader } from "../wire/reader";
import type { BgpOpen } from "../wire/types";

export const BMP_VERSION = 3;
export const BMP_COMMON_HEADER_LENGTH = 6;
export const BMP_PER_PEER_HEADER_LENGTH = 42;

/** Why BMP bytes could not be used; classified by code. */
export type BmpErrorCode =
  /** The common header's version is not 3: the stream cannot be framed, the connection is closed. */
  | "bad_version"
  /** The common header's length is below 6 or above the listener's maximum: the connection is closed. */
  | "bad_length"
  /** A structure inside a message runs past the message's end. */
  | "truncated"
  /** A message type RFC 7854 does not define. */
  | "unknown_type"
  /** The BGP message inside Route Monitoring or Peer Up does not decode (the BGP error's code is in the message). */
  | "bad_bgp"
  /** The router closed the connection in the middle of a message. */
  | "truncated_stream"
  /** The TCP connection failed (reset, timeout). */
  | "socket_error";

export interface BmpError {
  code: BmpErrorCode;
  message: string;
  /** Byte offset in the connection's stream, when the error is about bytes. */
  offset?: number;
}

export interface BmpPeerHeader {
  /** 0 global instance, 1 RD instance, 2 local instance (RFC 7854 §4.2), 3 Loc-RIB (RFC 9069). */
  peerType: number;
  /** V flag: the peer address is IPv6. */
  ipv6: boolean;
  /** L flag: post-policy Adj-RIB-In. */
  postPolicy: boolean;
  /** A flag: the BGP messages use 2-byte AS numbers. */
  twoByteAs: boolean;
  /** The route distinguisher as 16 hex digits (all zeros for the global instance). */
  distinguisher: string;
  address: string;
  peerAs: number;
  bgpId: string;
  /** Milliseconds since the Unix epoch; 0 when the router left the timestamp empty. */
  timeMs: number;
}

export type BmpMessage =
  | { type: "route-monitoring"; peer: BmpPeerHeader /** The BGP UPDATE PDU. */; pdu: Uint8Array; pduOffset: number }
  | { type: "statistics"; peer: BmpPeerHeader; count: number }
  | { type: "peer-down"; peer: BmpPeerHeader; reason: number }
  | {
      type: "peer-up";
      peer: BmpPeerHeader;
      localAddress: string;
      localPort: number;
      remotePort: number;
      sentOpen: BgpOpen;
      receivedOpen: BgpOpen;
    }
  | { type: "initiation"; sysName?: string; sysDescr?: string; strings: string[] }
  | { type: "termination"; reason?: number; strings: string[] }
  | { type: "route-mirroring"; peer: BmpPeerHeader };

export type BmpDecodeResult = { ok: true; message: BmpMessage } | { ok: false; error: BmpError };

class BmpFault extends Error {
  constructor(
    readonly code: BmpErrorCode,
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Decodes one whole BMP message (`bytes` is exactly the message, common header
 * included, as the framer cuts it). Offsets in errors count from its start.
 */
export function decodeBmpMessage(bytes: Uint8Array): BmpDecodeResult {
  try {
    return { ok: true, message: decode(bytes) };
  } catch (fault) {
    if (fault instanceof BmpFault) return { ok: false, error: { code: fault.code, message: fault.message, offset: fault.offset } };
    if (fault instanceof BgpWireError) {
      const code = fault.code === "truncated" ? "truncated" : "bad_bgp";
      return { ok: false, error: { code, message: fault.message, offset: fault.offset } };
    }
    throw fault;
  }
}

function decode(bytes: Uint8Array): BmpMessage {
  if (bytes.length < BMP_COMMON_HEADER_LENGTH) throw new BmpFault("truncated", 0, "BMP common header needs 6 bytes");
  const type = bytes[5] as number;
  const reader = new ByteReader(bytes, BMP_COMMON_HEADER_LENGTH, bytes.length);
  switch (type) {
    case 0: {
      const peer = peerHeader(reader);
      return { type: "route-monitoring", peer, pdu: bytes.subarray(reader.pos), pduOffset: reader.pos };
    }
    case 1: {
      const peer = peerHeader(reader);
      return { type: "statistics", peer, count: reader.u32("statistics count") };
    }
    case 2: {
      const peer = peerHeader(reader);
      return { type: "peer-down", peer, reason: reader.u8("peer down reason") };
    }
    case 3:
      return peerUp(bytes, reader);
    case 4: {
      const message: BmpMessage = { type: "initiation", strings: [] };
      for (const tlv of informationTlvs(reader)) {
        if (tlv.type === 0) message.strings.push(tlv.text());
        else if (tlv.type === 1) message.sysDescr = tlv.text();
        else if (tlv.type === 2) message.sysName = tlv.text();
      }
      return message;
    }
    case 5: {
      const message: BmpMessage = { type: "termination", strings: [] };
      for (const tlv of informationTlvs(reader)) {
        if (tlv.type === 0) message.strings.push(tlv.text());
        else if (tlv.type === 1 && tlv.length === 2) message.reason = ((bytes[tlv.at] as number) << 8) | (bytes[tlv.at + 1] as number);
      }
      return message;
    }
    case 6:
      return { type: "route-mirroring", peer: peerHeader(reader) };
    default:
      throw new BmpFault("unknown_type", 5, `BMP message type ${type}`);
  }
}

function peerHeader(reader: ByteReader): BmpPeerHeader {
  reader.need(BMP_PER_PEER_HEADER_LENGTH, "BMP per-peer header");
  const bytes = reader.bytes;
  const at = reader.pos;
  const flags = bytes[at + 1] as number;
  const ipv6 = (flags & 0x80) !== 0;
  let distinguisher = "";
  for (let i = 2; i < 10; i++) distinguisher += (bytes[at + i] as number).toString(16).padStart(2, "0");
  reader.pos = at + 10;
  const address = ipv6 ? ipv6Text(bytes, at + 10) : ipv4Text(bytes, at + 22);
  reader.pos = at + 26;
  const peerAs = reader.u32("peer AS");
  const bgpId = ipv4Text(bytes, reader.pos);
  reader.pos += 4;
  const seconds = reader.u32("timestamp seconds");
  const micros = reader.u32("timestamp microseconds");
  return {
    peerType: bytes[at] as number,
    ipv6,
    postPolicy: (flags & 0x40) !== 0,
    twoByteAs: (flags & 0x20) !== 0,
    distinguisher,
    address,
    peerAs,
    bgpId,
    timeMs: seconds * 1000 + Math.floor(micros / 1000),
  };
}

/** A BGP message starting at the reader's position, whose own header gives its length. */
function bgpOpenAt(reader: ByteReader, what: string): BgpOpen {
  reader.need(19, what);
  const start = reader.pos;
  const length = ((reader.bytes[start + 16] as number) << 8) | (reader.bytes[start + 17] as number);
  reader.need(length, what);
  let message: ReturnType<typeof decodeBgpMessage>;
  try {
    message = decodeBgpMessage(reader.bytes.subarray(start, start + length), { as4: true });
  } catch (error) {
    if (error instanceof BgpWireError) throw new BmpFault("bad_bgp", start + error.offset, `${what}: ${error.message}`);
    throw error;
  }
  if (message.type !== "OPEN") throw new BmpFault("bad_bgp", start + 18, `${what} is a ${message.type}, not an OPEN`);
  reader.pos = start + length;
  return message;
}

function peerUp(bytes: Uint8Array, reader: ByteReader): BmpMessage {
  const peer = peerHeader(reader);
  reader.need(20, "Peer Up local address and ports");
  const at = reader.pos;
  // RFC 7854 §4.10: an IPv4 local address sits in the last 4 bytes; the V flag says which.
  const localAddress = peer.ipv6 ? ipv6Text(bytes, at) : ipv4Text(bytes, at + 12);
  reader.pos = at + 16;
  const localPort = reader.u16("local port");
  const remotePort = reader.u16("remote port");
  const sentOpen = bgpOpenAt(reader, "Peer Up sent OPEN");
  const receivedOpen = bgpOpenAt(reader, "Peer Up received OPEN");
  return { type: "peer-up", peer, localAddress, localPort, remotePort, sentOpen, receivedOpen };
}

interface Tlv {
  type: number;
  at: number;
  length: number;
  text(): string;
}

/** Information TLVs (RFC 7854 §4.4): type (2), length (2), value, to the end of the message. */
function informationTlvs(reader: ByteReader): Tlv[] {
  const tlvs: Tlv[] = [];
  const decoder = new TextDecoder("utf-8", { fatal: false });
  while (reader.remaining > 0) {
    const type = reader.u16("information TLV type");
    const length = reader.u16("information TLV length");
    const at = reader.pos;
    reader.skip(length, "information TLV value");
    tlvs.push({ type, at, length, text: () => decoder.decode(reader.bytes.subarray(at, at + length)) });
  }
  return tlvs;
}
