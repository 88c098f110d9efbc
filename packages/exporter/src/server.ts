// The HTTP server: routes, the concurrency gate, and the drain on close. Each
// `/probe` runs one probe through @popwatch/probes' runner (which owns the
// clocks and the timeout) and answers with that probe's metrics alone.
import { lookup } from "node:dns/promises";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type Failure,
  type PopwatchConfig,
  type ProbeResult,
  type SloConfig,
  createPopIdentifier,
  formatEndpoint,
  parseListenAddress,
} from "@popwatch/core";
import { ProbeSpecError, classifyError, runProbes } from "@popwatch/probes";
import { formatDebugOutput } from "./debug-output";
import { ExporterError } from "./errors";
import { type ProbePlan, ProbePlanner } from "./plan";
import { type ProbeOutcome, probeRegistry } from "./probe-metrics";
import { parseProbeQuery } from "./query";
import { type Collector, type RejectReason, createSelfMetrics } from "./self-metrics";
import { SCRAPE_TIMEOUT_HEADER, probeTimeoutMs } from "./timeout";

export interface ExporterOptions {
  /** A validated config: its targets, SLOs, PoP rules and `exporter` section. */
  config: PopwatchConfig;
  /** Where to listen; default `config.exporter.listen`. Port 0 picks a free port. */
  listen?: { host: string; port: number };
  /** Add metrics to `/metrics` (e.g. the store's SLO state); each is called once with its registry. */
  collectors?: readonly Collector[];
  /** Resolves a hostname target to one address. Default: the system resolver, as `popwatch probe` does. */
  resolve?: (hostname: string) => Promise<string>;
  /** Told about faults of the exporter itself (a request that threw); default: ignored. */
  onError?: (err: unknown) => void;
}

export interface RunningExporter {
  /** `http://host:port` */
  url: string;
  host: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish, then resolves. Idempotent. */
  close(): Promise<void>;
}

const systemResolve = async (hostname: string): Promise<string> => (await lookup(hostname)).address;
const NS_PER_S = 1e9;

class BadRequest {
  constructor(readonly reason: string) {}
}

