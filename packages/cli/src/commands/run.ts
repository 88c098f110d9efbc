// `popwatch run`: the scheduled Lambda's job on this machine. Every
// `schedule.rateMinutes` (aligned to the clock, as EventBridge fires) one
// invocation of runInvocation runs its rounds into the embedded store, filed
// under config.localRegion. The same code path as the Lambda, so a local run
// produces exactly what a deployment would.

import { setTimeout as delay } from "node:timers/promises";
import {
  DEFAULT_SAFETY_MARGIN_MS,
  type InvocationSummary,
  type LogEntry,
  type Logger,
  type RoundReport,
  anycastAlertsEnabled,
  fastRoutingEnabled,
  jsonLinesLogger,
  probeSpecsOf,
  runEvaluationCycle,
  runInvocation,
  storeRetention,
} from "@popwatch/agent";
import { MINUTE_MS, type PopwatchConfig, type RoutingRepository, roundIntervalMs, worstCaseRoundMs } from "@popwatch/core";
import { type Sink, createSinks } from "@popwatch/notify";
import { DEFAULT_DATA_DIR, type DynamoAlertStateStore, type ResultStore, StoreError, type StoredResult, openStore } from "@popwatch/store";
import { loadConfig, reportConfigProblem } from "../config-file";
import type { Io } from "../io";
import { type OpenStore, openOwnedStoreWhenFree } from "../local-store";
import { formatResultsTable } from "../output/results-table";
import { stopOnSignals } from "../signals";
import { reportStoreFailure } from "../store-flags";
import { parseFlags } from "./args";

export const RUN_USAGE = `Usage: popwatch run [--config FILE] [--data-dir DIR] [--once] [--json]

Probes every target on the configured schedule from this machine, as the
scheduled Lambda does in each region: every schedule.rateMinutes (aligned to
the clock) one invocation runs schedule.roundsPerInvocation evenly spaced
rounds. Results and rollups go to the embedded store in DIR, filed under the
region config.localRegion ("local" by default); read them with
"popwatch results". Expired items are deleted every few minutes.

With slos in the configuration, or anycast alerts on (analytics.alerts, on by
default), every period ends (and --once ends) with an evaluation, as the
evaluate function runs on AWS: burn-rate and anycast alerts are
kept in the same store ("popwatch alerts") and notifications go to
alerting.sinks (default stdout: one JSON line each). A failed evaluation is
reported and the run goes on. PoP changes and outages (analytics.alerts
popChange and outage, on by default) are judged after every round and
delivered through the same sinks at once, as the probe function does.

Options:
  --config FILE         configuration (default: popwatch.config.{ts,mjs,js,json} here)
  --data-dir DIR        embedded store directory (default ${DEFAULT_DATA_DIR})
  --once                one round of every probe, print the results, exit
  --json                JSON lines: with --once the results, else the structured log
  -h, --help            this help

Ctrl-C or SIGTERM stops probes in flight, writes every result already taken,
closes the store and exits 0 (a second signal exits at once, unwritten).

Exit status: 0 stopped by a signal, or --once with every probe ok; 1 --once
with a failed probe, or the store failed (results written before stay);
2 usage or configuration error.
`;

