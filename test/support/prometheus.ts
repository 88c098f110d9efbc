// Debian's Prometheus (2.42, /usr/bin/prometheus) for tests and benchmarks:
// started on a free loopback port from a private directory with a config the
// caller writes, stopped by its recorded PID (daemons.ts), and queried through
// its HTTP API (/api/v1/query, /api/v1/targets).
//
// No vitest import: the benchmarks use it outside the test runner.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Daemon,
  addRunDir,
  removeRunDir,
  requireBinary,
  sleep,
  spawnDaemon,
  startOnFreePorts,
  stopDaemon,
  waitReady,
} from "./daemons";
import { LOOPBACK4, freePort } from "./ports";

/** One series of an instant vector: its labels and its value (as Prometheus prints it: "1", "0.0012", "NaN"). */
export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

/** One entry of /api/v1/targets' activeTargets (the fields tests read). */
export interface PromTarget {
  scrapePool: string;
  scrapeUrl: string;
  health: "up" | "down" | "unknown";
  lastError: string;
  labels: Record<string, string>;
  discoveredLabels: Record<string, string>;
}

/** One rule group of /api/v1/rules (the fields tests read). */
export interface PromRuleGroup {
  name: string;
  file: string;
  rules: Array<{
    name: string;
    type: "recording" | "alerting";
    health: "ok" | "err" | "unknown";
    lastError?: string;
    /** Alerting rules: inactive, pending or firing. */
    state?: string;
    labels?: Record<string, string>;
  }>;
}

/** Prometheus answered a query with `status: "error"` (a parse error is `errorType: "bad_data"`). */
export class PrometheusQueryError extends Error {
  constructor(
    readonly query: string,
    readonly errorType: string,
    readonly reason: string,
  ) {
    super(`Prometheus refused ${JSON.stringify(query)}: ${errorType}: ${reason}`);
  }
}

export interface PrometheusHandle {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Private directory: prometheus.yml, data/, prometheus.log; removed on stop. */
  dir: string;
  daemon: Daemon;
  /** Instant query (`/api/v1/query`), at `time` (Unix seconds) or now. Only vectors and scalars; throws PrometheusQueryError. */
  query(promql: string, time?: number): Promise<PromSample[]>;
  /** `/api/v1/targets`' active targets. */
  targets(): Promise<PromTarget[]>;
  /** `/api/v1/rules`' groups (recording and alerting rules with their health). */
  rules(): Promise<PromRuleGroup[]>;
  /** Polls `query` until `done` accepts its samples; returns them, or throws with the last answer after `timeoutMs`. */
  waitFor(promql: string, done: (samples: PromSample[]) => boolean, timeoutMs?: number): Promise<PromSample[]>;
  /** Polls the targets until every one of them is up (at least `count`), or throws naming the ones that are not. */
  waitTargetsUp(count: number, timeoutMs?: number): Promise<PromTarget[]>;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /**
   * prometheus.yml's text. `{{RULES}}` is replaced by the directory holding
   * `ruleFiles`, so `rule_files: ["{{RULES}}/*.yml"]` loads them.
   */
  config: string;
  /** Rule files by name, written beside the config. */
  ruleFiles?: Record<string, string>;
  /** Extra flags (e.g. `--query.lookback-delta=30s`). */
  flags?: string[];
}

/** `global:` for tests: scrape and evaluate every second, so a test sees data within seconds. */
export function fastGlobalYaml(intervalSeconds = 1): string {
  return `global:\n  scrape_interval: ${intervalSeconds}s\n  scrape_timeout: ${intervalSeconds}s\n  evaluation_interval: ${intervalSeconds}s\n`;
}

interface ApiAnswer<T> {
  status: "success" | "error";
  data?: T;
  errorType?: string;
  error?: string;
}

async function apiGet<T>(base: string, path: string, params: Record<string, string>): Promise<ApiAnswer<T>> {
  const res = await fetch(`${base}${path}?${new URLSearchParams(params)}`, { signal: AbortSignal.timeout(10_000) });
  return (await res.json()) as ApiAnswer<T>;
}

type QueryData =
  | { resultType: "vector"; result: Array<{ metric: Record<string, string>; value: [number, string] }> }
  | { resultType: "scalar"; result: [number, string] }
  | { resultType: "matrix" | "string"; result: unknown };

