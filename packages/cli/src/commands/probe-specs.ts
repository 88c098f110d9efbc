import { isIP } from "node:net";
import type { ProbeKind } from "@popwatch/core";
import type { DnsProbeSpec, HttpProbeSpec, ProbeSpec, TlsProbeSpec } from "@popwatch/probes";
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
 */
export function buildProbeSpecs(request: ProbeRequest, address: string, hostname: string | null): ProbeSpec[] {
  const name = hostname ?? request.sni ?? null;
  const serverName = request.sni ?? hostname ?? null;
  const trust = { ca: request.caPems, pinSha256: request.pins };
  const specs: ProbeSpec[] = [];
  for (const kind of request.kinds) {
    switch (kind) {
      case "dns": {
        const spec: DnsProbeSpec = {
          kind,
          address,
          port: request.port ?? DEFAULT_PORTS.dns,
          name,
          transport: request.dnsOverTcp ? "tcp" : "udp",
          qname: request.qname,
          qtype: request.qtype,
          qclass: request.qclass,
          nsid: true,
          chaos: request.chaos ? ["id.server", "hostname.bind"] : [],
          recursionDesired: request.recursionDesired,
          dnssecOk: false,
          udpPayloadSize: 1232,
          tcpFallback: true,
        };
        specs.push(spec);
        break;
      }
      case "tcp":
        specs.push({ kind, address, port: request.port ?? (request.plain ? DEFAULT_PORTS.http : DEFAULT_PORTS.https), name });
        break;
      case "tls": {
        const spec: TlsProbeSpec = {
          kind,
          address,
          port: request.port ?? DEFAULT_PORTS.tls,
          name,
          sni: serverName,
          alpn: request.alpn,
          ...trust,
        };
        specs.push(spec);
        break;
      }
      case "http": {
        const spec: HttpProbeSpec = {
          kind,
          address,
          port: request.port ?? (request.plain ? DEFAULT_PORTS.http : DEFAULT_PORTS.https),
          name,
          scheme: request.plain ? "http" : "https",
          host: serverName,
          path: request.path,
          method: "GET",
          readCapBytes: 64 * 1024,
          ...trust,
        };
        specs.push(spec);
        break;
      }
    }
  }
  return specs;
}
