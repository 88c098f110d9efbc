import { lookup } from "node:dns/promises";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { type Failure, PROBE_KINDS, type ProbeKind, type ProbeResult, createPopIdentifier, formatEndpoint } from "@popwatch/core";
import { ProbeSpecError, classifyError, runProbes } from "@popwatch/probes";
import { UsageError } from "../errors";
import type { Io } from "../io";
import { probeJsonLine } from "../output/probe-json";
import { formatProbeTable } from "../output/probe-table";
import { parseFlags } from "./args";
import { type ProbeExpectations, type ProbeRequest, buildProbeSpecs, defaultKinds, flagForField, validateTarget } from "./probe-specs";

export const PROBE_USAGE = `Usage: popwatch probe <ip-or-host> [options]

Probes an anycast address once and shows which PoP answered and how fast.
Without kind flags the usual kinds run (dns, tcp, tls, http; no tls with --plain);
dot and doh run only when asked.

Kinds:
  --dns                 DNS query with an EDNS NSID request (UDP, TCP on truncation)
  --tcp                 TCP connect time
  --tls                 TLS handshake: protocol, cipher, ALPN, certificate chain, verification
  --http                HTTP(S) GET: phases, status, HTTP version, PoP headers
  --dot                 DNS over TLS (RFC 7858): the DNS query on a verified TLS connection
  --doh                 DNS over HTTPS (RFC 8484): the DNS query as application/dns-message
Ports (a kind's own flag wins over --port):
  --port N              port for every selected kind (defaults: dns 53, tls/https/doh 443, http 80,
                        dot 853, tcp 443 or 80 with --plain)
  --dns-port N          port of --dns
  --tcp-port N          port of --tcp
  --tls-port N          port of --tls
  --http-port N         port of --http
  --dot-port N          port of --dot
  --doh-port N          port of --doh
DNS (dns, dot, doh):
  --qname NAME          DNS query name (default ".")
  --qtype T             DNS query type (default NS)
  --qclass C            DNS query class, IN or CH (default IN)
  --chaos               also ask CHAOS TXT id.server and hostname.bind
  --dns-tcp             send the --dns query over TCP
  --norec               DNS query without recursion desired
  --dnssec              set the EDNS DO bit and show the RRSIGs covering the answer
  --bufsize N           EDNS UDP payload size advertised, 512-65535 (default 1232)
  --expect-rcode R[,R]  accepted rcodes (default NOERROR)
  --expect-answer RE    an answer record must match this regular expression
  --expect-ad           require the AD bit (the resolver validated the answer)
  --rrsig-min-days N    require RRSIGs covering the answer, valid N more days (implies --dnssec)
DoH:
  --doh-path PATH       DoH endpoint path (default /dns-query)
  --doh-get             send the query by GET (?dns=, cacheable) instead of POST
HTTP and TLS:
  --plain               --http requests http:// instead of https://
  --path PATH           HTTP path (default /)
  --expect-status N[,N] accepted HTTP statuses for http and doh (default: http 200-399, doh 200)
  --http1               offer only HTTP/1.1 to https and doh (default: h2, then http/1.1)
  --alpn LIST           ALPN protocols offered by --tls, comma-separated (default h2,http/1.1)
  --sni NAME            SNI and Host for tls, https, dot, doh (default: the target's hostname)
  --ca FILE             trust this CA (PEM) for tls, https, dot, doh, besides the system CAs
  --pin SHA256          accept the leaf with this SHA-256 fingerprint, not CAs (repeatable)
  --cert-min-days N     fail when a certificate sent (leaf or intermediate) expires within N days
Output:
  --timeout MS          per-probe timeout (default 5000)
  --json                one JSON object per line instead of the table
  -h, --help            this help

Exit status: 0 every probe succeeded, 1 a probe failed, 2 usage or configuration error.
`;

const KIND_PORT_FLAGS = { dns: "dns-port", tcp: "tcp-port", tls: "tls-port", http: "http-port", dot: "dot-port", doh: "doh-port" } as const;

const OPTIONS = {
  dns: { type: "boolean" },
  tcp: { type: "boolean" },
  tls: { type: "boolean" },
  http: { type: "boolean" },
  dot: { type: "boolean" },
  doh: { type: "boolean" },
  port: { type: "string" },
  "dns-port": { type: "string" },
  "tcp-port": { type: "string" },
  "tls-port": { type: "string" },
  "http-port": { type: "string" },
  "dot-port": { type: "string" },
  "doh-port": { type: "string" },
  sni: { type: "string" },
  qname: { type: "string" },
  qtype: { type: "string" },
  qclass: { type: "string" },
  chaos: { type: "boolean" },
  "dns-tcp": { type: "boolean" },
  norec: { type: "boolean" },
  dnssec: { type: "boolean" },
  bufsize: { type: "string" },
  "expect-rcode": { type: "string" },
  "expect-answer": { type: "string" },
  "expect-ad": { type: "boolean" },
  "rrsig-min-days": { type: "string" },
  "doh-path": { type: "string" },
  "doh-get": { type: "boolean" },
  plain: { type: "boolean" },
  path: { type: "string" },
  "expect-status": { type: "string" },
  http1: { type: "boolean" },
  ca: { type: "string", multiple: true },
  pin: { type: "string", multiple: true },
  alpn: { type: "string" },
  "cert-min-days": { type: "string" },
  timeout: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

function parseInteger(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`--${flag}: expected an integer from ${min} to ${max}, got "${value}"`);
  }
  return Number(value);
}

