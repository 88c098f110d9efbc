// DNS wire format (RFC 1035, 3597, 6891): query encoding and a total decoder.
//
// The decoder never throws. What arrives on a probe's socket is chosen by a
// server, a middlebox or a spoofer, and a probe's reply to garbage is a
// classified result, not a crash. It is also on the hot path of every probe,
// so it reads the buffer by hand and formats only the answer section.

import type { DnsAnswer } from "@popwatch/core";

// ---------------------------------------------------------------------------
// Mnemonics

// biome-ignore format: a mnemonic table laid out by hand, several codes a line, in code order
const TYPE_BY_NAME: Readonly<Record<string, number>> = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, NULL: 10, WKS: 11, PTR: 12, HINFO: 13, MINFO: 14, MX: 15, TXT: 16, RP: 17, AFSDB: 18,
  SIG: 24, KEY: 25, AAAA: 28, LOC: 29, SRV: 33, NAPTR: 35, KX: 36, CERT: 37, DNAME: 39,
  OPT: 41, APL: 42, DS: 43, SSHFP: 44, IPSECKEY: 45, RRSIG: 46, NSEC: 47, DNSKEY: 48,
  DHCID: 49, NSEC3: 50, NSEC3PARAM: 51, TLSA: 52, SMIMEA: 53, HIP: 55, CDS: 59, CDNSKEY: 60,
  OPENPGPKEY: 61, CSYNC: 62, ZONEMD: 63, SVCB: 64, HTTPS: 65, SPF: 99, EUI48: 108, EUI64: 109, TKEY: 249, TSIG: 250,
  IXFR: 251, AXFR: 252, ANY: 255, URI: 256, CAA: 257, TA: 32768, DLV: 32769,
};
const TYPE_NAME = new Map<number, string>(Object.entries(TYPE_BY_NAME).map(([name, code]) => [code, name]));

export const TYPE_TXT = 16;
export const TYPE_OPT = 41;
export const CLASS_IN = 1;
export const CLASS_CH = 3;
export const OPTION_NSID = 3;

const CLASS_NAME = new Map<number, string>([
  [1, "IN"],
  [3, "CH"],
  [4, "HS"],
  [254, "NONE"],
  [255, "ANY"],
]);

// Header rcodes (RFC 1035, 2136) and the extended ones an OPT record can carry (RFC 6891, 2845, 7873).
// biome-ignore format: a code table laid out by hand, six codes a line, in code order
const RCODE_NAME = new Map<number, string>([
  [0, "NOERROR"], [1, "FORMERR"], [2, "SERVFAIL"], [3, "NXDOMAIN"], [4, "NOTIMP"], [5, "REFUSED"],
  [6, "YXDOMAIN"], [7, "YXRRSET"], [8, "NXRRSET"], [9, "NOTAUTH"], [10, "NOTZONE"], [11, "DSOTYPENI"],
  [16, "BADVERS"], [17, "BADKEY"], [18, "BADTIME"], [19, "BADMODE"], [20, "BADNAME"], [21, "BADALG"],
  [22, "BADTRUNC"], [23, "BADCOOKIE"],
]);
const RCODE_BY_NAME = new Map<string, number>([...RCODE_NAME].map(([code, name]) => [name, code]));

/** Type mnemonic, or the RFC 3597 `TYPEnnn` form for types without one. */
export function typeName(type: number): string {
  return TYPE_NAME.get(type) ?? `TYPE${type}`;
}

export function className(cls: number): string {
  return CLASS_NAME.get(cls) ?? `CLASS${cls}`;
}

/** Rcode mnemonic; `RCODEnnn` for unassigned values. */
export function rcodeName(rcode: number): string {
  return RCODE_NAME.get(rcode) ?? `RCODE${rcode}`;
}

/** Type number for a mnemonic (any case) or `TYPEnnn`; undefined when unknown. */
export function typeFromName(name: string): number | undefined {
  const upper = name.toUpperCase();
  const known = TYPE_BY_NAME[upper];
  if (known !== undefined) return known;
  const generic = /^TYPE(\d{1,5})$/.exec(upper);
  if (!generic) return undefined;
  const value = Number(generic[1]);
  return value <= 0xffff ? value : undefined;
}

