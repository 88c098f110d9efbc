// One probing invocation: what the scheduled Lambda does once per event and
// `popwatch run` does once per rate period. Rounds of every target's probes
// run at evenly spaced slots from the scheduled time; each round's results are
// written as soon as it ends; the touched minutes' rollups are rebuilt at the
// end. Everything that names an item (invocation id, slotAt, seq) derives from
// the schedule, never from when things happened to run, so a retried
// invocation overwrites its own items instead of adding to them.
import { setTimeout as delay } from "node:timers/promises";
import {
  MINUTE_MS,
  type PopwatchConfig,
  type ProbeResult,
  createPopIdentifier,
  roundIntervalMs,
  roundSlotMs,
  toEpochMs,
  worstCaseRoundMs,
} from "@popwatch/core";
import { type ProbeSpec, type RunnerOptions, runProbes, specsForTarget } from "@popwatch/probes";
import { type ResultStore, StoreError, type StoredResult } from "@popwatch/store";
import { FastRoutingCheck, type FastRoutingOptions, type FastRoutingRoundReport } from "./fast-routing";
import { type LogEntry, type Logger, jsonLinesLogger, safeLogger } from "./logger";
import { DEFAULT_SAFETY_MARGIN_MS, fitsSequenceRange, invocationIdFor, sequenceNumber } from "./schedule";

export interface InvocationOptions {
  /** Validated configuration (parseConfig). */
  config: PopwatchConfig;
  /** Vantage point the results are filed under: the AWS region, or config.localRegion. */
  region: string;
  /** When the invocation was scheduled (EventBridge `time`): round 0's slot. */
  scheduledAt: Date | number | string;
  /** Defaults to `<region>#<scheduledAt>`, stable across retries. */
  invocationId?: string;
  store: ResultStore;
  /** Milliseconds until the invocation is cut off (Lambda's getRemainingTimeInMillis, or a local budget). */
  remainingMs: () => number;
  /** Rounds to run instead of config.schedule.roundsPerInvocation (`--once` runs 1). */
  rounds?: number;
  /**
   * First round to run; earlier ones are not part of this invocation (a local
   * run that starts mid-period). Default 0.
   */
  firstRound?: number;
  /** Time kept free after the last round for writes and rollups. Default DEFAULT_SAFETY_MARGIN_MS. */
  safetyMarginMs?: number;
  /** Ends in-flight probes and starts no more rounds; results already taken are still written. */
  signal?: AbortSignal;
  /** Wall clock, epoch ms. Default Date.now. Also stamps results' startedAt. */
  now?: () => number;
  /** Waits until the next slot; must resolve early (not reject) when the signal aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Default: JSON lines to stdout. */
  logger?: Logger;
  /**
   * Which raw items to roll up after the rounds: the given range of minutes
   * (with hours and days that end inside it), none (null), or a function
   * deciding once the rounds are done. Default: defaultRollupRange, the
   * invocation's own period (dispatch.ts explains the queued case).
   */
  rollups?: RollupRange | null | (() => RollupRange | null);
  /** Called after each round is written (or failed to be), e.g. for a status line. */
  onRound?: (round: RoundReport) => void;
  /** Probe runner internals, replaceable in tests. */
  runner?: Pick<RunnerOptions, "registry" | "clock">;
  /**
   * Judge PoP changes and outages after each written round and deliver their
   * alerts at once (./fast-routing.ts). Absent: the evaluator's alerts only.
   */
  fastRouting?: FastRoutingOptions;
}

/** Epoch-ms range [fromMs, toMs) of minutes to roll up. */
export interface RollupRange {
  fromMs: number;
  toMs: number;
}

/** A problem that stopped data from reaching the store (or later rounds from being queued). */
export interface InvocationProblem {
  stage: "write" | "rollup" | "enqueue";
  /** StoreError code, or `internal` for anything else. */
  code: string;
  message: string;
  round?: number;
  /** Results (write) or rollups not known to be written. */
  unwrittenItems?: number;
}

export interface RoundReport {
  round: number;
  slotAt: string;
  /** Results of the round as stored (probes cut short by cancellation are left out). */
  results: StoredResult[];
  ok: number;
  failed: number;
  /** Results acknowledged by the store. */
  written: number;
  probeMs: number;
  writeMs: number;
  problem: InvocationProblem | null;
}

