// Address and prefix text for the decoders: IPv4 dotted quad, IPv6 per RFC 5952
// (glibc inet_ntop's form, which bgpdump prints: `::ffff:a.b.c.d` for mapped
// and `::a.b.c.d` for compatible addresses). Built by concatenation: these run
// once per prefix on the hot path, so no regexes and no intermediate arrays.
import { BgpWireError } from "../errors";

export const AFI_IPV4 = 1;
export const AFI_IPV6 = 2;

const HEX: string[] = [];
for (let i = 0; i < 0x10000; i++) HEX.push(i.toString(16));

/** The IPv4 address in `bytes[at..at+4)`. */
export function ipv4Text(bytes: Uint8Array, at: number): string {
  return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
}

/** The IPv6 address in `bytes[at..at+16)`, RFC 5952 form. */
export function ipv6Text(bytes: Uint8Array, at: number): string {
  const words = new Array<number>(8);
  for (let i = 0; i < 8; i++) words[i] = ((bytes[at + 2 * i] as number) << 8) | (bytes[at + 2 * i + 1] as number);
  return wordsText(words);
}

function wordsText(words: number[]): string {
  // The longest run of zero words (the first of equals), if at least two long.
  let bestStart = -1;
  let bestLength = 0;
  let runStart = -1;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && words[i] === 0) {
      if (runStart < 0) runStart = i;
    } else if (runStart >= 0) {
      if (i - runStart > bestLength) {
        bestStart = runStart;
        bestLength = i - runStart;
      }
      runStart = -1;
    }
  }
  if (bestLength < 2) bestStart = -1;
  if (bestStart === 0 && (bestLength === 6 || (bestLength === 5 && words[5] === 0xffff))) {
    const w6 = words[6] as number;
    const w7 = words[7] as number;
    const v4 = `${w6 >> 8}.${w6 & 0xff}.${w7 >> 8}.${w7 & 0xff}`;
    return bestLength === 6 ? `::${v4}` : `::ffff:${v4}`;
  }
  let text = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      text += "::";
      i += bestLength - 1;
      continue;
    }
    if (text.length > 0 && !text.endsWith(":")) text += ":";
    text += HEX[words[i] as number];
  }
  return text;
}

const scratch = new Uint8Array(16);

/**
 * Reads one NLRI prefix (RFC 4271 §4.3: a length in bits, then just enough
 * bytes) at `at` and returns its text, or throws a classified error. Bits past
 * the length in the last byte are zeroed, so the text is canonical.
 * `end` bounds the read; the caller advances by `prefixWireLength`.
 */
export function prefixText(bytes: Uint8Array, at: number, end: number, afi: number): string {
  if (at >= end) throw new BgpWireError("truncated", at, "prefix length missing");
  const length = bytes[at] as number;
  const max = afi === AFI_IPV4 ? 32 : 128;
  if (length > max) throw new BgpWireError("bad-prefix", at, `prefix length ${length} exceeds ${max}`);
  const octets = (length + 7) >> 3;
  if (at + 1 + octets > end) throw new BgpWireError("truncated", at, `prefix of /${length} needs ${octets} bytes`);
  if (afi === AFI_IPV4) {
    let a = 0;
    let b = 0;
    let c = 0;
    let d = 0;
    if (octets > 0) a = bytes[at + 1] as number;
    if (octets > 1) b = bytes[at + 2] as number;
    if (octets > 2) c = bytes[at + 3] as number;
    if (octets > 3) d = bytes[at + 4] as number;
    const rest = length & 7;
    if (rest !== 0) {
      const mask = (0xff << (8 - rest)) & 0xff;
      if (octets === 1) a &= mask;
      else if (octets === 2) b &= mask;
      else if (octets === 3) c &= mask;
      else d &= mask;
    }
    return `${a}.${b}.${c}.${d}/${length}`;
  }
  scratch.fill(0);
  for (let i = 0; i < octets; i++) scratch[i] = bytes[at + 1 + i] as number;
  if ((length & 7) !== 0) scratch[octets - 1] = (scratch[octets - 1] as number) & ((0xff << (8 - (length & 7))) & 0xff);
  return `${ipv6Text(scratch, 0)}/${length}`;
}

/** Bytes the prefix at `at` occupies (length byte included); call after `prefixText`. */
export function prefixWireLength(bytes: Uint8Array, at: number): number {
  return 1 + (((bytes[at] as number) + 7) >> 3);
}

/** Address of `afi` family at `at` of a 4- or 16-byte field. */
export function addressText(bytes: Uint8Array, at: number, afi: number): string {
  return afi === AFI_IPV4 ? ipv4Text(bytes, at) : ipv6Text(bytes, at);
}
