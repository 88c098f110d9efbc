// BGP messages (RFC 4271 §4): the 19-byte header, then OPEN, UPDATE,
// NOTIFICATION, KEEPALIVE or ROUTE-REFRESH. Used by the MRT reader and by
// BMP's Route Monitoring, which both carry whole messages.
import { BgpWireError } from "../errors";
import { AFI_IPV4, ipv4Text } from "./address";
import { decodeNlri, decodePathAttributes } from "./attributes";
import { u16At, u32At } from "./reader";
import type { BgpDecodeOptions, BgpMessage, BgpOpen, BgpUpdate } from "./types";

export const BGP_HEADER_LENGTH = 19;
/** RFC 8654 extended messages; classic sessions stop at 4096. */
const BGP_MAX_LENGTH = 65535;

/**
 * Decodes one BGP message at the start of `bytes` (its header's length field
 * says where it ends; bytes after it are ignored). Throws a BgpWireError with
 * a code and an offset into `bytes` when the message is malformed.
 */
export function decodeBgpMessage(bytes: Uint8Array, options: BgpDecodeOptions): BgpMessage {
  if (bytes.length < BGP_HEADER_LENGTH) throw new BgpWireError("truncated", 0, `BGP header needs 19 bytes, got ${bytes.length}`);
  for (let i = 0; i < 16; i++) if (bytes[i] !== 0xff) throw new BgpWireError("bad-marker", i, "BGP marker is not all ones");
  const length = u16At(bytes, 16);
  if (length < BGP_HEADER_LENGTH || length > BGP_MAX_LENGTH) throw new BgpWireError("bad-length", 16, `BGP message length ${length}`);
  if (length > bytes.length) throw new BgpWireError("truncated", 16, `BGP message of ${length} bytes, ${bytes.length} present`);
  const type = bytes[18] as number;
  switch (type) {
    case 1:
      return decodeOpen(bytes, length);
    case 2:
      return decodeUpdate(bytes, BGP_HEADER_LENGTH, length, options);
    case 3:
      if (length < 21) throw new BgpWireError("truncated", 19, "NOTIFICATION needs an error code and subcode");
      return { type: "NOTIFICATION", errorCode: bytes[19] as number, errorSubcode: bytes[20] as number, data: bytes.subarray(21, length) };
    case 4:
      return { type: "KEEPALIVE" };
    case 5:
      if (length < 23) throw new BgpWireError("truncated", 19, "ROUTE-REFRESH needs AFI and SAFI");
      return { type: "ROUTE-REFRESH", afi: u16At(bytes, 19), safi: bytes[22] as number };
    default:
      throw new BgpWireError("bad-message-type", 18, `BGP message type ${type}`);
  }
}

/** The body of an UPDATE in `bytes[start..end)` (after the header). */
export function decodeUpdate(bytes: Uint8Array, start: number, end: number, options: BgpDecodeOptions): BgpUpdate {
  const addPath = options.addPath === true;
  if (start + 2 > end) throw new BgpWireError("truncated", start, "UPDATE withdrawn routes length");
  const withdrawnLength = u16At(bytes, start);
  const withdrawnEnd = start + 2 + withdrawnLength;
  if (withdrawnEnd + 2 > end) throw new BgpWireError("truncated", start, `withdrawn routes of ${withdrawnLength} bytes`);
  const attributesLength = u16At(bytes, withdrawnEnd);
  const attributesEnd = withdrawnEnd + 2 + attributesLength;
  if (attributesEnd > end) throw new BgpWireError("truncated", withdrawnEnd, `path attributes of ${attributesLength} bytes`);
  return {
    type: "UPDATE",
    withdrawn: decodeNlri(bytes, start + 2, withdrawnEnd, AFI_IPV4, addPath),
    attributes: decodePathAttributes(bytes, withdrawnEnd + 2, attributesEnd, { as4: options.as4, addPath }),
    announced: decodeNlri(bytes, attributesEnd, end, AFI_IPV4, addPath),
  };
}

function decodeOpen(bytes: Uint8Array, end: number): BgpOpen {
  if (end < 29) throw new BgpWireError("truncated", 19, "OPEN needs 10 bytes after the header");
  const open: BgpOpen = {
    type: "OPEN",
    version: bytes[19] as number,
    myAs: u16At(bytes, 20),
    as4: null,
    holdTime: u16At(bytes, 22),
    bgpId: ipv4Text(bytes, 24),
  };
  const parametersEnd = 29 + (bytes[28] as number);
  if (parametersEnd > end) throw new BgpWireError("truncated", 28, "OPEN optional parameters");
  // Capabilities (RFC 5492), for the 4-octet AS number (code 65, RFC 6793).
  let p = 29;
  while (p + 2 <= parametersEnd) {
    const parameterType = bytes[p] as number;
    const parameterEnd = p + 2 + (bytes[p + 1] as number);
    if (parameterEnd > parametersEnd) throw new BgpWireError("truncated", p, "OPEN optional parameter");
    if (parameterType === 2) {
      let c = p + 2;
      while (c + 2 <= parameterEnd) {
        const code = bytes[c] as number;
        const capabilityEnd = c + 2 + (bytes[c + 1] as number);
        if (capabilityEnd > parameterEnd) throw new BgpWireError("truncated", c, "OPEN capability");
        if (code === 65 && capabilityEnd - c === 6) open.as4 = u32At(bytes, c + 2);
        c = capabilityEnd;
      }
    }
    p = parameterEnd;
  }
  return open;
}