/** A whole or fractional number of days, 0 to ten years (the config's bound). */
function parseDays(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(value) || Number(value) > 3650) {
    throw new UsageError(`--${flag}: expected a number of days from 0 to 3650, got "${value}"`);
  }
  return Number(value);
}

/** A comma-separated list; empty items are refused rather than dropped, so `--expect-rcode ,` is not "any". */
function parseList(flag: string, value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(",").map((item) => item.trim());
  if (items.some((item) => item === ""))
    throw new UsageError(`--${flag}: expected a comma-separated list without empty items, got "${value}"`);
  return items;
}

function parseRcodes(value: string | undefined): string[] | undefined {
  const rcodes = parseList("expect-rcode", value)?.map((rcode) => rcode.toUpperCase());
  for (const rcode of rcodes ?? [])
    if (!/^[A-Z]+$/.test(rcode)) throw new UsageError(`--expect-rcode: expected rcode mnemonics such as NOERROR,NXDOMAIN, got "${rcode}"`);
  return rcodes;
}

function parseStatuses(value: string | undefined): number[] | undefined {
  return parseList("expect-status", value)?.map((status) => parseInteger("expect-status", status, 100, 599)!);
}

function parseRegex(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    new RegExp(value);
  } catch (err) {
    throw new UsageError(`--${flag}: invalid regular expression: ${(err as Error).message}`, { cause: err });
  }
  return value;
}

