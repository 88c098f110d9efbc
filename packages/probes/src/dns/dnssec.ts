// DNSSEC facts and verdicts of a response: which RRSIGs in the answer section
// cover the answer RRsets, what they say, and whether they satisfy
// `expect.rrsigMinDays`. Nothing is validated cryptographically (see
// docs/dnssec.md); response.ts calls these for every DNS transport.

import { DAY_MS, type Failure, type RrsigFacts } from "@popwatch/core";
import { rcodeName, typeName } from "./codes";
import { signatureTimeMs } from "./rrsig";
import type { CompiledDnsSpec } from "./spec";
import type { AnswerSignature, DnsMessage } from "./wire";

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

/** The facts of the RRSIGs covering the answer RRsets, in message order, days left counted from `nowMs`. */
export function signatureFacts(message: DnsMessage, nowMs: number): RrsigFacts[] {
  return answerCoverage(message).covering.map((signature) => rrsigFacts(signature, nowMs));
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
export function judgeSignatures(plan: CompiledDnsSpec, message: DnsMessage, minDays: number, nowMs: number): Failure | null {
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
