import { isIP } from "node:net";
import type { ProbeKind } from "@popwatch/core";
import { targetSchema } from "@popwatch/core";
import { type ProbeSpec, specsForTarget } from "@popwatch/probes";
import { UsageError } from "../errors";

/** What `popwatch probe` was asked, after flag parsing and before any I/O. */
export interface ProbeRequest {
  /** The target as typed: an IP literal or a hostname. */
  target: string;
  kinds: ProbeKind[];
  port?: number;
  sni?: string;
  qname: string;
  qtype: string;
  qclass: "IN" | "CH";
  chaos: boolean;
  dnsOverTcp: boolean;
  recursionDesired: boolean;
  plain: boolean;
  path: string;
  caPems: string[];
  pins: string[];
  alpn: string[];
}

export const DEFAULT_PORTS = { dns: 53, tls: 443, https: 443, http: 80 } as const;

/**
 * Kinds run when none is named: all of them, except the TLS handshake when
 * `--plain` says the service speaks no TLS.
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
 * Probe specs for one resolved address. `hostname` is the name typed on the
 * command line, if any: it becomes SNI and Host unless --sni overrides it.
 * The flags become a config target, checked by the same schema and mapped by
 * the same code as a configured one, so `probe` and `run` cannot drift apart.
 */
export function buildProbeSpecs(request: ProbeRequest, address: string, hostname: string | null): ProbeSpec[] {
  const name = hostname ?? request.sni ?? null;
  const serverName = request.sni ?? hostname ?? undefined;
  const kinds = new Set(request.kinds);
  const trust = { ca: request.caPems, pinSha256: request.pins };
  const target = targetSchema.parse({
    name: "probe",
    address,
    ...(serverName ? { hostname: serverName } : {}),
    probes: {
      ...(kinds.has("dns") && {
        dns: {
          port: request.port ?? DEFAULT_PORTS.dns,
          transport: request.dnsOverTcp ? "tcp" : "udp",
          qname: request.qname,
          qtype: request.qtype,
          qclass: request.qclass,
          nsid: true,
          chaos: request.chaos ? ["id.server", "hostname.bind"] : [],
          recursionDesired: request.recursionDesired,
        },
      }),
      ...(kinds.has("tcp") && { tcp: { port: request.port ?? (request.plain ? DEFAULT_PORTS.http : DEFAULT_PORTS.https) } }),
      ...(kinds.has("tls") && { tls: { port: request.port ?? DEFAULT_PORTS.tls, alpn: request.alpn, ...trust } }),
      ...(kinds.has("http") && {
        http: {
          ...(request.port !== undefined && { port: request.port }),
          scheme: request.plain ? "http" : "https",
          path: request.path,
          ...trust,
        },
      }),
    },
  });
  return specsForTarget(target).map((spec) => ({ ...spec, name }));
}
