// RDATA in presentation form (RFC 1035 §5.1, 3597, 4034, 5952, 8659), for the
// answer section only. Every formatter reads the buffer in place and gives up
// (null) rather than throw; formatRdata then falls back to the generic form.

import { typeName } from "./codes";
import { NAME_BROKEN, nameOut, readName } from "./names";
import { decodeRrsig } from "./rrsig";

/**
 * RDATA in presentation form. Types it does not know, and known types whose
 * data does not parse, fall back to RFC 3597's `\# <length> <hex>`.
 */
export function formatRdata(buf: Buffer, type: number, start: number, end: number): string {
  let text: string | null = null;
  try {
    text = formatKnownRdata(buf, type, start, end);
  } catch {
    text = null;
  }
  return text ?? genericRdata(buf, start, end);
}

function genericRdata(buf: Buffer, start: number, end: number): string {
  return end > start ? `\\# ${end - start} ${buf.toString("hex", start, end)}` : "\\# 0";
}

/** A name inside RDATA that must end exactly at `end` (or before, when more fields follow). */
function rdataName(buf: Buffer, off: number, end: number): number {
  const after = readName(buf, off);
  return after < 0 || after > end ? NAME_BROKEN : after;
}

function formatKnownRdata(buf: Buffer, type: number, start: number, end: number): string | null {
  const length = end - start;
  switch (type) {
    case 1: // A
      return length === 4 ? `${buf[start]}.${buf[start + 1]}.${buf[start + 2]}.${buf[start + 3]}` : null;
    case 28: // AAAA
      return length === 16 ? formatIpv6(buf, start) : null;
    case 2: // NS
    case 5: // CNAME
    case 12: // PTR
    case 39: // DNAME
      return rdataName(buf, start, end) === end ? nameOut.value : null;
    case 15: // MX
    case 36: {
      // KX
      if (length < 3) return null;
      const preference = buf.readUInt16BE(start);
      return rdataName(buf, start + 2, end) === end ? `${preference} ${nameOut.value}` : null;
    }
    case 6: {
      // SOA
      const afterMname = rdataName(buf, start, end);
      if (afterMname < 0) return null;
      const mname = nameOut.value;
      const afterRname = rdataName(buf, afterMname, end);
      if (afterRname < 0 || afterRname + 20 !== end) return null;
      const rname = nameOut.value;
      const n = (i: number) => buf.readUInt32BE(afterRname + 4 * i);
      return `${mname} ${rname} ${n(0)} ${n(1)} ${n(2)} ${n(3)} ${n(4)}`;
    }
    case 16: // TXT
    case 99: {
      // SPF
      const strings = characterStrings(buf, start, end);
      return strings ? strings.join("") : null;
    }
    case 13: {
      // HINFO
      const strings = characterStrings(buf, start, end);
      return strings && strings.length === 2 ? `"${strings[0]}" "${strings[1]}"` : null;
    }
    case 33: {
      // SRV
      if (length < 7) return null;
      const priority = buf.readUInt16BE(start);
      const weight = buf.readUInt16BE(start + 2);
      const port = buf.readUInt16BE(start + 4);
      return rdataName(buf, start + 6, end) === end ? `${priority} ${weight} ${port} ${nameOut.value}` : null;
    }
    case 257: {
      // CAA
      if (length < 2) return null;
      const tagLength = buf[start + 1]!;
      if (tagLength === 0 || start + 2 + tagLength > end) return null;
      const tag = buf.toString("latin1", start + 2, start + 2 + tagLength);
      return `${buf[start]} ${tag} "${escapeText(buf, start + 2 + tagLength, end)}"`;
    }
    case 43: // DS
    case 59: // CDS
    case 32769: // DLV
      if (length < 5) return null;
      return `${buf.readUInt16BE(start)} ${buf[start + 2]} ${buf[start + 3]} ${buf.toString("hex", start + 4, end).toUpperCase()}`;
    case 48: // DNSKEY
    case 60: // CDNSKEY
      if (length < 5) return null;
      return `${buf.readUInt16BE(start)} ${buf[start + 2]} ${buf[start + 3]} ${buf.toString("base64", start + 4, end)}`;
    case 46: {
      // RRSIG
      const rrsig = decodeRrsig(buf, start, end);
      if (!rrsig) return null;
      return [
        typeName(rrsig.typeCovered),
        rrsig.algorithm,
        rrsig.labels,
        rrsig.originalTtl,
        formatSigTime(rrsig.expiration),
        formatSigTime(rrsig.inception),
        rrsig.keyTag,
        rrsig.signer,
        buf.toString("base64", rrsig.signatureStart, end),
      ].join(" ");
    }
    case 47: {
      // NSEC
      const afterNext = rdataName(buf, start, end);
      if (afterNext < 0) return null;
      const next = nameOut.value;
      const types = typeBitmap(buf, afterNext, end);
      return types === null ? null : types.length > 0 ? `${next} ${types.join(" ")}` : next;
    }
    case 50: {
      // NSEC3 (RFC 5155 §3.3)
      if (length < 5) return null;
      const afterSalt = start + 5 + buf[start + 4]!;
      if (afterSalt >= end) return null;
      const hashLength = buf[afterSalt]!;
      const afterHash = afterSalt + 1 + hashLength;
      if (hashLength === 0 || afterHash > end) return null;
      const types = typeBitmap(buf, afterHash, end);
      if (types === null) return null;
      return [nsec3Parameters(buf, start, afterSalt), base32Hex(buf, afterSalt + 1, afterHash), ...types].join(" ");
    }
    case 51: // NSEC3PARAM (RFC 5155 §4.3)
      return length >= 5 && start + 5 + buf[start + 4]! === end ? nsec3Parameters(buf, start, end) : null;
    default:
      return null;
  }
}

