// The probe table and JSON lines from synthetic results: every new fact shows,
// nothing from the network reaches the terminal raw, JSON keeps every field.
import type { CertificateFacts, ProbeResult, ProbeResultOf, RrsigFacts, TlsSessionFacts } from "@popwatch/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { escapeControl } from "../src/output/format";
import { formatProbeDetails } from "../src/output/probe-details";
import { probeJsonLine } from "../src/output/probe-json";
import { formatProbeTable, keyFacts } from "../src/output/probe-table";
import { formatResultsTable } from "../src/output/results-table";

const base = {
  address: "198.51.100.1",
  name: null,
  ok: true,
  startedAt: "2026-12-06T16:00:00.000Z",
  pop: null,
  failure: null,
};

function cert(subject: string, notAfter: string, daysLeft: number, issuer = "CN=Test CA"): CertificateFacts {
  return {
    subject,
    issuer,
    sans: [],
    notBefore: "2026-01-01T00:00:00.000Z",
    notAfter,
    daysLeft,
    fingerprint256: "ab".repeat(32),
    serialNumber: "01",
  };
}

const leaf = cert("CN=dns.example", "2027-03-01T00:00:00.000Z", 84.3, "CN=Test Intermediate");
const intermediate = cert("CN=Test Intermediate", "2026-12-09T12:00:00.000Z", 2.8);
const root = cert("CN=Test CA", "2036-01-01T00:00:00.000Z", 3312);

function session(chain: CertificateFacts[], overrides: Partial<TlsSessionFacts> = {}): TlsSessionFacts {
  return {
    sni: "dns.example",
    protocol: "TLSv1.3",
    cipher: "TLS_AES_128_GCM_SHA256",
    alpn: null,
    certificate: chain[0] ?? null,
    chain,
    verification: "ca",
    verified: true,
    verifyError: null,
    ...overrides,
  };
}

function rrsig(typeCovered: string, keyTag: number, daysLeft: number): RrsigFacts {
  return {
    name: "popwatch.test.",
    typeCovered,
    algorithm: 13,
    keyTag,
    signer: "popwatch.test.",
    inception: "2026-11-29T00:00:00.000Z",
    expiration: "2026-12-20T00:00:00.000Z",
    daysLeft,
  };
}

const dnsFields = {
  transport: "udp" as const,
  tcpFallback: false,
  truncated: false,
  udpPayloadSize: 1232,
  qname: "popwatch.test",
  qtype: "SOA",
  qclass: "IN",
  rcode: "NOERROR",
  flags: { aa: true, tc: false, rd: false, ra: false, ad: false, cd: false },
  answers: [
    {
      name: "popwatch.test",
      type: "SOA",
      class: "IN",
      ttl: 300,
      data: "ns1.popwatch.test. hostmaster.popwatch.test. 1 3600 600 86400 300",
    },
  ],
  authorityCount: 0,
  additionalCount: 1,
  nsid: "pop-nsd",
  nsidHex: Buffer.from("pop-nsd").toString("hex"),
  identity: {},
  responseBytes: 120,
  ignoredPackets: 0,
  dnssec: null,
};

const dnsResult = (overrides: Partial<ProbeResultOf<"dns">> = {}): ProbeResult => ({
  ...base,
  kind: "dns",
  target: "198.51.100.1:53",
  port: 53,
  timings: { totalMs: 3.2, rttMs: 1.1 },
  ...dnsFields,
  ...overrides,
});

const dotResult: ProbeResult = {
  ...base,
  kind: "dot",
  target: "198.51.100.1:853",
  port: 853,
  timings: { totalMs: 9.5, connectMs: 0.4, tlsMs: 5.1, rttMs: 0.9 },
  pop: { id: "fra", source: "nsid", raw: "fra1.dns.example", iata: "fra" },
  ...dnsFields,
  transport: "tls",
  nsid: "fra1.dns.example",
  tls: session([leaf, intermediate]),
};

const dohResult: ProbeResult = {
  ...base,
  kind: "doh",
  target: "198.51.100.1:443",
  port: 443,
  timings: { totalMs: 14.2, connectMs: 0.5, tlsMs: 6.0, ttfbMs: 2.3 },
  ...dnsFields,
  transport: "https",
  url: "https://dns.example/dns-query",
  method: "POST",
  status: 200,
  httpVersion: "2",
  headers: { "content-type": "application/dns-message" },
  tls: session([leaf], { alpn: "h2" }),
};

