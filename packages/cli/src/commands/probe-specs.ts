import { isIP } from "node:net";
import type { ProbeKind } from "@popwatch/core";
import { targetSchema } from "@popwatch/core";
import { type ProbeSpec, specsForTarget } from "@popwatch/probes";
import { UsageError } from "../errors";

/** DNS expectations and HTTP statuses asked for on the command line. */
export interface ProbeExpectations {
  /** dns, dot, doh: accepted rcodes. */
  rcode?: string[];
  /** dns, dot, doh: regex one answer must match. */
  answer?: string;
  /** dns, dot, doh: require the AD bit. */
  ad?: boolean;
  /** dns, dot, doh: RRSIGs must cover the answer and stay valid this many more days. */
  rrsigMinDays?: number;
  /** http, doh: accepted HTTP statuses. */
  status?: number[];
}

/** What `popwatch probe` was asked, after flag parsing and before any I/O. */
export interface ProbeRequest {
  /** The target as typed: an IP literal or a hostname. */
  target: string;
  kinds: ProbeKind[];
  /** `--port`: every selected kind's port unless its own port flag says otherwise. */
  port?: number;
  /** `--dns-port`, `--tls-port`, ...: win over `port`. */
  kindPorts: Partial<Record<ProbeKind, number>>;
  sni?: string;
  qname: string;
  qtype: string;
  qclass: "IN" | "CH";
  chaos: boolean;
  dnsOverTcp: boolean;
  recursionDesired: boolean;
  /** Set the EDNS DO bit on dns, dot and doh queries. */
  dnssec: boolean;
  /** EDNS UDP payload size advertised; absent: the config default. */
  udpPayloadSize?: number;
  expect: ProbeExpectations;
  plain: boolean;
  path: string;
  caPems: string[];
  pins: string[];
  /** ALPN offered by the `tls` kind. */
  alpn: string[];
  /** Offer only HTTP/1.1 to https and doh. */
  http1: boolean;
  /** tls, https, dot, doh: fail when a certificate the server sends expires within this many days. */
  certMinDays?: number;
  dohPath: string;
  dohMethod: "POST" | "GET";
}

export const DEFAULT_PORTS = { dns: 53, tls: 443, https: 443, http: 80, dot: 853, doh: 443 } as const;

/**
 * Kinds run when none is named: the four a plain anycast service answers,
 * except the TLS handshake when `--plain` says it speaks no TLS. dot and doh
 * run only when asked: most addresses serve neither, and a default run should
 * not fail for that.
 */
export function defaultKinds(plain: boolean): ProbeKind[] {
  return plain ? ["dns", "tcp", "http"] : ["dns", "tcp", "tls", "http"];
}

export function isHostname(value: string): boolean {
  // RFC 1123 labels, optional trailing dot; IP literals are checked first by callers.
  return /^(?=.{1,253}\.?$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)*\.?$/i.test(value);
}

/** The address family-independent check the CLI needs before resolving. */
export function validateTarget(target: string): void {
  const bare = target.startsWith("[") && target.endsWith("]") ? target.slice(1, -1) : target;
  if (isIP(bare) === 0 && !isHostname(bare)) {
    throw new UsageError(`target: "${target}" is neither an IP address nor a hostname`);
  }
}

/**
 * The flag that set a config field, by the field's path below `probes.<kind>`
 * (the same path a ProbeSpecError names), so a value the schema or a probe
 * refuses is reported as the flag the user typed.
 */
const FLAG_BY_FIELD: Readonly<Record<string, string>> = {
  port: "--port",
  sni: "--sni",
  host: "--sni",
  qname: "--qname",
  qtype: "--qtype",
  qclass: "--qclass",
  udpPayloadSize: "--bufsize",
  "expect.rcode": "--expect-rcode",
  "expect.answer": "--expect-answer",
  "expect.ad": "--expect-ad",
  "expect.rrsigMinDays": "--rrsig-min-days",
  expectStatus: "--expect-status",
  certMinDays: "--cert-min-days",
  alpn: "--alpn",
  ca: "--ca",
  pinSha256: "--pin",
  path: "--path",
};

/** The flag behind a config field of one kind (`field` as in a ProbeSpecError, array indexes dropped). */
export function flagForField(kind: ProbeKind | null, field: string): string {
  const path = field.replace(/\.\d+(?=\.|$)/g, "");
  if (kind !== null && path === "port") return `--port or --${kind}-port`;
  if (kind === "doh" && path === "path") return "--doh-path";
  if ((kind === "http" || kind === "doh") && path === "alpn") return "--http1";
  return FLAG_BY_FIELD[path] ?? path;
}