/** Rcode number for a mnemonic (any case) or `RCODEnnn`; undefined when unknown. */
export function rcodeFromName(name: string): number | undefined {
  const upper = name.toUpperCase();
  const known = RCODE_BY_NAME.get(upper);
  if (known !== undefined) return known;
  const generic = /^RCODE(\d{1,4})$/.exec(upper);
  if (!generic) return undefined;
  const value = Number(generic[1]);
  return value <= 0xfff ? value : undefined;
}

// ---------------------------------------------------------------------------
// Encoding

/**
 * A presentation-form name (`www.example.com`, trailing dot optional, `\.`
 * and `\DDD` escapes) in wire form. Throws RangeError when it cannot be a
 * DNS name; callers turn that into a spec error.
 */
export function encodeName(presentation: string): Uint8Array {
  if (presentation === "" || presentation === ".") return Uint8Array.of(0);
  const out: number[] = [];
  let label: number[] = [];
  const endLabel = () => {
    if (label.length === 0) throw new RangeError("empty label");
    if (label.length > 63) throw new RangeError(`label longer than 63 octets`);
    out.push(label.length, ...label);
    label = [];
  };
  for (let i = 0; i < presentation.length; i++) {
    const ch = presentation.charCodeAt(i);
    if (ch === 0x2e /* . */) {
      endLabel();
      if (i === presentation.length - 1) break;
      continue;
    }
    if (ch === 0x5c /* \ */) {
      const digits = /^\d{3}/.exec(presentation.slice(i + 1, i + 4));
      if (digits) {
        const value = Number(digits[0]);
        if (value > 255) throw new RangeError(`escape \\${digits[0]} is above 255`);
        label.push(value);
        i += 3;
        continue;
      }
      if (i + 1 >= presentation.length) throw new RangeError("dangling backslash");
      i++;
      const escaped = presentation.charCodeAt(i);
      if (escaped > 0x7e) throw new RangeError("only ASCII may follow a backslash");
      label.push(escaped);
      continue;
    }
    if (ch < 0x21 || ch > 0x7e) throw new RangeError("names are ASCII without spaces; use \\DDD escapes (IDNs in A-label form)");
    label.push(ch);
  }
  if (presentation.charCodeAt(presentation.length - 1) !== 0x2e) endLabel();
  out.push(0);
  if (out.length > 255) throw new RangeError("name longer than 255 octets");
  return Uint8Array.from(out);
}

export interface QueryTemplateOptions {
  nameWire: Uint8Array;
  qtype: number;
  qclass: number;
  recursionDesired: boolean;
  /** EDNS0 OPT record; null sends a plain RFC 1035 query. */
  edns: { udpPayloadSize: number; dnssecOk: boolean; nsid: boolean } | null;
}

/** A query with ID 0; the transport copies it and writes a fresh ID into the first two bytes. */
export function buildQueryTemplate(options: QueryTemplateOptions): Buffer {
  const { nameWire, edns } = options;
  const optLength = edns ? 11 + (edns.nsid ? 4 : 0) : 0;
  const buf = Buffer.alloc(12 + nameWire.length + 4 + optLength);
  buf.writeUInt16BE(options.recursionDesired ? 0x0100 : 0, 2);
  buf.writeUInt16BE(1, 4);
  buf.writeUInt16BE(edns ? 1 : 0, 10);
  buf.set(nameWire, 12);
  let off = 12 + nameWire.length;
  buf.writeUInt16BE(options.qtype, off);
  buf.writeUInt16BE(options.qclass, off + 2);
  off += 4;
  if (edns) {
    buf[off] = 0; // root owner name
    buf.writeUInt16BE(TYPE_OPT, off + 1);
    buf.writeUInt16BE(edns.udpPayloadSize, off + 3);
    // TTL field: extended rcode 0, version 0, DO bit, Z zero.
    buf.writeUInt16BE(edns.dnssecOk ? 0x8000 : 0, off + 7);
    buf.writeUInt16BE(edns.nsid ? 4 : 0, off + 9);
    if (edns.nsid) buf.writeUInt16BE(OPTION_NSID, off + 11); // option length stays 0: a request
  }
  return buf;
}

