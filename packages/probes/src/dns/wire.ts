// DNS wire format (RFC 1035, 3597, 6891): query encoding and a total decoder.
//
// The decoder never throws. What arrives on a probe's socket is chosen by a
// server, a middlebox or a spoofer, and a probe's reply to garbage is a
// classified result, not a crash. It is also on the hot path of every probe,
// so it reads the buffer by hand and formats only the answer section.

import type { DnsAnswer } from "@popwatch/core";
import { OPTION_NSID, TYPE_OPT, className, typeName } from "./codes";
import { nameEquals, nameOut, readName, rememberQuestionName, skipName } from "./names";
import { formatRdata } from "./rdata";
import { type RrsigRdata, TYPE_RRSIG, decodeRrsig } from "./rrsig";

// ---------------------------------------------------------------------------
// Encoding

export interface QueryTemplateOptions {
  nameWire: Uint8Array;
  qtype: number;
  qclass: number;
  recursionDesired: boolean;
  /**
   * AD=1 in the query (RFC 6840 §5.7): asks a validating resolver to say
   * whether it validated the answer even without DO. Off by default.
   */
  authenticatedData?: boolean;
  /** EDNS0 OPT record; null sends a plain RFC 1035 query. */
  edns: { udpPayloadSize: number; dnssecOk: boolean; nsid: boolean } | null;
}

/** A query with ID 0; the transport copies it and writes a fresh ID into the first two bytes. */
export function buildQueryTemplate(options: QueryTemplateOptions): Buffer {
  const { nameWire, edns } = options;
  const optLength = edns ? 11 + (edns.nsid ? 4 : 0) : 0;
  const buf = Buffer.alloc(12 + nameWire.length + 4 + optLength);
  buf.writeUInt16BE((options.recursionDesired ? 0x0100 : 0) | (options.authenticatedData ? 0x0020 : 0), 2);
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

/** An RRSIG in the answer section, decoded, with the owner and class of the record that carries it. */
export interface AnswerSignature extends Omit<RrsigRdata, "signatureStart"> {
  /** Owner name, as in `answers`. */
  name: string;
  class: string;
}

// Shared by every message without RRSIGs, which is nearly all of them; never mutated.
const NO_SIGNATURES: readonly AnswerSignature[] = Object.freeze([]);

export interface DnsMessage {
  id: number;
  qr: boolean;
  opcode: number;
  flags: DnsFlags;
  /** Full rcode: the header's four bits plus the OPT record's upper eight. */
  rcode: number;
  question: DnsQuestion | null;
  answers: DnsAnswer[];
  /** The RRSIGs among `answers`, decoded, in message order. */
  signatures: readonly AnswerSignature[];
  /** RRSIG records in the answer section whose RDATA is not a valid RRSIG (left out of `signatures`). */
  brokenSignatures: number;
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
  rememberQuestionName(null);
  try {
    return parseSections(buf, withQuestion);
  } finally {
    rememberQuestionName(null);
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
    signatures: NO_SIGNATURES,
    brokenSignatures: 0,
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
      if (off === 12) rememberQuestionName(nameOut.value);
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
      if (type === TYPE_RRSIG) addSignature(message, buf, owner, cls, rdStart, rdEnd);
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

function addSignature(message: DnsMessage, buf: Buffer, owner: string, cls: number, start: number, end: number): void {
  const rrsig = decodeRrsig(buf, start, end);
  if (!rrsig) {
    message.brokenSignatures++;
    return;
  }
  const signature: AnswerSignature = {
    name: owner,
    class: className(cls),
    typeCovered: rrsig.typeCovered,
    algorithm: rrsig.algorithm,
    labels: rrsig.labels,
    originalTtl: rrsig.originalTtl,
    expiration: rrsig.expiration,
    inception: rrsig.inception,
    keyTag: rrsig.keyTag,
    signer: rrsig.signer,
  };
  // Once past the shared empty list, the array is this message's own.
  if (message.signatures === NO_SIGNATURES) message.signatures = [signature];
  else (message.signatures as AnswerSignature[]).push(signature);
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
