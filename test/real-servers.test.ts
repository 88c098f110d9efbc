// Every probe kind against real servers: NSD, Knot and BIND with distinct
// NSIDs and CHAOS identities, nginx with TLS and a PoP header. Each PoP must be
// identified, and identified the same way, by every kind that can see it.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { type ProbeResult, createPopIdentifier } from "@popwatch/core";
import { type DnsProbeSpec, type HttpProbeSpec, type TlsProbeSpec, runProbes } from "@popwatch/probes";
import { describe, expect, it } from "vitest";
import { type DnsServerInfo, type NginxInfo, requireServer, skipUnless, useTestServers } from "./support/servers";

const servers = useTestServers();
const { records } = servers;
const identifyPop = createPopIdentifier();

function dnsSpec(server: DnsServerInfo, overrides: Partial<DnsProbeSpec> = {}): DnsProbeSpec {
  return {
    kind: "dns",
    address: server.address,
    port: server.port,
    transport: "udp",
    qname: records.a.name,
    qtype: "A",
    qclass: "IN",
    nsid: true,
    chaos: [],
    recursionDesired: false,
    dnssecOk: false,
    udpPayloadSize: 1232,
    tcpFallback: true,
    ...overrides,
  };
}

async function probeOne<T extends ProbeResult>(
  spec: Parameters<typeof runProbes>[0][number],
  options: Parameters<typeof runProbes>[1] = {},
): Promise<T> {
  const [result] = await runProbes([spec], { timeoutMs: 3000, identifyPop, ...options });
  return result as T;
}

type DnsResult = Extract<ProbeResult, { kind: "dns" }>;

for (const kind of ["nsd", "knot", "bind"] as const) {
  const slot = servers.dns[kind];
  const { skip, note } = skipUnless(slot);
  describe.skipIf(skip)(`${kind}${note}`, () => {
    it("dns over UDP: answer, flags, NSID, PoP from NSID", async () => {
      const server = requireServer(slot);
      const r = await probeOne<DnsResult>(dnsSpec(server));
      expect(r.failure).toBeNull();
      expect(r).toMatchObject({ ok: true, transport: "udp", tcpFallback: false, rcode: "NOERROR", nsid: server.nsid });
      expect(r.nsidHex).toBe(Buffer.from(server.nsid).toString("hex"));
      expect(r.flags?.aa).toBe(true);
      expect(r.answers?.map((a) => [a.type, a.data])).toEqual([["A", records.a.address]]);
      expect(r.pop).toEqual({ id: server.nsid, source: "nsid", raw: server.nsid, iata: null });
      expect(r.timings.rttMs).toBeGreaterThan(0);
      expect(r.timings.rttMs).toBeLessThanOrEqual(r.timings.totalMs);
    });

    it("dns over TCP: same PoP, connect and rtt phases", async () => {
      const server = requireServer(slot);
      const r = await probeOne<DnsResult>(dnsSpec(server, { transport: "tcp" }));
      expect(r).toMatchObject({ ok: true, transport: "tcp", rcode: "NOERROR", pop: { id: server.nsid, source: "nsid" } });
      expect(r.timings.connectMs).toBeGreaterThan(0);
      expect(r.timings.rttMs).toBeGreaterThan(0);
    });

    it("CHAOS TXT id.server and hostname.bind identify the PoP without NSID", async () => {
      const server = requireServer(slot);
      const r = await probeOne<DnsResult>(dnsSpec(server, { nsid: false, chaos: ["id.server", "hostname.bind"] }));
      expect(r.ok).toBe(true);
      expect(r.nsid).toBeNull();
      expect(r.identity).toEqual({ "id.server": server.identity, "hostname.bind": server.hostnameBind });
      expect(r.pop).toMatchObject({ id: server.identity, source: "id.server", raw: server.identity });
    });

    it("a CH TXT query as the main question", async () => {
      const server = requireServer(slot);
      const r = await probeOne<DnsResult>(dnsSpec(server, { qname: "hostname.bind", qtype: "TXT", qclass: "CH" }));
      expect(r.ok).toBe(true);
      expect(r.answers?.[0]).toMatchObject({ type: "TXT", class: "CH", data: server.hostnameBind });
    });

    it("a truncated UDP answer is retried over TCP", async () => {
      const server = requireServer(slot);
      const r = await probeOne<DnsResult>(dnsSpec(server, { qname: records.bigTxt.name, qtype: "TXT", udpPayloadSize: 512 }));
      expect(r).toMatchObject({ ok: true, transport: "tcp", tcpFallback: true, rcode: "NOERROR", pop: { id: server.nsid } });
      expect(r.answers).toHaveLength(records.bigTxt.count);
      const off = await probeOne<DnsResult>(
        dnsSpec(server, { qname: records.bigTxt.name, qtype: "TXT", udpPayloadSize: 512, tcpFallback: false }),
      );
      expect(off.failure?.code).toBe("dns_truncated");
      expect(off.pop?.id).toBe(server.nsid);
    });

    it("NXDOMAIN fails as dns_rcode and still names the PoP", async () => {
      const server = requireServer(slot);
      const r = await probeOne<DnsResult>(dnsSpec(server, { qname: records.missing }));
      expect(r).toMatchObject({ ok: false, rcode: "NXDOMAIN", failure: { code: "dns_rcode" }, pop: { id: server.nsid } });
      const expected = await probeOne<DnsResult>(dnsSpec(server, { qname: records.missing, expect: { rcode: ["NXDOMAIN"] } }));
      expect(expected.ok).toBe(true);
    });

    it("answer expectations", async () => {
      const server = requireServer(slot);
      const match = await probeOne<DnsResult>(dnsSpec(server, { expect: { answer: "^198\\.51\\.100\\.10$" } }));
      expect(match.ok).toBe(true);
      const mismatch = await probeOne<DnsResult>(dnsSpec(server, { expect: { answer: "^203\\.0\\.113\\." } }));
      expect(mismatch.failure?.code).toBe("answer_mismatch");
    });

    it("tcp connect to the DNS port", async () => {
      const server = requireServer(slot);
      const r = await probeOne({ kind: "tcp", address: server.address, port: server.port });
      expect(r.ok).toBe(true);
      expect(r.timings.connectMs).toBeGreaterThan(0);
    });
  });
}