function readPem(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(`--ca: cannot read "${file}": ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----")) throw new UsageError(`--ca: "${file}" holds no PEM certificate`);
  return text;
}

export function parseProbeArgs(argv: string[]): { request: ProbeRequest; timeoutMs: number; json: boolean } | "help" {
  const { values, positionals } = parseFlags(argv, OPTIONS, true);
  if (values.help) return "help";
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? "missing target: popwatch probe <ip-or-host>"
        : `one target expected, got ${positionals.length}: ${positionals.join(" ")}`,
    );
  }
  const target = positionals[0]!;
  validateTarget(target);
  const qclass = (values.qclass ?? "IN").toUpperCase();
  if (qclass !== "IN" && qclass !== "CH") throw new UsageError(`--qclass: expected IN or CH, got "${values.qclass}"`);
  const plain = values.plain ?? false;
  const named = PROBE_KINDS.filter((kind) => values[kind]);
  const kinds: ProbeKind[] = named.length > 0 ? named : defaultKinds(plain);
  if (plain && values.tls) throw new UsageError("--plain and --tls contradict each other");
  const pins = (values.pin ?? []).map((pin) => pin.replace(/:/g, "").toLowerCase());
  for (const pin of pins)
    if (!/^[0-9a-f]{64}$/.test(pin)) throw new UsageError(`--pin: expected a SHA-256 fingerprint (64 hex digits), got "${pin}"`);
  const sni = values.sni;
  if (sni !== undefined && (sni === "" || isIP(sni) !== 0)) throw new UsageError(`--sni: expected a hostname, got "${sni}"`);
  const port = parseInteger("port", values.port, 1, 65535);
  const kindPorts: Partial<Record<ProbeKind, number>> = {};
  for (const kind of PROBE_KINDS) {
    const flag = KIND_PORT_FLAGS[kind];
    const kindPort = parseInteger(flag, values[flag], 1, 65535);
    if (kindPort === undefined) continue;
    if (!kinds.includes(kind)) throw new UsageError(`--${flag}: the ${kind} probe is not selected`);
    kindPorts[kind] = kindPort;
  }
  const udpPayloadSize = parseInteger("bufsize", values.bufsize, 512, 65535);
  const certMinDays = parseDays("cert-min-days", values["cert-min-days"]);
  const expect: ProbeExpectations = {};
  const rcode = parseRcodes(values["expect-rcode"]);
  if (rcode) expect.rcode = rcode;
  const answer = parseRegex("expect-answer", values["expect-answer"]);
  if (answer !== undefined) expect.answer = answer;
  if (values["expect-ad"]) expect.ad = true;
  const rrsigMinDays = parseDays("rrsig-min-days", values["rrsig-min-days"]);
  if (rrsigMinDays !== undefined) expect.rrsigMinDays = rrsigMinDays;
  const status = parseStatuses(values["expect-status"]);
  if (status) expect.status = status;
  const request: ProbeRequest = {
    target,
    kinds,
    ...(port !== undefined ? { port } : {}),
    kindPorts,
    ...(sni !== undefined ? { sni } : {}),
    qname: values.qname ?? ".",
    qtype: (values.qtype ?? "NS").toUpperCase(),
    qclass,
    chaos: values.chaos ?? false,
    dnsOverTcp: values["dns-tcp"] ?? false,
    recursionDesired: !(values.norec ?? false),
    dnssec: values.dnssec ?? false,
    ...(udpPayloadSize !== undefined ? { udpPayloadSize } : {}),
    expect,
    plain,
    path: values.path ?? "/",
    caPems: (values.ca ?? []).map(readPem),
    pins,
    alpn: (values.alpn ?? "h2,http/1.1")
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean),
    http1: values.http1 ?? false,
    ...(certMinDays !== undefined ? { certMinDays } : {}),
    dohPath: values["doh-path"] ?? "/dns-query",
    dohMethod: values["doh-get"] ? "GET" : "POST",
  };
  if (!request.path.startsWith("/")) throw new UsageError(`--path: must start with "/", got "${request.path}"`);
  if (!request.dohPath.startsWith("/")) throw new UsageError(`--doh-path: must start with "/", got "${request.dohPath}"`);
  // The schema's checks, with the flags' names, before anything is resolved or sent.
  buildProbeSpecs(request, "0.0.0.0", isIP(target.replace(/^\[(.*)\]$/, "$1")) ? null : target);
  return { request, timeoutMs: parseInteger("timeout", values.timeout, 1, 600_000) ?? 5000, json: values.json ?? false };
}

/** Results for a target whose name did not resolve: every kind fails the same way, nothing is sent. */
function unresolvedResults(request: ProbeRequest, failure: Failure): ProbeResult[] {
  // Only the kinds and ports matter here; the placeholder address is never contacted.
  return buildProbeSpecs(request, "0.0.0.0", request.target).map(
    (spec) =>
      ({
        kind: spec.kind,
        target: formatEndpoint(request.target, spec.port),
        address: "",
        port: spec.port,
        name: request.target,
        ok: false,
        startedAt: new Date().toISOString(),
        timings: { totalMs: 0 },
        pop: null,
        failure,
      }) as ProbeResult,
  );
}

export interface ProbeCommandDeps {
  /** Resolves a hostname to one address (default: the system resolver, as curl and dig +short would). */
  resolve: (hostname: string) => Promise<string>;
}

const systemResolve = async (hostname: string) => (await lookup(hostname)).address;

async function resolveOrFailure(deps: ProbeCommandDeps, hostname: string): Promise<string | Failure> {
  try {
    return await deps.resolve(hostname);
  } catch (err) {
    // Whatever the resolver's errno (ENOTFOUND, EAI_AGAIN, ...), the probe never started for want of a name.
    return { code: "name_resolution", message: `cannot resolve ${hostname}: ${classifyError(err).message}` };
  }
}

export async function probeCommand(argv: string[], io: Io, deps: ProbeCommandDeps = { resolve: systemResolve }): Promise<number> {
  const parsed = parseProbeArgs(argv);
  if (parsed === "help") {
    io.stdout.write(PROBE_USAGE);
    return 0;
  }
  const { request, timeoutMs, json } = parsed;
  const bare = request.target.replace(/^\[(.*)\]$/, "$1");

  const printJson = (result: ProbeResult) => io.stdout.write(probeJsonLine(result));
  let results: ProbeResult[];
  const address = isIP(bare) ? bare : await resolveOrFailure(deps, bare);
  if (typeof address === "string") {
    const specs = buildProbeSpecs(request, address, isIP(bare) ? null : bare);
    try {
      results = await runProbes(specs, {
        timeoutMs,
        concurrency: specs.length,
        identifyPop: createPopIdentifier(),
        // JSON lines stream as each probe finishes, so a slow kind does not hold back the others.
        ...(json ? { onResult: printJson } : {}),
      });
    } catch (err) {
      // Thrown before anything is sent: a value only the probe knows to refuse (an unknown rcode or type mnemonic).
      if (err instanceof ProbeSpecError) throw new UsageError(`${flagForField(null, err.field)}: ${err.message}`, { cause: err });
      throw err;
    }
  } else {
    results = unresolvedResults(request, address);
    if (json) results.forEach(printJson);
  }
  if (!json) io.stdout.write(formatProbeTable(results));
  return results.every((r) => r.ok) ? 0 : 1;
}
