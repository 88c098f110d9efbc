// `popwatch probe` end to end against the real servers of the test run (NSD,
// Knot and BIND with NSIDs; nginx with TLS): the DNSSEC, EDNS buffer,
// expectation, certificate and per-kind port flags, in the table and in JSON.
import type { ProbeResult } from "@popwatch/core";
import { describe, expect, it } from "vitest";
import { main } from "../packages/cli/src/index";
import { captureIo } from "./support/capture-io";
import { requireServer, skipUnless, useTestServers } from "./support/servers";

const servers = useTestServers();
const { records, zone } = servers;

async function probe(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const c = captureIo();
  const code = await main(["probe", "127.0.0.1", "--timeout", "3000", ...args], c.io);
  return { code, out: c.out, err: c.err };
}

async function probeJson(args: string[]): Promise<{ code: number; results: ProbeResult[] }> {
  const { code, out, err } = await probe([...args, "--json"]);
  expect(err).toBe("");
  const results = out
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as ProbeResult);
  // Lines stream in completion order; the kind order is the specs'.
  return { code, results };
}

function only<K extends ProbeResult["kind"]>(results: ProbeResult[], kind: K): Extract<ProbeResult, { kind: K }> {
  const found = results.filter((r) => r.kind === kind);
  expect(found).toHaveLength(1);
  return found[0] as Extract<ProbeResult, { kind: K }>;
}