const OPTIONS = {
  config: { type: "string" },
  "data-dir": { type: "string" },
  once: { type: "boolean" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** How often the embedded store deletes expired items (dynalite has no TTL). */
export const EXPIRE_EVERY_MS = 5 * MINUTE_MS;

export interface RunDeps {
  /** Stops the run as SIGINT/SIGTERM do. Default: those signals. */
  signal?: AbortSignal;
  /** Wall clock, epoch ms. */
  now?: () => number;
  /** Whether stdout is a terminal (status line rewritten in place). Default: io.stdout.isTTY. */
  isTTY?: boolean;
}

export async function runCommand(argv: string[], io: Io, deps: RunDeps = {}): Promise<number> {
  const { values } = parseFlags(argv, OPTIONS);
  if (values.help) {
    io.stdout.write(RUN_USAGE);
    return 0;
  }
  let config: PopwatchConfig;
  try {
    ({ config } = await loadConfig(values.config));
  } catch (err) {
    return reportConfigProblem("run", err, io);
  }
  const dataDir = values["data-dir"] ?? DEFAULT_DATA_DIR;
  const json = values.json ?? false;
  const isTTY = deps.isTTY ?? (io.stdout as { isTTY?: boolean }).isTTY === true;
  const stop = new AbortController();
  const unhook = stopOnSignals(
    "run",
    io,
    stop,
    { stopping: "stopping probes, writing the results taken", abandoning: "exiting without writing pending results" },
    deps.signal,
  );

  try {
    let opened: OpenStore;
    try {
      opened = await openOwnedStoreWhenFree({ dataDir, retentionDays: storeRetention(config) });
    } catch (err) {
      return reportStoreFailure(io, "run", err, "", `cannot open the store in ${dataDir}`);
    }
    try {
      const now = deps.now ?? Date.now;
      const options: LoopOptions = {
        config,
        store: opened.store,
        alerts: opened.alerts,
        routing: openStore({ client: opened.client, tableName: opened.tableName }).routing,
        where: opened.where,
        io,
        json,
        isTTY,
        signal: stop.signal,
        now,
      };
      return values.once ? await runOnce(options) : await runForever(options);
    } catch (err) {
      if (err instanceof StoreError) return reportStoreFailure(io, "run", err, "", "store failed");
      throw err;
    } finally {
      await opened.close();
    }
  } finally {
    unhook();
  }
}

interface LoopOptions {
  config: PopwatchConfig;
  store: ResultStore;
  alerts: DynamoAlertStateStore;
  /** Routing snapshots, for the routing alerts (with a bgp section). */
  routing: Pick<RoutingRepository, "getSnapshot">;
  where: string;
  io: Io;
  json: boolean;
  isTTY: boolean;
  signal: AbortSignal;
  now: () => number;
}

async function runOnce(options: LoopOptions): Promise<number> {
  const { config, store, io, json, signal, now } = options;
  const specs = probeSpecsOf(config);
  const budgetEnd = now() + worstCaseRoundMs(config.schedule, specs.length) + DEFAULT_SAFETY_MARGIN_MS + 5_000;
  let results: StoredResult[] = [];
  const logger = problemsOnly(io, json);
  const summary = await runInvocation({
    config,
    region: config.localRegion,
    scheduledAt: now(),
    rounds: 1,
    store,
    remainingMs: () => budgetEnd - now(),
    signal,
    now,
    logger,
    onRound: (round) => {
      results = round.results;
    },
  });
  if (json) for (const result of results) io.stdout.write(`${JSON.stringify(result)}\n`);
  else if (results.length > 0) io.stdout.write(formatResultsTable(results));
  if (summary.errors.length > 0) return reportIncomplete(io, summary, options.where);
  if (!signal.aborted)
    await sloEvaluator(
      options,
      alertSinks(config, (line) => void io.stdout.write(line)),
      logger,
    )();
  if (summary.cancelled) return 0;
  return results.length > 0 && results.every((r) => r.ok) ? 0 : 1;
}

async function runForever(options: LoopOptions): Promise<number> {
  const { config, store, io, json, signal, now } = options;
  const { schedule } = config;
  const rateMs = schedule.rateMinutes * MINUTE_MS;
  const intervalMs = roundIntervalMs(schedule);
  const specs = probeSpecsOf(config);
  const roundMs = worstCaseRoundMs(schedule, specs.length);
  const display = json ? null : new StatusDisplay(io, options.isTTY, schedule.roundsPerInvocation);
  const logger: Logger = json ? jsonLinesLogger((line) => void io.stdout.write(line)) : (entry) => display!.problem(entry);
  // Built once: the evaluation after each period and fast routing after each round deliver through the same sinks.
  const sinks = alertSinks(config, display ? (line) => display.notification(line) : (line) => void io.stdout.write(line));
  const evaluate = sloEvaluator(options, sinks, logger);
  const fastRouting = fastRoutingEnabled(config) ? { fastRouting: { alerts: options.alerts, sinks } } : {};
  const totals = { rounds: 0, results: 0, ok: 0, failed: 0, written: 0 };

  io.stderr.write(
    `popwatch run: ${config.targets.length} targets, ${specs.length} probes every ${intervalMs / 1000} s ` +
      `as region "${config.localRegion}"; data in ${options.where}; Ctrl-C stops\n`,
  );
  let lastExpiry = Number.NEGATIVE_INFINITY;
  let lastWindow = Number.NEGATIVE_INFINITY;
  let starting = true;
  while (!signal.aborted) {
    const startedAt = now();
    if (startedAt - lastExpiry >= EXPIRE_EVERY_MS) {
      await store.deleteExpired(startedAt);
      lastExpiry = startedAt;
    }
    const windowStart = Math.floor(startedAt / rateMs) * rateMs;
    // Starting mid-period: join at the next slot rather than report the passed ones as skipped.
    const firstRound = starting ? Math.ceil((startedAt - windowStart) / intervalMs) : 0;
    starting = false;
    if (windowStart <= lastWindow || firstRound >= schedule.roundsPerInvocation) {
      await abortableDelay(Math.max(0, Math.max(windowStart, lastWindow) + rateMs - now()), signal);
      continue;
    }
    lastWindow = windowStart;
    const summary = await runInvocation({
      config,
      region: config.localRegion,
      scheduledAt: windowStart,
      firstRound,
      store,
      // As a Lambda whose timeout lets the period's last round finish.
      remainingMs: () => windowStart + rateMs + roundMs + DEFAULT_SAFETY_MARGIN_MS - now(),
      signal,
      now,
      logger,
      ...fastRouting,
      onRound: (round) => {
        totals.rounds++;
        totals.results += round.results.length;
        totals.ok += round.ok;
        totals.failed += round.failed;
        totals.written += round.written;
        display?.round(round, totals);
      },
    });
    if (summary.errors.length > 0) {
      display?.end();
      return reportIncomplete(io, summary, options.where);
    }
    if (!signal.aborted) await evaluate();
  }
  display?.end();
  io.stderr.write(`popwatch run: stopped after ${totals.rounds} rounds; ${totals.written} results written to ${options.where}\n`);
  return 0;
}

/** One line per round, or on a terminal one status line rewritten in place. */
class StatusDisplay {
  private showing = false;

  constructor(
    private readonly io: Io,
    private readonly isTTY: boolean,
    private readonly roundsPerInvocation: number,
  ) {}

  round(report: RoundReport, totals: { rounds: number; ok: number; failed: number }): void {
    const failures = report.results.filter((r) => !r.ok).map((r) => `${r.name ?? r.target}/${r.kind} ${r.failure?.code ?? "failed"}`);
    const pops = [...new Set(report.results.filter((r) => r.pop).map((r) => `${r.name ?? r.target}/${r.kind} ${r.pop!.id}`))];
    const text =
      `${report.slotAt.slice(11, 19)}Z round ${report.round + 1}/${this.roundsPerInvocation}: ${report.ok} ok, ${report.failed} failed` +
      (failures.length > 0 ? ` (${failures.join(", ")})` : "") +
      ` | total ${totals.ok} ok, ${totals.failed} failed` +
      (pops.length > 0 ? ` | pops: ${pops.join(", ")}` : "");
    if (this.isTTY) {
      const columns = (this.io.stdout as { columns?: number }).columns ?? 120;
      // A wrapped line cannot be rewritten with \r, so it is cut to the terminal's width.
      this.io.stdout.write(`\r\x1b[K${text.length >= columns ? `${text.slice(0, columns - 2)}…` : text}`);
      this.showing = true;
    } else {
      this.io.stdout.write(`${text}\n`);
    }
  }

  /** A notification line: the status line is cleared first, so the line is not glued to it; the next round redraws it. */
  notification(line: string): void {
    this.clearLine();
    this.io.stdout.write(line);
  }

  problem(entry: LogEntry): void {
    if (entry.level !== "warn" && entry.level !== "error") return;
    if (entry.msg === "invocation") return; // summarised by the command itself
    this.clearLine();
    this.io.stderr.write(`popwatch run: ${describeLogEntry(entry)}\n`);
  }

  end(): void {
    if (this.showing) this.io.stdout.write("\n");
    this.showing = false;
  }

  private clearLine(): void {
    if (this.showing) this.io.stdout.write("\r\x1b[K");
    this.showing = false;
  }
}

/** The alerting sinks; stdout ones write through `write`. Built once, so webhook and EventBridge connections are reused. */
function alertSinks(config: PopwatchConfig, write: (line: string) => void): Sink[] {
  return createSinks(config.alerting.sinks, { homeRegion: config.homeRegion, write });
}

/**
 * SLOs of this machine's region from the store's rollups, then the alert
 * lifecycle and delivery, as the evaluate function does on AWS. Nothing
 * here stops the run: failures, and deliveries that did not go through, are
 * logged (the outbox keeps undelivered notifications for the next period).
 */
function sloEvaluator(options: LoopOptions, sinks: readonly Sink[], logger: Logger): () => Promise<void> {
  const { config } = options;
  return async () => {
    // The period's minute rollUps marked their hours pending: build the hour and day buckets that have ended, as the evaluate function does on AWS.
    try {
      // No grace: the windows read the hour that just ended; late rounds mark it again for the next period's compact.
      await options.store.compact({ now: options.now(), graceMs: 0 });
    } catch (err) {
      logger({ level: "error", msg: "compaction failed", error: describeFailure(err) });
    }
    if (config.slos.length === 0 && !anycastAlertsEnabled(config) && config.bgp === undefined) return;
    try {
      const cycle = await runEvaluationCycle({
        config,
        store: options.store,
        alerts: options.alerts,
        sinks,
        regions: [config.localRegion],
        now: options.now(),
        routing: options.routing,
      });
      for (const outcome of cycle.alerts.delivery.outcomes) {
        if (outcome.ok) continue;
        logger({
          level: "warn",
          msg: "alert not delivered",
          reason: `${outcome.notificationId} to ${outcome.sinkId}${outcome.retryable ? ", retried next period" : ""}`,
          error: { code: outcome.code, message: outcome.detail },
        });
      }
    } catch (err) {
      logger({ level: "error", msg: "SLO evaluation failed", error: describeFailure(err) });
    }
  };
}

/** A thrown error as a log entry's error: its code when it has one (StoreError), else `internal`. */
function describeFailure(err: unknown): { code: string; message: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return { code: typeof code === "string" ? code : "internal", message: err instanceof Error ? err.message : String(err) };
}

function describeLogEntry(entry: LogEntry): string {
  const error = entry.error as { code?: string; message?: string } | undefined;
  const round = typeof entry.round === "number" ? `round ${entry.round + 1}: ` : "";
  if (entry.msg === "round" && error) return `${round}results not written: ${error.code}: ${error.message}`;
  const reason = typeof entry.reason === "string" ? `: ${entry.reason}` : "";
  return `${entry.level}: ${round}${entry.msg}${reason}${error ? `: ${error.code}: ${error.message}` : ""}`;
}

/** For --once: the results are the output; only warnings and errors are logged, to stderr. */
function problemsOnly(io: Io, json: boolean): Logger {
  return (entry) => {
    if (entry.level !== "warn" && entry.level !== "error") return;
    if (entry.msg === "invocation") return;
    io.stderr.write(json ? `${JSON.stringify(entry)}\n` : `popwatch run: ${describeLogEntry(entry)}\n`);
  };
}

function reportIncomplete(io: Io, summary: InvocationSummary, where: string): number {
  for (const problem of summary.errors) {
    io.stderr.write(
      `popwatch run: store error (${problem.code}) while ` +
        `${problem.stage === "write" ? "writing results" : "rebuilding rollups"}: ${problem.message}\n`,
    );
  }
  io.stderr.write(
    `popwatch run: ${summary.written} of ${summary.results} results of the last invocation written; ` +
      `everything acknowledged earlier stays in ${where}\n`,
  );
  return 1;
}

async function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch {
    // Aborted: the loop checks the signal.
  }
}