function portOf(request: ProbeRequest, kind: ProbeKind): number | undefined {
  return request.kindPorts[kind] ?? request.port;
}

function dnsQuery(request: ProbeRequest) {
  const { rcode, answer, ad, rrsigMinDays } = request.expect;
  const expect = {
    ...(rcode !== undefined && { rcode }),
    ...(answer !== undefined && { answer }),
    ...(ad !== undefined && { ad }),
    ...(rrsigMinDays !== undefined && { rrsigMinDays }),
  };
  return {
    qname: request.qname,
    qtype: request.qtype,
    qclass: request.qclass,
    nsid: true,
    chaos: request.chaos ? ["id.server", "hostname.bind"] : [],
    recursionDesired: request.recursionDesired,
    ...(request.dnssec && { dnssec: true }),
    ...(request.udpPayloadSize !== undefined && { udpPayloadSize: request.udpPayloadSize }),
    ...(Object.keys(expect).length > 0 && { expect }),
  };
}

/** The `probes` section of a config target, as the flags ask for it. */
function probesConfig(request: ProbeRequest): Record<string, unknown> {
  const kinds = new Set(request.kinds);
  const trust = { ca: request.caPems, pinSha256: request.pins };
  const certMinDays = request.certMinDays !== undefined ? { certMinDays: request.certMinDays } : {};
  const httpAlpn = request.http1 ? { alpn: ["http/1.1"] } : {};
  const expectStatus = request.expect.status !== undefined ? { expectStatus: request.expect.status } : {};
  return {
    ...(kinds.has("dns") && {
      dns: {
        port: portOf(request, "dns") ?? DEFAULT_PORTS.dns,
        transport: request.dnsOverTcp ? "tcp" : "udp",
        ...dnsQuery(request),
      },
    }),
    ...(kinds.has("tcp") && { tcp: { port: portOf(request, "tcp") ?? (request.plain ? DEFAULT_PORTS.http : DEFAULT_PORTS.https) } }),
    ...(kinds.has("tls") && {
      tls: { port: portOf(request, "tls") ?? DEFAULT_PORTS.tls, alpn: request.alpn, ...certMinDays, ...trust },
    }),
    ...(kinds.has("http") && {
      http: {
        ...(portOf(request, "http") !== undefined && { port: portOf(request, "http") }),
        scheme: request.plain ? "http" : "https",
        path: request.path,
        ...expectStatus,
        ...(!request.plain && { ...httpAlpn, ...certMinDays }),
        ...trust,
      },
    }),
    ...(kinds.has("dot") && {
      dot: { port: portOf(request, "dot") ?? DEFAULT_PORTS.dot, ...dnsQuery(request), ...certMinDays, ...trust },
    }),
    ...(kinds.has("doh") && {
      doh: {
        port: portOf(request, "doh") ?? DEFAULT_PORTS.doh,
        path: request.dohPath,
        method: request.dohMethod,
        ...httpAlpn,
        ...expectStatus,
        ...dnsQuery(request),
        ...certMinDays,
        ...trust,
      },
    }),
  };
}

/**
 * Probe specs for one resolved address. `hostname` is the name typed on the
 * command line, if any: it becomes SNI and Host unless --sni overrides it.
 * The flags become a config target, checked by the same schema and mapped by
 * the same code as a configured one, so `probe` and `run` cannot drift apart;
 * a value the schema refuses is a usage error naming the flag.
 */
export function buildProbeSpecs(request: ProbeRequest, address: string, hostname: string | null): ProbeSpec[] {
  const name = hostname ?? request.sni ?? null;
  const serverName = request.sni ?? hostname ?? undefined;
  const parsed = targetSchema.safeParse({
    name: "probe",
    address,
    ...(serverName ? { hostname: serverName } : {}),
    probes: probesConfig(request),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const [section, kind, ...field] = issue.path.map(String);
    const flag = section === "probes" && kind !== undefined ? flagForField(kind as ProbeKind, field.join(".")) : issue.path.join(".");
    throw new UsageError(`${flag}: ${issue.message}`);
  }
  return specsForTarget(parsed.data).map((spec) => ({ ...spec, name }));
}