describe("key facts per kind", () => {
  it("dns: payload size advertised, and a TC=1 answer retried over TCP", () => {
    expect(keyFacts(dnsResult())).toContain("; udp edns 1232;");
    const retried = keyFacts(dnsResult({ transport: "udp", tcpFallback: true, truncated: true, udpPayloadSize: 512 }));
    expect(retried).toContain("udp→tcp (TC=1, edns 512)");
    expect(keyFacts(dnsResult({ truncated: true, udpPayloadSize: 512 }))).toContain("udp edns 512 TC=1");
    expect(keyFacts(dnsResult({ transport: "tcp", udpPayloadSize: 1232 }))).toMatch(/; tcp;/);
  });

  it("dns: DNSSEC: AD among the flags, the RRSIG count and the soonest expiry; unsigned and unaware servers said so", () => {
    const signed = dnsResult({
      flags: { ...dnsFields.flags, ad: true },
      dnssec: { requested: true, doEchoed: true, signatures: [rrsig("SOA", 4711, 13.6), rrsig("SOA", 815, 3.46)] },
    });
    const facts = keyFacts(signed);
    expect(facts).toMatch(/^NOERROR \[aa ad\]/);
    expect(facts).toContain("2 RRSIGs, soonest 3.5 days left");
    expect(keyFacts(dnsResult({ dnssec: { requested: true, doEchoed: true, signatures: [] } }))).toContain("no RRSIG");
    expect(keyFacts(dnsResult({ dnssec: { requested: true, doEchoed: false, signatures: [] } }))).toContain("DO not echoed");
    expect(keyFacts(dnsResult())).not.toMatch(/RRSIG|DO /);
  });

  it("dot: the DNS facts, then the TLS session with the intermediate that expires first named", () => {
    const facts = keyFacts(dotResult);
    expect(facts).toMatch(/^NOERROR \[aa\]; 1 answer: SOA /);
    expect(facts).toContain('nsid "fra1.dns.example"');
    expect(facts).toContain("TLSv1.3; CN=Test Intermediate (chain 1) expires first: 2.8 days left; verified (ca)");
    expect(facts).not.toContain("edns");
  });

  it("doh: status, HTTP version and method first, then the DNS facts and the TLS session", () => {
    expect(keyFacts(dohResult)).toMatch(
      /^200 HTTP\/2 POST; NOERROR \[aa\]; 1 answer: SOA .*; TLSv1\.3 alpn h2; 84 days left; verified \(ca\)$/,
    );
  });

  it("http over h2 and tls with its chain", () => {
    const http: ProbeResult = {
      ...base,
      kind: "http",
      target: "198.51.100.1:443",
      port: 443,
      timings: { totalMs: 20, connectMs: 1, tlsMs: 5, ttfbMs: 3, transferMs: 1 },
      url: "https://dns.example/",
      status: 200,
      httpVersion: "2",
      headers: {},
      bodyBytes: 19,
      bodyTruncated: false,
      tls: session([leaf, intermediate, root], { alpn: "h2" }),
    };
    expect(keyFacts(http)).toBe(
      "200 HTTP/2; 19 B; TLSv1.3 alpn h2; CN=Test Intermediate (chain 1) expires first: 2.8 days left; verified (ca)",
    );
    const tls: ProbeResult = {
      ...base,
      kind: "tls",
      target: "198.51.100.1:443",
      port: 443,
      timings: { totalMs: 8 },
      ...session([leaf]),
      alpnOffered: ["h2"],
    };
    expect(keyFacts(tls)).toBe("TLSv1.3 TLS_AES_128_GCM_SHA256; CN=dns.example; 84 days left; verified (ca)");
  });
});

describe("the table", () => {
  it("DoT and DoH rows: PoP, source, phases and facts; then each chain, the first-expiring certificate marked", () => {
    const out = formatProbeTable([dotResult, dohResult]);
    expect(out).toMatch(/^dot\s+198\.51\.100\.1:853\s+ok\s+fra\s+nsid\s+connect 0\.40 {2}tls 5\.10 {2}rtt 0\.90 {2}total 9\.50\s+NOERROR/m);
    expect(out).toMatch(
      /^doh\s+198\.51\.100\.1:443\s+ok\s+-\s+-\s+connect 0\.50 {2}tls 6\.00 {2}ttfb 2\.30 {2}total 14\.2\s+200 HTTP\/2 POST/m,
    );
    expect(out).toContain("dot 198.51.100.1:853: certificate chain as sent, leaf first");
    expect(out).toMatch(/^ {2}0\s+CN=dns\.example\s+CN=Test Intermediate\s+2027-03-01 00:00:00Z\s+84 days$/m);
    expect(out).toMatch(/^ {2}1\s+CN=Test Intermediate\s+CN=Test CA\s+2026-12-09 12:00:00Z\s+2\.8 days\s+expires first$/m);
    // A one-certificate chain has nothing to compare.
    expect(out).toMatch(/^doh 198\.51\.100\.1:443: certificate chain as sent, leaf first\n.*\n {2}0\s+CN=dns\.example\s+\S.*84 days$/m);
  });

  it("RRSIGs covering the answer: type covered, algorithm, key tag, signer, validity, days left; expired ones negative", () => {
    const out = formatProbeTable([
      dnsResult({
        ok: false,
        failure: { code: "dnssec_signature_expired", message: "RRSIG SOA key 815 by popwatch.test. expired" },
        dnssec: { requested: true, doEchoed: true, signatures: [rrsig("SOA", 4711, 13.6), rrsig("NS", 815, -1.25)] },
      }),
    ]);
    expect(out).toMatch(
      /^dns\s+198\.51\.100\.1:53\s+FAIL\s.*dnssec_signature_expired: RRSIG SOA key 815 by popwatch\.test\. expired; NOERROR/m,
    );
    expect(out).toContain("dns 198.51.100.1:53: RRSIGs covering the answer (not validated)");
    expect(out).toMatch(/^ {2}NAME\s+COVERS\s+ALG\s+KEY TAG\s+SIGNER\s+INCEPTION\s+EXPIRATION\s+LEFT$/m);
    expect(out).toMatch(
      /^ {2}popwatch\.test\.\s+SOA\s+13\s+4711\s+popwatch\.test\.\s+2026-11-29 00:00:00Z\s+2026-12-20 00:00:00Z\s+13 days$/m,
    );
    expect(out).toMatch(/^ {2}popwatch\.test\.\s+NS\s+13\s+815\s+.*-1\.3 days$/m);
    expect(out).toContain("2 RRSIGs, soonest expired 1.3 days ago");
  });

  it("the new failure codes show with their message", () => {
    for (const code of ["dnssec_unsigned", "dnssec_unauthenticated", "dnssec_signature_expiring", "tls_cert_expiring"] as const) {
      const out = formatProbeTable([dnsResult({ ok: false, failure: { code, message: `${code} happened` } })]);
      expect(out).toContain(`${code}: ${code} happened`);
    }
  });

  it("results without chains or signatures print the table alone", () => {
    expect(formatProbeDetails([dnsResult()])).toBe("");
    expect(formatProbeTable([dnsResult()]).split("\n").filter(Boolean)).toHaveLength(2);
  });

  it("stored results show the same facts", () => {
    const out = formatResultsTable([{ ...dotResult, region: "eu-west-1", slotAt: "2026-12-06T16:00:10.000Z" } as never]);
    expect(out).toMatch(
      /^2026-12-06 16:00:10Z\s+eu-west-1\s+dot\s+198\.51\.100\.1:853\s+ok\s+fra\s+nsid\s.*expires first: 2\.8 days left/m,
    );
  });
});

