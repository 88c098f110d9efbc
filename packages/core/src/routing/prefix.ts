// IP prefixes as routing compares them: parsed once into bytes, written back in
// one canonical text (IPv4 dotted quad, IPv6 per RFC 5952), compared by bits.
// Readers, config validation and analytics share these so that "the same
// prefix" means the same string everywhere.

export interface Prefix {
  family: 4 | 6;
  /** The network address, host bits zero; 4 or 16 bytes. */
  bytes: Uint8Array;
  length: number;
}

/** Why a text is not a prefix; null when it is one. */
export type PrefixProblem = "syntax" | "length" | "host-bits";

/** Parses `addr/len`; host bits set are a problem (a config typo such as 198.51.100.1/24), not silently cleared. */
export function parsePrefix(text: string): { prefix: Prefix; problem: null } | { prefix: null; problem: PrefixProblem } {
  const slash = text.indexOf("/");
  if (slash < 0) return { prefix: null, problem: "syntax" };
  const bytes = parseAddress(text.slice(0, slash));
  const length = decimal(text, slash + 1, text.length, 3);
  if (bytes === null || length < 0) return { prefix: null, problem: "syntax" };
  if (length > bytes.length * 8) return { prefix: null, problem: "length" };
  if (!hostBitsZero(bytes, length)) return { prefix: null, problem: "host-bits" };
  return { prefix: { family: bytes.length === 4 ? 4 : 6, bytes, length }, problem: null };
}

/** Parses a prefix that is known to be valid (canonical store or config text); throws on anything else. */
export function prefixOf(text: string): Prefix {
  const parsed = parsePrefix(text);
  if (parsed.prefix === null) throw new RangeError(`not a prefix (${parsed.problem}): ${text}`);
  return parsed.prefix;
}

export function formatPrefix(prefix: Prefix): string {
  return `${formatAddress(prefix.bytes)}/${prefix.length}`;
}

/** The canonical text of a valid prefix text (`2001:DB8:0::/32` → `2001:db8::/32`). */
export function canonicalPrefix(text: string): string {
  return formatPrefix(prefixOf(text));
}

/** True when `inner` lies inside `outer` (equal counts). */
export function prefixContains(outer: Prefix, inner: Prefix): boolean {
  if (outer.family !== inner.family || inner.length < outer.length) return false;
  const whole = outer.length >> 3;
  for (let i = 0; i < whole; i++) if (outer.bytes[i] !== inner.bytes[i]) return false;
  const rest = outer.length & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((outer.bytes[whole] ?? 0) & mask) === ((inner.bytes[whole] ?? 0) & mask);
}

/** True when an address (text) lies inside the prefix. */
export function prefixContainsAddress(outer: Prefix, address: string): boolean {
  const bytes = parseAddress(address);
  if (bytes === null) return false;
  return prefixContains(outer, { family: bytes.length === 4 ? 4 : 6, bytes, length: bytes.length * 8 });
}

/** 4 or 16 bytes of an IPv4 or IPv6 address text; null when it is neither. */
export function parseAddress(text: string): Uint8Array | null {
  return text.includes(":") ? parseIpv6(text) : parseIpv4(text);
}

export function formatAddress(bytes: Uint8Array): string {
  return bytes.length === 4 ? `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}` : formatIpv6(bytes);
}

function hostBitsZero(bytes: Uint8Array, length: number): boolean {
  for (let i = length >> 3; i < bytes.length; i++) {
    const bits = Math.max(0, length - i * 8);
    if ((bytes[i]! & (0xff >> bits)) !== 0) return false;
  }
  return true;
}

/**
 * The decimal number in text[start, end) of at most `maxDigits` digits and no
 * leading zero; -1 when it is not one. A loop rather than a regex: VRP files
 * and update files hold hundreds of thousands of prefixes.
 */
function decimal(text: string, start: number, end: number, maxDigits: number): number {
  const digits = end - start;
  if (digits < 1 || digits > maxDigits || (digits > 1 && text.charCodeAt(start) === 48)) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i) - 48;
    if (code < 0 || code > 9) return -1;
    value = value * 10 + code;
  }
  return value;
}

function parseIpv4(text: string): Uint8Array | null {
  const out = new Uint8Array(4);
  let start = 0;
  for (let i = 0; i < 4; i++) {
    let end = text.indexOf(".", start);
    if (i === 3) {
      if (end >= 0) return null;
      end = text.length;
    } else if (end < 0) return null;
    const value = decimal(text, start, end, 3);
    if (value < 0 || value > 255) return null;
    out[i] = value;
    start = end + 1;
  }
  return out;
}

function parseIpv6(text: string): Uint8Array | null {
  let head = text;
  let tail = "";
  const gap = text.indexOf("::");
  if (gap >= 0) {
    if (text.indexOf("::", gap + 1) >= 0) return null;
    head = text.slice(0, gap);
    tail = text.slice(gap + 2);
  }
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === "" ? [] : tail.split(":");
  const words: number[] = [];
  const all = [...headGroups, ...tailGroups];
  // An embedded IPv4 tail (::ffff:198.51.100.1) counts as two groups.
  const last = all[all.length - 1];
  let v4: Uint8Array | null = null;
  if (last?.includes(".")) {
    v4 = parseIpv4(last);
    if (v4 === null) return null;
    (tailGroups.length > 0 ? tailGroups : headGroups).pop();
  }
  const groupCount = headGroups.length + tailGroups.length + (v4 ? 2 : 0);
  if (gap < 0 ? groupCount !== 8 : groupCount > 7) return null;
  for (const group of headGroups) words.push(hexWord(group));
  for (let i = groupCount; i < 8; i++) words.push(0);
  for (const group of tailGroups) words.push(hexWord(group));
  if (v4) words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
  if (words.some((word) => word < 0)) return null;
  const out = new Uint8Array(16);
  words.forEach((word, i) => {
    out[i * 2] = word >> 8;
    out[i * 2 + 1] = word & 0xff;
  });
  return out;
}

function hexWord(group: string): number {
  return /^[0-9a-fA-F]{1,4}$/.test(group) ? Number.parseInt(group, 16) : -1;
}

function formatIpv6(bytes: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[i]! << 8) | bytes[i + 1]!);
  // RFC 5952 §4.2: the longest run of two or more zero words (the first on a tie) becomes "::".
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (list: number[]) => list.map((word) => word.toString(16)).join(":");
  // RFC 5952 §5: an IPv4-mapped address ends in dotted quad (::ffff:198.51.100.1), as inet_ntop writes it.
  if (bestStart === 0 && bestLength === 5 && words[5] === 0xffff) return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLength))}`;
}
