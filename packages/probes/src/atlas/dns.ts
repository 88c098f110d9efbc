// Atlas `dns` results: the answer Atlas kept (`abuf`, Base64) goes through
// popwatch's own decoder and response recorder, so an imported answer has the
// rcode, flags, answers and NSID (and so the PoP) a dns probe would record,
// and is judged as a dns probe without expectations judges one.

import type { DnsDetails, Failure, PopEvidence } from "@popwatch/core";
import { className, typeName } from "../dns/codes";
import { judgeDnsResponse, recordDnsResponse } from "../dns/response";
import { compileDnsSpec } from "../dns/spec";
import { type DnsMessage, parseDnsMessage } from "../dns/wire";
import {
  type AtlasEnvelope,
  type JsonObject,
  type Read,
  describe,
  field,
  finiteNumber,
  isObject,
  readDestination,
  readTime,
  roundMs,
  text,
} from "./envelope";
import { type AtlasMapOptions, baseResult, popOf } from "./result";
import type { AtlasMappedResult, AtlasMapping } from "./types";

const DNS_PORT = 53;

// The verdict of a dns probe given no `expect`: NOERROR, no answer pattern, no
// DNSSEC demands. Only the expectations of this plan are read by the judge.
const PLAN_WITHOUT_EXPECTATIONS = compileDnsSpec({
  kind: "dns",
  address: "::",
  port: DNS_PORT,
  transport: "udp",
  tcpFallback: false,
  qname: ".",
  qtype: "SOA",
  qclass: "IN",
  nsid: true,
  chaos: [],
  recursionDesired: false,
  dnssecOk: false,
  udpPayloadSize: 1232,
});

/** Maps a `dns` result: one entry per `resultset` element, else the result itself. */
export function mapDns(raw: JsonObject, envelope: AtlasEnvelope, options: AtlasMapOptions, out: AtlasMapping): void {
  const resultset = field(raw, "resultset");
  if (resultset === undefined) {
    settle(mapDnsEntry(raw, raw, field(raw, "timestamp"), envelope, options), out);
    return;
  }
  if (!Array.isArray(resultset)) {
    out.unmapped.push("malformed");
    return;
  }
  // A resultset with no entries still was a result: counted, not dropped.
  if (resultset.length === 0) out.unmapped.push("no_answer");
  for (const entry of resultset) {
    if (!isObject(entry)) {
      out.unmapped.push("malformed");
      continue;
    }
    settle(mapDnsEntry(entry, raw, field(entry, "time") ?? field(raw, "timestamp"), envelope, options), out);
  }
}

function settle(read: Read<AtlasMappedResult>, out: AtlasMapping): void {
  if (read.ok) out.results.push(read.value);
  else out.unmapped.push(read.reason);
}

function mapDnsEntry(
  entry: JsonObject,
  top: JsonObject,
  time: unknown,
  envelope: AtlasEnvelope,
  options: AtlasMapOptions,
): Read<AtlasMappedResult> {
  const at = readTime(time, envelope);
  if (!at.ok) return at;
  const destination = readDestination(entry, top, DNS_PORT);
  if (!destination.ok) return destination;
  const answer = field(entry, "result");
  const error = field(entry, "error");
  if (isObject(answer)) {
    const abuf = field(answer, "abuf");
    // Atlas keeps the answer only when asked to (`include_abuf`); without it there is no rcode to judge.
    if (abuf === undefined) return { ok: false, reason: "no_answer" };
    const bytes = decodeBase64(abuf);
    if (bytes === null) return { ok: false, reason: "bad_abuf" };
    const parsed = parseDnsMessage(bytes);
    // A message with QR=0 is a query: whatever Atlas stored, it is not what the server sent back.
    if (!parsed.ok || !parsed.message.qr) return { ok: false, reason: "bad_abuf" };
    const atMs = Date.parse(at.value);
    const rt = finiteNumber(field(answer, "rt"));
    const facts = queryFacts(entry);
    const question = parsed.message.question;
    if (question) {
      facts.qname = question.name;
      facts.qtype = typeName(question.type);
      facts.qclass = className(question.class);
    }
    const evidence: PopEvidence = {};
    recordDnsResponse(PLAN_WITHOUT_EXPECTATIONS, facts, evidence, parsed.message, atMs);
    const result = baseResult("dns", envelope, destination.value, at.value, rt === null ? 0 : roundMs(rt), judge(parsed.message, atMs));
    if (rt !== null) result.timings.rttMs = roundMs(rt);
    Object.assign(result, facts);
    result.pop = popOf("dns", evidence, options);
    return { ok: true, value: result };
  }
  if (isObject(error)) {
    const failure = failureOf(error);
    if (failure === null) return { ok: false, reason: "malformed" };
    const timeout = finiteNumber(field(error, "timeout"));
    const result = baseResult("dns", envelope, destination.value, at.value, timeout === null ? 0 : roundMs(timeout), failure);
    Object.assign(result, queryFacts(entry));
    return { ok: true, value: result };
  }
  return { ok: false, reason: "no_answer" };
}

function judge(message: DnsMessage, atMs: number): Failure | null {
  // Atlas records one exchange and does not retry a truncated UDP answer over TCP.
  if (message.flags.tc) return { code: "dns_truncated", message: "truncated response (TC=1) recorded by Atlas" };
  return judgeDnsResponse(PLAN_WITHOUT_EXPECTATIONS, message, atMs);
}

/**
 * Atlas says why a query failed by the key it files the text under; the text
 * itself is the probe's own wording and only travels as the message.
 */
function failureOf(error: JsonObject): Failure | null {
  if (field(error, "timeout") !== undefined)
    return { code: "timeout", message: `no answer within ${describe(field(error, "timeout"))} ms (RIPE Atlas)` };
  const resolution = field(error, "getaddrinfo");
  if (resolution !== undefined) return { code: "name_resolution", message: `RIPE Atlas getaddrinfo: ${describe(resolution)}` };
  // The socket could not be used to reach the server (no route, refused, no address of that family).
  const socket = field(error, "socket");
  if (socket !== undefined) return { code: "unreachable", message: `RIPE Atlas socket error: ${describe(socket)}` };
  return null;
}

/** What the query was: transport from `proto`, and from `qbuf` (when Atlas kept it) the EDNS size and DO bit. */
function queryFacts(entry: JsonObject): Partial<DnsDetails> {
  const facts: Partial<DnsDetails> = {
    transport: text(field(entry, "proto"))?.toUpperCase() === "TCP" ? "tcp" : "udp",
    tcpFallback: false,
    truncated: false,
    udpPayloadSize: null,
    dnssec: null,
  };
  const qbuf = decodeBase64(field(entry, "qbuf"));
  const query = qbuf === null ? null : parseDnsMessage(qbuf);
  if (query?.ok) {
    const { question, edns } = query.message;
    if (question) {
      facts.qname = question.name;
      facts.qtype = typeName(question.type);
      facts.qclass = className(question.class);
    }
    if (edns) {
      facts.udpPayloadSize = edns.udpPayloadSize;
      if (edns.dnssecOk) facts.dnssec = { requested: true, doEchoed: false, signatures: [] };
    }
  }
  return facts;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict Base64 (Node's decoder skips characters it does not know, which would hide a damaged abuf). */
export function decodeBase64(value: unknown): Buffer | null {
  if (typeof value !== "string" || !BASE64.test(value)) return null;
  return Buffer.from(value, "base64");
}
