// Target and module resolution, the timeout rule and the metric label
// spellings: pure decisions, checked without sockets.
import { parseConfig } from "@popwatch/core";
import { describe, expect, it } from "vitest";
import { ipAddressHash } from "../src/ip-hash";
import { ProbePlanner } from "../src/plan";
import { sloGood } from "../src/probe-metrics";
import { probeTimeoutMs } from "../src/timeout";
import { tlsVersionLabel } from "../src/tls-metrics";

const config = parseConfig({
  targets: [
    { name: "ns", address: "198.51.100.53", probes: { dns: { qname: "example.com", port: 5353 } } },
    { name: "web", address: "2001:db8::80", hostname: "www.example.com", probes: { http: { path: "/health" } } },
  ],
  exporter: {
    modules: {
      soa_tcp: { kind: "dns", transport: "tcp", qtype: "SOA", timeoutMs: 2000 },
      dot_signed: { kind: "dot", sni: "dns.example.net", qname: "example.net", dnssec: true, certMinDays: 14 },
      doh_get: { kind: "doh", method: "GET", path: "/q", alpn: ["h2"], timeoutMs: 3000 },
    },
  },
});
const planner = new ProbePlanner(config);

function plan(target: string, module: string) {
  const result = planner.plan(target, module);
  if (!result.ok) throw new Error(result.reason);
  return result.plan;
}

describe("ProbePlanner", () => {
  it("a configured target with its kind: the target's own options", () => {
    const p = plan("ns", "dns");
    expect(p.configTarget).toBe("ns");
    expect(p.spec).toMatchObject({ kind: "dns", address: "198.51.100.53", port: 5353, qname: "example.com", name: "ns" });
    expect(p.timeoutMs).toBeNull();
  });

  it("a configured target with a named module: the module's options at the target's address", () => {
    const p = plan("ns", "soa_tcp");
    expect(p.spec).toMatchObject({ kind: "dns", address: "198.51.100.53", port: 53, transport: "tcp", qtype: "SOA", qname: "." });
    expect(p.timeoutMs).toBe(2000);
  });

  it("a configured target with a kind it does not configure: the kind's defaults, hostname as SNI", () => {
    expect(plan("web", "tls").spec).toMatchObject({ kind: "tls", address: "2001:db8::80", port: 443, sni: "www.example.com" });
  });

  it("addresses, [v6]:port, address:port", () => {
    expect(plan("203.0.113.7", "dns").spec).toMatchObject({ address: "203.0.113.7", port: 53 });
    expect(plan("203.0.113.7:5300", "dns").spec).toMatchObject({ address: "203.0.113.7", port: 5300 });
    expect(plan("2001:db8::1", "tcp").spec).toMatchObject({ address: "2001:db8::1", port: 443 });
    expect(plan("[2001:db8::1]:853", "tcp").spec).toMatchObject({ address: "2001:db8::1", port: 853 });
    expect(plan("203.0.113.7", "dns").configTarget).toBeNull();
  });

  it("a URL for http: scheme, port and path from the URL", () => {
    expect(plan("http://203.0.113.9:8080/status?x=1", "http").spec).toMatchObject({ scheme: "http", port: 8080, path: "/status?x=1" });
    expect(plan("https://[2001:db8::9]/", "http").spec).toMatchObject({ scheme: "https", port: 443, address: "2001:db8::9" });
  });

  it("a hostname is resolved at probe time: no spec yet, the name kept for SNI and Host", () => {
    const p = plan("www.example.com:8443", "http");
    expect(p.spec).toBeNull();
    expect(p.hostname).toBe("www.example.com");
    expect(p.specFor("203.0.113.5")).toMatchObject({ address: "203.0.113.5", port: 8443, host: "www.example.com" });
  });

  it("dot and doh: the kinds' defaults, and named modules of those kinds", () => {
    expect(plan("203.0.113.53", "dot").spec).toMatchObject({ kind: "dot", address: "203.0.113.53", port: 853, qname: ".", qtype: "SOA" });
    expect(plan("203.0.113.53", "doh").spec).toMatchObject({ kind: "doh", port: 443, path: "/dns-query", method: "POST" });
    const dot = plan("ns", "dot_signed");
    expect(dot.spec).toMatchObject({ kind: "dot", address: "198.51.100.53", port: 853, sni: "dns.example.net", qname: "example.net" });
    expect(dot.timeoutMs).toBeNull();
    const doh = plan("203.0.113.53:8443", "doh_get");
    expect(doh.spec).toMatchObject({ kind: "doh", port: 8443, path: "/q", method: "GET", alpn: ["h2"] });
    expect(doh.timeoutMs).toBe(3000);
  });

  it("doh takes an https URL: host, port and path from it", () => {
    expect(plan("https://203.0.113.53:8443/resolve", "doh").spec).toMatchObject({ kind: "doh", port: 8443, path: "/resolve" });
    expect(plan("https://[2001:db8::53]/dns-query", "doh").spec).toMatchObject({ address: "2001:db8::53", port: 443 });
    const named = plan("https://dns.example.net/dns-query", "doh");
    expect(named.spec).toBeNull();
    expect(named.hostname).toBe("dns.example.net");
    expect(named.specFor("203.0.113.53")).toMatchObject({ address: "203.0.113.53", host: "dns.example.net", path: "/dns-query" });
  });

  it("the same (target, module) gets the same spec object (the DNS probe's compiled query is keyed by it)", () => {
    expect(plan("203.0.113.7", "dns").spec).toBe(plan("203.0.113.7", "dns").spec);
  });

  it("refuses what it cannot probe, with the reason", () => {
    const reason = (target: string, module: string) => {
      const result = planner.plan(target, module);
      return result.ok ? null : result.reason;
    };
    expect(reason("ns", "icmp")).toMatch(/unknown module "icmp" \(known: dns, tcp, tls, http, dot, doh, soa_tcp, dot_signed, doh_get\)/);
    expect(reason("ns", "constructor")).toMatch(/unknown module/);
    expect(reason("http://x.example/", "dns")).toMatch(/a URL needs an http or doh module, not dns/);
    expect(reason("https://x.example/dns-query", "dot")).toMatch(/a URL needs an http or doh module, not dot/);
    expect(reason("http://x.example/dns-query", "doh")).toMatch(/needs an https:\/\/ URL/);
    expect(reason("https://x.example/dns-query?dns=AAAB", "doh")).toMatch(/no query string/);
    expect(reason("http://user:pw@x.example/", "http")).toMatch(/credentials/);
    expect(reason("203.0.113.4:0", "dns")).toMatch(/bad port/);
    expect(reason("-bad-.example", "dns")).toMatch(/neither an IP address nor a hostname/);
  });
});