// ---------------------------------------------------------------------------
// Decoding

export interface DnsFlags {
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  ad: boolean;
  cd: boolean;
}

export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

export interface EdnsOption {
  code: number;
  /** A view into the received buffer. */
  data: Uint8Array;
}

export interface Edns {
  udpPayloadSize: number;
  extendedRcode: number;
  version: number;
  dnssecOk: boolean;
  options: EdnsOption[];
}

export interface DnsMessage {
  id: number;
  qr: boolean;
  opcode: number;
  flags: DnsFlags;
  /** Full rcode: the header's four bits plus the OPT record's upper eight. */
  rcode: number;
  question: DnsQuestion | null;
  answers: DnsAnswer[];
  authorityCount: number;
  additionalCount: number;
  edns: Edns | null;
  /**
   * True when TC=1 and the record sections stop short of their counts, as a
   * truncating server may leave them; the header and question are intact.
   */
  incomplete: boolean;
  size: number;
}

// One frozen object per flag combination, shared by every message and result that has it.
const FLAG_BITS = 0x0400 | 0x0200 | 0x0100 | 0x0080 | 0x0020 | 0x0010;
const flagObjects = new Map<number, Readonly<DnsFlags>>();
function flagsOf(bits: number): DnsFlags {
  const key = bits & FLAG_BITS;
  let flags = flagObjects.get(key);
  if (!flags) {
    flags = Object.freeze({
      aa: (key & 0x0400) !== 0,
      tc: (key & 0x0200) !== 0,
      rd: (key & 0x0100) !== 0,
      ra: (key & 0x0080) !== 0,
      ad: (key & 0x0020) !== 0,
      cd: (key & 0x0010) !== 0,
    });
    flagObjects.set(key, flags);
  }
  return flags;
}

export type DnsParseResult = { ok: true; message: DnsMessage } | { ok: false; reason: string };

/** Prefix of reasons produced by the decoder's own safety net; tests assert it never shows. */
export const DECODER_FAULT = "decoder fault";

const POINTER_HOPS_MAX = 64;

// Offset returned by the name walkers for a name that cannot be read.
const NAME_BROKEN = -1;

/** Offset after the name at `off`, or NAME_BROKEN. Follows no pointers: a pointer ends the name in place. */
function skipName(buf: Buffer, off: number): number {
  let wireLength = 0;
  for (;;) {
    if (off >= buf.length) return NAME_BROKEN;
    const len = buf[off]!;
    if (len === 0) return off + 1;
    const kind = len & 0xc0;
    if (kind === 0xc0) return off + 2 <= buf.length ? off + 2 : NAME_BROKEN;
    if (kind !== 0) return NAME_BROKEN; // 0x40 extended and 0x80 reserved label types
    wireLength += len + 1;
    if (wireLength > 254) return NAME_BROKEN;
    off += len + 1;
  }
}

// Bytes that stand for themselves in presentation form: letters, digits, - and _.
const PLAIN = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) PLAIN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) PLAIN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) PLAIN[c] = 1;
PLAIN[0x2d] = 1;
PLAIN[0x5f] = 1;
PLAIN[0x2a] = 1; // * (wildcard owner names)

function escapeLabelByte(c: number): string {
  // RFC 1035 §5.1: special characters get a backslash, non-printables \DDD.
  if (c > 0x20 && c < 0x7f) return "\\" + String.fromCharCode(c);
  return "\\" + String(c).padStart(3, "0");
}

/**
 * Reads the (possibly compressed) name at `off`. Returns the offset after it
 * in the original stream, or NAME_BROKEN; the name is left in `nameOut.value`.
 * Pointers must point strictly backwards, which rules out loops.
 */
