// Real RIPE Atlas results (ripe-atlas-sagan's test fixtures, see
// fixtures/atlas/README.md) mapped by popwatch, checked against the values
// sagan's own tests assert for the same results. Each check names the sagan
// test (tests/test_<type>.py::<function>) whose assertion it mirrors.
// popwatch writes names without the trailing dot sagan keeps.

import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { type AtlasMappedResult, mapAtlasResult } from "../src/index";

type Fixtures = Record<string, unknown>;
function fixtures(kind: "dns" | "http" | "ping" | "ssl"): Fixtures {
  return JSON.parse(readFileSync(new URL(`./fixtures/atlas/sagan-${kind}.json`, import.meta.url), "utf8")) as Fixtures;
}
const dns = fixtures("dns");
const http = fixtures("http");
const ping = fixtures("ping");
const ssl = fixtures("ssl");
// Every fixture is older than this; a fixed clock keeps `bad_time` out of the picture.
const now = Date.UTC(2026, 0, 1);

type Loose = AtlasMappedResult & Record<string, any>;
function mapped(raw: unknown): Loose[] {
  const mapping = mapAtlasResult(raw, { now });
  expect(mapping.unmapped).toEqual([]);
  return mapping.results as Loose[];
}

describe("dns results from ripe-atlas-sagan", () => {
  test("test_dns_4460: header, question, answer, rt, probe and time", () => {
    const [result] = mapped(dns.test_dns_4460);
    // sagan: probe_id 184, created 2012-09-16T03:26:30+00:00, destination 193.227.234.53, response_time 45.305
    expect(result).toMatchObject({
      kind: "dns",
      region: "atlas-184",
      slotAt: "2012-09-16T03:26:30.000Z",
      startedAt: "2012-09-16T03:26:30.000Z",
      address: "193.227.234.53",
      port: 53,
      target: "193.227.234.53:53",
      name: null,
      ok: true,
      failure: null,
      timings: { totalMs: 45.305, rttMs: 45.305 },
      transport: "udp",
      // sagan: response_size 43, return_code NOERROR, aa True, tc/rd/ra/ad/cd False, nscount 0, arcount 0
      responseBytes: 43,
      rcode: "NOERROR",
      flags: { aa: true, tc: false, rd: false, ra: false, ad: false, cd: false },
      authorityCount: 0,
      additionalCount: 0,
      // sagan: questions[0] as250.net. IN A
      qname: "as250.net",
      qtype: "A",
      qclass: "IN",
      nsid: null,
    });
    // sagan: answers[0] as250.net. 3600 IN A 194.150.168.100
    expect(result!.answers).toEqual([{ name: "as250.net", type: "A", class: "IN", ttl: 3600, data: "194.150.168.100" }]);
  });

  test("test_resultset: one result per entry, each with its own time, destination and rt", () => {
    const results = mapped(dns.test_resultset);
    // sagan: len(responses) == 3, probe 13337, created 2014-03-26T00:03:23 (the first entry's time)
    expect(results).toHaveLength(3);
    expect(results.map((r) => r.region)).toEqual(["atlas-13337", "atlas-13337", "atlas-13337"]);
    expect(results.map((r) => r.slotAt)).toEqual(["2014-03-26T00:03:23.000Z", "2014-03-26T00:03:24.000Z", "2014-03-26T00:03:25.000Z"]);
    expect(results.map((r) => r.address)).toEqual(["192.168.1.1", "109.69.8.34", "8.8.8.8"]);
    // sagan: responses[0].response_time == 2.994 (raw 2.9939999999999998)
    expect(results[0]!.timings.totalMs).toBe(2.994);
    expect(results.map((r) => r.timings.rttMs)).toEqual([2.994, 76.292, 79.971]);
    const [first, second, third] = results;
    // sagan: responses[0] header aa False, rd True, ra True, NOERROR; question www.ripe.net. A
    expect(first).toMatchObject({ rcode: "NOERROR", qname: "www.ripe.net", qtype: "A", authorityCount: 6, additionalCount: 6, ok: true });
    expect(first!.flags).toMatchObject({ aa: false, rd: true, ra: true, tc: false });
    // sagan: answers[0] www.ripe.net. 10162 IN A 193.0.6.139
    expect(first!.answers[0]).toEqual({ name: "www.ripe.net", type: "A", class: "IN", ttl: 10162, data: "193.0.6.139" });
    // sagan: responses[1].abuf.answers[1].rd_length == 156 (the RRSIG over the A record)
    expect(second!.answers.map((a: { type: string }) => a.type)).toEqual(["A", "RRSIG"]);
    expect(third!.qname).toBe("www.ripe.net");
  });

  test("test_edns0: IPv6, EDNS0 with NSID k3.ams-ix.k.ripe.net, and the PoP it names", () => {
    const [result] = mapped(dns.test_edns0);
    // sagan: edns0.options[0].nsid == "k3.ams-ix.k.ripe.net", code 3, length 20; udp_size 4096
    expect(result).toMatchObject({
      region: "atlas-14184",
      address: "2001:7fd::1",
      target: "[2001:7fd::1]:53",
      nsid: "k3.ams-ix.k.ripe.net",
      nsidHex: Buffer.from("k3.ams-ix.k.ripe.net").toString("hex"),
      rcode: "NOERROR",
    });
    expect(result!.pop).toMatchObject({ source: "nsid", raw: "k3.ams-ix.k.ripe.net" });
  });

  test("test_error_timeout: error.timeout is a timeout failure lasting the timeout", () => {
    // sagan: is_error, "Timeout: 5000"
    const [result] = mapped(dns.test_error_timeout);
    expect(result).toMatchObject({
      kind: "dns",
      ok: false,
      failure: { code: "timeout" },
      timings: { totalMs: 5000 },
      region: "atlas-2960",
    });
    expect(result!.rcode).toBeUndefined();
  });

  test("test_qbuf_single_result: the query's DO bit (from qbuf) makes the RRSIGs recorded", () => {
    const [result] = mapped(dns.test_qbuf_single_result);
    // sagan: qbuf.edns0.do is True
    expect(result!.dnssec).toMatchObject({ requested: true, doEchoed: true });
    expect(result!.dnssec.signatures.length).toBeGreaterThan(0);
    expect(result!.qtype).toBe("AAAA");
  });

  test("test_qbuf_result_set: entries without abuf have no rcode to judge and are counted", () => {
    // sagan: responses[0].abuf is None
    const mapping = mapAtlasResult(dns.test_qbuf_result_set, { now });
    expect(mapping.results).toEqual([]);
    expect(mapping.unmapped).toEqual(["no_answer", "no_answer"]);
  });

  test("record types decode as sagan reads them", () => {
    // test_aaaaanswer: postmaster.fr. 300 IN AAAA 2001:41d0:1:4874::1
    expect(mapped(dns.test_aaaaanswer)[0]!.answers[0]).toMatchObject({
      name: "postmaster.fr",
      type: "AAAA",
      ttl: 300,
      data: "2001:41d0:1:4874::1",
    });
    // test_cnameanswer: tt01.ripe.net. 21600 IN CNAME ntp.ripe.net.
    expect(mapped(dns.test_cnameanswer)[0]!.answers[0]).toMatchObject({ name: "tt01.ripe.net", type: "CNAME", ttl: 21600 });
    expect(mapped(dns.test_cnameanswer)[0]!.answers[0].data).toMatch(/^ntp\.ripe\.net\.?$/);
    // test_mxanswer: ripe.net. 300 IN MX 200 koko.ripe.net.
    expect(mapped(dns.test_mxanswer)[0]!.answers[0]).toMatchObject({ name: "ripe.net", type: "MX", ttl: 300 });
    expect(mapped(dns.test_mxanswer)[0]!.answers[0].data).toMatch(/^200 koko\.ripe\.net\.?$/);
    // test_txtanswer: answers[10] nlnet.nl. 86400 IN TXT "Stichting NLnet"
    expect(mapped(dns.test_txtanswer)[0]!.answers[10]).toMatchObject({ name: "nlnet.nl", type: "TXT", ttl: 86400 });
    expect(mapped(dns.test_txtanswer)[0]!.answers[10].data).toContain("Stichting NLnet");
    // test_soaanswer: testzone. 900 IN SOA ari.alpha.aridns.net.au. support.ariservices.com. 1403087941 1800 300 1814400 1800
    const soa = mapped(dns.test_soaanswer)[0]!.answers[0];
    expect(soa).toMatchObject({ name: "testzone", type: "SOA", ttl: 900 });
    expect(soa.data).toMatch(/^ari\.alpha\.aridns\.net\.au\.? support\.ariservices\.com\.? 1403087941 1800 300 1814400 1800$/);
    // test_rrsiganswer: answers[1] RRSIG A 5 3 21600, key tag 63478, signer ripe.net.
    const rrsig = mapped(dns.test_rrsiganswer)[0]!.answers[1];
    expect(rrsig.type).toBe("RRSIG");
    expect(rrsig.data).toMatch(/^A 5 3 21600 \d+ \d+ 63478 ripe\.net\.? /);
  });

  test("test_flags and test_sections: header flags and section counts", () => {
    const [result] = mapped(dns.test_flags);
    // sagan: Flags(qr=True, aa=True, tc=False, rd=False, ra=False, z=0, ad=False, cd=False); Sections(1, 1, 2, 3)
    expect(result!.flags).toEqual({ aa: true, tc: false, rd: false, ra: false, ad: false, cd: false });
    expect(result!.answers).toHaveLength(1);
    expect(result!.authorityCount).toBe(2);
    expect(result!.additionalCount).toBe(3);
  });

  test("test_error_propagation: an answer with an error rcode is recorded and judged as a dns probe would", () => {
    // sagan: abuf parses and the response is an error (header-only, rcode 4)
    const [result] = mapped(dns.test_error_propagation);
    expect(result).toMatchObject({ ok: false, rcode: "NOTIMP", failure: { code: "dns_rcode" }, timings: { totalMs: 1.282 } });
  });

  test("every sagan dns fixture maps to results or counted reasons, never a throw", () => {
    for (const [name, raw] of Object.entries(dns)) {
      const mapping = mapAtlasResult(raw, { now });
      expect(mapping.results.length + mapping.unmapped.length, name).toBeGreaterThan(0);
      for (const result of mapping.results) expect(result.region, name).toMatch(/^atlas-\d+$/);
    }
  });
});

