// Turns a DnsProbeSpec into what the probe sends and judges with. Every
// configuration fault is found here, before any I/O, and thrown as a
// ProbeSpecError; the result is cached per spec object, so a spec reused
// across many probes is validated and encoded once.

import net from "node:net";
import type { DnsTransport } from "@popwatch/core";
import { ProbeSpecError } from "../errors";
import type { ChaosIdentity, DnsProbeSpec, DohProbeSpec, DotProbeSpec } from "../types";
import { CLASS_CH, CLASS_IN, TYPE_OPT, TYPE_TXT, rcodeFromName, rcodeName, typeFromName, typeName } from "./codes";
import { encodeName } from "./names";
import { type ExpectedQuestion, buildQueryTemplate } from "./wire";

export interface CompiledQuery extends ExpectedQuestion {
  /** The query with ID 0. */
  readonly template: Buffer;
}

export interface CompiledChaosQuery extends CompiledQuery {
  readonly identity: ChaosIdentity;
}

export interface CompiledDnsSpec {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
  /** `tls` for DoT, `https` for DoH. */
  readonly transport: DnsTransport;
  readonly tcpFallback: boolean;
  readonly dnssecOk: boolean;
  /** EDNS UDP payload size the query advertises. */
  readonly udpPayloadSize: number;
  readonly qtypeName: string;
  readonly main: CompiledQuery;
  readonly chaos: readonly CompiledChaosQuery[];
  /** Acceptable full rcodes. */
  readonly expectedRcodes: ReadonlySet<number>;
  readonly expectedRcodeText: string;
  readonly answerPattern: RegExp | null;
  /** `expect.ad`: the AD bit must be set. */
  readonly expectAd: boolean;
  /** `expect.rrsigMinDays`, null when RRSIGs are not required. */
  readonly rrsigMinDays: number | null;
}

/** Every spec that sends a DNS query. */
export type DnsQuerySpec = DnsProbeSpec | DotProbeSpec | DohProbeSpec;

const CHAOS_IDENTITIES: readonly ChaosIdentity[] = ["id.server", "hostname.bind"];
const DEFAULT_RCODES = ["NOERROR"];
// Below 512 RFC 6891 says the value is treated as 512; a config asking for it is a mistake worth reporting.
const MIN_UDP_PAYLOAD = 512;

// Specs are treated as immutable once probed. The first cache follows a spec
// object's lifetime; the second catches equal specs built afresh for every
// run (a scheduler re-reading its config), bounded so it cannot grow forever.
const bySpec = new WeakMap<DnsQuerySpec, CompiledDnsSpec>();
const byContent = new Map<string, CompiledDnsSpec>();
const BY_CONTENT_MAX = 4096;

/**
 * Validates a DNS spec and pre-encodes its queries. Throws ProbeSpecError
 * naming the field at fault.
 */
export function compileDnsSpec(spec: DnsQuerySpec): CompiledDnsSpec {
  let result = bySpec.get(spec);
  if (result) return result;
  const key = contentKey(spec);
  result = byContent.get(key);
  if (result) return result; // not remembered by object: a WeakMap entry per throwaway spec costs more GC than the key
  result = compile(spec);
  if (byContent.size >= BY_CONTENT_MAX) byContent.clear();
  byContent.set(key, result);
  bySpec.set(spec, result);
  return result;
}

/** Every field compile() reads, each string behind its length so no two specs share a key. */
function contentKey(spec: DnsQuerySpec): string {
  const field = (value: unknown): string => {
    const text: string = Array.isArray(value) ? value.map(field).join("") : String(value);
    return `${text.length}:${text}`;
  };
  return (
    field(spec.kind) +
    field(spec.address) +
    field(spec.port) +
    field(transportOf(spec)) +
    field(spec.qname) +
    field(spec.qtype) +
    field(spec.qclass) +
    field(spec.nsid) +
    field(spec.chaos) +
    field(spec.recursionDesired) +
    field(spec.dnssecOk) +
    field(spec.udpPayloadSize) +
    field(spec.kind === "dns" ? spec.tcpFallback : false) +
    field(spec.expect?.rcode) +
    field(spec.expect?.answer) +
    field(spec.expect?.ad) +
    field(spec.expect?.rrsigMinDays)
  );
}

function transportOf(spec: DnsQuerySpec): DnsTransport {
  if (spec.kind === "dot") return "tls";
  if (spec.kind === "doh") return "https";
  return spec.transport;
}