export interface InvocationSummary {
  invocationId: string;
  region: string;
  scheduledAt: string;
  /** Rounds that ran. */
  rounds: number;
  /** Rounds of this invocation that did not run: slot long past, not enough time left, cancelled, or the store failing. */
  skippedRounds: number;
  results: number;
  ok: number;
  failed: number;
  written: number;
  /** Rollups (minute, hour, day) written by the rebuild. */
  rollupsWritten: number;
  /** Empty when everything taken reached the store. */
  errors: InvocationProblem[];
  /** The signal aborted the invocation. */
  cancelled: boolean;
  /** Rounds sent to the round queue (dispatch "queue", scheduled invocation only). */
  enqueuedRounds?: number;
  /** What fast routing did after each written round, when it is on. */
  fastRouting?: FastRoutingRoundReport[];
  durationMs: number;
}

/** Thrown by throwIfIncomplete so a Lambda invocation fails and is retried. */
export class InvocationIncompleteError extends Error {
  override readonly name = "InvocationIncompleteError";
  readonly summary: InvocationSummary;

  constructor(summary: InvocationSummary) {
    const [first] = summary.errors;
    super(
      `invocation ${summary.invocationId}: ${summary.errors.length} store problem(s), ` +
        `${summary.results - summary.written} of ${summary.results} results not written` +
        (first ? `; first: ${first.stage} ${first.code}: ${first.message}` : ""),
    );
    this.summary = summary;
  }
}

/** Fails when anything taken did not reach the store; a retry of the same scheduled event is idempotent. */
export function throwIfIncomplete(summary: InvocationSummary): void {
  if (summary.errors.length > 0) throw new InvocationIncompleteError(summary);
}

/** Every target's specs, in config order: the index in this list is part of each result's seq. */
export function probeSpecsOf(config: PopwatchConfig): ProbeSpec[] {
  return config.targets.flatMap(specsForTarget);
}

/**
 * The minutes an invocation rolls up when not told otherwise: from its first
 * slot's minute to the end of its period (or of its last slot's minute, when
 * later). Ending at the period rather than at the last slot's minute matters
 * for rounds every few minutes: the invocation whose period closes an hour is
 * the last to write into it, so its range covers the hour's last minutes (the
 * store marks the hour pending, and compact builds it once it has ended).
 */
export function defaultRollupRange(
  schedule: PopwatchConfig["schedule"],
  scheduledMs: number,
  firstRound: number,
  rounds: number,
): RollupRange {
  const firstSlotMs = roundSlotMs(schedule, scheduledMs, firstRound);
  const lastSlotMs = roundSlotMs(schedule, scheduledMs, Math.max(firstRound, rounds - 1));
  const fromMs = Math.floor(firstSlotMs / MINUTE_MS) * MINUTE_MS;
  const lastMinuteEndMs = Math.floor(lastSlotMs / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  return { fromMs, toMs: Math.max(lastMinuteEndMs, scheduledMs + schedule.rateMinutes * MINUTE_MS) };
}

const abortableSleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
  try {
    await delay(ms, undefined, signal ? { signal } : undefined);
  } catch {
    // Aborted: the caller checks the signal.
  }
};

