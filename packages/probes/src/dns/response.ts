// What every DNS probe (dns over UDP/TCP, dot, doh) records from a response
// and how it judges one, in one place so the three transports report the same
// facts and fail the same way.

import type { DnsDetails, Failure, PopEvidence } from "@popwatch/core";
import type { ChaosIdentity } from "../types";
import { OPTION_NSID, rcodeName } from "./codes";
import { judgeSignatures, signatureFacts } from "./dnssec";
import type { CompiledDnsSpec } from "./spec";
import { type DnsMessage, isPrintableAscii, toHex } from "./wire";

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
    facts.dnssec = { requested: true, doEchoed: message.edns?.dnssecOk ?? false, signatures: signatureFacts(message, nowMs) };
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
