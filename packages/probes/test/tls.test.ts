import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import type { TlsProbeSpec } from "../src/index";
import { tlsProbe } from "../src/probes/tls";
import { runProbe } from "../src/runner";
import type { ProbeContext } from "../src/types";
import { manualProbeContext } from "./support/context";
import { type TlsServer, closedPort, startRawServer, startTlsServer, useTlsFixture } from "./support/tls-servers";

const fixture = useTlsFixture("popwatch-tls-");

async function tlsServer(which: "leaf" | "expired" | "selfSigned" = "leaf", alpn?: string[]): Promise<TlsServer> {
  const cert = fixture.pki[which];
  const server = await startTlsServer({ key: cert.keyPem, cert: cert.certPem, ...(alpn ? { alpn } : {}) });
  fixture.servers.push(server);
  return server;
}

const spec = (port: number, over: Partial<TlsProbeSpec> = {}): TlsProbeSpec => ({
  kind: "tls",
  address: "127.0.0.1",
  port,
  sni: "pop.test",
  alpn: [],
  ca: [fixture.pki.caPem],
  ...over,
});

/** Colons and uppercase, as `openssl x509 -fingerprint` prints it. */
const opensslStyle = (hex: string) => hex.toUpperCase().match(/../g)!.join(":");

describe("tls probe", () => {
  it("reports a verified handshake with protocol, cipher, certificate facts and fingerprint evidence", async () => {
    const server = await tlsServer();
    const result = await runProbe(spec(server.port), { timeoutMs: 3000 });
    expect(result.failure).toBeNull();
    expect(result).toMatchObject({
      kind: "tls",
      ok: true,
      sni: "pop.test",
      alpnOffered: [],
      alpn: null,
      protocol: "TLSv1.3",
      verification: "ca",
      verified: true,
      verifyError: null,
    });
    if (result.kind !== "tls") throw new Error("kind");
    expect(result.cipher).toMatch(/^TLS_/);
    const cert = result.certificate!;
    expect(cert.fingerprint256).toBe(fixture.pki.leaf.sha256);
    expect(cert.subject).toBe("CN=pop.test");
    expect(cert.issuer).toBe("CN=popwatch test CA");
    expect(cert.sans).toEqual(["DNS:pop.test", "DNS:localhost", "IP:127.0.0.1"]);
    expect(cert.serialNumber).toMatch(/^[0-9A-F]+$/);
    expect(Date.parse(cert.notAfter) - Date.parse(cert.notBefore)).toBe(2 * 86_400_000);
    expect(cert.daysLeft).toBeGreaterThan(1.9);
    expect(cert.daysLeft).toBeLessThanOrEqual(2);
    expect(result.timings.connectMs).toBeGreaterThan(0);
    expect(result.timings.tlsMs).toBeGreaterThan(0);
    expect(result.timings.connectMs! + result.timings.tlsMs!).toBeLessThanOrEqual(result.timings.totalMs);
    expect(server.servernames).toEqual(["pop.test"]);
    // The probe closes its socket once the certificate is judged.
    await server.drained();
  });

  it("records the fingerprint as PoP evidence", async () => {
    const server = await tlsServer();
    const result = await runProbe(spec(server.port), {
      timeoutMs: 3000,
      identifyPop: (_kind, evidence) =>
        evidence.tlsFingerprint ? { id: "x", source: "tls-fingerprint", raw: evidence.tlsFingerprint, iata: null } : null,
    });
    expect(result.pop?.raw).toBe(fixture.pki.leaf.sha256);
  });

  it("negotiates ALPN from what was offered", async () => {
    const server = await tlsServer("leaf", ["h2", "http/1.1"]);
    const h2 = await runProbe(spec(server.port, { alpn: ["h2", "http/1.1"] }));
    const h1 = await runProbe(spec(server.port, { alpn: ["http/1.1"] }));
    const none = await runProbe(spec(server.port, { alpn: [] }));
    expect(h2).toMatchObject({ ok: true, alpn: "h2", alpnOffered: ["h2", "http/1.1"] });
    expect(h1).toMatchObject({ ok: true, alpn: "http/1.1" });
    expect(none).toMatchObject({ ok: true, alpn: null });
  });

  it("fails the handshake when no offered ALPN protocol is acceptable (server alert)", async () => {
    const server = await tlsServer("leaf", ["http/1.1"]);
    const result = await runProbe(spec(server.port, { alpn: ["h2"] }));
    expect(result.failure?.code).toBe("tls_handshake");
    expect(result.failure?.message).toMatch(/^ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL/);
    expect(result.timings.connectMs).toBeGreaterThan(0);
  });

  it("sends no SNI for a null or IP-literal sni and verifies against the IP SAN", async () => {
    const server = await tlsServer();
    const none = await runProbe(spec(server.port, { sni: null }));
    const literal = await runProbe(spec(server.port, { sni: "127.0.0.1" }));
    expect(none).toMatchObject({ ok: true, sni: null, verified: true });
    expect(literal).toMatchObject({ ok: true, sni: null, verified: true });
    expect(server.servernames).toEqual([null, null]);
  });

  it("rejects a chain it cannot anchor when the test CA is not given (system store only)", async () => {
    const server = await tlsServer();
    const result = await runProbe(spec(server.port, { ca: [] }));
    expect(result.failure?.code).toBe("tls_cert_invalid");
    expect(result).toMatchObject({ ok: false, verified: false, verifyError: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" });
    if (result.kind !== "tls") throw new Error("kind");
    // Facts survive a failed verdict.
    expect(result.certificate?.fingerprint256).toBe(fixture.pki.leaf.sha256);
    await server.drained();
  });

  it("rejects a self-signed leaf", async () => {
    const server = await tlsServer("selfSigned");
    const result = await runProbe(spec(server.port));
    expect(result.failure?.code).toBe("tls_cert_invalid");
    expect(result).toMatchObject({ verified: false, verifyError: "DEPTH_ZERO_SELF_SIGNED_CERT" });
  });

  it("classifies an expired leaf as tls_cert_expired and still reports its facts", async () => {
    const server = await tlsServer("expired");
    const result = await runProbe(spec(server.port));
    expect(result.failure?.code).toBe("tls_cert_expired");
    expect(result.failure?.message).toMatch(/^CERT_HAS_EXPIRED/);
    expect(result).toMatchObject({ ok: false, verified: false, verifyError: "CERT_HAS_EXPIRED", protocol: "TLSv1.3" });
    if (result.kind !== "tls") throw new Error("kind");
    expect(result.certificate).toMatchObject({
      fingerprint256: fixture.pki.expired.sha256,
      notBefore: "2020-01-01T00:00:00.000Z",
      notAfter: "2021-01-01T00:00:00.000Z",
    });
    expect(result.certificate!.daysLeft).toBeLessThan(-365);
  });

  it("rejects a name the certificate does not cover", async () => {
    const server = await tlsServer();
    const result = await runProbe(spec(server.port, { sni: "wrong.test" }));
    expect(result.failure?.code).toBe("tls_cert_invalid");
    expect(result).toMatchObject({ verified: false, verifyError: "ERR_TLS_CERT_ALTNAME_INVALID", sni: "wrong.test" });
    expect(server.servernames).toEqual(["wrong.test"]);
  });

  it("accepts a matching pin without any CA, whatever its case and colons", async () => {
    const server = await tlsServer();
    const result = await runProbe(spec(server.port, { ca: [], pinSha256: [opensslStyle(fixture.pki.leaf.sha256)] }));
    expect(result.failure).toBeNull();
    expect(result).toMatchObject({ ok: true, verification: "pin", verified: true, verifyError: null });
  });

  it("accepts a pinned self-signed certificate: the pin decides, not the chain", async () => {
    const server = await tlsServer("selfSigned");
    const result = await runProbe(spec(server.port, { pinSha256: ["0".repeat(64), fixture.pki.selfSigned.sha256] }));
    expect(result).toMatchObject({ ok: true, verification: "pin", verified: true });
  });

  it("rejects a pin mismatch as tls_cert_invalid even when the chain is valid", async () => {
    const server = await tlsServer();
    const result = await runProbe(spec(server.port, { pinSha256: [fixture.pki.selfSigned.sha256] }));
    expect(result.failure?.code).toBe("tls_cert_invalid");
    expect(result).toMatchObject({ verification: "pin", verified: false, verifyError: "ERR_TLS_PIN_MISMATCH" });
    if (result.kind !== "tls") throw new Error("kind");
    expect(result.certificate?.fingerprint256).toBe(fixture.pki.leaf.sha256);
  });

  it("classifies a peer that answers with garbage instead of TLS as tls_handshake", async () => {
    const server = await startRawServer((socket) => {
      socket.on("error", () => {});
      socket.once("data", () => socket.write("SSH-2.0-definitely-not-tls\r\n".repeat(8)));
    });
    fixture.servers.push(server);
    const result = await runProbe(spec(server.port), { timeoutMs: 3000 });
    expect(result.failure?.code).toBe("tls_handshake");
    expect(result.failure?.message).toMatch(/^ERR_SSL_/);
    expect(result.timings.connectMs).toBeGreaterThan(0);
    expect(result.timings.tlsMs).toBeUndefined();
    await server.drained();
  });

  it("classifies a peer that closes before the handshake completes as reset (Node reports ECONNRESET)", async () => {
    const server = await startRawServer((socket) => {
      socket.on("error", () => {});
      socket.once("data", () => socket.end());
    });
    fixture.servers.push(server);
    const result = await runProbe(spec(server.port), { timeoutMs: 3000 });
    expect(result.failure?.code).toBe("reset");
    expect(result.failure?.message).toMatch(/^ECONNRESET/);
  });

  it("times out on a peer that accepts and never speaks, and lets go of the socket", async () => {
    // Reads (and ignores) what arrives, so it notices when the probe hangs up.
    const server = await startRawServer((socket) => socket.on("error", () => {}).resume());
    fixture.servers.push(server);
    const result = await runProbe(spec(server.port), { timeoutMs: 300 });
    expect(result.failure?.code).toBe("timeout");
    expect(result.timings.totalMs).toBeGreaterThanOrEqual(295);
    expect(result.timings.totalMs).toBeLessThan(1000);
    expect(result.timings.connectMs).toBeGreaterThan(0);
    await server.drained();
  });

  it("leaves no listener on the signal, whether it succeeds, fails or is aborted", async () => {
    const server = await tlsServer();
    const silent = await startRawServer((socket) => socket.on("error", () => {}).resume());
    fixture.servers.push(silent);

    const ok = probeContext();
    await expect(tlsProbe(spec(server.port), ok.ctx)).resolves.toBeNull();
    const bad = probeContext();
    await expect(tlsProbe(spec(server.port, { sni: "wrong.test" }), bad.ctx)).resolves.toMatchObject({ code: "tls_cert_invalid" });
    const aborted = probeContext();
    const pending = tlsProbe(spec(silent.port), aborted.ctx);
    setTimeout(() => aborted.controller.abort(new Error("stop")), 100);
    await expect(pending).rejects.toThrow("stop");

    for (const { controller } of [ok, bad, aborted]) expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
    expect(aborted.ctx.timings.connectMs).toBeGreaterThan(0);
    await server.drained();
    await silent.drained();
  });

  it("classifies a refused port as refused", async () => {
    const result = await runProbe(spec(await closedPort()), { timeoutMs: 3000 });
    expect(result.failure?.code).toBe("refused");
    expect(result.timings.connectMs).toBeUndefined();
    expect(result).toMatchObject({ sni: "pop.test", verification: "ca" });
  });
});

function probeContext(): { controller: AbortController; ctx: ProbeContext<"tls"> } {
  return manualProbeContext<"tls">();
}
