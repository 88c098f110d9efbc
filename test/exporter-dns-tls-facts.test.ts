// `popwatch exporter`'s /probe metrics for the facts of issue 13, against real
// servers: NSD answering a TXT RRset too big for 512 bytes (TC=1 over UDP,
// retried over TCP or not), and nginx's certificate (blackbox 0.23's chain
// metrics, Go's spelling of the names). promtool checks every exposition.
import { existsSync } from "node:fs";
import { type PopwatchConfigInput, parseConfig } from "@popwatch/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningExporter, startExporter } from "../packages/exporter/src/index";
import { type BlackboxHandle, blackboxHttpModule, blackboxTlsModule, startBlackbox } from "./support/blackbox";
import { findBinary } from "./support/daemons";
import { PROMTOOL, samples } from "./support/exposition";
import { scrapeProbe } from "./support/probe-scrape";
import { requireServer, skipUnless, useTestServers } from "./support/servers";

const servers = useTestServers();
const nsdSlot = servers.dns.nsd;
const nginxSlot = servers.nginx;
const { skip, note } = skipUnless(nsdSlot);

describe.skipIf(skip || !existsSync(PROMTOOL))(`exporter /probe: truncation and TLS chain metrics${note}`, () => {
  let exporter: RunningExporter;

  beforeAll(async () => {
    const nsd = requireServer(nsdSlot);
    // EDNS with a 512-byte buffer: the big TXT RRset cannot fit, so NSD sets TC=1 over UDP.
    const big = { port: nsd.port, qname: servers.records.bigTxt.name, qtype: "TXT", udpPayloadSize: 512 };
    const input: PopwatchConfigInput = {
      targets: [{ name: "nsd-big", address: nsd.address, probes: { dns: big } }],
      popIdentification: { rules: [], tlsFingerprints: {} },
      exporter: {
        modules: {
          big_no_fallback: { kind: "dns", ...big, tcpFallback: false },
          big_roomy: { kind: "dns", ...big, udpPayloadSize: 1232 },
          big_dnssec: { kind: "dns", ...big, dnssec: true },
          ...(nginxSlot.available
            ? {
                tls_valid: { kind: "tls" as const, port: nginxSlot.httpsPort, sni: nginxSlot.host, ca: [nginxSlot.caPem] },
                tls_expired: { kind: "tls" as const, port: nginxSlot.expiredHttpsPort, sni: nginxSlot.host, ca: [nginxSlot.caPem] },
                https_valid: { kind: "http" as const, port: nginxSlot.httpsPort, ca: [nginxSlot.caPem] },
              }
            : {}),
        },
      },
    };
    exporter = await startExporter({ config: parseConfig(input), listen: { host: "127.0.0.1", port: 0 } });
  });
  afterAll(async () => {
    await exporter?.close();
  });

  const probe = (query: string) => scrapeProbe(exporter.url, query);

  it("TC=1 over UDP retried over TCP: probe_dns_truncated 1, probe_dns_tcp_fallback 1, the whole RRset", async () => {
    const m = await probe("target=nsd-big&module=dns");
    expect(m.get("probe_success")).toBe(1);
    expect(m.get("probe_dns_truncated")).toBe(1);
    expect(m.get("probe_dns_tcp_fallback")).toBe(1);
    expect(m.get("probe_dns_answer_rrs")).toBe(servers.records.bigTxt.count);
    // The TCP retry's connect is the answer's connect phase.
    expect(m.get('probe_dns_duration_seconds{phase="connect"}')).toBeGreaterThan(0);
  });

  it("TC=1 with the fallback off: a dns_truncated failure, truncated but not retried", async () => {
    const m = await probe("target=nsd-big&module=big_no_fallback");
    expect(m.get("probe_success")).toBe(0);
    expect(m.get('probe_failure_info{code="dns_truncated"}')).toBe(1);
    expect(m.get("probe_dns_truncated")).toBe(1);
    expect(m.get("probe_dns_tcp_fallback")).toBe(0);
  });

  it("a buffer the RRset fits in: neither gauge set", async () => {
    const m = await probe("target=nsd-big&module=big_roomy");
    expect(m.get("probe_success")).toBe(1);
    expect(m.get("probe_dns_truncated")).toBe(0);
    expect(m.get("probe_dns_tcp_fallback")).toBe(0);
    expect(m.get("probe_dns_answer_rrs")).toBe(servers.records.bigTxt.count);
  });

  it("DO set against an unsigned zone on an authoritative server: AD 0, no RRSIG expiry", async () => {
    const m = await probe("target=nsd-big&module=big_dnssec");
    expect(m.get("probe_dns_ad")).toBe(0);
    expect(m.has("probe_dns_rrsig_expiry_timestamp_seconds")).toBe(false);
  });

  it.skipIf(!nginxSlot.available)("nginx's certificate: blackbox 0.23's chain metrics with Go's spelling of the names", async () => {
    const web = requireServer(nginxSlot);
    for (const module of ["tls_valid", "https_valid"]) {
      const m = await probe(`target=${web.address}&module=${module}`);
      expect(m.get("probe_success"), module).toBe(1);
      const expiry = m.get("probe_ssl_earliest_cert_expiry")!;
      // The test PKI's leaf lives 2 days.
      expect(expiry).toBeGreaterThan(Date.now() / 1000);
      expect(expiry).toBeLessThan(Date.now() / 1000 + 3 * 86_400);
      // nginx sends the leaf only, so the verified chain's earliest expiry is the leaf's.
      expect(m.get("probe_ssl_last_chain_expiry_timestamp_seconds"), module).toBe(expiry);
      const info =
        `probe_ssl_last_chain_info{fingerprint_sha256="${web.leafSha256}",subject="CN=${web.host}",` +
        `issuer="CN=popwatch test CA",subjectalternative="${web.host},localhost"}`;
      expect(m.get(info), `${module}: ${[...m.keys()].filter((k) => k.startsWith("probe_ssl_last_chain_info"))}`).toBe(1);
      expect([...m.keys()].some((k) => /^probe_tls_version_info\{version="TLS 1\.[23]"\}$/.test(k))).toBe(true);
    }
    const https = await probe(`target=${web.address}&module=https_valid`);
    expect([1.1, 2]).toContain(https.get("probe_http_version"));

    const expired = await probe(`target=${web.address}&module=tls_expired`);
    expect(expired.get("probe_success")).toBe(0);
    expect(expired.get("probe_ssl_earliest_cert_expiry")).toBeLessThan(Date.now() / 1000);
    // Not verified: blackbox would have no verified chain to report.
    expect(expired.has("probe_ssl_last_chain_expiry_timestamp_seconds")).toBe(false);
    expect([...expired.keys()].some((k) => k.startsWith(`probe_ssl_last_chain_info{fingerprint_sha256="${web.expiredSha256}"`))).toBe(true);
  });

  describe.skipIf(!nginxSlot.available || findBinary("prometheus-blackbox-exporter") === null)(
    "beside Debian's blackbox_exporter 0.23 on the same nginx",
    () => {
      let blackbox: BlackboxHandle;
      beforeAll(async () => {
        const web = requireServer(nginxSlot);
        blackbox = await startBlackbox({
          tls: blackboxTlsModule({ caFile: web.caFile, serverName: web.host }),
          http: blackboxHttpModule({ caFile: web.caFile, serverName: web.host }),
        });
      });
      afterAll(async () => {
        await blackbox?.stop();
      });

      it("the same TLS series with the same labels; the last chain expiry differs only by the root blackbox adds", async () => {
        const web = requireServer(nginxSlot);
        const pairs: [string, string, string][] = [
          ["tls", `${web.address}:${web.httpsPort}`, "tls_valid"],
          ["http", `https://${web.address}:${web.httpsPort}/`, "https_valid"],
        ];
        for (const [bbModule, bbTarget, module] of pairs) {
          const bb = samples((await blackbox.probe(bbTarget, bbModule)).text);
          const pw = await probe(`target=${web.address}&module=${module}`);
          expect(bb.get("probe_success"), bbModule).toBe(1);
          // Go writes labels sorted by name, prom-client in declaration order: compare them sorted.
          const sortedLabels = (key: string) =>
            key.replace(
              /\{(.*)\}$/,
              (_, body: string) =>
                `{${[...body.matchAll(/\w+="(?:[^"\\]|\\.)*"/g)]
                  .map((l) => l[0])
                  .sort()
                  .join(",")}}`,
            );
          const tlsSeries = (m: Map<string, number>) =>
            [...m.keys()]
              .filter((k) => /^probe_(ssl|tls_version)_/.test(k))
              .map(sortedLabels)
              .sort();
          // Every name and label set blackbox gives, popwatch gives (label values included: Go's spelling of the DN and SANs).
          expect(tlsSeries(pw), bbModule).toEqual(tlsSeries(bb));
          expect(pw.get("probe_ssl_earliest_cert_expiry"), bbModule).toBe(bb.get("probe_ssl_earliest_cert_expiry"));
          // blackbox's verified chain ends in the test CA, made moments before the leaf with the same lifetime, so its
          // earliest expiry is the CA's; popwatch sees the chain nginx sends (the leaf) and reports the leaf's.
          const lastChain = (m: Map<string, number>) => m.get("probe_ssl_last_chain_expiry_timestamp_seconds")!;
          expect(lastChain(pw) - lastChain(bb), bbModule).toBeGreaterThanOrEqual(0);
          expect(lastChain(pw) - lastChain(bb), bbModule).toBeLessThan(60);
        }
      });
    },
  );
});