describe("three DNS PoPs probed together: each answer names its own PoP", () => {
  const slots = [servers.dns.nsd, servers.dns.knot, servers.dns.bind];
  it.skipIf(slots.some((s) => !s.available))("distinct PoP ids from one run", async () => {
    const dnsServers = slots.map((s) => requireServer(s));
    const results = await runProbes(
      dnsServers.map((s) => dnsSpec(s)),
      { identifyPop },
    );
    expect(results.map((r) => r.pop?.id)).toEqual(dnsServers.map((s) => s.nsid));
    expect(new Set(results.map((r) => r.pop?.id)).size).toBe(3);
  });
});

const nginxSlot = servers.nginx;
const nginxSkip = skipUnless(nginxSlot);

function tlsSpec(nginx: NginxInfo, overrides: Partial<TlsProbeSpec> = {}): TlsProbeSpec {
  return {
    kind: "tls",
    address: nginx.address,
    port: nginx.httpsPort,
    sni: nginx.host,
    alpn: ["h2", "http/1.1"],
    ca: [nginx.caPem],
    ...overrides,
  };
}

function httpSpec(nginx: NginxInfo, overrides: Partial<HttpProbeSpec> = {}): HttpProbeSpec {
  return {
    kind: "http",
    address: nginx.address,
    port: nginx.httpsPort,
    scheme: "https",
    host: nginx.host,
    path: "/",
    method: "GET",
    readCapBytes: 64 * 1024,
    ca: [nginx.caPem],
    ...overrides,
  };
}

