// What every DNS probe (dns over UDP/TCP, dot, doh) records from a response
// and how it judges one, in one place so the three transports report the same
// facts and fail the same way.

import { DAY_MS, type DnsDetails, type Failure, type PopEvidence, type RrsigFacts } from "@popwatch/core";
import type { ChaosIdentity } from "../types";
import { OPTION_NSID, rcodeName, typeName } from "./codes";
import { signatureTimeMs } from "./rrsig";
import type { CompiledDnsSpec } from "./spec";
import { type AnswerSignature, type DnsMessage, isPrintableAscii, toHex } from "./wire";

const NO_IDENTITY: Readonly<Partial<Record<ChaosIdentity, string | null>>> = Object.freeze({});

/** The facts known before anything is sent: what is asked, and how. */
export function recordDnsQuery(plan: CompiledDnsSpec, facts: Partial<DnsDetails>): void {
  facts.transport = plan.transport;
  facts.tcpFallback = false;
  facts.truncated = false;
  facts.udpPayloadSize = plan.udpPayloadSize;
  facts.qtype = plan.qtypeName;
  facts.ignoredPackets = 0;
  facts.dnssec = plan.dnssecOk ? { requested: true, doEchoed: false, signatures: [] } : null;
  if (plan.chaos.length === 0) {
    facts.identity = NO_IDENTITY;
  } else {
    const identity: Partial<Record<ChaosIdentity, string | null>> = {};
    for (const chaos of plan.chaos) identity[chaos.identity] = null;
    facts.identity = identity;
  }
}

// A target answers with the same NSID probe after probe: its strings are kept
// with the compiled spec and reused while the bytes stay the same.
interface NsidStrings {
  bytes: Buffer;
  text: string | null;
  hex: string;
}
const lastNsid = new WeakMap<CompiledDnsSpec, NsidStrings>();

function describeNsid(plan: CompiledDnsSpec, nsid: Uint8Array): NsidStrings {
  const bytes = Buffer.from(nsid.buffer, nsid.byteOffset, nsid.byteLength);
  const last = lastNsid.get(plan);
  if (last?.bytes.equals(bytes)) return last;
  const strings: NsidStrings = {
    bytes: Buffer.from(bytes), // a copy: `nsid` is a view into a receive buffer
    text: isPrintableAscii(bytes) ? bytes.toString("latin1") : null,
    hex: toHex(bytes),
  };
  lastNsid.set(plan, strings);
  return strings;
}

/**
 * The facts of the response that counts (rcode, flags, answers, NSID, DNSSEC)
 * and its PoP evidence. `nowMs` is the wall clock the signatures' days left
 * are counted from.
 */
export function recordDnsResponse(
  plan: CompiledDnsSpec,
  facts: Partial<DnsDetails>,
  evidence: PopEvidence,
  message: DnsMessage,
  nowMs: number = Date.now(),
): void {
  facts.rcode = rcodeName(message.rcode);
  facts.flags = message.flags;
  facts.answers = message.answers;
  facts.authorityCount = message.authorityCount;
  facts.additionalCount = message.additionalCount;
  facts.responseBytes = message.size;
  if (message.flags.tc) facts.truncated = true;
  let nsid: Uint8Array | null = null;
  if (message.edns) {
    for (const option of message.edns.options) {
      if (option.code === OPTION_NSID) {
        nsid = option.data;
        break;
      }
    }
  }
  // An empty NSID option is a server saying it has no identifier: recorded as none.
  if (nsid && nsid.length > 0) {
    const { text, hex } = describeNsid(plan, nsid);
    facts.nsid = text;
    facts.nsidHex = hex;
    evidence.nsid = text ?? hex;
  } else {
    facts.nsid = null;
    facts.nsidHex = null;
  }
  if (facts.dnssec) {
    const signatures = answerCoverage(message).covering.map((signature) => rrsigFacts(signature, nowMs));
    facts.dnssec = { requested: true, doEchoed: message.edns?.dnssecOk ?? false, signatures };
  }
}

/** A CHAOS TXT identity answer, when the message carries one; never decides the outcome. */
export function recordChaosIdentity(facts: Partial<DnsDetails>, evidence: PopEvidence, identity: ChaosIdentity, message: DnsMessage): void {
  if (message.flags.tc || message.rcode !== 0) return;
  const text = message.answers.find((answer) => answer.type === "TXT")?.data;
  if (text === undefined) return;
  facts.identity = { ...facts.identity, [identity]: text };
  evidence.chaos ??= {};
  evidence.chaos[identity] = text;
}

/**
 * The verdict on a complete (TC=0) response: rcode, the answer pattern, then
 * DNSSEC (AD, then the RRSIGs over the answer, judged at `nowMs`).
 */
export function judgeDnsResponse(plan: CompiledDnsSpec, message: DnsMessage, nowMs: number = Date.now()): Failure | null {
  if (!plan.expectedRcodes.has(message.rcode)) {
    return { code: "dns_rcode", message: `rcode ${rcodeName(message.rcode)}, expected ${plan.expectedRcodeText}` };
  }
  const pattern = plan.answerPattern;
  if (pattern) {
    // An answer matches when its data or its whole record line does, so both `^192\.0\.2\.1$` and `\sA\s` work.
    const matched = message.answers.some((a) => pattern.test(a.data) || pattern.test(`${a.name} ${a.ttl} ${a.class} ${a.type} ${a.data}`));
    if (!matched) {
      return { code: "answer_mismatch", message: `no answer matches /${pattern.source}/ (${message.answers.length} answers)` };
    }
  }
  if (plan.expectAd && !message.flags.ad) {
    return { code: "dnssec_unauthenticated", message: "AD bit clear: the server did not vouch for the answer (expect.ad)" };
  }
  if (plan.rrsigMinDays !== null) return judgeSignatures(plan, message, plan.rrsigMinDays, nowMs);
  return null;
}