for (const kind of ["nsd", "knot", "bind"] as const) {
  const slot = servers.dns[kind];
  const { skip, note } = skipUnless(slot);
  describe.skipIf(skip)(`${kind}${note}`, () => {
    it("--dnssec sets DO: the server echoes it, and the unsigned test zone has no RRSIG", async () => {
      const server = requireServer(slot);
      const { code, results } = await probeJson([
        "--dns",
        "--dns-port",
        String(server.port),
        "--qname",
        zone,
        "--qtype",
        "SOA",
        "--norec",
        "--dnssec",
      ]);
      const dns = only(results, "dns");
      expect(code).toBe(0);
      expect(dns).toMatchObject({
        ok: true,
        rcode: "NOERROR",
        nsid: server.nsid,
        dnssec: { requested: true, doEchoed: true, signatures: [] },
      });
      const table = await probe(["--dns", "--dns-port", String(server.port), "--qname", zone, "--qtype", "SOA", "--norec", "--dnssec"]);
      expect(table.out).toMatch(
        new RegExp(
          `^dns\\s+127\\.0\\.0\\.1:${server.port}\\s+ok\\s+${server.nsid}\\s+nsid\\s.*NOERROR \\[aa\\]; udp edns 1232; 1 answer: SOA .*; no RRSIG$`,
          "m",
        ),
      );
      const plain = only((await probeJson(["--dns", "--dns-port", String(server.port), "--qname", zone, "--norec"])).results, "dns");
      expect(plain.dnssec).toBeNull();
    });

    it("--bufsize 512: the big TXT answer comes back TC=1 and is retried over TCP; 4096 fits in one datagram", async () => {
      const server = requireServer(slot);
      const args = ["--dns", "--dns-port", String(server.port), "--qname", records.bigTxt.name, "--qtype", "TXT", "--norec"];
      const small = only((await probeJson([...args, "--bufsize", "512"])).results, "dns");
      expect(small).toMatchObject({ ok: true, transport: "tcp", tcpFallback: true, truncated: true, udpPayloadSize: 512 });
      expect(small.answers).toHaveLength(records.bigTxt.count);
      expect((await probe([...args, "--bufsize", "512"])).out).toContain("udp→tcp (TC=1, edns 512)");

      const large = only((await probeJson([...args, "--bufsize", "4096"])).results, "dns");
      expect(large).toMatchObject({ ok: true, transport: "udp", tcpFallback: false, truncated: false, udpPayloadSize: 4096 });
      expect(large.answers).toHaveLength(records.bigTxt.count);
    });

    it("--expect-rcode and --expect-answer decide success; a miss fails with its code and exit 1", async () => {
      const server = requireServer(slot);
      const dns = ["--dns", "--dns-port", String(server.port), "--norec"];

      const missing = [...dns, "--qname", records.missing, "--qtype", "A"];
      expect((await probeJson(missing)).results[0]).toMatchObject({ ok: false, rcode: "NXDOMAIN", failure: { code: "dns_rcode" } });
      const expected = await probeJson([...missing, "--expect-rcode", "noerror,NXDOMAIN"]);
      expect(expected.code).toBe(0);
      expect(expected.results[0]).toMatchObject({ ok: true, rcode: "NXDOMAIN", failure: null });

      const www = [...dns, "--qname", records.a.name, "--qtype", "A"];
      const matched = await probeJson([...www, "--expect-answer", `^${records.a.address.replace(/\./g, "\\.")}$`]);
      expect(matched.code).toBe(0);
      const mismatch = await probe([...www, "--expect-answer", "^203\\.0\\.113\\."]);
      expect(mismatch.code).toBe(1);
      expect(mismatch.out).toMatch(/FAIL.*answer_mismatch: no answer matches \/\^203\\\.0\\\.113\\\.\//);
    });
  });
}

const nginxSlot = servers.nginx;
const nginxSkip = skipUnless(nginxSlot);
describe.skipIf(nginxSkip.skip)(`nginx${nginxSkip.note}`, () => {
  it("--expect-status on --http: a 503 asked for is a success, the default set makes it a failure", async () => {
    const nginx = requireServer(nginxSlot);
    const args = ["--http", "--http-port", String(nginx.httpsPort), "--sni", nginx.host, "--ca", nginx.caFile, "--path", nginx.paths.fail];
    expect(only((await probeJson(args)).results, "http")).toMatchObject({ ok: false, status: 503, failure: { code: "http_status" } });
    const asked = await probeJson([...args, "--expect-status", "500,503"]);
    expect(asked.code).toBe(0);
    expect(only(asked.results, "http")).toMatchObject({ ok: true, status: 503 });
  });

  it("HTTP/2 by default where nginx offers it; --http1 gets HTTP/1.1 over TLS", async () => {
    const nginx = requireServer(nginxSlot);
    const args = ["--http", "--http-port", String(nginx.httpsPort), "--sni", nginx.host, "--ca", nginx.caFile];
    const http = only((await probeJson([...args, "--http1"])).results, "http");
    expect(http).toMatchObject({ ok: true, status: 200, httpVersion: "1.1", tls: { alpn: "http/1.1" } });
    if (nginx.alpn.includes("h2")) {
      const h2 = only((await probeJson(args)).results, "http");
      expect(h2).toMatchObject({ ok: true, status: 200, httpVersion: "2", tls: { alpn: "h2" } });
      expect((await probe(args)).out).toMatch(/\s200 HTTP\/2; \d+ B; TLSv1\.3 alpn h2;/);
    }
  });

  it("--cert-min-days beyond the test certificates' two days fails tls and https with tls_cert_expiring, exit 1", async () => {
    const nginx = requireServer(nginxSlot);
    const args = ["--tls", "--http", "--port", String(nginx.httpsPort), "--sni", nginx.host, "--ca", nginx.caFile, "--cert-min-days", "5"];
    const { code, results } = await probeJson(args);
    expect(code).toBe(1);
    for (const kind of ["tls", "http"] as const) {
      const r = only(results, kind);
      expect(r.failure?.code, kind).toBe("tls_cert_expiring");
      expect(r.failure?.message, kind).toMatch(/CN=(pop\.test|popwatch test CA)/);
    }
    const table = await probe(args);
    expect(table.out).toMatch(/^tls\s+\S+\s+FAIL\s.*tls_cert_expiring: /m);
  });

  it("--cert-min-days: the test leaf (valid two days) passes 1 day and the table lists the chain", async () => {
    const nginx = requireServer(nginxSlot);
    const args = ["--tls", "--http", "--port", String(nginx.httpsPort), "--sni", nginx.host, "--ca", nginx.caFile];
    const { code, results } = await probeJson([...args, "--cert-min-days", "1"]);
    expect(code).toBe(0);
    const tls = only(results, "tls");
    expect(tls).toMatchObject({ ok: true, verified: true, certificate: { subject: expect.stringContaining(nginx.host) } });
    expect(tls.certificate!.daysLeft).toBeGreaterThan(1);
    const table = await probe([...args, "--cert-min-days", "1"]);
    expect(table.out).toMatch(new RegExp(`^tls 127\\.0\\.0\\.1:${nginx.httpsPort}: certificate chain as sent, leaf first$`, "m"));
    expect(table.out).toMatch(/^ {2}0\s+CN=pop\.test\s+CN=popwatch test CA\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+[12]\.\d days/m);
  });

  it("per-kind ports beside --port: each kind on its own server, the rest on --port", async () => {
    const nginx = requireServer(nginxSlot);
    const dnsServer = [servers.dns.nsd, servers.dns.knot, servers.dns.bind].find((s) => s.available);
    if (!dnsServer?.available) throw new Error("no DNS server running");
    const { code, results } = await probeJson([
      "--dns",
      "--tcp",
      "--tls",
      "--http",
      "--port",
      String(nginx.httpsPort),
      "--dns-port",
      String(dnsServer.port),
      "--tcp-port",
      String(nginx.httpPort),
      "--qname",
      zone,
      "--norec",
      "--sni",
      nginx.host,
      "--ca",
      nginx.caFile,
    ]);
    expect(code).toBe(0);
    expect(results.map((r) => [r.kind, r.port, r.ok]).sort()).toEqual(
      [
        ["dns", dnsServer.port, true],
        ["http", nginx.httpsPort, true],
        ["tcp", nginx.httpPort, true],
        ["tls", nginx.httpsPort, true],
      ].sort(),
    );
    expect(only(results, "dns").nsid).toBe(dnsServer.nsid);
    expect(only(results, "http").pop).toMatchObject({ id: nginx.popHeader });
  });
});
