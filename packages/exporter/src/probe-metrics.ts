// One probe's result as the metrics `/probe` returns, in a registry of its own
// (as blackbox_exporter makes one per request). Names, units and presence rules
// follow blackbox's prober/*.go where it has the metric: a metric blackbox
// registers before it knows the outcome is present (at 0) on failure too; one
// it registers only after a handshake or response is present only then.
// popwatch's own metrics come from core's contract (metrics/exporter-metrics.ts).
import {
  type DnsDetails,
  type DnssecFacts,
  type MetricSpec,
  PROBE_DNS_METRICS,
  PROBE_INFO_METRICS,
  PROBE_SLO_GOOD,
  type ProbeResult,
  type SloConfig,
  type Timings,
} from "@popwatch/core";
import { Gauge, Registry } from "prom-client";
import { ipAddressHash } from "./ip-hash";
import { tlsSessionMetrics } from "./tls-metrics";

export interface ProbeOutcome {
  result: ProbeResult;
  /** Wall time of the whole request's probing, target resolution included. */
  durationSeconds: number;
  timeoutSeconds: number;
  /** Time spent resolving a hostname target; 0 for an address. */
  lookupSeconds: number;
  /** The SLOs that cover this target and kind. */
  slos: readonly SloConfig[];
}

function gauge(registry: Registry, name: string, help: string, value?: number): Gauge {
  const metric = new Gauge({ name, help, registers: [registry] });
  if (value !== undefined) metric.set(value);
  return metric;
}

function info(registry: Registry, spec: MetricSpec, values: Record<string, string>): void {
  new Gauge({ name: spec.name, help: spec.help, labelNames: spec.labels, registers: [registry] }).set(values, 1);
}

const flag = (value: boolean | undefined): number => (value === true ? 1 : 0);

function ipProtocol(address: string): number {
  if (address === "") return 0;
  return address.includes(":") ? 6 : 4;
}

/** blackbox registers it for every http and tcp probe (tcp with tls is popwatch's tls kind). */
function regexGauge(registry: Registry, failed: boolean): void {
  gauge(registry, "probe_failed_due_to_regex", "Indicates if probe failed due to regex", failed ? 1 : 0);
}

const seconds = (ms: number | undefined): number => (ms ?? 0) / 1000;

/** What dns, dot and doh results share: the DNS facts and the runner's timings. */
type DnsResult = Partial<DnsDetails> & { timings: Timings };

/**
 * blackbox's dns prober, for every DNS transport. Its `connect` is the time
 * before the query could be sent: for DNS over TLS (blackbox's
 * `dns_over_tls`) that includes the handshake, so dot and doh count connect
 * plus TLS there; `request` is the query's round trip (doh: to the response's
 * headers when the probe measured no round trip of its own).
 */
function dnsMetrics(registry: Registry, result: DnsResult, lookupSeconds: number): void {
  const phases = new Gauge({
    name: "probe_dns_duration_seconds",
    help: "Duration of DNS request by phase",
    labelNames: ["phase"],
    registers: [registry],
  });
  const t = result.timings;
  phases.set({ phase: "resolve" }, lookupSeconds);
  phases.set({ phase: "connect" }, seconds(t.connectMs) + seconds(t.tlsMs));
  phases.set({ phase: "request" }, seconds(t.rttMs ?? t.ttfbMs));
  const answered = result.rcode !== undefined && result.rcode !== null;
  gauge(
    registry,
    "probe_dns_answer_rrs",
    "Returns number of entries in the answer resource record list",
    answered ? (result.answers?.length ?? 0) : 0,
  );
  gauge(
    registry,
    "probe_dns_authority_rrs",
    "Returns number of entries in the authority resource record list",
    answered ? (result.authorityCount ?? 0) : 0,
  );
  gauge(
    registry,
    "probe_dns_additional_rrs",
    "Returns number of entries in the additional resource record list",
    answered ? (result.additionalCount ?? 0) : 0,
  );
  gauge(registry, "probe_dns_query_succeeded", "Displays whether or not the query was executed successfully", answered ? 1 : 0);
  if (answered && result.qtype === "SOA") {
    // blackbox registers the serial for SOA queries once an answer came back: 0 when no SOA was in it.
    const soa = result.answers?.find((answer) => answer.type === "SOA");
    const serial = soa ? Number(soa.data.split(" ")[2]) : 0;
    gauge(registry, "probe_dns_serial", "Returns the serial number of the zone", Number.isFinite(serial) ? serial : 0);
  }
  const nsid = result.nsid ?? result.nsidHex ?? null;
  if (nsid !== null) info(registry, PROBE_INFO_METRICS.nsid, { nsid });
  dnsFactMetrics(registry, result);
}

/** popwatch's own DNS gauges (core's PROBE_DNS_METRICS): truncation, the TCP retry, AD, RRSIG expiry. */
function dnsFactMetrics(registry: Registry, result: DnsResult): void {
  const { truncated, tcpFallback, ad, rrsigExpiry } = PROBE_DNS_METRICS;
  gauge(registry, truncated.name, truncated.help, flag(result.truncated));
  gauge(registry, tcpFallback.name, tcpFallback.help, flag(result.tcpFallback));
  if (result.flags) gauge(registry, ad.name, ad.help, flag(result.flags.ad));
  const expiry = earliestRrsigExpiry(result.dnssec);
  if (expiry !== null) gauge(registry, rrsigExpiry.name, rrsigExpiry.help, expiry);
}