const nameOut = { value: "" };
/** The question's name as last read by parseUnchecked, for owner names that merely point at it. */
let questionName: string | null = null;
function readName(buf: Buffer, off: number): number {
  // Most answers name their owner with a pointer to the question (offset 12): reuse that string.
  if (questionName !== null && buf[off] === 0xc0 && buf[off + 1] === 12) {
    nameOut.value = questionName;
    return off + 2;
  }
  let name = "";
  let next = -1;
  let hops = 0;
  let wireLength = 0;
  let pos = off;
  for (;;) {
    if (pos >= buf.length) return NAME_BROKEN;
    const len = buf[pos]!;
    if (len === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= buf.length) return NAME_BROKEN;
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (target >= pos || ++hops > POINTER_HOPS_MAX) return NAME_BROKEN;
      if (next < 0) next = pos + 2;
      pos = target;
      continue;
    }
    if (kind !== 0) return NAME_BROKEN;
    const start = pos + 1;
    const end = start + len;
    if (end > buf.length) return NAME_BROKEN;
    wireLength += len + 1;
    if (wireLength > 254) return NAME_BROKEN;
    let plain = true;
    for (let i = start; i < end; i++) {
      if (PLAIN[buf[i]!] === 0) {
        plain = false;
        break;
      }
    }
    if (name.length > 0) name += ".";
    if (plain) name += buf.toString("latin1", start, end);
    else for (let i = start; i < end; i++) name += PLAIN[buf[i]!] === 1 ? String.fromCharCode(buf[i]!) : escapeLabelByte(buf[i]!);
    pos = end;
  }
  nameOut.value = name === "" ? "." : name;
  return next;
}

