// The two exporters the exporter benches compare, as supervised loopback
// daemons: `popwatch exporter` (the bundled CLI, as production runs it) and
// Debian's prometheus-blackbox-exporter. Each is driven through its HTTP
// `/probe` endpoint as Prometheus drives it, and each one's CPU time is read
// from /proc, so the figures belong to the exporter process alone (not to
// this client, nor to the DNS server both probe).
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { promisify } from "node:util";
import { type Daemon, requireBinary, spawnDaemon, stopDaemon, waitReady } from "../../test/support/daemons";
import { LOOPBACK4, freePort } from "../../test/support/ports";

// Benches run from the repository root (through tsx or bundled by bench/run.mjs alike).
const REPO_ROOT = process.cwd();
/** The CLI as installed: bin/popwatch.mjs loads the bundle buildCli() writes to dist/. */
const POPWATCH_BIN = join(REPO_ROOT, "packages/cli/bin/popwatch.mjs");
/** /proc/PID/stat counts CPU time in clock ticks; Linux reports 100 a second (getconf CLK_TCK). */
const CLOCK_TICKS_PER_SECOND = 100;

export interface Exporter {
  name: "popwatch" | "blackbox";
  pid: number;
  port: number;
  daemon: Daemon;
  /** GET /probe with these query parameters; resolves with the body (throws on a non-200). */
  probe(params: Record<string, string>, scrapeTimeoutSeconds?: number): Promise<string>;
  stop(): Promise<void>;
}

/** Bundles the CLI from the current sources (a stale bundle would measure old code). */
export async function buildCli(): Promise<void> {
  await promisify(execFile)(process.execPath, [join(REPO_ROOT, "scripts/build.mjs")], { cwd: REPO_ROOT });
}

/** CPU seconds (user + system, every thread, dead ones included) the process has used so far. */
export function processCpuSeconds(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after "(comm) ": state is field 3, utime 14 and stime 15.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** Resident set size in MiB (from /proc/PID/status). */
export function processRssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/**
 * Sample values of a text exposition by series as printed (`name` or
 * `name{label="v",…}`); comments skipped. Enough for the gauges the benches read.
 */
export function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const cut = line.lastIndexOf(" ");
    if (cut > 0) samples.set(line.slice(0, cut).trim(), Number(line.slice(cut + 1)));
  }
  return samples;
}

/** The value of `name` with exactly `labels` (blackbox and prom-client may order labels differently). */
export function sample(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(",");
  for (const [series, value] of samples) {
    const brace = series.indexOf("{");
    const seriesName = brace < 0 ? series : series.slice(0, brace);
    if (seriesName !== name) continue;
    const labelText = brace < 0 ? "" : series.slice(brace + 1, -1);
    const have = labelText === "" ? "" : labelText.split(",").sort().join(",");
    if (have === wanted) return value;
  }
  return undefined;
}

function httpGet(
  agent: http.Agent,
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: LOOPBACK4, port, path, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.setTimeout(15_000, () => req.destroy(new Error(`GET ${path}: no answer in 15 s`)));
    req.on("error", reject);
  });
}

function handle(name: Exporter["name"], daemon: Daemon, port: number): Exporter {
  // Keep-alive, as Prometheus scrapes; sockets enough for any concurrency the benches use.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  return {
    name,
    pid: daemon.pid,
    port,
    daemon,
    async probe(params, scrapeTimeoutSeconds = 5) {
      const path = `/probe?${new URLSearchParams(params)}`;
      const { status, body } = await httpGet(agent, port, path, { "X-Prometheus-Scrape-Timeout-Seconds": String(scrapeTimeoutSeconds) });
      if (status !== 200) throw new Error(`${name} ${path}: HTTP ${status}: ${body.slice(0, 300)}`);
      return body;
    },
    async stop() {
      agent.destroy();
      await stopDaemon(daemon);
    },
  };
}

async function answers(port: number, path: string): Promise<boolean> {
  const agent = new http.Agent({ keepAlive: false });
  try {
    return (await httpGet(agent, port, path, {})).status === 200;
  } finally {
    agent.destroy();
  }
}

export interface StartOptions {
  /**
   * A resolv.conf the exporter sees as /etc/resolv.conf (bind-mounted in a
   * private mount namespace: needs root and util-linux's unshare), so its
   * hostname lookups go to a resolver the bench controls. Both exporters'
   * resolvers (Go's and glibc's) take their nameservers from that file alone.
   */
  resolvConf?: string;
}

/** argv, run with `resolvConf` mounted over /etc/resolv.conf when given (exec all the way: the PID stays the exporter's). */
function withResolvConf(argv: string[], resolvConf: string | undefined): string[] {
  if (resolvConf === undefined) return argv;
  const unshare = requireBinary("unshare", "util-linux");
  return [unshare, "--mount", "sh", "-c", 'mount --bind "$0" /etc/resolv.conf && exec "$@"', resolvConf, ...argv];
}

function spawnExporter(name: string, argv: string[], dir: string, options: StartOptions): Daemon {
  const [cmd, ...args] = withResolvConf(argv, options.resolvConf);
  return spawnDaemon(name, cmd!, args, dir);
}

/** Debian's blackbox_exporter on a free loopback port with these modules (blackbox.yml's `modules:`). */
export async function startBlackboxExporter(dir: string, modules: Record<string, unknown>, options: StartOptions = {}): Promise<Exporter> {
  const bin = requireBinary("prometheus-blackbox-exporter", "prometheus-blackbox-exporter");
  const config = join(dir, "blackbox.yml");
  writeFileSync(config, `${JSON.stringify({ modules }, null, 2)}\n`); // YAML is a superset of JSON
  const port = await freePort({ udp: false, ipv6: false });
  const argv = [bin, `--config.file=${config}`, `--web.listen-address=${LOOPBACK4}:${port}`, "--log.level=warn"];
  const daemon = spawnExporter("blackbox", argv, dir, options);
  await waitReady(daemon, `GET http://${LOOPBACK4}:${port}/-/healthy`, () => answers(port, "/-/healthy"));
  return handle("blackbox", daemon, port);
}

/**
 * `popwatch exporter` from the bundled CLI on a free loopback port. `nodeArgs`
 * go to node before the script (e.g. --cpu-prof for a profile).
 */
export async function startPopwatchExporter(
  dir: string,
  config: unknown,
  options: StartOptions & { nodeArgs?: string[] } = {},
): Promise<Exporter> {
  const file = join(dir, "popwatch.config.json");
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
  const port = await freePort({ udp: false, ipv6: false });
  const argv = [
    process.execPath,
    ...(options.nodeArgs ?? []),
    POPWATCH_BIN,
    "exporter",
    "--config",
    file,
    "--listen",
    `${LOOPBACK4}:${port}`,
  ];
  const daemon = spawnExporter("popwatch-exporter", argv, dir, options);
  await waitReady(daemon, `GET http://${LOOPBACK4}:${port}/metrics`, () => answers(port, "/metrics"));
  return handle("popwatch", daemon, port);
}

/** Runs `count` calls of `task` with at most `concurrency` in flight. */
export async function runConcurrently(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** The 1-, 5- and 15-minute load averages and the core count, for the record. */
export function loadNote(): string {
  const [one, five, fifteen] = readFileSync("/proc/loadavg", "utf8").split(" ");
  const cores = readFileSync("/proc/cpuinfo", "utf8").match(/^processor\s*:/gm)?.length ?? "?";
  return `load average ${one} ${five} ${fifteen} on ${cores} cores`;
}
