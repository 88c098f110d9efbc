import { lookup } from "node:dns/promises";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { type Failure, PROBE_KINDS, type ProbeKind, type ProbeResult, createPopIdentifier, formatEndpoint } from "@popwatch/core";
import { classifyError, runProbes } from "@popwatch/probes";
import { UsageError } from "../errors";
import type { Io } from "../io";
import { formatProbeTable } from "../output/probe-table";
import { parseFlags } from "./args";
import { type ProbeRequest, buildProbeSpecs, defaultKinds, validateTarget } from "./probe-specs";

export const PROBE_USAGE = `Usage: popwatch probe <ip-or-host> [options]

Probes an anycast address once and shows which PoP answered and how fast.
Without kind flags every applicable kind runs (dns, tcp, tls, http; no tls with --plain).

Kinds:
  --dns                 DNS query with an EDNS NSID request (UDP, TCP on truncation)
  --tcp                 TCP connect time
  --tls                 TLS handshake: protocol, cipher, ALPN, certificate, verification
  --http                HTTP(S) GET: phases, status, PoP headers
Options:
  --port N              port for every selected kind (defaults: dns 53, tls/https 443, http 80, tcp 443 or 80 with --plain)
  --sni NAME            SNI and Host header (default: the hostname given as target)
  --qname NAME          DNS query name (default ".")
  --qtype T             DNS query type (default NS)
  --qclass C            DNS query class, IN or CH (default IN)
  --chaos               also ask CHAOS TXT id.server and hostname.bind
  --dns-tcp             send the DNS query over TCP
  --norec               DNS query without recursion desired
  --plain               --http requests http:// instead of https://
  --path PATH           HTTP path (default /)
  --ca FILE             trust this CA (PEM) for tls and https, besides the system CAs
  --pin SHA256          accept the leaf with this SHA-256 fingerprint (repeatable); pins replace CA checks
  --alpn LIST           ALPN protocols offered by --tls, comma-separated (default h2,http/1.1)
  --timeout MS          per-probe timeout (default 5000)
  --json                one JSON object per line instead of the table
  -h, --help            this help

Exit status: 0 every probe succeeded, 1 a probe failed, 2 usage or configuration error.
`;

const OPTIONS = {
  dns: { type: "boolean" },
  tcp: { type: "boolean" },
  tls: { type: "boolean" },
  http: { type: "boolean" },
  dot: { type: "boolean" },
  doh: { type: "boolean" },
  port: { type: "string" },
  sni: { type: "string" },
  qname: { type: "string" },
  qtype: { type: "string" },
  qclass: { type: "string" },
  chaos: { type: "boolean" },
  "dns-tcp": { type: "boolean" },
  norec: { type: "boolean" },
  plain: { type: "boolean" },
  path: { type: "string" },
  ca: { type: "string", multiple: true },
  pin: { type: "string", multiple: true },
  alpn: { type: "string" },
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
  const request: ProbeRequest = {
    target,
    kinds,
    ...(port !== undefined ? { port } : {}),
    ...(sni !== undefined ? { sni } : {}),
    qname: values.qname ?? ".",
    qtype: (values.qtype ?? "NS").toUpperCase(),
    qclass,
    chaos: values.chaos ?? false,
    dnsOverTcp: values["dns-tcp"] ?? false,
    recursionDesired: !(values.norec ?? false),
    plain,
    path: values.path ?? "/",
    caPems: (values.ca ?? []).map(readPem),
    pins,
    alpn: (values.alpn ?? "h2,http/1.1")
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean),
  };
  if (!request.path.startsWith("/")) throw new UsageError(`--path: must start with "/", got "${request.path}"`);
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

  const printJson = (result: ProbeResult) => io.stdout.write(`${JSON.stringify(result)}\n`);
  let results: ProbeResult[];
  const address = isIP(bare) ? bare : await resolveOrFailure(deps, bare);
  if (typeof address === "string") {
    const specs = buildProbeSpecs(request, address, isIP(bare) ? null : bare);
    results = await runProbes(specs, {
      timeoutMs,
      concurrency: specs.length,
      identifyPop: createPopIdentifier(),
      // JSON lines stream as each probe finishes, so a slow kind does not hold back the others.
      ...(json ? { onResult: printJson } : {}),
    });
  } else {
    results = unresolvedResults(request, address);
    if (json) results.forEach(printJson);
  }
  if (!json) io.stdout.write(formatProbeTable(results));
  return results.every((r) => r.ok) ? 0 : 1;
}
