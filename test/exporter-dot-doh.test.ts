// `popwatch exporter`'s module=dot and module=doh against Debian's Unbound on
// loopback (DoT and DoH from one process, the test zone as an auth-zone):
// blackbox's DNS metrics, the TLS chain metrics, probe_http_version 2 over h2,
// and a certificate that expired. promtool checks every exposition.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type PopwatchConfigInput, parseConfig } from "@popwatch/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningExporter, startExporter } from "../packages/exporter/src/index";
import { findBinary } from "./support/daemons";
import { PROMTOOL } from "./support/exposition";
import { type TestPki, createTestPki } from "./support/pki";
import { scrapeProbe } from "./support/probe-scrape";
import { type UnboundServer, startUnbound } from "./support/unbound";

const skip = (findBinary("unbound") === null && process.env.CI !== "true") || !existsSync(PROMTOOL);

describe.skipIf(skip)(`exporter module=dot and module=doh against Unbound${skip ? " [skipped: unbound or promtool missing]" : ""}`, () => {
  let dir: string;
  let pki: TestPki;
  let unbound: UnboundServer;
  let expired: UnboundServer;
  let exporter: RunningExporter;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "popwatch-exporter-dot-doh-"));
    pki = createTestPki(join(dir, "pki"));
    [unbound, expired] = await Promise.all([startUnbound(undefined, { pki }), startUnbound(undefined, { pki, certificate: "expired" })]);
    const query = { qname: unbound.zone, qtype: "SOA", ca: [unbound.caPem] };
    const input: PopwatchConfigInput = {
      targets: [
        {
          name: "unbound",
          address: unbound.address,
          hostname: unbound.tlsHost,
          probes: { dot: { port: unbound.dotPort, ...query }, doh: { port: unbound.dohPort, ...query } },
        },
      ],
      popIdentification: { rules: [], tlsFingerprints: {} },
      exporter: {
        modules: {
          dot_expired: { kind: "dot", port: expired.dotPort, sni: expired.tlsHost, ...query },
          doh_ca: { kind: "doh", ...query },
        },
      },
    };
    exporter = await startExporter({ config: parseConfig(input), listen: { host: "127.0.0.1", port: 0 } });
  });
  afterAll(async () => {
    await exporter?.close();
    await Promise.all([unbound?.close(), expired?.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const probe = (query: string) => scrapeProbe(exporter.url, query);

  /** The metrics every successful dot and doh probe of the valid Unbound has. */
  function expectAnswerAndChain(m: Map<string, number>, what: string): void {
    expect(m.get("probe_success"), what).toBe(1);
    expect(m.get("probe_dns_query_succeeded"), what).toBe(1);
    expect(m.get("probe_dns_answer_rrs"), what).toBe(1);
    expect(m.get("probe_dns_serial"), what).toBeGreaterThan(0);
    expect(m.get(`probe_dns_nsid_info{nsid="${unbound.nsid}"}`), what).toBe(1);
    // connect + TLS handshake: everything before the query, as blackbox's dns_over_tls counts it.
    expect(m.get('probe_dns_duration_seconds{phase="connect"}'), what).toBeGreaterThan(0);
    expect(m.get('probe_dns_duration_seconds{phase="request"}'), what).toBeGreaterThan(0);
    expect(m.get("probe_dns_truncated"), what).toBe(0);
    expect(m.get("probe_dns_tcp_fallback"), what).toBe(0);
    const expiry = m.get("probe_ssl_earliest_cert_expiry")!;
    expect(expiry, what).toBeGreaterThan(Date.now() / 1000);
    expect(m.get("probe_ssl_last_chain_expiry_timestamp_seconds"), what).toBe(expiry);
    const dnsNames = unbound.certNames.filter((n) => n.startsWith("DNS:")).map((n) => n.slice(4));
    const info =
      `probe_ssl_last_chain_info{fingerprint_sha256="${unbound.certSha256}",subject="CN=${unbound.tlsHost}",` +
      `issuer="CN=popwatch test CA",subjectalternative="${dnsNames.join(",")}"}`;
    expect(m.get(info), `${what}: ${[...m.keys()].filter((k) => k.startsWith("probe_ssl_last_chain_info"))}`).toBe(1);
    expect(
      [...m.keys()].some((k) => /^probe_tls_version_info\{version="TLS 1\.[23]"\}$/.test(k)),
      what,
    ).toBe(true);
  }

  it("module=dot: blackbox's DNS metrics and the TLS chain metrics", async () => {
    const m = await probe("target=unbound&module=dot");
    expectAnswerAndChain(m, "dot");
    expect(m.has("probe_http_version")).toBe(false);
  });

  it("module=doh: the same, with probe_http_status_code 200 and probe_http_version 2 (Unbound speaks h2 only)", async () => {
    const m = await probe("target=unbound&module=doh");
    expectAnswerAndChain(m, "doh");
    expect(m.get("probe_http_status_code")).toBe(200);
    expect(m.get("probe_http_version")).toBe(2);
  });

  it("a named doh module with an https:// URL target: host, port and path from the URL", async () => {
    const m = await probe(`target=${encodeURIComponent(`https://${unbound.address}:${unbound.dohPort}${unbound.dohPath}`)}&module=doh_ca`);
    expect(m.get("probe_success")).toBe(1);
    expect(m.get("probe_http_version")).toBe(2);
    const wrongPath = await probe(`target=${encodeURIComponent(`https://${unbound.address}:${unbound.dohPort}/nowhere`)}&module=doh_ca`);
    expect(wrongPath.get("probe_success")).toBe(0);
    expect(wrongPath.get("probe_http_status_code")).toBeGreaterThanOrEqual(400);
  });

  it("a named dot module against an expired certificate: a failed probe whose expiry says why", async () => {
    const m = await probe(`target=${expired.address}&module=dot_expired`);
    expect(m.get("probe_success")).toBe(0);
    expect(m.get("probe_dns_query_succeeded")).toBe(0);
    expect([...m.keys()].filter((k) => k.startsWith("probe_failure_info"))).toEqual(['probe_failure_info{code="tls_cert_expired"}']);
    expect(m.get("probe_ssl_earliest_cert_expiry")).toBeLessThan(Date.now() / 1000);
    expect(m.has("probe_ssl_last_chain_expiry_timestamp_seconds")).toBe(false);
  });
});
