// HTTP/2 and certificate chains against Debian's nginx (`http2`, serving leaf
// + intermediate from a CA → intermediate → leaf chain whose intermediate
// expires first), tcp/tls/http over ::1, and hostile chains from loopback
// servers written here (a long one, a looping one).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import type { ProbeResult } from "@popwatch/core";
import { type HttpProbeSpec, type TlsProbeSpec, runProbes } from "@popwatch/probes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_CHAIN_LENGTH } from "../packages/probes/src/tls/session";
import { findBinary } from "./support/daemons";
import { H2_OK_BODY, H2_SERVED_BY, type NginxH2, startNginxH2 } from "./support/nginx-h2";
import { createChainPki, createLongChain, createLoopingChain } from "./support/pki-chain";

type HttpResult = Extract<ProbeResult, { kind: "http" }>;
type TlsResult = Extract<ProbeResult, { kind: "tls" }>;
type TcpResult = Extract<ProbeResult, { kind: "tcp" }>;

const haveNginx = findBinary("nginx") !== null && findBinary("openssl") !== null;
// CI installs nginx and openssl; a missing one there is an error, not a skip.
const skip = !haveNginx && process.env.CI !== "true";

let dir: string;
let nginx: NginxH2;

beforeAll(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), "popwatch-h2chain-"));
  nginx = await startNginxH2(join(dir, "nginx"));
});
afterAll(async () => {
  await nginx?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function probeOne<T extends ProbeResult>(spec: Parameters<typeof runProbes>[0][number]): Promise<T> {
  const [result] = await runProbes([spec], { timeoutMs: 5000 });
  return result as T;
}

function httpSpec(over: Partial<HttpProbeSpec> = {}): HttpProbeSpec {
  return {
    kind: "http",
    address: nginx.address,
    port: nginx.port,
    scheme: "https",
    host: nginx.host,
    path: nginx.paths.static,
    method: "GET",
    readCapBytes: 1024 * 1024,
    ca: [nginx.pki.root.certPem],
    ...over,
  };
}

function tlsSpec(over: Partial<TlsProbeSpec> = {}): TlsProbeSpec {
  return {
    kind: "tls",
    address: nginx.address,
    port: nginx.port,
    sni: nginx.host,
    alpn: ["h2", "http/1.1"],
    ca: [nginx.pki.root.certPem],
    ...over,
  };
}

function expectPhases(r: HttpResult): void {
  const t = r.timings;
  for (const phase of [t.connectMs, t.tlsMs, t.ttfbMs, t.transferMs]) expect(phase).toBeGreaterThan(0);
  expect(t.connectMs! + t.tlsMs! + t.ttfbMs! + t.transferMs!).toBeLessThanOrEqual(t.totalMs + 0.01);
}

/** Leaf then intermediate, with the facts pki-chain.ts made them with. */
function expectSentChain(chain: readonly { subject: string; issuer: string; notAfter: string; daysLeft: number }[]): void {
  const { leaf, intermediate, root, days } = nginx.pki;
  expect(chain.map((c) => c.subject)).toEqual([leaf.subject, intermediate.subject]);
  expect(chain.map((c) => c.issuer)).toEqual([intermediate.subject, root.subject]);
  expect(chain.map((c) => c.notAfter)).toEqual([leaf.notAfter, intermediate.notAfter]);
  expect(chain[0]!.daysLeft).toBeGreaterThan(days.leaf - 0.1);
  expect(chain[0]!.daysLeft).toBeLessThanOrEqual(days.leaf);
  expect(chain[1]!.daysLeft).toBeGreaterThan(days.intermediate - 0.1);
  expect(chain[1]!.daysLeft).toBeLessThanOrEqual(days.intermediate);
}

describe.skipIf(skip)("http probe over HTTP/2 and HTTP/1.1 (nginx http2)", () => {
  it("offers h2 by default, speaks HTTP/2 and records it, with every phase", async () => {
    const r = await probeOne<HttpResult>(httpSpec());
    expect(r.failure).toBeNull();
    expect(r).toMatchObject({
      ok: true,
      status: 200,
      httpVersion: "2",
      bodyBytes: nginx.paths.staticBytes,
      bodyTruncated: false,
      headers: { "x-served-by": H2_SERVED_BY },
      tls: { alpn: "h2", sni: nginx.host, verified: true },
    });
    // HTTP/2 has no status line: no HTTP/1 sniffing leaked into the facts.
    expect(Object.keys(r.headers ?? {}).some((name) => name.startsWith(":"))).toBe(false);
    expectPhases(r);
  });

  it("alpn [http/1.1] forces HTTP/1.1 on the same server, phases measured the same way", async () => {
    const r = await probeOne<HttpResult>(httpSpec({ alpn: ["http/1.1"] }));
    expect(r.failure).toBeNull();
    expect(r).toMatchObject({ ok: true, status: 200, httpVersion: "1.1", tls: { alpn: "http/1.1" } });
    expect(r.bodyBytes).toBe(nginx.paths.staticBytes);
    expectPhases(r);
  });

  it("over HTTP/2: a body regex, a failing status and the body cap behave as over HTTP/1.1", async () => {
    const body = await probeOne<HttpResult>(httpSpec({ path: nginx.paths.ok, bodyRegex: "^popwatch http/2" }));
    expect(body).toMatchObject({ ok: true, httpVersion: "2", bodyBytes: Buffer.byteLength(H2_OK_BODY) });
    const missing = await probeOne<HttpResult>(httpSpec({ path: "/nowhere" }));
    expect(missing).toMatchObject({ ok: false, status: 404, httpVersion: "2", failure: { code: "http_status" } });
    const capped = await probeOne<HttpResult>(httpSpec({ readCapBytes: 1000 }));
    expect(capped).toMatchObject({ ok: true, httpVersion: "2", bodyBytes: 1000, bodyTruncated: true });
  });
});

describe.skipIf(skip)("certificate chains (leaf + intermediate sent, root only in the client's store)", () => {
  it("Node's detailed peer certificate walk adds the root from the trust store; the probes report only what was sent", async () => {
    // The finding the chain facts rest on, shown on the real server.
    const walk = await new Promise<string[]>((resolve, reject) => {
      const socket = tls.connect({ host: nginx.address, port: nginx.port, servername: nginx.host, ca: [nginx.pki.root.certPem] });
      socket.once("error", reject);
      socket.once("secureConnect", () => {
        const subjects: string[] = [];
        let cert: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
        while (cert?.raw && subjects.length < 5) {
          subjects.push(`CN=${cert.subject.CN}`);
          if (cert.issuerCertificate === cert) break;
          cert = cert.issuerCertificate;
        }
        socket.destroy();
        resolve(subjects);
      });
    });
    expect(walk).toEqual([nginx.pki.leaf.subject, nginx.pki.intermediate.subject, nginx.pki.root.subject]);

    const t = await probeOne<TlsResult>(tlsSpec());
    expect(t).toMatchObject({ ok: true, verified: true });
    expectSentChain(t.chain!);
    expect(t.certificate?.fingerprint256).toBe(nginx.pki.leaf.sha256);
    expect(t.chain![0]!.fingerprint256).toBe(nginx.pki.leaf.sha256);
    expect(t.chain![1]!.fingerprint256).toBe(nginx.pki.intermediate.sha256);

    const h = await probeOne<HttpResult>(httpSpec());
    expectSentChain(h.tls!.chain);
  });

  it("certMinDays 10 fails tls_cert_expiring naming the intermediate, not the leaf (tls and http)", async () => {
    const t = await probeOne<TlsResult>(tlsSpec({ certMinDays: 10 }));
    const h = await probeOne<HttpResult>(httpSpec({ certMinDays: 10 }));
    for (const r of [t, h]) {
      expect(r.ok).toBe(false);
      expect(r.failure?.code).toBe("tls_cert_expiring");
      expect(r.failure?.message).toContain(nginx.pki.intermediate.subject);
      expect(r.failure?.message).not.toContain(nginx.pki.leaf.subject);
    }
    // The facts stay: the request was made and answered.
    expect(h).toMatchObject({ status: 200, httpVersion: "2", tls: { verified: true } });
    expect(t).toMatchObject({ verified: true, verifyError: null });
  });

  it("certMinDays 1 passes for both; 70 (both short of it) still names the intermediate, the first to go", async () => {
    expect(await probeOne<TlsResult>(tlsSpec({ certMinDays: 1 }))).toMatchObject({ ok: true, failure: null });
    expect(await probeOne<HttpResult>(httpSpec({ certMinDays: 1 }))).toMatchObject({ ok: true, failure: null });
    const both = await probeOne<TlsResult>(tlsSpec({ certMinDays: 70 }));
    expect(both.failure?.code).toBe("tls_cert_expiring");
    expect(both.failure?.message).toContain(nginx.pki.intermediate.subject);
  });

  it("a status failure outranks certMinDays", async () => {
    const r = await probeOne<HttpResult>(httpSpec({ path: "/nowhere", certMinDays: 10 }));
    expect(r.failure?.code).toBe("http_status");
    expect(r.tls?.chain).toHaveLength(2);
  });
});

describe.skipIf(skip)("IPv6: tcp, tls and http on ::1", () => {
  it("connects, verifies the ::1 IP SAN and speaks HTTP/2", async (t) => {
    if (nginx.address6 === null) {
      t.skip(); // no IPv6 loopback on this kernel
      return;
    }
    const address = nginx.address6;
    const tcp = await probeOne<TcpResult>({ kind: "tcp", address, port: nginx.port });
    expect(tcp).toMatchObject({ ok: true, target: `[::1]:${nginx.port}`, address: "::1" });
    expect(tcp.timings.connectMs).toBeGreaterThan(0);

    // No SNI: the certificate is judged against the address, its IP SAN ::1.
    const viaIp = await probeOne<TlsResult>(tlsSpec({ address, sni: null, certMinDays: 1 }));
    expect(viaIp).toMatchObject({ ok: true, target: `[::1]:${nginx.port}`, sni: null, verified: true, alpn: "h2" });
    expect(viaIp.chain).toHaveLength(2);

    const http = await probeOne<HttpResult>(httpSpec({ address }));
    expect(http).toMatchObject({
      ok: true,
      status: 200,
      httpVersion: "2",
      url: `https://${nginx.host}:${nginx.port}${nginx.paths.static}`,
    });
    expectPhases(http);
    const byAddress = await probeOne<HttpResult>(httpSpec({ address, host: null, alpn: ["http/1.1"] }));
    expect(byAddress).toMatchObject({ ok: true, httpVersion: "1.1", url: `https://[::1]:${nginx.port}${nginx.paths.static}` });
  });
});

describe.skipIf(skip)("chains from loopback servers: hostile ones stay bounded", () => {
  const servers: tls.Server[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  });

  async function serveChain(keyPem: string, chainPem: string): Promise<number> {
    const server = tls.createServer({ key: keyPem, cert: chainPem, ALPNProtocols: ["h2", "http/1.1"] }, (socket) => {
      socket.on("error", () => {});
      socket.end();
    });
    server.on("tlsClientError", () => {});
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return (server.address() as { port: number }).port;
  }

  it(`a chain of ${MAX_CHAIN_LENGTH + 5} sent certificates is reported as its first ${MAX_CHAIN_LENGTH}, leaf first, and judged`, async () => {
    const cas = MAX_CHAIN_LENGTH + 4;
    const long = createLongChain(join(dir, "long"), cas);
    const port = await serveChain(long.keyPem, long.chainPem);
    const started = Date.now();
    const r = await probeOne<TlsResult>({ kind: "tls", address: "127.0.0.1", port, sni: "long.pop.test", alpn: [], certMinDays: 1 });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(r.chain).toHaveLength(MAX_CHAIN_LENGTH);
    expect(r.chain!.map((c) => c.subject).slice(0, 3)).toEqual([
      "CN=long.pop.test",
      `CN=long chain ${cas - 1}`,
      `CN=long chain ${cas - 2}`,
    ]);
    // Untrusted (its own root is not in the store): that verdict, not an expiry.
    expect(r.failure?.code).toBe("tls_cert_invalid");
  });

  it("a looping chain (A issued by B, B by A, sent A B A B) lists each certificate once, for tls and http", async () => {
    const loop = createLoopingChain(join(dir, "loop"));
    const port = await serveChain(loop.keyPem, loop.chainPem);
    const t = await probeOne<TlsResult>({ kind: "tls", address: "127.0.0.1", port, sni: "loop.pop.test", alpn: [] });
    expect(t.chain!.map((c) => c.subject)).toEqual(["CN=loop.pop.test", "CN=loop a", "CN=loop b"]);
    expect(t.failure?.code).toBe("tls_cert_invalid");
    const h = await probeOne<HttpResult>({
      kind: "http",
      address: "127.0.0.1",
      port,
      scheme: "https",
      host: "loop.pop.test",
      path: "/",
      method: "GET",
      readCapBytes: 1024,
    });
    expect(h.failure?.code).toBe("tls_cert_invalid");
    expect(h.tls?.chain.map((c) => c.subject)).toEqual(["CN=loop.pop.test", "CN=loop a", "CN=loop b"]);
  });

  it("a leaf that expires before its intermediate is the one named", async () => {
    const pki = createChainPki(join(dir, "leaf-first"), { names: ["leaf.pop.test"], intermediateDays: 90, leafDays: 20 });
    const port = await serveChain(pki.leaf.keyPem, pki.fullChainPem);
    const spec: TlsProbeSpec = { kind: "tls", address: "127.0.0.1", port, sni: "leaf.pop.test", alpn: [], ca: [pki.root.certPem] };
    const r = await probeOne<TlsResult>({ ...spec, certMinDays: 30 });
    expect(r).toMatchObject({ ok: false, verified: true, failure: { code: "tls_cert_expiring" } });
    expect(r.failure?.message).toMatch(/^leaf "CN=leaf.pop.test"/);
    expect(await probeOne<TlsResult>({ ...spec, certMinDays: 19 })).toMatchObject({ ok: true });
  });

  it("root sent by the server too: it is part of what was sent, so it is reported", async () => {
    const { pki } = nginx;
    const port = await serveChain(pki.leaf.keyPem, pki.fullChainPem + pki.root.certPem);
    const r = await probeOne<TlsResult>({ kind: "tls", address: "127.0.0.1", port, sni: nginx.host, alpn: [], ca: [pki.root.certPem] });
    expect(r).toMatchObject({ ok: true, verified: true });
    expect(r.chain!.map((c) => c.subject)).toEqual([pki.leaf.subject, pki.intermediate.subject, pki.root.subject]);
  });
});
