// From a validated config target to the probe specs the runner takes. The
// config schema has already filled every default, so this is a plain mapping;
// the only decisions left are the ones that depend on more than one option.
import type { TargetConfig } from "@popwatch/core";
import type { DnsProbeSpec, HttpProbeSpec, ProbeSpec, TcpProbeSpec, TlsProbeSpec } from "./types";

const DEFAULT_HTTP_PORT = { https: 443, http: 80 } as const;

/**
 * The specs of one target, in the fixed kind order dns, tcp, tls, http (callers
 * derive stable sequence numbers from this order). The target's hostname is
 * the TLS SNI unless `tls.sni` overrides it, and the HTTP Host and SNI.
 */
export function specsForTarget(target: TargetConfig): ProbeSpec[] {
  const { name, address, probes } = target;
  const hostname = target.hostname ?? null;
  const specs: ProbeSpec[] = [];

  if (probes.dns) {
    const dns = probes.dns;
    const spec: DnsProbeSpec = {
      kind: "dns",
      address,
      port: dns.port,
      name,
      transport: dns.transport,
      qname: dns.qname,
      qtype: dns.qtype,
      qclass: dns.qclass,
      nsid: dns.nsid,
      chaos: [...dns.chaos],
      recursionDesired: dns.recursionDesired,
      dnssecOk: dns.dnssecOk,
      udpPayloadSize: dns.udpPayloadSize,
      tcpFallback: dns.tcpFallback,
    };
    if (dns.expect) {
      spec.expect = {
        ...(dns.expect.rcode ? { rcode: [...dns.expect.rcode] } : {}),
        ...(dns.expect.answer !== undefined ? { answer: dns.expect.answer } : {}),
      };
    }
    specs.push(spec);
  }

  if (probes.tcp) {
    const spec: TcpProbeSpec = { kind: "tcp", address, port: probes.tcp.port, name };
    specs.push(spec);
  }

  if (probes.tls) {
    const tls = probes.tls;
    const spec: TlsProbeSpec = {
      kind: "tls",
      address,
      port: tls.port,
      name,
      sni: tls.sni ?? hostname,
      alpn: [...tls.alpn],
      ca: [...tls.ca],
      pinSha256: [...tls.pinSha256],
    };
    specs.push(spec);
  }

  if (probes.http) {
    const http = probes.http;
    const spec: HttpProbeSpec = {
      kind: "http",
      address,
      port: http.port ?? DEFAULT_HTTP_PORT[http.scheme],
      name,
      scheme: http.scheme,
      host: hostname,
      path: http.path,
      method: http.method,
      readCapBytes: http.readCapBytes,
      ca: [...http.ca],
      pinSha256: [...http.pinSha256],
      ...(http.headers ? { headers: { ...http.headers } } : {}),
      ...(http.expectStatus ? { expectStatus: [...http.expectStatus] } : {}),
      ...(http.bodyRegex !== undefined ? { bodyRegex: http.bodyRegex } : {}),
    };
    specs.push(spec);
  }

  return specs;
}
