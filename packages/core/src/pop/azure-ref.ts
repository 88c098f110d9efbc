// Azure Front Door's classic `X-Azure-Ref` is `0` followed by Base64 of a
// binary record: a little-endian Unix time (4 bytes), 4 zero bytes, a 16-byte
// id, then the edge server's name as NUL-terminated ASCII, then a GUID.
// Microsoft's documented example
// (https://learn.microsoft.com/azure/frontdoor/front-door-http-headers-protocol)
// decodes to `WSTEDGE0619`. Newer references (`20240101T000000Z-…`) are opaque
// request ids. Pure and total: anything else decodes to null.

const EDGE_NAME_OFFSET = 24;
const MAX_EDGE_NAME = 32;
/** The documented reference is 97 characters; anything far longer is not one. */
const MAX_REFERENCE_LENGTH = 256;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const EDGE_NAME = /^[A-Za-z0-9]+$/;

/** The edge server name an `X-Azure-Ref` carries (`WSTEDGE0619`), or null. */
export function decodeAzureRef(raw: string): string | null {
  const value = raw.trim();
  if (value.length > MAX_REFERENCE_LENGTH || !value.startsWith("0")) return null;
  const encoded = value.slice(1);
  if (!BASE64.test(encoded)) return null;
  const bytes = base64Bytes(encoded.replace(/=+$/, ""));
  if (bytes.length <= EDGE_NAME_OFFSET) return null;
  const end = bytes.indexOf(0, EDGE_NAME_OFFSET);
  if (end === -1 || end === EDGE_NAME_OFFSET || end - EDGE_NAME_OFFSET > MAX_EDGE_NAME) return null;
  const name = String.fromCharCode(...bytes.subarray(EDGE_NAME_OFFSET, end));
  return EDGE_NAME.test(name) ? name : null;
}

/** Core stays free of Node's Buffer; the input is already checked to be Base64 letters only. */
function base64Bytes(encoded: string): Uint8Array {
  const bytes = new Uint8Array(Math.floor((encoded.length * 6) / 8));
  let bits = 0;
  let buffer = 0;
  let out = 0;
  for (const char of encoded) {
    buffer = ((buffer << 6) | ALPHABET.indexOf(char)) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[out++] = (buffer >> bits) & 0xff;
    }
  }
  return bytes;
}