describe("text from the network never reaches the terminal raw", () => {
  // C0, DEL, C1, and the characters that reorder or hide text (built from a string: a regex literal would hold them raw).
  const UNSAFE = "\\u0000-\\u001f\\u007f-\\u009f\\u200b-\\u200f\\u2028-\\u202e\\u2066-\\u2069\\ufeff";
  const anyUnsafe = new RegExp(`[${UNSAFE}]`);
  const hostile = "pop\u001b[2J\u001b]0;owned\u0007\r\n\u009b31m\u202eevil\u0000";

  it("NSIDs, CHAOS and TXT answers, certificate subjects and failure messages are escaped in the table", () => {
    const out = formatProbeTable([
      dnsResult({
        nsid: hostile,
        identity: { "id.server": hostile },
        answers: [{ name: "txt.popwatch.test", type: "TXT", class: "IN", ttl: 1, data: hostile }],
        ok: false,
        failure: { code: "answer_mismatch", message: `no answer matches: ${hostile}` },
      }),
      { ...dotResult, tls: session([cert(`CN=${hostile}`, "2027-01-01T00:00:00.000Z", 26)]) },
    ]);
    for (const line of out.split("\n")) expect(line).not.toMatch(anyUnsafe);
    expect(out).toContain("pop\\x1b[2J\\x1b]0;owned\\x07\\x0d\\x0a\\x9b31m\\u202eevil\\x00");
    expect(out).toContain("CN=pop\\x1b[2J");
  });

  it("escapeControl leaves no control or reordering character, and keeps printable text of any script", () => {
    expect(escapeControl("Zürich 東京 ok")).toBe("Zürich 東京 ok");
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 64 }), (text) => {
        const escaped = escapeControl(text);
        expect(escaped).not.toMatch(anyUnsafe);
        // Character by character: an unsafe one becomes its escape, any other stays as it is.
        const units = text.split("");
        expect(escaped).toBe(units.map(escapeControl).join(""));
        for (const unit of units) {
          if (anyUnsafe.test(unit)) expect(escapeControl(unit)).toMatch(/^\\(x[0-9a-f]{2}|u[0-9a-f]{4})$/);
          else expect(escapeControl(unit)).toBe(unit);
        }
      }),
    );
  });

  it("a JSON line is the result object as is (every field kept), with no raw control character", () => {
    const results: ProbeResult[] = [
      dotResult,
      dohResult,
      dnsResult({
        nsid: hostile,
        dnssec: { requested: true, doEchoed: true, signatures: [rrsig("SOA", 1, 2.5)] },
        tcpFallback: true,
        truncated: true,
      }),
    ];
    for (const result of results) {
      const line = probeJsonLine(result);
      expect(line.endsWith("\n")).toBe(true);
      expect(line.slice(0, -1)).not.toMatch(anyUnsafe);
      expect(JSON.parse(line)).toEqual(result);
    }
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 32 }), (nsid) => {
        const result = dnsResult({ nsid });
        expect(JSON.parse(probeJsonLine(result))).toEqual(result);
      }),
    );
  });
});
