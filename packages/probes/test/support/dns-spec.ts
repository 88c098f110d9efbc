// The DNS probe spec the package's tests start from: an A query for
// www.example.test over UDP, no NSID, no DO, overridden field by field.
import type { DnsProbeSpec } from "../../src/types";

export function dnsSpec(server: { address: string; port: number }, overrides: Partial<DnsProbeSpec> = {}): DnsProbeSpec {
  return {
    kind: "dns",
    address: server.address,
    port: server.port,
    transport: "udp",
    qname: "www.example.test",
    qtype: "A",
    qclass: "IN",
    nsid: false,
    chaos: [],
    recursionDesired: false,
    dnssecOk: false,
    udpPayloadSize: 1232,
    tcpFallback: true,
    ...overrides,
  };
}