export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusHandle> {
  const bin = requireBinary("prometheus", "prometheus");
  const dir = mkdtempSync(join(tmpdir(), "popwatch-prometheus-"));
  addRunDir(dir);
  const rulesDir = join(dir, "rules");
  if (options.ruleFiles) {
    mkdirSync(rulesDir, { recursive: true });
    for (const [name, text] of Object.entries(options.ruleFiles)) writeFileSync(join(rulesDir, name), text);
  }
  const configFile = join(dir, "prometheus.yml");
  writeFileSync(configFile, options.config.replaceAll("{{RULES}}", rulesDir));

  let attempt = 0;
  let started: { daemon: Daemon; ports: { port: number; data: string } };
  try {
    started = await startOnFreePorts(
      // A fresh TSDB directory per attempt: a daemon that lost its port may have left a lock in the last one.
      async () => ({ port: await freePort({ udp: false, ipv6: false }), data: join(dir, `data-${++attempt}`) }),
      ({ port, data }) =>
        spawnDaemon(
          "prometheus",
          bin,
          [
            `--config.file=${configFile}`,
            `--storage.tsdb.path=${data}`,
            `--web.listen-address=${LOOPBACK4}:${port}`,
            "--web.enable-lifecycle",
            ...(options.flags ?? []),
          ],
          dir,
        ),
      (daemon, { port }) =>
        waitReady(
          daemon,
          `GET http://${LOOPBACK4}:${port}/-/ready`,
          async () => (await fetch(`http://${LOOPBACK4}:${port}/-/ready`)).status === 200,
          20_000,
        ),
    );
  } catch (err) {
    removeRunDir(dir);
    throw err;
  }
  const { daemon, ports } = started;
  return prometheusHandle(`http://${LOOPBACK4}:${ports.port}`, ports.port, dir, daemon);
}

function prometheusHandle(url: string, port: number, dir: string, daemon: Daemon): PrometheusHandle {
  const query = async (promql: string, time?: number): Promise<PromSample[]> => {
    const answer = await apiGet<QueryData>(url, "/api/v1/query", { query: promql, ...(time === undefined ? {} : { time: String(time) }) });
    if (answer.status !== "success" || !answer.data)
      throw new PrometheusQueryError(promql, answer.errorType ?? "unknown", answer.error ?? "");
    const data = answer.data;
    if (data.resultType === "vector") return data.result.map((s) => ({ metric: s.metric, value: Number(s.value[1]) }));
    if (data.resultType === "scalar") return [{ metric: {}, value: Number(data.result[1]) }];
    throw new PrometheusQueryError(promql, "unexpected_result", `a ${data.resultType}, not an instant vector`);
  };
  const targets = async (): Promise<PromTarget[]> => {
    const answer = await apiGet<{ activeTargets: PromTarget[] }>(url, "/api/v1/targets", { state: "active" });
    if (answer.status !== "success" || !answer.data) throw new Error(`Prometheus /api/v1/targets: ${answer.errorType}: ${answer.error}`);
    return answer.data.activeTargets;
  };
  const rules = async (): Promise<PromRuleGroup[]> => {
    const answer = await apiGet<{ groups: PromRuleGroup[] }>(url, "/api/v1/rules", {});
    if (answer.status !== "success" || !answer.data) throw new Error(`Prometheus /api/v1/rules: ${answer.errorType}: ${answer.error}`);
    return answer.data.groups;
  };
  const waitFor = async (promql: string, done: (samples: PromSample[]) => boolean, timeoutMs = 20_000): Promise<PromSample[]> => {
    const deadline = Date.now() + timeoutMs;
    let last: PromSample[] = [];
    for (;;) {
      last = await query(promql);
      if (done(last)) return last;
      if (Date.now() > deadline) break;
      await sleep(250);
    }
    throw new Error(`${promql}: not as expected within ${timeoutMs / 1000} s; last answer: ${JSON.stringify(last)}`);
  };
  const waitTargetsUp = async (count: number, timeoutMs = 20_000): Promise<PromTarget[]> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const all = await targets();
      if (all.length >= count && all.every((t) => t.health === "up")) return all;
      if (Date.now() > deadline) {
        const bad = all.filter((t) => t.health !== "up").map((t) => `${t.scrapePool} ${t.scrapeUrl}: ${t.health} ${t.lastError}`);
        throw new Error(`Prometheus targets not up within ${timeoutMs / 1000} s (${all.length} of ${count} known):\n${bad.join("\n")}`);
      }
      await sleep(250);
    }
  };
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await stopDaemon(daemon);
    removeRunDir(dir);
  };
  return { url, port, dir, daemon, query, targets, rules, waitFor, waitTargetsUp, stop };
}
