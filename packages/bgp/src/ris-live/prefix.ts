// Address and prefix text for the live feeds: parse what a feed sends, print
// it canonically (event.ts: dotted quad, RFC 5952, host bits zero; printing
// is the wire decoder's), and test containment for the client-side filter.
// Lives here until core grows its own prefix math; it has no I/O, so it can
// move as is.
import { ipv4Text, ipv6Text } from "../wire/address";

/** An IP prefix in binary: 4 or 16 network-order bytes, host bits zero. */
export interface IpPrefix {
  family: 4 | 6;
  bytes: Uint8Array;
  length: number;
}

/** Parses an IPv4 dotted quad (no leading zeros, as inet_pton) or null. */
function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i] as string;
    if (part.length === 0 || part.length > 3 || (part.length > 1 && part[0] === "0")) return null;
    let value = 0;
    for (let j = 0; j < part.length; j++) {
      const digit = part.charCodeAt(j) - 48;
      if (digit < 0 || digit > 9) return null;
      value = value * 10 + digit;
    }
    if (value > 255) return null;
    out[i] = value;
  }
  return out;
}

function parseHexGroup(group: string): number {
  if (group.length === 0 || group.length > 4) return -1;
  let value = 0;
  for (let i = 0; i < group.length; i++) {
    const c = group.charCodeAt(i);
    const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

/** Parses IPv6 text (any RFC 4291 §2.2 form, including a trailing dotted quad) or null. */
function parseIpv6(text: string): Uint8Array | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groupsOf = (half: string): number[] | null => {
    if (half === "") return [];
    const groups: number[] = [];
    const parts = half.split(":");
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] as string;
      if (i === parts.length - 1 && part.includes(".")) {
        const v4 = parseIpv4(part);
        if (!v4) return null;
        groups.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
        continue;
      }
      const value = parseHexGroup(part);
      if (value < 0) return null;
      groups.push(value);
    }
    return groups;
  };
  const head = groupsOf(halves[0] as string);
  const tail = halves.length === 2 ? groupsOf(halves[1] as string) : [];
  if (!head || !tail) return null;
  const compressed = halves.length === 2;
  if (compressed ? head.length + tail.length > 7 : head.length !== 8) return null;
  const groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = (groups[i] as number) >> 8;
    out[i * 2 + 1] = (groups[i] as number) & 0xff;
  }
  return out;
}

/** Parses an IPv4 or IPv6 address; null when it is neither. */
export function parseIp(text: string): Uint8Array | null {
  return text.includes(":") ? parseIpv6(text) : parseIpv4(text);
}

/** Canonical text of a 4- or 16-byte address: dotted quad, or RFC 5952 (the wire decoder's printer). */
export function formatIp(bytes: Uint8Array): string {
  return bytes.length === 4 ? ipv4Text(bytes, 0) : ipv6Text(bytes, 0);
}

/** Canonical form of an address in any accepted text form, or null. */
export function canonicalIp(text: string): string | null {
  const bytes = parseIp(text);
  return bytes ? formatIp(bytes) : null;
}

/**
 * Parses `<address>/<length>`. Host bits are cleared (feeds and configs
 * sometimes send `10.1.2.3/8`); a missing length means a host prefix.
 */
export function parsePrefix(text: string): IpPrefix | null {
  const slash = text.indexOf("/");
  const bytes = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!bytes) return null;
  const maxLength = bytes.length * 8;
  let length = maxLength;
  if (slash >= 0) {
    const lengthText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lengthText)) return null;
    length = Number(lengthText);
    if (length > maxLength) return null;
  }
  for (let bit = length; bit < maxLength; bit++) bytes[bit >> 3] = (bytes[bit >> 3] as number) & ~(0x80 >> (bit & 7));
  return { family: bytes.length === 4 ? 4 : 6, bytes, length };
}

export function formatPrefix(prefix: IpPrefix): string {
  return `${formatIp(prefix.bytes)}/${prefix.length}`;
}

/** Whether `inner` equals `outer` or is a more-specific of it (same family). */
export function prefixCovers(outer: IpPrefix, inner: IpPrefix): boolean {
  if (outer.family !== inner.family || inner.length < outer.length) return false;
  const whole = outer.length >> 3;
  for (let i = 0; i < whole; i++) if (outer.bytes[i] !== inner.bytes[i]) return false;
  const rest = outer.length & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((outer.bytes[whole] as number) & mask) === ((inner.bytes[whole] as number) & mask);
}
