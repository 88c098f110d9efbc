// The /probe metrics of synthetic results carrying the issue-13 facts
// (certificate chains, DNSSEC, truncation, HTTP/2, dot and doh): which series
// exist and their values, per blackbox 0.23's rules where blackbox has the metric.
import type { CertificateFacts, DnssecFacts, ProbeResult, TlsSessionFacts } from "@popwatch/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { earliestRrsigExpiry, probeRegistry } from "../src/probe-metrics";
import { dnsNamesLabel, goDistinguishedName } from "../src/tls-metrics";

const LEAF: CertificateFacts = {
  subject: "C=US, O=Acme\\, Inc., CN=dns.example.net",
  issuer: "C=US, O=Acme\\, Inc., CN=Acme Intermediate",
  sans: ["DNS:dns.example.net", "IP:203.0.113.53", "DNS:*.dns.example.net"],
  notBefore: "2026-01-01T00:00:00.000Z",
  notAfter: "2027-06-01T00:00:00.000Z",
  daysLeft: 177,
  fingerprint256: "ab".repeat(32),
  serialNumber: "01",
};
const INTERMEDIATE: CertificateFacts = {
  ...LEAF,
  subject: "C=US, O=Acme\\, Inc., CN=Acme Intermediate",
  issuer: "C=US, O=Acme\\, Inc., CN=Acme Root",
  sans: [],
  notAfter: "2026-12-20T00:00:00.000Z",
  daysLeft: 14,
  fingerprint256: "cd".repeat(32),
};

function session(overrides: Partial<TlsSessionFacts> = {}): TlsSessionFacts {
  return {
    sni: "dns.example.net",
    protocol: "TLSv1.3",
    cipher: "TLS_AES_256_GCM_SHA384",
    alpn: "h2",
    certificate: LEAF,
    chain: [LEAF, INTERMEDIATE],
    verification: "ca",
    verified: true,
    verifyError: null,
    ...overrides,
  };
}

const DNSSEC: DnssecFacts = {
  requested: true,
  doEchoed: true,
  signatures: [
    rrsig("2026-12-30T00:00:00.000Z"),
    rrsig("2026-12-10T12:00:00.000Z"), // the earliest
    rrsig("2027-01-05T00:00:00.000Z"),
  ],
};

function rrsig(expiration: string) {
  return {
    name: "example.net.",
    typeCovered: "SOA",
    algorithm: 13,
    keyTag: 12345,
    signer: "example.net.",
    inception: "2026-11-01T00:00:00.000Z",
    expiration,
    daysLeft: 4,
  };
}

const base = {
  target: "203.0.113.53:853",
  address: "203.0.113.53",
  port: 853,
  name: null,
  ok: true,
  startedAt: "2026-12-06T10:00:00.000Z",
  pop: null,
  failure: null,
};

const dnsFacts = {
  transport: "udp" as const,
  tcpFallback: false,
  truncated: false,
  udpPayloadSize: 1232,
  qname: "example.net",
  qtype: "SOA",
  qclass: "IN",
  rcode: "NOERROR",
  flags: { aa: false, tc: false, rd: true, ra: true, ad: true, cd: false },
  answers: [{ name: "example.net.", type: "SOA", class: "IN", ttl: 300, data: "ns. host. 2026120601 7200 3600 1209600 300" }],
  authorityCount: 0,
  additionalCount: 1,
  nsid: "fra1",
  nsidHex: "66726131",
  identity: {},
  responseBytes: 120,
  ignoredPackets: 0,
  dnssec: null,
};

