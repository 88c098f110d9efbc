// specsForTarget: config target → probe specs, with the hostname carried into
// SNI and Host and the per-scheme HTTP port.
import { parseConfig } from "@popwatch/core";
import { specsForTarget } from "@popwatch/probes";
import { describe, expect, it } from "vitest";

function target(input: Record<string, unknown>) {
  return parseConfig({ targets: [{ name: "t", address: "192.0.2.1", ...input }] }).targets[0]!;
}

describe("specsForTarget", () => {
  it("maps every kind in the fixed order dns, tcp, tls, http with the schema's defaults", () => {
    const specs = specsForTarget(target({ hostname: "www.example.org", probes: { http: {}, tls: {}, tcp: {}, dns: {} } }));
    expect(specs.map((s) => [s.kind, s.port])).toEqual([
      ["dns", 53],
      ["tcp", 443],
      ["tls", 443],
      ["http", 443],
    ]);
    expect(specs.every((s) => s.name === "t" && s.address === "192.0.2.1")).toBe(true);
    expect(specs[0]).toEqual({
      kind: "dns",
      address: "192.0.2.1",
      port: 53,
      name: "t",
      transport: "udp",
      qname: ".",
      qtype: "SOA",
      qclass: "IN",
      nsid: true,
      chaos: [],
      recursionDesired: false,
      dnssecOk: false,
      udpPayloadSize: 1232,
      tcpFallback: true,
    });
    expect(specs[2]).toMatchObject({ kind: "tls", sni: "www.example.org", alpn: ["h2", "http/1.1"], ca: [], pinSha256: [] });
    expect(specs[3]).toMatchObject({
      kind: "http",
      scheme: "https",
      host: "www.example.org",
      path: "/",
      method: "GET",
      readCapBytes: 65536,
    });
  });

  it("lets tls.sni override the hostname, and leaves SNI and Host empty without one", () => {
    expect(
      specsForTarget(target({ hostname: "a.example", probes: { tls: { sni: "b.example" }, http: {} } })).map((s) =>
        s.kind === "tls" ? s.sni : s.kind === "http" ? s.host : null,
      ),
    ).toEqual(["b.example", "a.example"]);
    expect(
      specsForTarget(target({ probes: { tls: {}, http: {} } })).map((s) => (s.kind === "tls" ? s.sni : s.kind === "http" ? s.host : null)),
    ).toEqual([null, null]);
  });

  it("defaults the HTTP port by scheme and passes options through", () => {
    const [plain] = specsForTarget(
      target({ probes: { http: { scheme: "http", path: "/health", expectStatus: [204], bodyRegex: "ok", headers: { "x-probe": "1" } } } }),
    );
    expect(plain).toMatchObject({
      port: 80,
      scheme: "http",
      path: "/health",
      expectStatus: [204],
      bodyRegex: "ok",
      headers: { "x-probe": "1" },
    });
    const [explicit] = specsForTarget(target({ probes: { http: { scheme: "http", port: 8080 } } }));
    expect(explicit?.port).toBe(8080);
  });

  it("carries DNS expectations and CHAOS identities", () => {
    const [dns] = specsForTarget(
      target({
        probes: {
          dns: {
            qname: "example.com",
            qtype: "a",
            chaos: ["id.server"],
            recursionDesired: true,
            expect: { rcode: ["NOERROR", "NXDOMAIN"] },
          },
        },
      }),
    );
    expect(dns).toMatchObject({
      qname: "example.com",
      qtype: "A",
      chaos: ["id.server"],
      recursionDesired: true,
      expect: { rcode: ["NOERROR", "NXDOMAIN"] },
    });
    expect(dns).not.toHaveProperty("expect.answer");
  });
});