function lowerAscii(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/**
 * True when the name at `off` equals `wire` (uncompressed), ASCII
 * case-insensitively (RFC 4343). The name must already be known to be
 * well-formed (skipName), so only pointers need bounds checks.
 */
function nameEquals(buf: Buffer, off: number, wire: Uint8Array): boolean {
  let pos = off;
  let w = 0;
  let hops = 0;
  for (;;) {
    if (pos >= buf.length) return false;
    const len = buf[pos]!;
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) return false;
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (target >= pos || ++hops > POINTER_HOPS_MAX) return false;
      pos = target;
      continue;
    }
    if ((len & 0xc0) !== 0) return false;
    if (w >= wire.length || wire[w] !== len) return false;
    if (len === 0) return true;
    if (pos + 1 + len > buf.length) return false;
    for (let i = 1; i <= len; i++) {
      if (lowerAscii(buf[pos + i]!) !== lowerAscii(wire[w + i]!)) return false;
    }
    pos += len + 1;
    w += len + 1;
  }
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes a whole message. Total: any input yields a message or a reason. */
export function parseDnsMessage(bytes: Uint8Array): DnsParseResult {
  try {
    return parseUnchecked(toBuffer(bytes), true);
  } catch (err) {
    return { ok: false, reason: `${DECODER_FAULT}: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function parseUnchecked(buf: Buffer, withQuestion: boolean): DnsParseResult {
  questionName = null;
  try {
    return parseSections(buf, withQuestion);
  } finally {
    questionName = null;
  }
}

function parseSections(buf: Buffer, withQuestion: boolean): DnsParseResult {
  if (buf.length < 12) return { ok: false, reason: `${buf.length} bytes, shorter than a DNS header` };
  const id = buf.readUInt16BE(0);
  const bits = buf.readUInt16BE(2);
  const qdcount = buf.readUInt16BE(4);
  const ancount = buf.readUInt16BE(6);
  const nscount = buf.readUInt16BE(8);
  const arcount = buf.readUInt16BE(10);
  const flags = flagsOf(bits);
  const message: DnsMessage = {
    id,
    qr: (bits & 0x8000) !== 0,
    opcode: (bits >> 11) & 0xf,
    flags,
    rcode: bits & 0xf,
    question: null,
    answers: [],
    authorityCount: nscount,
    additionalCount: arcount,
    edns: null,
    incomplete: false,
    size: buf.length,
  };

  let off = 12;
  for (let i = 0; i < qdcount; i++) {
    const after = i === 0 && withQuestion ? readName(buf, off) : skipName(buf, off);
    if (after < 0 || after + 4 > buf.length) return { ok: false, reason: `question ${i + 1} is cut short or its name is invalid` };
    if (i === 0 && withQuestion) {
      message.question = { name: nameOut.value, type: buf.readUInt16BE(after), class: buf.readUInt16BE(after + 2) };
      if (off === 12) questionName = nameOut.value;
    }
    off = after + 4;
  }

  const truncated = flags.tc;
  const total = ancount + nscount + arcount;
  for (let i = 0; i < total; i++) {
    const section = i < ancount ? "answer" : i < ancount + nscount ? "authority" : "additional";
    const inAnswer = i < ancount;
    const ownerStart = off;
    const afterName = inAnswer ? readName(buf, off) : skipName(buf, off);
    if (afterName < 0 || afterName + 10 > buf.length) {
      if (truncated) return incomplete(message);
      return { ok: false, reason: `${section} record ${i + 1} is cut short or its owner name is invalid` };
    }
    const owner = inAnswer ? nameOut.value : "";
    const type = buf.readUInt16BE(afterName);
    const cls = buf.readUInt16BE(afterName + 2);
    const ttl = buf.readUInt32BE(afterName + 4);
    const rdlength = buf.readUInt16BE(afterName + 8);
    const rdStart = afterName + 10;
    const rdEnd = rdStart + rdlength;
    if (rdEnd > buf.length) {
      if (truncated) return incomplete(message);
      return { ok: false, reason: `${section} record ${i + 1} claims ${rdlength} bytes of data past the end of the message` };
    }
    if (inAnswer) {
      message.answers.push({ name: owner, type: typeName(type), class: className(cls), ttl, data: formatRdata(buf, type, rdStart, rdEnd) });
    } else if (type === TYPE_OPT && i >= ancount + nscount) {
      if (message.edns) return { ok: false, reason: "more than one OPT record" };
      if (buf[ownerStart] !== 0) return { ok: false, reason: "OPT record with a non-root owner name" };
      const edns = parseOpt(buf, cls, ttl, rdStart, rdEnd);
      if (!edns) return { ok: false, reason: "OPT record options overrun its data" };
      message.edns = edns;
      message.rcode |= edns.extendedRcode << 4;
    }
    off = rdEnd;
  }
  // Trailing bytes after the last record are tolerated: some middleboxes pad.
  return { ok: true, message };
}

function incomplete(message: DnsMessage): DnsParseResult {
  message.incomplete = true;
  return { ok: true, message };
}

function parseOpt(buf: Buffer, cls: number, ttl: number, start: number, end: number): Edns | null {
  const options: EdnsOption[] = [];
  let off = start;
  while (off < end) {
    if (off + 4 > end) return null;
    const code = buf.readUInt16BE(off);
    const length = buf.readUInt16BE(off + 2);
    if (off + 4 + length > end) return null;
    options.push({ code, data: buf.subarray(off + 4, off + 4 + length) });
    off += 4 + length;
  }
  return {
    udpPayloadSize: cls,
    extendedRcode: ttl >>> 24,
    version: (ttl >>> 16) & 0xff,
    dnssecOk: (ttl & 0x8000) !== 0,
    options,
  };
}

// ---------------------------------------------------------------------------
// Matching a response to the query it claims to answer

export interface ExpectedQuestion {
  /** The query's name in uncompressed wire form. */
  readonly nameWire: Uint8Array;
  readonly qtype: number;
  readonly qclass: number;
}

/**
 * What a received message is to the queries in flight:
 * - `undecodable`: not even a header and question can be read, so nothing ties it to a query;
 * - `foreign`: decodable but not an answer to any query in flight (unknown ID, QR=0,
 *   another opcode, another question). `query` is set when the ID matched one;
 * - `malformed`: ID, QR, opcode and question prove it answers `query`, but the rest is broken;
 * - `answer`: a well-formed answer to `query` (possibly TC=1, then maybe `incomplete`).
 */
export type ResponseVerdict<Q extends ExpectedQuestion> =
  | { verdict: "undecodable"; reason: string }
  | { verdict: "foreign"; reason: string; id: number; query: Q | null }
  | { verdict: "malformed"; reason: string; query: Q }
  | { verdict: "answer"; message: DnsMessage; query: Q };

/**
 * Classifies a received message against the queries in flight, found by ID
 * through `lookup`. Total: never throws, whatever the bytes.
 */
export function inspectDnsResponse<Q extends ExpectedQuestion>(
  bytes: Uint8Array,
  lookup: (id: number) => Q | undefined,
): ResponseVerdict<Q> {
  try {
    return inspectUnchecked(toBuffer(bytes), lookup);
  } catch (err) {
    return { verdict: "undecodable", reason: `${DECODER_FAULT}: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function inspectUnchecked<Q extends ExpectedQuestion>(buf: Buffer, lookup: (id: number) => Q | undefined): ResponseVerdict<Q> {
  if (buf.length < 12) return { verdict: "undecodable", reason: `${buf.length} bytes, shorter than a DNS header` };
  const id = buf.readUInt16BE(0);
  const bits = buf.readUInt16BE(2);
  const qdcount = buf.readUInt16BE(4);
  let questionEnd = 12;
  if (qdcount > 0) {
    questionEnd = skipName(buf, 12);
    if (questionEnd < 0 || questionEnd + 4 > buf.length) return { verdict: "undecodable", reason: "question section cut short or invalid" };
    questionEnd += 4;
  }
  const query = lookup(id);
  if (!query) return { verdict: "foreign", reason: `ID ${id} matches no query in flight`, id, query: null };
  if ((bits & 0x8000) === 0) return { verdict: "foreign", reason: "QR=0: a query, not a response", id, query };
  const opcode = (bits >> 11) & 0xf;
  if (opcode !== 0) return { verdict: "foreign", reason: `opcode ${opcode}, expected QUERY`, id, query };
  if (qdcount === 0) {
    // Servers that reject a query outright (FORMERR, NOTIMP, REFUSED) may omit
    // the question; such an answer is accepted only with an error rcode.
    if ((bits & 0xf) === 0) return { verdict: "foreign", reason: "NOERROR response without a question", id, query };
  } else if (qdcount > 1) {
    return { verdict: "foreign", reason: `${qdcount} questions, expected 1`, id, query };
  } else {
    if (!nameEquals(buf, 12, query.nameWire)) return { verdict: "foreign", reason: "question name differs from the query", id, query };
    const qtype = buf.readUInt16BE(questionEnd - 4);
    const qclass = buf.readUInt16BE(questionEnd - 2);
    if (qtype !== query.qtype || qclass !== query.qclass) {
      return { verdict: "foreign", reason: `question ${typeName(qtype)}/${className(qclass)} differs from the query`, id, query };
    }
  }
  const parsed = parseUnchecked(buf, true);
  if (!parsed.ok) return { verdict: "malformed", reason: parsed.reason, query };
  return { verdict: "answer", message: parsed.message, query };
}

// ---------------------------------------------------------------------------
// RDATA presentation

/**
 * RDATA in presentation form. Types it does not know, and known types whose
 * data does not parse, fall back to RFC 3597's `\# <length> <hex>`.
 */
function formatRdata(buf: Buffer, type: number, start: number, end: number): string {
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
      if (length < 19) return null;
      const afterSigner = rdataName(buf, start + 18, end);
      if (afterSigner < 0 || afterSigner >= end) return null;
      return [
        typeName(buf.readUInt16BE(start)),
        buf[start + 2],
        buf[start + 3],
        buf.readUInt32BE(start + 4),
        formatSigTime(buf.readUInt32BE(start + 8)),
        formatSigTime(buf.readUInt32BE(start + 12)),
        buf.readUInt16BE(start + 16),
        nameOut.value,
        buf.toString("base64", afterSigner, end),
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
    default:
      return null;
  }
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

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  return toBuffer(bytes).toString("hex");
}

/** True for a non-empty run of printable ASCII (0x20–0x7e). */
export function isPrintableAscii(bytes: Uint8Array): boolean {
  if (bytes.length === 0) return false;
  for (const c of bytes) if (c < 0x20 || c > 0x7e) return false;
  return true;
}