export async function runInvocation(options: InvocationOptions): Promise<InvocationSummary> {
  const { config, region, store, signal } = options;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? abortableSleep;
  const log = safeLogger(options.logger ?? jsonLinesLogger());
  const parsedScheduledMs = toEpochMs(options.scheduledAt);
  if (parsedScheduledMs === null) throw new RangeError(`scheduledAt ${String(options.scheduledAt)} is not a valid instant`);
  const scheduledMs: number = parsedScheduledMs;
  const scheduledAt = new Date(scheduledMs).toISOString();
  const invocationId = options.invocationId ?? invocationIdFor(region, scheduledMs);
  const rounds = options.rounds ?? config.schedule.roundsPerInvocation;
  const firstRound = options.firstRound ?? 0;
  const marginMs = options.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS;
  const intervalMs = roundIntervalMs(config.schedule);
  const specs = probeSpecsOf(config);
  if (!fitsSequenceRange(rounds, specs.length)) {
    throw new RangeError(`${rounds} rounds of ${specs.length} probes exceed the store's sequence range; use fewer rounds or targets`);
  }
  const roundMs = worstCaseRoundMs(config.schedule, specs.length);
  const identifyPop = createPopIdentifier(config.popIdentification);
  const context = { region, invocationId };
  const started = performance.now();

  const summary: InvocationSummary = {
    invocationId,
    region,
    scheduledAt,
    rounds: 0,
    skippedRounds: 0,
    results: 0,
    ok: 0,
    failed: 0,
    written: 0,
    rollupsWritten: 0,
    errors: [],
    cancelled: false,
    durationMs: 0,
  };
  const skip = (round: number, count: number, reason: string, level: LogEntry["level"] = "warn") => {
    summary.skippedRounds += count;
    log({ level, msg: count === 1 ? "round skipped" : "rounds skipped", ...context, round, rounds: count, reason });
  };

  // A round's alert cycle runs while the loop waits for the next slot, and ends before the next round probes.
  const fast = options.fastRouting
    ? new FastRoutingCheck({ ...options.fastRouting, config, region, store, now, log: (entry) => log({ ...entry, ...context }) })
    : null;
  let fastPending: Promise<void> = Promise.resolve();
  if (fast) summary.fastRouting = [];

  let storeFailed = false;
  for (let round = firstRound; round < rounds; round++) {
    if (signal?.aborted) {
      skip(round, rounds - round, "cancelled", "info");
      break;
    }
    if (storeFailed) {
      skip(round, rounds - round, "an earlier write failed; the invocation will be retried", "error");
      break;
    }
    const slotMs = roundSlotMs(config.schedule, scheduledMs, round);
    const waitMs = slotMs - now();
    // Later slots only leave less time, so the first round that cannot finish ends the invocation.
    if (options.remainingMs() - Math.max(0, waitMs) - marginMs < roundMs) {
      skip(round, rounds - round, `not enough time left for a round (${roundMs} ms plus a ${marginMs} ms margin)`);
      break;
    }
    if (waitMs > 0) {
      await sleep(waitMs, signal);
      if (signal?.aborted) {
        skip(round, rounds - round, "cancelled", "info");
        break;
      }
    }
    const lateMs = now() - slotMs;
    if (lateMs > intervalMs) {
      // Running it now would bunch two rounds together and file this one under a time it did not probe.
      skip(round, 1, `slot passed ${Math.round(lateMs)} ms ago, more than the ${intervalMs} ms round interval`);
      continue;
    }

    // The last round's alerts leave before this round probes, unless that would cost the round its time.
    await settledWithin(fastPending, options.remainingMs() - marginMs - roundMs);
    const report = await runRound(round, slotMs);
    if (fast && report.problem === null) {
      // Chained: rounds are judged one after the other, in slot order, even when one cycle outlasts the wait above.
      fastPending = fastPending
        .then(() => fast.afterRound(round, slotMs, report.results))
        .then(
          (fastReport) => void summary.fastRouting?.push(fastReport),
          // A fault in judging must not cost the rounds: logged, and the next round judges again.
          (err: unknown) => log({ level: "error", msg: "fast routing failed", ...context, round, error: describeError(err) }),
        );
    }
    summary.rounds++;
    summary.results += report.results.length;
    summary.ok += report.ok;
    summary.failed += report.failed;
    summary.written += report.written;
    if (report.problem) {
      summary.errors.push(report.problem);
      storeFailed = true;
    }
    log({
      level: report.problem ? "error" : "info",
      msg: "round",
      ...context,
      round,
      slotAt: report.slotAt,
      lateMs: Math.max(0, Math.round(lateMs)),
      results: report.results.length,
      ok: report.ok,
      failed: report.failed,
      written: report.written,
      probeMs: report.probeMs,
      writeMs: report.writeMs,
      ...(report.problem ? { error: report.problem } : {}),
    });
    try {
      options.onRound?.(report);
    } catch {
      // A display callback must not cost data.
    }
  }
  summary.cancelled = signal?.aborted ?? false;
  // Alongside the rollups, and never past the invocation's time: the outbox keeps whatever is not delivered by then for the evaluator.
  const fastSettled = settledWithin(fastPending, options.remainingMs() - marginMs);

  if (storeFailed) {
    // The store just refused writes after its own retries; rollups would most
    // likely fail too and eat the time left. The retry rebuilds them.
    log({ level: "error", msg: "rollups not rebuilt: a write failed", ...context });
  } else if (rounds > firstRound) {
    await rollUp();
  }
  if (!(await fastSettled)) log({ level: "warn", msg: "fast routing still running at the invocation's end", ...context });

  summary.durationMs = Math.round(performance.now() - started);
  log({
    level: summary.errors.length > 0 ? "error" : summary.skippedRounds > 0 ? "warn" : "info",
    msg: "invocation",
    ...context,
    scheduledAt,
    rounds: summary.rounds,
    skippedRounds: summary.skippedRounds,
    results: summary.results,
    ok: summary.ok,
    failed: summary.failed,
    written: summary.written,
    rollupsWritten: summary.rollupsWritten,
    cancelled: summary.cancelled,
    durationMs: summary.durationMs,
    errors: summary.errors,
  });
  return summary;

  async function runRound(round: number, slotMs: number): Promise<RoundReport> {
    const slotAt = new Date(slotMs).toISOString();
    // Probes the signal cut short measured nothing about the target: leave them out.
    const cancelled = new Set<ProbeResult>();
    const probeStarted = performance.now();
    const taken = await runProbes(specs, {
      ...options.runner,
      concurrency: config.schedule.concurrency,
      timeoutMs: config.schedule.timeoutMs,
      deadlineMs: Math.max(0, options.remainingMs() - marginMs),
      ...(signal ? { signal } : {}),
      identifyPop,
      wallClock: now,
      onResult: (result) => {
        if (signal?.aborted && result.failure?.code === "deadline") cancelled.add(result);
      },
    });
    const probeMs = Math.round(performance.now() - probeStarted);
    const results: StoredResult[] = [];
    taken.forEach((result, index) => {
      if (!cancelled.has(result)) results.push({ ...result, region, slotAt, seq: sequenceNumber(round, specs.length, index) });
    });
    const ok = results.filter((r) => r.ok).length;

    const writeStarted = performance.now();
    let written = 0;
    let problem: InvocationProblem | null = null;
    if (results.length > 0) {
      try {
        await store.putResults({ region, invocationId, results });
        written = results.length;
      } catch (err) {
        const unwritten = err instanceof StoreError ? Math.min(results.length, err.unwrittenItems || results.length) : results.length;
        written = results.length - unwritten;
        problem = { stage: "write", round, ...describeError(err), unwrittenItems: unwritten };
      }
    }
    return {
      round,
      slotAt,
      results,
      ok,
      failed: results.length - ok,
      written,
      probeMs,
      writeMs: Math.round(performance.now() - writeStarted),
      problem,
    };
  }

  async function rollUp(): Promise<void> {
    // By default the whole planned window, not only the rounds that ran: a
    // retry whose slots have all passed still repairs what its first attempt
    // left unbuilt. One call per invocation: every series of the region is in
    // the same minute, hour and day items.
    const requested = typeof options.rollups === "function" ? options.rollups() : options.rollups;
    const range = requested === undefined ? defaultRollupRange(config.schedule, scheduledMs, firstRound, rounds) : requested;
    if (range === null) return;
    try {
      // Marks the hours pending; the evaluator's compact builds their buckets once they end.
      const report = await store.rollUp({ region, granularity: "minute", from: range.fromMs, to: range.toMs });
      summary.rollupsWritten += report.written.length;
    } catch (err) {
      const problem: InvocationProblem = { stage: "rollup", ...describeError(err) };
      summary.errors.push(problem);
      log({ level: "error", msg: "rollup failed", ...context, error: problem });
    }
  }
}

/** Waits for `work` at most `ms` of real time: true when it settled. */
async function settledWithin(work: Promise<void>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  try {
    return await Promise.race([work.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function describeError(err: unknown): { code: string; message: string } {
  if (err instanceof StoreError) return { code: err.code, message: err.message };
  return { code: "internal", message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
}