function send(res: ServerResponse, status: number, body: string, contentType = "text/plain; charset=utf-8"): void {
  res.writeHead(status, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

function indexPage(modules: readonly string[]): string {
  return `popwatch exporter

GET /probe?target=T&module=M[&debug=true]
    Runs one probe and returns its metrics (blackbox_exporter's contract).
    target: a configured target name, an IP address, [v6]:port, host[:port], or (http) a URL
    module: ${modules.join(", ")}
GET /metrics
    The exporter's own metrics (and the store's SLO state when one is attached).
`;
}

/** A result for a probe that never started because its hostname did not resolve in time. */
function unresolvedResult(plan: ProbePlan, target: string, failure: Failure, totalMs: number): ProbeResult {
  const port = typeof plan.options.port === "number" ? plan.options.port : 0;
  return {
    kind: plan.kind,
    target: formatEndpoint(target, port),
    address: "",
    port,
    name: target,
    ok: false,
    startedAt: new Date().toISOString(),
    timings: { totalMs },
    pop: null,
    failure,
  } as ProbeResult;
}

async function resolveWithin(
  resolve: (hostname: string) => Promise<string>,
  hostname: string,
  timeoutMs: number,
): Promise<string | Failure> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<Failure>((done) => {
    timer = setTimeout(() => done({ code: "timeout", message: `${hostname} did not resolve within ${timeoutMs} ms` }), timeoutMs);
  });
  try {
    return await Promise.race([
      // Through a then, so a resolver that throws instead of rejecting is a failed probe too.
      Promise.resolve(hostname)
        .then(resolve)
        .catch(
          (err: unknown): Failure => ({
            code: "name_resolution",
            message: `cannot resolve ${hostname}: ${classifyError(err).message}`,
          }),
        ),
      expired,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts the exporter; rejects with ExporterError when it cannot listen. */
export async function startExporter(options: ExporterOptions): Promise<RunningExporter> {
  const { config } = options;
  const settings = config.exporter;
  const planner = new ProbePlanner(config);
  const identifyPop = createPopIdentifier(config.popIdentification);
  const resolve = options.resolve ?? systemResolve;
  const onError = options.onError ?? (() => {});
  const self = createSelfMetrics(options.collectors ?? []);
  const slosByTarget = new Map<string, SloConfig[]>();
  for (const slo of config.slos) slosByTarget.set(slo.target, [...(slosByTarget.get(slo.target) ?? []), slo]);

  let probesInFlight = 0;
  let openRequests = 0;
  let draining = false;
  let drained: (() => void) | null = null;

  const reject = (res: ServerResponse, status: number, reason: RejectReason, message: string) => {
    self.rejected(reason);
    if (status === 503) res.setHeader("Retry-After", "1");
    send(res, status, `${message}\n`);
  };

  const slosFor = (plan: ProbePlan): SloConfig[] => {
    if (plan.configTarget === null) return [];
    const slos = slosByTarget.get(plan.configTarget) ?? [];
    return slos.filter((slo) => slo.kinds === undefined || slo.kinds.includes(plan.kind));
  };

  const runPlan = async (plan: ProbePlan, target: string, timeoutMs: number, log: string[] | null): Promise<ProbeOutcome> => {
    const startNs = process.hrtime.bigint();
    let spec = plan.spec;
    let lookupSeconds = 0;
    let result: ProbeResult | null = null;
    if (spec === null) {
      log?.push(logLine("Resolving target address", { target: plan.hostname ?? target }));
      const address = await resolveWithin(resolve, plan.hostname!, timeoutMs);
      lookupSeconds = Number(process.hrtime.bigint() - startNs) / NS_PER_S;
      if (typeof address === "string") {
        log?.push(logLine("Resolved target address", { target: plan.hostname!, ip: address }));
        spec = plan.specFor(address);
      } else {
        log?.push(logLine("Error resolving address", { err: address.message }));
        result = unresolvedResult(plan, target, address, lookupSeconds * 1000);
      }
    }
    if (spec !== null) {
      const remainingMs = Math.max(1, timeoutMs - lookupSeconds * 1000);
      log?.push(
        logLine("Beginning probe", {
          probe: plan.kind,
          endpoint: formatEndpoint(spec.address, spec.port),
          timeout_seconds: remainingMs / 1000,
        }),
      );
      try {
        result = (await runProbes([spec], { timeoutMs: remainingMs, concurrency: 1, identifyPop }))[0]!;
      } catch (err) {
        // The config schema and the planner vouch for the options; what remains is a target the spec refuses (a URL path, say).
        if (err instanceof ProbeSpecError) throw new BadRequest(`cannot probe ${target} with module ${plan.module}: ${err.message}`);
        throw err;
      }
    }
    const durationSeconds = Number(process.hrtime.bigint() - startNs) / NS_PER_S;
    if (log) {
      log.push(logLine("Probe result", { result: JSON.stringify(result) }));
      log.push(logLine(result!.ok ? "Probe succeeded" : "Probe failed", { duration_seconds: durationSeconds }));
    }
    return { result: result!, durationSeconds, timeoutSeconds: timeoutMs / 1000, lookupSeconds, slos: slosFor(plan) };
  };

  const handleProbe = async (req: IncomingMessage, res: ServerResponse, search: string): Promise<void> => {
    if (draining) return reject(res, 503, "draining", "the exporter is shutting down");
    const parsed = parseProbeQuery(search);
    if (!parsed.ok) return reject(res, 400, "bad_request", parsed.reason);
    const { target, module, debug } = parsed.query;
    const planned = planner.plan(target, module);
    if (!planned.ok) return reject(res, 400, "bad_request", planned.reason);
    const { plan } = planned;
    const timeout = probeTimeoutMs(req.headers[SCRAPE_TIMEOUT_HEADER], plan.timeoutMs, settings.maxTimeoutMs);
    if (!timeout.ok) return reject(res, 400, "bad_request", timeout.reason);
    if (probesInFlight >= settings.maxConcurrentProbes) {
      return reject(res, 503, "overloaded", `${probesInFlight} probes in flight, the limit (exporter.maxConcurrentProbes); retry later`);
    }
    probesInFlight++;
    self.inFlight(probesInFlight);
    let outcome: ProbeOutcome;
    const log = debug ? [] : null;
    try {
      outcome = await runPlan(plan, target, timeout.timeoutMs, log);
    } catch (err) {
      if (err instanceof BadRequest) return reject(res, 400, "bad_request", err.reason);
      throw err;
    } finally {
      probesInFlight--;
      self.inFlight(probesInFlight);
    }
    self.probeFinished(module, outcome.result.ok);
    const registry = probeRegistry(outcome);
    const exposition = await registry.metrics();
    if (log) {
      const moduleReport = { name: module, kind: plan.kind, timeoutMs: timeout.timeoutMs, options: plan.options };
      return send(res, 200, formatDebugOutput({ log, module: moduleReport, exposition }));
    }
    send(res, 200, exposition, registry.contentType);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (draining) res.setHeader("Connection", "close");
    const url = req.url ?? "/";
    const mark = url.indexOf("?");
    const path = mark === -1 ? url : url.slice(0, mark);
    const search = mark === -1 ? "" : url.slice(mark + 1);
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      return reject(res, 405, "bad_request", `method ${req.method} not allowed`);
    }
    if (path === "/probe") return handleProbe(req, res, search);
    if (path === "/metrics") {
      const text = await self.registry.metrics();
      return send(res, 200, text, self.registry.contentType);
    }
    if (path === "/") return send(res, 200, indexPage(planner.moduleNames()));
    return reject(res, 404, "not_found", `no such path ${JSON.stringify(path.slice(0, 128))}; see /`);
  };

  const server: Server = createServer((req, res) => {
    openRequests++;
    res.once("close", () => {
      openRequests--;
      if (openRequests === 0 && drained) drained();
    });
    handle(req, res).catch((err: unknown) => {
      // Whatever went wrong, this request fails alone: the server and the other probes carry on.
      onError(err);
      if (!res.headersSent) send(res, 500, `internal error: ${classifyError(err).message}\n`);
      else res.destroy();
    });
  });
  server.on("clientError", (_err, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });

  const listen = options.listen ?? parseListenOrThrow(settings.listen);
  await new Promise<void>((done, fail) => {
    const onListenError = (err: NodeJS.ErrnoException) =>
      fail(
        new ExporterError("listen_failed", `cannot listen on ${formatEndpoint(listen.host, listen.port)}: ${err.code ?? err.message}`, {
          cause: err,
        }),
      );
    server.once("error", onListenError);
    server.listen(listen.port, listen.host, () => {
      server.off("error", onListenError);
      done();
    });
  });
  server.on("error", onError);
  const address = server.address() as AddressInfo;
  const host = address.address;

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((done) => {
      draining = true;
      // Requests in flight finish (their responses say Connection: close); a hung client cannot hold the exit forever.
      const hardStop = setTimeout(() => server.closeAllConnections(), settings.maxTimeoutMs + 2000);
      hardStop.unref();
      server.close(() => {
        clearTimeout(hardStop);
        done();
      });
      const idle = () => server.closeIdleConnections();
      if (openRequests === 0) idle();
      else drained = idle;
    });
    return closing;
  };

  return { url: `http://${formatEndpoint(host, address.port)}`, host, port: address.port, close };
}

function parseListenOrThrow(listen: string): { host: string; port: number } {
  const parsed = parseListenAddress(listen);
  if (parsed === null) throw new ExporterError("listen_invalid", `exporter.listen: expected HOST:PORT, got "${listen}"`);
  return parsed;
}

/** One logfmt line, as blackbox's probe logs read. */
function logLine(msg: string, fields: Record<string, string | number>): string {
  const parts = [`ts=${new Date().toISOString()}`, `msg=${JSON.stringify(msg)}`];
  for (const [key, value] of Object.entries(fields)) parts.push(`${key}=${typeof value === "number" ? value : JSON.stringify(value)}`);
  return parts.join(" ");
}