describe("http, sslcert and ping results from ripe-atlas-sagan", () => {
  test("test_http_4610: status, version, sizes and rt of each request", () => {
    const [result] = mapped(http.test_http_4610);
    // sagan: probe 780, created 2014-04-01T13:35:20, uri http://www.ripe.net/, code 200, body_size 41020, rt 154.755, version 1.1, af 6
    expect(result).toMatchObject({
      kind: "http",
      region: "atlas-780",
      slotAt: "2014-04-01T13:35:20.000Z",
      url: "http://www.ripe.net/",
      status: 200,
      httpVersion: "1.1",
      bodyBytes: 41020,
      address: "2001:67c:2e8:22::c100:68b",
      port: 80,
      ok: true,
      timings: { totalMs: 154.755 },
    });
  });

  test("test_http_4430: old firmware's `addr` is the destination", () => {
    // sagan: destination_address 193.0.6.139, code 200, response_time 27.276
    const [result] = mapped(http.test_http_4430);
    expect(result).toMatchObject({ address: "193.0.6.139", status: 200, timings: { totalMs: 27.276 }, ok: true });
  });

  test("test_http_4610_fail: `err` is a failure with Atlas's text as the message", () => {
    // sagan: is_error, error_message "timeout reading chunk", code None
    const [result] = mapped(http.test_http_4610_fail);
    expect(result).toMatchObject({ ok: false, status: null, failure: { code: "closed" } });
    expect(result!.failure!.message).toContain("timeout reading chunk");
  });

  test("test_http_0, test_http_1_error, test_http_1: results without a request list are counted malformed", () => {
    // sagan: test_http_0 and test_http_1_error are is_malformed; test_http_1 is firmware 1's one-line text format, which popwatch does not read
    for (const name of ["test_http_0", "test_http_1_error", "test_http_1"]) {
      expect(mapAtlasResult(http[name], { now }), name).toEqual({ results: [], unmapped: ["malformed"] });
    }
  });

  test("test_ssl_4480: the leaf certificate's facts, SSLv3, port from dst_port", () => {
    const [result] = mapped(ssl.test_ssl_4480);
    // sagan: probe 517, created 2013-03-05T03:37:07, 80.79.115.54:443, method SSL version 3.0, one certificate,
    // subject_cn *.pretical.ee, issuer_cn CA Cert Signing Authority, valid 2013-01-06T14:00:55 to 2013-07-05T14:00:55,
    // checksum_sha256 AC:D1:6F:FB:3A:F2:06:C9:92:A4:4D:2A:A2:0B:1C:37:35:25:75:A7:5D:4A:62:21:03:AD:E6:46:42:E5:65:4C
    expect(result).toMatchObject({
      kind: "tls",
      region: "atlas-517",
      slotAt: "2013-03-05T03:37:07.000Z",
      target: "80.79.115.54:443",
      name: "pretical.ee",
      protocol: "SSLv3",
      verification: "none",
      verified: false,
      ok: true,
    });
    expect(result!.chain).toHaveLength(1);
    expect(result!.certificate).toMatchObject({
      subject: "CN=*.pretical.ee",
      notBefore: "2013-01-06T14:00:55.000Z",
      notAfter: "2013-07-05T14:00:55.000Z",
      fingerprint256: "acd16ffb3af206c992a44d2aa20b1c37352575a75d4a622103ade64642e5654c",
    });
    expect(result!.certificate.issuer).toContain("CN=CA Cert Signing Authority");
    // Days left are counted from the measurement, not from the import.
    expect(result!.certificate.daysLeft).toBeCloseTo((Date.UTC(2013, 6, 5, 14, 0, 55) - Date.UTC(2013, 2, 5, 3, 37, 7)) / 86_400_000, 2);
  });

  test("test_alert: a TLS alert is a handshake failure, with rt and ttc as timings", () => {
    // sagan: alert level 2, description 40 (handshake_failure), is_error
    const [result] = mapped(ssl.test_alert);
    expect(result).toMatchObject({ ok: false, failure: { code: "tls_handshake" }, protocol: "TLSv1.2", certificate: null });
    expect(result!.failure!.message).toContain("40");
    expect(result!.timings).toEqual({ totalMs: 65.889, connectMs: 31.621, tlsMs: 34.267 });
  });

  test("test_ssl_error and test_ssl_4550_error: failures without an address are counted malformed", () => {
    // sagan: is_error ("address not allowed"; a dnserr) with destination_address None: nothing ties them to an anycast site
    expect(mapAtlasResult(ssl.test_ssl_error, { now }).unmapped).toEqual(["malformed"]);
    expect(mapAtlasResult(ssl.test_ssl_4550_error, { now }).unmapped).toEqual(["malformed"]);
  });

  test("every ping fixture is counted unsupported_type", () => {
    for (const [name, raw] of Object.entries(ping)) {
      expect(mapAtlasResult(raw, { now }), name).toEqual({ results: [], unmapped: ["unsupported_type"] });
    }
  });
});