/** Hash algorithm, flags, iterations and salt (hex, `-` when empty), shared by NSEC3 and NSEC3PARAM. */
function nsec3Parameters(buf: Buffer, start: number, saltEnd: number): string {
  const salt = saltEnd > start + 5 ? buf.toString("hex", start + 5, saltEnd).toUpperCase() : "-";
  return `${buf[start]} ${buf[start + 1]} ${buf.readUInt16BE(start + 2)} ${salt}`;
}

const BASE32_HEX = "0123456789ABCDEFGHIJKLMNOPQRSTUV";

/** RFC 4648 §7 base32 with the extended hex alphabet, unpadded, as NSEC3 hashed owner names are written. */
function base32Hex(buf: Buffer, start: number, end: number): string {
  let text = "";
  let bits = 0;
  let value = 0;
  for (let i = start; i < end; i++) {
    value = ((value << 8) | buf[i]!) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      text += BASE32_HEX[(value >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) text += BASE32_HEX[(value << (5 - bits)) & 31];
  return text;
}

function characterStrings(buf: Buffer, start: number, end: number): string[] | null {
  const strings: string[] = [];
  let off = start;
  while (off < end) {
    const length = buf[off]!;
    if (off + 1 + length > end) return null;
    strings.push(escapeText(buf, off + 1, off + 1 + length));
    off += 1 + length;
  }
  return strings.length > 0 ? strings : null;
}

/** Printable ASCII as is; backslash, double quote and everything else escaped (`\\`, `\"`, `\DDD`). */
function escapeText(buf: Buffer, start: number, end: number): string {
  let simple = true;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c < 0x20 || c > 0x7e || c === 0x5c || c === 0x22) {
      simple = false;
      break;
    }
  }
  if (simple) return buf.toString("latin1", start, end);
  let text = "";
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c === 0x5c || c === 0x22) text += "\\" + String.fromCharCode(c);
    else if (c >= 0x20 && c <= 0x7e) text += String.fromCharCode(c);
    else text += "\\" + String(c).padStart(3, "0");
  }
  return text;
}

function typeBitmap(buf: Buffer, start: number, end: number): string[] | null {
  const types: string[] = [];
  let off = start;
  while (off < end) {
    if (off + 2 > end) return null;
    const window = buf[off]!;
    const length = buf[off + 1]!;
    if (length === 0 || length > 32 || off + 2 + length > end) return null;
    for (let i = 0; i < length; i++) {
      const octet = buf[off + 2 + i]!;
      for (let bit = 0; bit < 8; bit++) {
        if (octet & (0x80 >> bit)) types.push(typeName(window * 256 + i * 8 + bit));
      }
    }
    off += 2 + length;
  }
  return types;
}

// Presentation form (RFC 4034 §3.2) read as an absolute time, 1970-2106, as dig and kdig print it;
// the facts read it relative to the probe's clock instead (rrsig.ts).
function formatSigTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/[-:T]/g, "").slice(0, 14);
}

/** RFC 5952 text form: lowercase, leading zeros dropped, the longest run of two or more zero groups as `::`. */
function formatIpv6(buf: Buffer, start: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(start + 2 * i));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) =>
    groups
      .slice(from, to)
      .map((g) => g.toString(16))
      .join(":");
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}