describe("probeTimeoutMs (blackbox's rule)", () => {
  it("the scrape timeout less 0.5 s, capped by the module and maxTimeoutMs", () => {
    expect(probeTimeoutMs("10", null, 30_000)).toEqual({ ok: true, timeoutMs: 9500 });
    expect(probeTimeoutMs("10", 2000, 30_000)).toEqual({ ok: true, timeoutMs: 2000 });
    expect(probeTimeoutMs("60", null, 30_000)).toEqual({ ok: true, timeoutMs: 30_000 });
    expect(probeTimeoutMs(undefined, null, 10_000)).toEqual({ ok: true, timeoutMs: 10_000 });
    expect(probeTimeoutMs("0.4", 3000, 10_000)).toEqual({ ok: true, timeoutMs: 3000 }); // nothing left after the offset: the cap
  });

  it("refuses a header that is no number of seconds", () => {
    for (const bad of ["", "abc", "-1", "1e3", "NaN", "Infinity", "1,5"]) expect(probeTimeoutMs(bad, null, 10_000).ok, bad).toBe(false);
    expect(probeTimeoutMs(["1", "2"], null, 10_000).ok).toBe(false);
  });
});

describe("label spellings and SLO events", () => {
  it("TLS versions as blackbox (Go) spells them", () => {
    expect(tlsVersionLabel("TLSv1.3")).toBe("TLS 1.3");
    expect(tlsVersionLabel("TLSv1.2")).toBe("TLS 1.2");
    expect(tlsVersionLabel("TLSv1")).toBe("TLS 1.0");
    expect(tlsVersionLabel("SSLv3")).toBe("unknown");
  });

  it("availability counts ok results; latency ok results no slower than the threshold", () => {
    const result = (ok: boolean, totalMs: number) => ({ ok, timings: { totalMs } }) as Parameters<typeof sloGood>[1];
    const availability = { sli: { type: "availability" } } as Parameters<typeof sloGood>[0];
    const latency = { sli: { type: "latency", thresholdMs: 100 } } as Parameters<typeof sloGood>[0];
    expect(sloGood(availability, result(true, 5000))).toBe(true);
    expect(sloGood(availability, result(false, 1))).toBe(false);
    expect(sloGood(latency, result(true, 100))).toBe(true);
    expect(sloGood(latency, result(true, 100.001))).toBe(false);
    expect(sloGood(latency, result(false, 1))).toBe(false);
  });
});

describe("ipAddressHash", () => {
  it("gives the probe_ip_addr_hash blackbox_exporter 0.23 reported for the same addresses", () => {
    // Read from Debian's prometheus-blackbox-exporter 0.23 /probe output (dns module, these targets, port 9).
    const fromBlackbox: Record<string, number> = {
      "127.0.0.1": 3668918509,
      "::1": 1751717746,
      "2001:db8::1": 1851458804,
      "2001:db8:0:0:1:ffff:c000:201": 3291585091,
      "::ffff:127.0.0.1": 3668918509, // Go hashes a v4-mapped address as its IPv4 bytes
      "198.51.100.7": 553163531,
    };
    for (const [address, hash] of Object.entries(fromBlackbox)) expect(ipAddressHash(address), address).toBe(hash);
    expect(ipAddressHash("")).toBeNull();
    expect(ipAddressHash("not-an-ip")).toBeNull();
  });
});