describe.skipIf(nginxSkip.skip)(`nginx${nginxSkip.note}`, () => {
  it("https: status, phases, PoP from x-served-by", async () => {
    const nginx = requireServer(nginxSlot);
    const r = await probeOne(httpSpec(nginx, { bodyRegex: "popwatch test page" }));
    expect(r.failure).toBeNull();
    expect(r).toMatchObject({ ok: true, status: 200, pop: { id: nginx.popHeader, source: "header:x-served-by", raw: nginx.popHeader } });
    const t = r.timings;
    for (const phase of [t.connectMs, t.tlsMs, t.ttfbMs, t.transferMs]) expect(phase).toBeGreaterThanOrEqual(0);
    expect(t.connectMs! + t.tlsMs! + t.ttfbMs! + t.transferMs!).toBeLessThanOrEqual(t.totalMs + 0.01);
  });

  it("plain http on its own port, and a 503 still names the PoP", async () => {
    const nginx = requireServer(nginxSlot);
    const plain = await probeOne(httpSpec(nginx, { scheme: "http", port: nginx.httpPort }));
    expect(plain).toMatchObject({ ok: true, status: 200, pop: { id: nginx.popHeader } });
    expect(plain.timings.tlsMs).toBeUndefined();
    const failing = await probeOne(httpSpec(nginx, { path: nginx.paths.fail }));
    expect(failing).toMatchObject({ ok: false, status: 503, failure: { code: "http_status" }, pop: { id: nginx.popHeader } });
  });

  it("tls: verified against the given CA; PoP from the operator's fingerprint map", async () => {
    const nginx = requireServer(nginxSlot);
    const byFingerprint = createPopIdentifier({ tlsFingerprints: { [nginx.leafSha256]: nginx.popHeader } });
    const r = await probeOne(tlsSpec(nginx), { identifyPop: byFingerprint });
    expect(r).toMatchObject({
      ok: true,
      verified: true,
      verification: "ca",
      alpn: "h2",
      pop: { id: nginx.popHeader, source: "tls-fingerprint" },
    });
    expect((r as Extract<ProbeResult, { kind: "tls" }>).certificate?.fingerprint256).toBe(nginx.leafSha256);
    const unmapped = await probeOne(tlsSpec(nginx));
    expect(unmapped.pop).toBeNull();
  });

  it("tls failures: expired, self-signed, untrusted; a pin accepts the self-signed leaf", async () => {
    const nginx = requireServer(nginxSlot);
    const expired = await probeOne(tlsSpec(nginx, { port: nginx.expiredHttpsPort }));
    expect(expired.failure?.code).toBe("tls_cert_expired");
    const selfSigned = await probeOne(tlsSpec(nginx, { port: nginx.selfSignedHttpsPort }));
    expect(selfSigned.failure?.code).toBe("tls_cert_invalid");
    const untrusted = await probeOne(tlsSpec(nginx, { ca: [] }));
    expect(untrusted.failure?.code).toBe("tls_cert_invalid");
    const pinned = await probeOne(tlsSpec(nginx, { port: nginx.selfSignedHttpsPort, ca: [], pinSha256: [nginx.selfSignedSha256] }));
    expect(pinned).toMatchObject({ ok: true, verification: "pin", verified: true });
  });
});

const exec = promisify(execFile);
const bin = join(import.meta.dirname, "..", "packages", "cli", "bin", "popwatch.mjs");

async function cli(args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await exec(process.execPath, [bin, ...args]);
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

describe("popwatch probe against the real servers", () => {
  it.skipIf(!servers.dns.knot.available)("--dns --chaos --json names Knot's PoP", async () => {
    const knot = requireServer(servers.dns.knot);
    const { code, stdout } = await cli([
      "probe",
      knot.address,
      "--dns",
      "--chaos",
      "--port",
      String(knot.port),
      "--qname",
      records.a.name,
      "--qtype",
      "A",
      "--json",
    ]);
    expect(code).toBe(0);
    const result = JSON.parse(stdout.trim());
    expect(result).toMatchObject({
      kind: "dns",
      ok: true,
      rcode: "NOERROR",
      nsid: knot.nsid,
      pop: { id: knot.nsid, source: "nsid" },
      failure: null,
    });
    expect(result.identity).toEqual({ "id.server": knot.identity, "hostname.bind": knot.hostnameBind });
    expect(result.answers[0].data).toBe(records.a.address);
    expect(typeof result.timings.totalMs).toBe("number");
  });

  it.skipIf(!nginxSlot.available)("--tls --http with --sni and --ca prints the table and exits 0; without --ca exits 1", async () => {
    const nginx = requireServer(nginxSlot);
    const args = ["probe", nginx.address, "--tls", "--http", "--port", String(nginx.httpsPort), "--sni", nginx.host];
    const ok = await cli([...args, "--ca", nginx.caFile]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^http\s+127\.0\.0\.1:\d+\s+ok\s+pop-nginx\s+header:x-served-by/m);
    expect(ok.stdout).toMatch(/^tls\s+127\.0\.0\.1:\d+\s+ok\s/m);
    const untrusted = await cli(args);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stdout).toMatch(/tls_cert_invalid/);
  });
});