/** The exposition's samples: `name{labels}` → value. */
async function samples(result: ProbeResult): Promise<Map<string, number>> {
  const registry = probeRegistry({ result, durationSeconds: 0.05, timeoutSeconds: 5, lookupSeconds: 0, slos: [] });
  const text = await registry.metrics();
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

const names = (s: Map<string, number>) => [...new Set([...s.keys()].map((k) => k.replace(/\{.*$/, "")))];
const LAST_CHAIN_INFO =
  'probe_ssl_last_chain_info{fingerprint_sha256="abababababababababababababababababababababababababababababababab",' +
  'subject="CN=dns.example.net,O=Acme\\\\, Inc.,C=US",issuer="CN=Acme Intermediate,O=Acme\\\\, Inc.,C=US",' +
  'subjectalternative="dns.example.net,*.dns.example.net"}';

describe("dot", () => {
  const dot = {
    ...base,
    kind: "dot",
    timings: { totalMs: 30, connectMs: 2, tlsMs: 8, rttMs: 4 },
    ...dnsFacts,
    transport: "tls",
    dnssec: DNSSEC,
    tls: session(),
  } as ProbeResult;

  it("has blackbox's DNS metrics, connect counting the handshake as blackbox's dns_over_tls does", async () => {
    const s = await samples(dot);
    expect(s.get('probe_dns_duration_seconds{phase="connect"}')).toBeCloseTo(0.01, 9);
    expect(s.get('probe_dns_duration_seconds{phase="request"}')).toBeCloseTo(0.004, 9);
    expect(s.get("probe_dns_answer_rrs")).toBe(1);
    expect(s.get("probe_dns_additional_rrs")).toBe(1);
    expect(s.get("probe_dns_query_succeeded")).toBe(1);
    expect(s.get("probe_dns_serial")).toBe(2026120601);
    expect(s.get('probe_dns_nsid_info{nsid="fra1"}')).toBe(1);
  });

  it("has the chain's TLS metrics: the intermediate's expiry is the earliest", async () => {
    const s = await samples(dot);
    expect(s.get("probe_ssl_earliest_cert_expiry")).toBe(Date.parse(INTERMEDIATE.notAfter) / 1000);
    expect(s.get("probe_ssl_last_chain_expiry_timestamp_seconds")).toBe(Date.parse(INTERMEDIATE.notAfter) / 1000);
    expect(s.get(LAST_CHAIN_INFO)).toBe(1);
    expect(s.get('probe_tls_version_info{version="TLS 1.3"}')).toBe(1);
    expect(s.get('probe_tls_cipher_info{cipher="TLS_AES_256_GCM_SHA384"}')).toBe(1);
  });

  it("has popwatch's DNSSEC and truncation gauges", async () => {
    const s = await samples(dot);
    expect(s.get("probe_dns_ad")).toBe(1);
    expect(s.get("probe_dns_rrsig_expiry_timestamp_seconds")).toBe(Date.parse("2026-12-10T12:00:00.000Z") / 1000);
    expect(s.get("probe_dns_truncated")).toBe(0);
    expect(s.get("probe_dns_tcp_fallback")).toBe(0);
    expect(names(s)).not.toContain("probe_http_version");
  });

  it("before a handshake: DNS metrics at 0, no TLS metric", async () => {
    const failed = {
      ...base,
      kind: "dot",
      ok: false,
      failure: { code: "tls_handshake", message: "alert 40" },
      timings: { totalMs: 3, connectMs: 1 },
      tls: null,
    } as ProbeResult;
    const s = await samples(failed);
    expect(s.get("probe_dns_query_succeeded")).toBe(0);
    expect(s.get("probe_dns_answer_rrs")).toBe(0);
    expect(s.get("probe_dns_truncated")).toBe(0);
    for (const name of [
      "probe_ssl_earliest_cert_expiry",
      "probe_tls_version_info",
      "probe_dns_ad",
      "probe_dns_rrsig_expiry_timestamp_seconds",
    ]) {
      expect(names(s)).not.toContain(name);
    }
    expect(s.get('probe_failure_info{code="tls_handshake"}')).toBe(1);
  });
});

describe("doh", () => {
  const doh = {
    ...base,
    kind: "doh",
    port: 443,
    timings: { totalMs: 40, connectMs: 2, tlsMs: 9, ttfbMs: 6 },
    ...dnsFacts,
    transport: "https",
    url: "https://dns.example.net/dns-query",
    method: "POST",
    status: 200,
    httpVersion: "2",
    headers: { "content-type": "application/dns-message" },
    tls: session(),
  } as ProbeResult;

  it("has the DNS metrics, probe_http_status_code and probe_http_version 2 for h2, and the TLS metrics", async () => {
    const s = await samples(doh);
    expect(s.get("probe_http_status_code")).toBe(200);
    expect(s.get("probe_http_version")).toBe(2);
    // No round trip of its own: the request phase is the time to the response's headers.
    expect(s.get('probe_dns_duration_seconds{phase="request"}')).toBeCloseTo(0.006, 9);
    expect(s.get('probe_dns_duration_seconds{phase="connect"}')).toBeCloseTo(0.011, 9);
    expect(s.get("probe_dns_query_succeeded")).toBe(1);
    expect(s.get(LAST_CHAIN_INFO)).toBe(1);
    expect(s.get("probe_ssl_earliest_cert_expiry")).toBe(Date.parse(INTERMEDIATE.notAfter) / 1000);
  });

  it("a refused request: status and version at 0, as blackbox registers them before a response", async () => {
    const failed = { ...base, kind: "doh", ok: false, failure: { code: "refused", message: "" }, timings: { totalMs: 1 } } as ProbeResult;
    const s = await samples(failed);
    expect(s.get("probe_http_status_code")).toBe(0);
    expect(s.get("probe_http_version")).toBe(0);
    expect(s.get("probe_dns_tcp_fallback")).toBe(0);
  });
});

describe("dns truncation", () => {
  it("a TC=1 answer retried over TCP sets both gauges; one not retried only probe_dns_truncated", async () => {
    const retried = {
      ...base,
      kind: "dns",
      port: 53,
      timings: { totalMs: 9, connectMs: 1, rttMs: 3 },
      ...dnsFacts,
      transport: "tcp",
      truncated: true,
      tcpFallback: true,
      flags: { ...dnsFacts.flags, ad: false },
    } as ProbeResult;
    const s = await samples(retried);
    expect(s.get("probe_dns_truncated")).toBe(1);
    expect(s.get("probe_dns_tcp_fallback")).toBe(1);
    expect(s.get("probe_dns_ad")).toBe(0);
    expect(names(s)).not.toContain("probe_dns_rrsig_expiry_timestamp_seconds");
    const notRetried = { ...retried, transport: "udp", tcpFallback: false, ok: false, failure: { code: "dns_truncated", message: "" } };
    const t = await samples(notRetried as ProbeResult);
    expect(t.get("probe_dns_truncated")).toBe(1);
    expect(t.get("probe_dns_tcp_fallback")).toBe(0);
  });
});

describe("http and tls", () => {
  it("http over h2: probe_http_version 2 and the chain's TLS metrics", async () => {
    const http = {
      ...base,
      kind: "http",
      port: 443,
      timings: { totalMs: 20, connectMs: 1, tlsMs: 5, ttfbMs: 3, transferMs: 1 },
      url: "https://dns.example.net/",
      status: 204,
      httpVersion: "2",
      headers: {},
      bodyBytes: 0,
      bodyTruncated: false,
      tls: session(),
    } as ProbeResult;
    const s = await samples(http);
    expect(s.get("probe_http_version")).toBe(2);
    expect(s.get("probe_http_status_code")).toBe(204);
    expect(s.get("probe_http_ssl")).toBe(1);
    expect(s.get("probe_ssl_earliest_cert_expiry")).toBe(Date.parse(INTERMEDIATE.notAfter) / 1000);
    expect(s.get(LAST_CHAIN_INFO)).toBe(1);
    expect(names(s)).not.toContain("probe_dns_truncated");
  });

  it("tls that failed verification: the chain's earliest expiry and leaf info, no last verified chain expiry", async () => {
    const tls = {
      ...base,
      kind: "tls",
      port: 443,
      ok: false,
      failure: { code: "tls_cert_invalid", message: "self-signed" },
      timings: { totalMs: 10, connectMs: 1, tlsMs: 5 },
      ...session({ verified: false, verifyError: "SELF_SIGNED_CERT_IN_CHAIN" }),
      alpnOffered: ["h2"],
    } as ProbeResult;
    const s = await samples(tls);
    expect(s.get("probe_ssl_earliest_cert_expiry")).toBe(Date.parse(INTERMEDIATE.notAfter) / 1000);
    expect(names(s)).not.toContain("probe_ssl_last_chain_expiry_timestamp_seconds");
    expect(s.get(LAST_CHAIN_INFO)).toBe(1);
    expect(s.get("probe_failed_due_to_regex")).toBe(0);
  });

  it("a result from before chains were recorded (leaf only) still gives the leaf's expiry", async () => {
    const tls = { ...base, kind: "tls", timings: { totalMs: 1 }, ...session({ chain: [] }) } as ProbeResult;
    const s = await samples(tls);
    expect(s.get("probe_ssl_earliest_cert_expiry")).toBe(Date.parse(LEAF.notAfter) / 1000);
  });
});

describe("label helpers", () => {
  it("distinguished names in Go's order, escaped commas kept inside values", () => {
    expect(goDistinguishedName("C=US, O=Let's Encrypt, CN=R11")).toBe("CN=R11,O=Let's Encrypt,C=US");
    expect(goDistinguishedName("CN=only")).toBe("CN=only");
    expect(goDistinguishedName("")).toBe("");
    expect(dnsNamesLabel(["IP:192.0.2.1", "DNS:a.example", "email:x@example", "DNS:b.example"])).toBe("a.example,b.example");
  });

  it("never throw on arbitrary names, SANs and RRSIG dates", () => {
    fc.assert(
      fc.property(fc.string(), fc.array(fc.string()), fc.array(fc.string(), { maxLength: 5 }), (name, sans, expirations) => {
        expect(typeof goDistinguishedName(name)).toBe("string");
        expect(typeof dnsNamesLabel(sans)).toBe("string");
        const expiry = earliestRrsigExpiry({ requested: true, doEchoed: true, signatures: expirations.map(rrsig) });
        expect(expiry === null || Number.isFinite(expiry)).toBe(true);
      }),
    );
  });
});