// ---------------------------------------------------------------------------
// DNSSEC: which RRSIGs cover the answer, and what they say

/** An answer RRset: owner (compared ASCII case-insensitively, RFC 4343), class and type. */
interface RrsetKey {
  name: string;
  class: string;
  type: string;
}

interface AnswerCoverage {
  /** Every RRset in the answer section other than the RRSIGs, in message order. */
  rrsets: RrsetKey[];
  /** The RRSIGs covering one of them, in message order. */
  covering: AnswerSignature[];
  /** For each RRset (by index), the RRSIGs covering it. */
  byRrset: AnswerSignature[][];
}

function rrsetId(name: string, cls: string, type: string): string {
  return `${name.toLowerCase()} ${cls} ${type}`;
}

function answerCoverage(message: DnsMessage): AnswerCoverage {
  const index = new Map<string, number>();
  const rrsets: RrsetKey[] = [];
  for (const answer of message.answers) {
    if (answer.type === "RRSIG") continue;
    const id = rrsetId(answer.name, answer.class, answer.type);
    if (index.has(id)) continue;
    index.set(id, rrsets.length);
    rrsets.push({ name: answer.name, class: answer.class, type: answer.type });
  }
  const covering: AnswerSignature[] = [];
  const byRrset: AnswerSignature[][] = rrsets.map(() => []);
  for (const signature of message.signatures) {
    const at = index.get(rrsetId(signature.name, signature.class, typeName(signature.typeCovered)));
    if (at === undefined) continue;
    covering.push(signature);
    byRrset[at]!.push(signature);
  }
  return { rrsets, covering, byRrset };
}

function isoOf(ms: number): string {
  return new Date(ms).toISOString();
}

function daysLeft(expirationMs: number, nowMs: number): number {
  return Math.round(((expirationMs - nowMs) / DAY_MS) * 1000) / 1000;
}

function rrsigFacts(signature: AnswerSignature, nowMs: number): RrsigFacts {
  const expirationMs = signatureTimeMs(signature.expiration, nowMs);
  return {
    name: signature.name,
    typeCovered: typeName(signature.typeCovered),
    algorithm: signature.algorithm,
    keyTag: signature.keyTag,
    signer: signature.signer === "." ? "." : `${signature.signer}.`,
    inception: isoOf(signatureTimeMs(signature.inception, nowMs)),
    expiration: isoOf(expirationMs),
    daysLeft: daysLeft(expirationMs, nowMs),
  };
}

function describeSignature(signature: AnswerSignature): string {
  const signer = signature.signer === "." ? "." : `${signature.signer}.`;
  return `RRSIG over ${signature.name} ${typeName(signature.typeCovered)} (key tag ${signature.keyTag}, algorithm ${signature.algorithm}, signer ${signer})`;
}

/**
 * `expect.rrsigMinDays`: every answer RRset signed, every signature current
 * and valid for at least `minDays` more days. An answer section with no RRset
 * at all (NODATA, NXDOMAIN) fails as unsigned: there is nothing the
 * expectation could be checked on, and a silent pass would hide a zone that
 * stopped answering the name being watched.
 */
function judgeSignatures(plan: CompiledDnsSpec, message: DnsMessage, minDays: number, nowMs: number): Failure | null {
  const { rrsets, byRrset } = answerCoverage(message);
  const unreadable = message.brokenSignatures > 0 ? `; ${message.brokenSignatures} RRSIG record(s) could not be decoded` : "";
  // Servers send RRSIGs only to queries with DO: say which side left them out.
  const noDo = !plan.dnssecOk ? "; the query did not set DO (dnssec: false)" : message.edns?.dnssecOk ? "" : "; the server did not echo DO";
  if (rrsets.length === 0) {
    return {
      code: "dnssec_unsigned",
      message: `no answer RRset to carry an RRSIG (rcode ${rcodeName(message.rcode)}, ${message.answers.length} answers)${unreadable}${noDo}`,
    };
  }
  const unsigned = rrsets.filter((_, i) => byRrset[i]!.length === 0);
  if (unsigned.length > 0) {
    const names = unsigned.map((rrset) => `${rrset.name} ${rrset.type}`).join(", ");
    return { code: "dnssec_unsigned", message: `no RRSIG covers ${names}${unreadable}${noDo}` };
  }
  let firstExpiring: { signature: AnswerSignature; expirationMs: number } | null = null;
  for (const signatures of byRrset) {
    for (const signature of signatures) {
      const inceptionMs = signatureTimeMs(signature.inception, nowMs);
      const expirationMs = signatureTimeMs(signature.expiration, nowMs);
      if (expirationMs < nowMs) {
        return { code: "dnssec_signature_expired", message: `${describeSignature(signature)} expired at ${isoOf(expirationMs)}` };
      }
      if (inceptionMs > nowMs) {
        return { code: "dnssec_signature_expired", message: `${describeSignature(signature)} is not valid before ${isoOf(inceptionMs)}` };
      }
      if (!firstExpiring || expirationMs < firstExpiring.expirationMs) firstExpiring = { signature, expirationMs };
    }
  }
  if (firstExpiring && firstExpiring.expirationMs - nowMs < minDays * DAY_MS) {
    const { signature, expirationMs } = firstExpiring;
    return {
      code: "dnssec_signature_expiring",
      message: `${describeSignature(signature)} expires at ${isoOf(expirationMs)}, in ${daysLeft(expirationMs, nowMs)} days (rrsigMinDays ${minDays})`,
    };
  }
  return null;
}