function compile(spec: DnsQuerySpec): CompiledDnsSpec {
  const family = net.isIP(spec.address);
  if (family !== 4 && family !== 6) throw new ProbeSpecError("address", `${JSON.stringify(spec.address)} is not an IP address`);
  if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65535) {
    throw new ProbeSpecError("port", `${spec.port} is not a port number (1-65535)`);
  }
  const transport = transportOf(spec);
  if (spec.kind === "dns" && spec.transport !== "udp" && spec.transport !== "tcp") {
    throw new ProbeSpecError("transport", `${JSON.stringify(spec.transport)} is not udp or tcp`);
  }

  if (typeof spec.qname !== "string") throw new ProbeSpecError("qname", "must be a string");
  let nameWire: Uint8Array;
  try {
    nameWire = encodeName(spec.qname);
  } catch (err) {
    throw new ProbeSpecError("qname", `${JSON.stringify(spec.qname)}: ${(err as Error).message}`, { cause: err });
  }

  const qtype = typeof spec.qtype === "string" ? typeFromName(spec.qtype) : undefined;
  if (qtype === undefined || qtype === 0 || qtype === TYPE_OPT) {
    throw new ProbeSpecError("qtype", `${JSON.stringify(spec.qtype)} is not a query type (a mnemonic such as A, AAAA, TXT, or TYPEnnn)`);
  }
  const qclass = spec.qclass === "IN" ? CLASS_IN : spec.qclass === "CH" ? CLASS_CH : undefined;
  if (qclass === undefined) throw new ProbeSpecError("qclass", `${JSON.stringify(spec.qclass)} is not IN or CH`);

  if (!Number.isInteger(spec.udpPayloadSize) || spec.udpPayloadSize < MIN_UDP_PAYLOAD || spec.udpPayloadSize > 65535) {
    throw new ProbeSpecError("udpPayloadSize", `${spec.udpPayloadSize} is not an integer from ${MIN_UDP_PAYLOAD} to 65535`);
  }

  const chaosNames = spec.chaos ?? [];
  if (!Array.isArray(chaosNames)) throw new ProbeSpecError("chaos", "must be a list");
  for (const identity of chaosNames) {
    if (!CHAOS_IDENTITIES.includes(identity)) {
      throw new ProbeSpecError("chaos", `${JSON.stringify(identity)} is not one of ${CHAOS_IDENTITIES.join(", ")}`);
    }
  }

  const rcodeNames = spec.expect?.rcode ?? DEFAULT_RCODES;
  if (!Array.isArray(rcodeNames)) throw new ProbeSpecError("expect.rcode", "must be a list");
  const expectedRcodes = new Set<number>();
  for (const name of rcodeNames) {
    const rcode = typeof name === "string" ? rcodeFromName(name) : undefined;
    if (rcode === undefined) throw new ProbeSpecError("expect.rcode", `${JSON.stringify(name)} is not an rcode mnemonic`);
    expectedRcodes.add(rcode);
  }
  if (expectedRcodes.size === 0) throw new ProbeSpecError("expect.rcode", "lists no rcode; omit it to expect NOERROR");

  let answerPattern: RegExp | null = null;
  if (spec.expect?.answer !== undefined) {
    if (typeof spec.expect.answer !== "string") throw new ProbeSpecError("expect.answer", "must be a regular expression source string");
    try {
      answerPattern = new RegExp(spec.expect.answer);
    } catch (err) {
      throw new ProbeSpecError("expect.answer", `invalid regular expression: ${(err as Error).message}`, { cause: err });
    }
  }

  const expectAd = spec.expect?.ad ?? false;
  if (typeof expectAd !== "boolean") throw new ProbeSpecError("expect.ad", "must be true or false");
  const rrsigMinDays = spec.expect?.rrsigMinDays ?? null;
  if (rrsigMinDays !== null && !(typeof rrsigMinDays === "number" && rrsigMinDays >= 0 && Number.isFinite(rrsigMinDays))) {
    throw new ProbeSpecError("expect.rrsigMinDays", `${JSON.stringify(rrsigMinDays)} is not a number of days (0 or more)`);
  }

  const main: CompiledQuery = {
    nameWire,
    qtype,
    qclass,
    template: buildQueryTemplate({
      nameWire,
      qtype,
      qclass,
      recursionDesired: spec.recursionDesired,
      authenticatedData: expectAd,
      edns: { udpPayloadSize: spec.udpPayloadSize, dnssecOk: spec.dnssecOk, nsid: spec.nsid },
    }),
  };
  // CHAOS identity queries go without EDNS: the answers are tiny, and the
  // oldest servers that know id.server/hostname.bind predate EDNS.
  const chaos = [...new Set(chaosNames)].map((identity): CompiledChaosQuery => {
    const wire = encodeName(identity);
    return {
      identity,
      nameWire: wire,
      qtype: TYPE_TXT,
      qclass: CLASS_CH,
      template: buildQueryTemplate({
        nameWire: wire,
        qtype: TYPE_TXT,
        qclass: CLASS_CH,
        recursionDesired: spec.recursionDesired,
        edns: null,
      }),
    };
  });

  return {
    address: spec.address,
    port: spec.port,
    family,
    transport,
    tcpFallback: spec.kind === "dns" ? spec.tcpFallback : false,
    dnssecOk: spec.dnssecOk,
    udpPayloadSize: spec.udpPayloadSize,
    qtypeName: typeName(qtype),
    main,
    chaos,
    expectedRcodes,
    expectedRcodeText: [...expectedRcodes].map(rcodeName).join(", "),
    answerPattern,
    expectAd,
    rrsigMinDays,
  };
}
