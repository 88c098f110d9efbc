// From a validated config target to the probe specs the runner takes. The
// config schema has already filled every default, so this is a plain mapping;
// the only decisions left are the ones that depend on more than one option.
import { type TargetConfig, wantsDnssec } from "@popwatch/core";
import type {
  DnsExpectations,
  DnsProbeSpec,
  DnsQueryOptions,
  DohProbeSpec,
  DotProbeSpec,
  HttpProbeSpec,
  ProbeSpec,
  TcpProbeSpec,
  TlsProbeSpec,
} from "./types";

type DnsOptionsConfig = NonNullable<TargetConfig["probes"]["dns" | "dot" | "doh"]>;
type TargetTrust = { ca: string[]; pinSha256: string[] };

function dnsQueryOptions(options: DnsOptionsConfig): DnsQueryOptions {
  const query: DnsQueryOptions = {
    qname: options.qname,
    qtype: options.qtype,
    qclass: options.qclass,
    nsid: options.nsid,
    chaos: [...options.chaos],
    recursionDesired: options.recursionDesired,
    dnssecOk: wantsDnssec(options),
    udpPayloadSize: options.udpPayloadSize,
  };
  const expect = options.expect;
  if (expect) {
    const copy: DnsExpectations = {
      ...(expect.rcode ? { rcode: [...expect.rcode] } : {}),
      ...(expect.answer !== undefined ? { answer: expect.answer } : {}),
      ...(expect.ad !== undefined ? { ad: expect.ad } : {}),
      ...(expect.rrsigMinDays !== undefined ? { rrsigMinDays: expect.rrsigMinDays } : {}),
    };
    query.expect = copy;
  }
  return query;
}

function trustOf(options: TargetTrust & { certMinDays?: number | undefined }): {
  ca: string[];
  pinSha256: string[];
  certMinDays?: number;
} {
  return {
    ca: [...options.ca],
    pinSha256: [...options.pinSha256],
    ...(options.certMinDays !== undefined ? { certMinDays: options.certMinDays } : {}),
  };
}

const DEFAULT_HTTP_PORT = { https: 443, http: 80 } as const;

/**
 * The specs of one target, in the fixed kind order dns, tcp, tls, http, dot,
 * doh (callers derive stable sequence numbers from this order, so new kinds
 * only ever go last). The target's hostname is the TLS and DoT SNI unless
 * their `sni` overrides it, and the HTTP and DoH Host and SNI.
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
      ...dnsQueryOptions(dns),
      tcpFallback: dns.tcpFallback,
    };
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
      ...trustOf(tls),
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
      alpn: [...http.alpn],
      ...trustOf(http),
      ...(http.headers ? { headers: { ...http.headers } } : {}),
      ...(http.expectStatus ? { expectStatus: [...http.expectStatus] } : {}),
      ...(http.bodyRegex !== undefined ? { bodyRegex: http.bodyRegex } : {}),
    };
    specs.push(spec);
  }

  if (probes.dot) {
    const dot = probes.dot;
    const spec: DotProbeSpec = {
      kind: "dot",
      address,
      port: dot.port,
      name,
      sni: dot.sni ?? hostname,
      ...dnsQueryOptions(dot),
      ...trustOf(dot),
    };
    specs.push(spec);
  }

  if (probes.doh) {
    const doh = probes.doh;
    const spec: DohProbeSpec = {
      kind: "doh",
      address,
      port: doh.port,
      name,
      host: hostname,
      path: doh.path,
      method: doh.method,
      alpn: [...doh.alpn],
      ...dnsQueryOptions(doh),
      ...trustOf(doh),
      ...(doh.expectStatus ? { expectStatus: [...doh.expectStatus] } : {}),
    };
    specs.push(spec);
  }

  return specs;
}
