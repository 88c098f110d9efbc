import { describe, expect, it } from "vitest";
import { parseConfig, wantsDnssec } from "../src/index";
import { configIssues } from "./support/config-issues";

const withProbes = (probes: Record<string, unknown>) => ({
  targets: [{ name: "resolver", address: "198.51.100.53", hostname: "dns.example", probes }],
});

describe("config: DoT, DoH and DNSSEC options", () => {
  it("fills DoT and DoH defaults: ports 853 and 443, POST to /dns-query offering h2 then http/1.1", () => {
    const probes = parseConfig(withProbes({ dot: {}, doh: {} })).targets[0]!.probes;
    expect(probes.dot).toMatchObject({ port: 853, qname: ".", qtype: "SOA", nsid: true, ca: [], pinSha256: [] });
    expect(probes.doh).toMatchObject({ port: 443, path: "/dns-query", method: "POST", alpn: ["h2", "http/1.1"] });
  });

  it("sets DO when asked by either name, or when an RRSIG expectation needs it", () => {
    const probes = (options: Record<string, unknown>) => parseConfig(withProbes({ dns: options })).targets[0]!.probes.dns!;
    expect(wantsDnssec(probes({}))).toBe(false);
    expect(wantsDnssec(probes({ dnssec: true }))).toBe(true);
    expect(wantsDnssec(probes({ dnssecOk: true }))).toBe(true);
    expect(wantsDnssec(probes({ expect: { rrsigMinDays: 7 } }))).toBe(true);
  });

  it("refuses dnssec and dnssecOk that disagree, naming the older field", () => {
    expect(configIssues(() => parseConfig(withProbes({ dot: { dnssec: true, dnssecOk: false } })))).toEqual([
      "targets.0.probes.dot.dnssecOk: contradicts dnssec (dnssecOk is its older name: keep one)",
    ]);
  });

  it("refuses an RRSIG expectation on a query that turns DO off", () => {
    expect(configIssues(() => parseConfig(withProbes({ doh: { dnssec: false, expect: { rrsigMinDays: 3 } } })))).toEqual([
      "targets.0.probes.doh.expect.rrsigMinDays: needs RRSIGs, which a server only sends when the query sets DO: remove dnssec: false",
    ]);
  });

  it("refuses an ALPN the http and doh probes cannot speak, and a negative certMinDays", () => {
    const issues = configIssues(() => parseConfig(withProbes({ http: { alpn: ["h3"] }, tls: { certMinDays: -1 } })));
    expect(issues).toHaveLength(2);
    expect(issues.some((issue) => issue.startsWith("targets.0.probes.http.alpn.0:"))).toBe(true);
    expect(issues.some((issue) => issue.startsWith("targets.0.probes.tls.certMinDays:"))).toBe(true);
  });
});