/** Unix seconds of the first RRSIG covering the answer to expire; null without a readable one. */
export function earliestRrsigExpiry(dnssec: DnssecFacts | null | undefined): number | null {
  let earliest: number | null = null;
  for (const signature of dnssec?.signatures ?? []) {
    const ms = Date.parse(signature.expiration);
    if (Number.isFinite(ms) && (earliest === null || ms < earliest)) earliest = ms;
  }
  return earliest === null ? null : earliest / 1000;
}

/** probe_http_status_code and probe_http_version: present at 0 before a response, as blackbox registers them. */
function httpResponseMetrics(registry: Registry, status: number | null | undefined, httpVersion: string | null | undefined): void {
  gauge(registry, "probe_http_status_code", "Response HTTP status code", status ?? 0);
  // Go's resp.Proto is "HTTP/2.0" for h2, so blackbox reports 2; Node says "2".
  const version = httpVersion ? Number.parseFloat(httpVersion.replace(/^HTTP\//, "")) : 0;
  gauge(registry, "probe_http_version", "Returns the version of HTTP of the probe response", Number.isFinite(version) ? version : 0);
}

function httpMetrics(registry: Registry, result: Extract<ProbeResult, { kind: "http" }>, lookupSeconds: number): void {
  const phases = new Gauge({
    name: "probe_http_duration_seconds",
    help: "Duration of http request by phase, summed over all redirects",
    labelNames: ["phase"],
    registers: [registry],
  });
  const t = result.timings;
  phases.set({ phase: "resolve" }, lookupSeconds);
  phases.set({ phase: "connect" }, seconds(t.connectMs));
  phases.set({ phase: "tls" }, seconds(t.tlsMs));
  phases.set({ phase: "processing" }, seconds(t.ttfbMs));
  phases.set({ phase: "transfer" }, seconds(t.transferMs));
  const status = result.status ?? null;
  const contentLength = status === null ? 0 : Number(result.headers?.["content-length"] ?? Number.NaN);
  gauge(registry, "probe_http_content_length", "Length of http content response", Number.isSafeInteger(contentLength) ? contentLength : -1);
  gauge(registry, "probe_http_uncompressed_body_length", "Length of uncompressed response body", result.bodyBytes ?? 0);
  gauge(registry, "probe_http_redirects", "The number of redirects", 0);
  gauge(registry, "probe_http_ssl", "Indicates if SSL was used for the final redirect", result.tls ? 1 : 0);
  httpResponseMetrics(registry, status, result.httpVersion);
  regexGauge(registry, result.failure?.code === "body_mismatch");
  if (result.tls) tlsSessionMetrics(registry, result.tls);
}

/** Whether the result is a good event for the SLO (core's SLI: availability ok; latency ok and fast enough). */
export function sloGood(slo: SloConfig, result: ProbeResult): boolean {
  if (!result.ok) return false;
  return slo.sli.type === "availability" || result.timings.totalMs <= slo.sli.thresholdMs;
}

/** The registry of one probe's metrics. */
export function probeRegistry(outcome: ProbeOutcome): Registry {
  const { result } = outcome;
  const registry = new Registry();
  gauge(registry, "probe_success", "Displays whether or not the probe was a success", result.ok ? 1 : 0);
  gauge(registry, "probe_duration_seconds", "Returns how long the probe took to complete in seconds", outcome.durationSeconds);
  gauge(registry, "probe_timeout_seconds", "Returns how long the probe timeout is in seconds", outcome.timeoutSeconds);
  gauge(registry, "probe_dns_lookup_time_seconds", "Returns the time taken for probe dns lookup in seconds", outcome.lookupSeconds);
  gauge(registry, "probe_ip_protocol", "Specifies whether probe ip protocol is IP4 or IP6", ipProtocol(result.address));
  gauge(
    registry,
    "probe_ip_addr_hash",
    "Specifies the hash of IP address. It's useful to detect if the IP address changes.",
    ipAddressHash(result.address) ?? 0,
  );
  switch (result.kind) {
    case "dns":
      dnsMetrics(registry, result, outcome.lookupSeconds);
      break;
    case "tls":
      regexGauge(registry, false);
      tlsSessionMetrics(registry, result);
      break;
    case "http":
      httpMetrics(registry, result, outcome.lookupSeconds);
      break;
    case "tcp":
      regexGauge(registry, false);
      break;
    case "dot":
      dnsMetrics(registry, result, outcome.lookupSeconds);
      if (result.tls) tlsSessionMetrics(registry, result.tls);
      break;
    case "doh":
      dnsMetrics(registry, result, outcome.lookupSeconds);
      httpResponseMetrics(registry, result.status, result.httpVersion);
      if (result.tls) tlsSessionMetrics(registry, result.tls);
      break;
  }
  if (result.pop) info(registry, PROBE_INFO_METRICS.pop, { pop: result.pop.id, source: result.pop.source, iata: result.pop.iata ?? "" });
  if (result.failure) info(registry, PROBE_INFO_METRICS.failure, { code: result.failure.code });
  if (outcome.slos.length > 0) {
    const good = new Gauge({
      name: PROBE_SLO_GOOD.name,
      help: PROBE_SLO_GOOD.help,
      labelNames: PROBE_SLO_GOOD.labels,
      registers: [registry],
    });
    for (const slo of outcome.slos) good.set({ slo: slo.name }, sloGood(slo, result) ? 1 : 0);
  }
  return registry;
}
