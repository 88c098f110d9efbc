// `popwatch exporter`'s /probe against real servers: NSD (DNS, with NSID) and
// nginx (HTTP and HTTPS), checked for blackbox_exporter's metric names and
// presence rules, popwatch's own info metrics, the SLO series, the timeout
// header, debug output, and `promtool check metrics` on every exposition.
import { existsSync } from "node:fs";
import { type PopwatchConfigInput, parseConfig } from "@popwatch/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningExporter, startExporter } from "../packages/exporter/src/index";
import { PROMTOOL, promtoolProblems, samples } from "./support/exposition";
import { requireServer, skipUnless, useTestServers } from "./support/servers";
import { zoneFile } from "./support/zone-data";

const servers = useTestServers();
const nsdSlot = servers.dns.nsd;
const nginxSlot = servers.nginx;
/** The SOA serial the test zone is served with. */
const SOA_SERIAL = Number(/SOA [^(]*\( (\d+)/.exec(zoneFile())![1]);

const { skip, note } = skipUnless(nsdSlot);

describe.skipIf(skip || !existsSync(PROMTOOL))(`exporter /probe${note}`, () => {
  let exporter: RunningExporter;
  const nsd = nsdSlot.available ? nsdSlot : null;

  beforeAll(async () => {
    const server = requireServer(nsdSlot);
    const input: PopwatchConfigInput = {
      targets: [
        {
          name: "nsd",
          address: server.address,
          probes: { dns: { port: server.port, qname: `${servers.records.a.name}`, qtype: "A" } },
        },
        {
          name: "nsd-soa",
          address: server.address,
          probes: { dns: { port: server.port, qname: servers.zone, qtype: "SOA" } },
        },
        ...(nginxSlot.available
          ? [
              {
                name: "web",
                address: nginxSlot.address,
                hostname: nginxSlot.host,
                probes: {
                  http: { port: nginxSlot.httpsPort, ca: [nginxSlot.caPem] },
                  tls: { port: nginxSlot.httpsPort, ca: [nginxSlot.caPem] },
                },
              },
            ]
          : []),
      ],
      popIdentification: { rules: [], tlsFingerprints: {} },
      slos: [
        { name: "nsd-availability", target: "nsd", sli: { type: "availability" }, objective: 0.999 },
        { name: "nsd-fast", target: "nsd", kinds: ["dns"], sli: { type: "latency", thresholdMs: 0.001 }, objective: 0.99 },
        { name: "soa-only", target: "nsd-soa", sli: { type: "availability" }, objective: 0.99 },
      ],
      exporter: {
        listen: "127.0.0.1:9098",
        modules: {
          dns_nsid_tcp: { kind: "dns", port: server.port, transport: "tcp", qname: servers.zone, qtype: "SOA", timeoutMs: 2000 },
          dns_closed: { kind: "dns", port: 9, qname: servers.zone },
        },
      },
    };
    exporter = await startExporter({ config: parseConfig(input), listen: { host: "127.0.0.1", port: 0 } });
  });
  afterAll(async () => {
    await exporter?.close();
  });

  const probe = async (query: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${exporter.url}/probe?${query}`, { headers });
    return { status: response.status, type: response.headers.get("content-type"), text: await response.text() };
  };

  it("dns against a configured target: blackbox's metrics, the NSID, the PoP, the SLOs", async () => {
    const { status, type, text } = await probe("target=nsd&module=dns");
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await promtoolProblems(text)).toBe("");
    const m = samples(text);
    expect(m.get("probe_success")).toBe(1);
    expect(m.get("probe_duration_seconds")).toBeGreaterThan(0);
    expect(m.get("probe_duration_seconds")).toBeLessThan(5);
    expect(m.get("probe_dns_lookup_time_seconds")).toBe(0); // an address: nothing to resolve, as blackbox reports for an IP
    expect(m.get("probe_ip_protocol")).toBe(4);
    expect(m.get("probe_ip_addr_hash")).toBe(3668918509); // 127.0.0.1, as blackbox hashes it
    expect(m.get("probe_dns_answer_rrs")).toBe(1);
    expect(m.get("probe_dns_authority_rrs")).toBeGreaterThanOrEqual(0);
    expect(m.get("probe_dns_additional_rrs")).toBeGreaterThanOrEqual(1); // the OPT record, as miekg/dns counts Extra
    expect(m.get("probe_dns_query_succeeded")).toBe(1);
    expect(m.get('probe_dns_duration_seconds{phase="request"}')).toBeGreaterThan(0);
    expect(m.has('probe_dns_duration_seconds{phase="connect"}')).toBe(true);
    expect(m.get(`probe_dns_nsid_info{nsid="${nsd!.nsid}"}`)).toBe(1);
    expect(m.get(`probe_pop_info{pop="${nsd!.nsid}",source="nsid",iata=""}`)).toBe(1);
    expect([...m.keys()].some((k) => k.startsWith("probe_failure_info"))).toBe(false);
    expect(m.get('probe_slo_good{slo="nsd-availability"}')).toBe(1);
    expect(m.get('probe_slo_good{slo="nsd-fast"}')).toBe(0); // a 1 µs threshold no real answer meets
    expect(m.has('probe_slo_good{slo="soa-only"}')).toBe(false);
  });

  it("dns against an address with a port, and a SOA query's serial", async () => {
    const { status, text } = await probe(`target=${nsd!.address}:${nsd!.port}&module=dns_nsid_tcp`);
    expect(status).toBe(200);
    expect(await promtoolProblems(text)).toBe("");
    const m = samples(text);
    expect(m.get("probe_success")).toBe(1);
    expect(m.get("probe_dns_serial")).toBe(SOA_SERIAL);
    expect(m.get("probe_dns_answer_rrs")).toBe(1);
    // An address target is no configured target: no SLO covers it.
    expect([...m.keys()].some((k) => k.startsWith("probe_slo_good"))).toBe(false);
  });

  it.skipIf(nsd?.address6 == null)("dns over IPv6 loopback: [::1]:port, probe_ip_protocol 6", async () => {
    const { status, text } = await probe(`target=[${nsd!.address6}]:${nsd!.port}&module=dns_nsid_tcp`);
    expect(status).toBe(200);
    const m = samples(text);
    expect(m.get("probe_success")).toBe(1);
    expect(m.get("probe_ip_protocol")).toBe(6);
    expect(m.get("probe_ip_addr_hash")).toBe(1751717746); // ::1, as blackbox hashes it
  });

  it("a failed dns probe: probe_success 0, the failure code, the RR gauges at 0 as blackbox registers them", async () => {
    const { status, text } = await probe("target=127.0.0.1&module=dns_closed");
    expect(status).toBe(200);
    expect(await promtoolProblems(text)).toBe("");
    const m = samples(text);
    expect(m.get("probe_success")).toBe(0);
    expect(m.get('probe_failure_info{code="refused"}')).toBe(1);
    expect(m.get("probe_dns_answer_rrs")).toBe(0);
    expect(m.get("probe_dns_query_succeeded")).toBe(0);
    expect(m.has("probe_dns_serial")).toBe(false);
    expect([...m.keys()].some((k) => k.startsWith("probe_pop_info"))).toBe(false);
  });

  it("the scrape timeout header bounds the probe (less blackbox's 0.5 s offset), capped by the module", async () => {
    const fromHeader = samples((await probe("target=nsd&module=dns", { "X-Prometheus-Scrape-Timeout-Seconds": "3" })).text);
    expect(fromHeader.get("probe_timeout_seconds")).toBe(2.5);
    const capped = samples((await probe("target=nsd&module=dns_nsid_tcp", { "X-Prometheus-Scrape-Timeout-Seconds": "30" })).text);
    expect(capped.get("probe_timeout_seconds")).toBe(2);
    const noHeader = samples((await probe("target=nsd&module=dns")).text);
    expect(noHeader.get("probe_timeout_seconds")).toBe(10); // exporter.maxTimeoutMs's default
    const bad = await probe("target=nsd&module=dns", { "X-Prometheus-Scrape-Timeout-Seconds": "soon" });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/X-Prometheus-Scrape-Timeout-Seconds/);
  });

  it("a probe that runs into its timeout reports timeout within it", async () => {
    // A bound loopback UDP socket that never answers: no ICMP refusal, so only the timeout ends the probe.
    const { createSocket } = await import("node:dgram");
    const silent = createSocket("udp4");
    await new Promise<void>((done) => silent.bind(0, "127.0.0.1", done));
    const port = (silent.address() as { port: number }).port;
    try {
      const started = Date.now();
      const { text } = await probe(`target=127.0.0.1:${port}&module=dns`, { "X-Prometheus-Scrape-Timeout-Seconds": "1" });
      const elapsed = Date.now() - started;
      const m = samples(text);
      expect(m.get("probe_success")).toBe(0);
      expect(m.get('probe_failure_info{code="timeout"}')).toBe(1);
      expect(m.get("probe_timeout_seconds")).toBe(0.5);
      expect(elapsed).toBeGreaterThanOrEqual(450);
      expect(elapsed).toBeLessThan(1500); // the timeout, not the 10 s cap, ended it
    } finally {
      silent.close();
    }
  });

  it("debug=true: the probe's log, the module configuration, then the metrics", async () => {
    const { status, type, text } = await probe("target=nsd&module=dns&debug=true");
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/plain/);
    const logAt = text.indexOf("Logs for the probe:");
    const moduleAt = text.indexOf("Module configuration:");
    const metricsAt = text.indexOf("Metrics that would have been returned:");
    expect(logAt).toBe(0);
    expect(moduleAt).toBeGreaterThan(logAt);
    expect(metricsAt).toBeGreaterThan(moduleAt);
    expect(text).toMatch(/msg="Beginning probe" probe="dns"/);
    expect(text).toMatch(/msg="Probe result" result=".*\\"rcode\\":\\"NOERROR\\"/);
    expect(text).toMatch(/msg="Probe succeeded"/);
    expect(text.slice(moduleAt, metricsAt)).toContain(`"qname": "${servers.records.a.name}"`);
    expect(samples(text.slice(metricsAt + "Metrics that would have been returned:".length)).get("probe_success")).toBe(1);
  });

  it.skipIf(!nginxSlot.available)("http and tls against nginx: phases, status, version, TLS info, certificate expiry", async () => {
    const web = requireServer(nginxSlot);
    const http = await probe("target=web&module=http");
    expect(http.status).toBe(200);
    expect(await promtoolProblems(http.text)).toBe("");
    const h = samples(http.text);
    expect(h.get("probe_success")).toBe(1);
    expect(h.get("probe_http_status_code")).toBe(200);
    expect([1.1, 2]).toContain(h.get("probe_http_version"));
    expect(h.get("probe_http_ssl")).toBe(1);
    for (const phase of ["resolve", "connect", "tls", "processing", "transfer"]) {
      expect(h.has(`probe_http_duration_seconds{phase="${phase}"}`), phase).toBe(true);
    }
    expect(h.get('probe_http_duration_seconds{phase="connect"}')).toBeGreaterThan(0);
    expect(h.get('probe_http_duration_seconds{phase="tls"}')).toBeGreaterThan(0);
    expect(h.get("probe_http_uncompressed_body_length")).toBe(Buffer.byteLength(web.paths.okBody));
    expect([...h.keys()].some((k) => k.startsWith('probe_tls_version_info{version="TLS 1.'))).toBe(true);
    expect(h.get(`probe_pop_info{pop="${web.popHeader}",source="header:x-served-by",iata=""}`)).toBe(1);

    const tls = samples((await probe("target=web&module=tls")).text);
    expect(tls.get("probe_success")).toBe(1);
    expect(tls.get("probe_ssl_earliest_cert_expiry")).toBeGreaterThan(Date.now() / 1000);
    expect([...tls.keys()].some((k) => k.startsWith("probe_tls_cipher_info{cipher="))).toBe(true);

    // "web" configures no tcp probe, so module=tcp there means tcp's defaults (port 443): name nginx's port instead.
    const tcp = samples((await probe(`target=${web.address}:${web.httpsPort}&module=tcp`)).text);
    expect(tcp.get("probe_success")).toBe(1);
    expect(tcp.get("probe_failed_due_to_regex")).toBe(0);
    expect([...tcp.keys()].some((k) => k.startsWith("probe_http_") || k.startsWith("probe_dns_answer"))).toBe(false);

    const plain = samples((await probe(`target=http://${web.address}:${web.httpPort}${web.paths.fail}&module=http`)).text);
    expect(plain.get("probe_success")).toBe(0);
    expect(plain.get("probe_http_status_code")).toBe(503);
    expect(plain.get("probe_http_ssl")).toBe(0);
    expect(plain.get('probe_failure_info{code="http_status"}')).toBe(1);
  });

  it("/metrics: process metrics and the probes counted by module and result, promtool-clean", async () => {
    const response = await fetch(`${exporter.url}/metrics`);
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(await promtoolProblems(text)).toBe("");
    const m = samples(text);
    expect(m.get('popwatch_exporter_probes_total{module="dns",result="success"}')).toBeGreaterThanOrEqual(1);
    expect(m.get('popwatch_exporter_probes_total{module="dns_closed",result="failure"}')).toBeGreaterThanOrEqual(1);
    expect(m.get('popwatch_exporter_rejected_requests_total{reason="bad_request"}')).toBeGreaterThanOrEqual(1);
    expect(m.has("process_cpu_seconds_total")).toBe(true);
    expect(m.get("popwatch_exporter_probes_in_flight")).toBe(0);
  });

  it("/ is an index naming the modules; other paths 404", async () => {
    const index = await fetch(`${exporter.url}/`);
    expect(index.status).toBe(200);
    expect(await index.text()).toMatch(/module: dns, tcp, tls, http, dot, doh, dns_nsid_tcp, dns_closed/);
    expect((await fetch(`${exporter.url}/nope`)).status).toBe(404);
  });
});
