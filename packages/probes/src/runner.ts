import { type Failure, type Pop, type PopEvidence, type ProbeKind, type ProbeResult, formatEndpoint } from "@popwatch/core";
import { classifyError } from "./classify";
import { ProbeFailureError } from "./errors";
import { probeRegistry } from "./registry";
import type { PhaseTimings, ProbeContext, ProbeFn, ProbeRegistry, ProbeSpec } from "./types";
import { validateProbeSpec } from "./validate";

export interface RunnerOptions {
  /** Most probes in flight at once. Default 32. */
  concurrency?: number;
  /** Per-probe timeout in ms. Default 5000. */
  timeoutMs?: number;
  /** Overall deadline in ms from the start of the run; probes not finished by then fail with `deadline`. */
  deadlineMs?: number;
  /** Aborting it ends the run as the deadline would. */
  signal?: AbortSignal;
  /** Turns a probe's evidence into a PoP. Default: none (pop stays null). */
  identifyPop?: (kind: ProbeKind, evidence: PopEvidence) => Pop | null;
  /** Called once per result as soon as it is known, in completion order. */
  onResult?: (result: ProbeResult) => void;
  /** Replaceable for tests. */
  registry?: ProbeRegistry;
  /** Monotonic clock in ns. Default process.hrtime.bigint. */
  clock?: () => bigint;
  /** Wall clock for `startedAt`. Default Date.now. */
  wallClock?: () => number;
}

const DEFAULT_CONCURRENCY = 32;
const DEFAULT_TIMEOUT_MS = 5000;
const NS_PER_MS = 1_000_000;

class AbortReason extends Error {
  readonly code: "timeout" | "deadline";
  constructor(code: "timeout" | "deadline", message: string) {
    super(message);
    this.name = "AbortError";
    this.code = code;
  }
}

function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/**
 * Runs probes with a concurrency limit, a per-probe timeout and an overall
 * deadline, on a monotonic clock. Never rejects because a probe failed: every
 * spec yields exactly one result, in the order given. Rejects with
 * ProbeSpecError, before sending anything, when a spec cannot be run.
 */
export async function runProbes(specs: readonly ProbeSpec[], options: RunnerOptions = {}): Promise<ProbeResult[]> {
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY));
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const clock = options.clock ?? process.hrtime.bigint;
  const wallClock = options.wallClock ?? Date.now;
  const registry = options.registry ?? probeRegistry;
  // Spec faults are thrown before anything is sent; one check per distinct spec object.
  const validated = new Set<ProbeSpec>();
  for (const spec of specs) {
    if (validated.has(spec)) continue;
    validateProbeSpec(spec);
    validated.add(spec);
  }
  const results = new Array<ProbeResult>(specs.length);
  const timeoutNs = BigInt(Math.round(timeoutMs * NS_PER_MS));
  const timeoutReason = new AbortReason("timeout", `no answer within ${timeoutMs} ms`);
  const timeouts = new TimeoutQueue(clock, timeoutReason);

  let deadlineReason: AbortReason | null = null;
  const endRun = (message: string) => {
    if (deadlineReason) return;
    deadlineReason = new AbortReason("deadline", message);
    timeouts.expireAll(deadlineReason);
  };
  const deadlineTimer =
    options.deadlineMs !== undefined && Number.isFinite(options.deadlineMs)
      ? setTimeout(() => endRun(`run deadline of ${options.deadlineMs} ms reached`), Math.max(0, options.deadlineMs))
      : null;
  const onExternalAbort = () => endRun("run cancelled");
  if (options.signal?.aborted) onExternalAbort();
  else options.signal?.addEventListener("abort", onExternalAbort, { once: true });

  // At tens of thousands of probes a second most share a millisecond: reuse its ISO string.
  let isoMs = Number.NaN;
  let iso = "";
  const wallIso = () => {
    const ms = wallClock();
    if (ms !== isoMs) {
      isoMs = ms;
      iso = new Date(ms).toISOString();
    }
    return iso;
  };

  // Settles one probe into its result, then hands it to `done`. Callbacks, not
  // async functions: at tens of thousands of probes a second the promises and
  // frames of an await chain per probe are a visible share of the CPU.
  const startOne = (spec: ProbeSpec, done: (result: ProbeResult) => void): void => {
    // The result is laid out first and doubles as the probe's `facts`, so
    // kind details land beside the common fields without a copy.
    const result = {
      kind: spec.kind,
      target: formatEndpoint(spec.address, spec.port),
      address: spec.address,
      port: spec.port,
      name: spec.name ?? null,
      ok: false,
      startedAt: wallIso(),
      timings: null as unknown as ProbeResult["timings"],
      pop: null as Pop | null,
      failure: null as Failure | null,
    };
    const startNs = clock();
    const finish = (outcome: Failure | null) => {
      let failure = outcome;
      const timings = { totalMs: round3(Number(clock() - startNs) / NS_PER_MS) } as ProbeResult["timings"];
      for (const phase of PHASES) {
        const ms = probe.timings[phase];
        if (typeof ms === "number") timings[phase] = round3(ms);
      }
      if (options.identifyPop) {
        try {
          result.pop = options.identifyPop(spec.kind, probe.evidence);
        } catch (err) {
          // PoP identification is pure and total; reaching here is a bug we report, not a crash.
          failure ??= { code: "internal", message: `PoP identification failed: ${classifyError(err).message}` };
        }
      }
      result.timings = timings;
      result.ok = failure === null;
      result.failure = failure;
      done(result as ProbeResult);
    };
    const probe = new InFlightProbe(clock, startNs + timeoutNs, result as ProbeContext["facts"], finish);
    if (deadlineReason) {
      probe.expire(deadlineReason);
      return;
    }
    timeouts.track(probe);
    probe.start(registry[spec.kind] as ProbeFn<ProbeKind>, spec);
  };

  try {
    await new Promise<void>((resolveRun) => {
      if (specs.length === 0) return resolveRun();
      let next = 0;
      let active = 0;
      let finished = 0;
      let launching = false;
      const launch = () => {
        // A probe that settles while it is being started (the deadline has
        // passed) comes back here: the loop below carries on instead of recursing.
        if (launching) return;
        launching = true;
        while (active < concurrency && next < specs.length) {
          const index = next++;
          active++;
          startOne(specs[index]!, (result) => {
            results[index] = result;
            active--;
            finished++;
            if (options.onResult) {
              try {
                options.onResult(result);
              } catch {
                // A reporting callback must not lose the other results.
              }
            }
            if (finished === specs.length) resolveRun();
            else launch();
          });
        }
        launching = false;
      };
      launch();
    });
  } finally {
    timeouts.close();
    if (deadlineTimer) clearTimeout(deadlineTimer);
    options.signal?.removeEventListener("abort", onExternalAbort);
  }
  return results;
}

/** Runs one probe; see runProbes. */
export async function runProbe(spec: ProbeSpec, options: RunnerOptions = {}): Promise<ProbeResult> {
  const [result] = await runProbes([spec], { ...options, concurrency: 1 });
  return result!;
}

const noop = () => {};

const PHASES = ["connectMs", "tlsMs", "ttfbMs", "transferMs", "rttMs"] as const satisfies readonly (keyof PhaseTimings)[];

/**
 * One running probe and the context it sees. Its outcome settles exactly once:
 * with what the probe returned or threw, or with the abort reason when the
 * timeout or deadline comes first, so a probe that ignores its signal still
 * yields a result on time, and its late answer is ignored.
 *
 * The AbortController is made only when a probe asks for its signal: most of
 * a probe's cost at high rates is EventTarget bookkeeping, and the runner
 * itself needs no listener to end a probe.
 */
class InFlightProbe implements ProbeContext {
  readonly timings: PhaseTimings = {};
  readonly evidence: ProbeContext["evidence"] = {};
  settled = false;
  private controller: AbortController | null = null;
  private abortReason: AbortReason | null = null;
  private abortListeners: ((reason: Error) => void)[] | null = null;

  constructor(
    readonly now: () => bigint,
    readonly deadlineNs: bigint,
    readonly facts: ProbeContext["facts"],
    private readonly onSettled: (failure: Failure | null) => void,
  ) {}

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortReason) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  onAbort(listener: (reason: Error) => void): () => void {
    if (this.abortReason) {
      listener(this.abortReason);
      return noop;
    }
    if (this.settled) return noop;
    this.abortListeners ??= [];
    this.abortListeners.push(listener);
    return () => {
      const listeners = this.abortListeners;
      const index = listeners ? listeners.indexOf(listener) : -1;
      if (index >= 0) listeners!.splice(index, 1);
    };
  }

  msSince(since: bigint): number {
    return Number(this.now() - since) / NS_PER_MS;
  }

  start(probe: ProbeFn<ProbeKind>, spec: ProbeSpec): void {
    let pending: Promise<Failure | null>;
    try {
      pending = probe(spec as never, this as never);
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (failure) => this.settle(failure),
      (err: unknown) => this.settle(failureFromError(err)),
    );
  }

  expire(reason: AbortReason): void {
    if (this.settled) return;
    this.abortReason = reason;
    this.controller?.abort(reason);
    const listeners = this.abortListeners;
    this.abortListeners = null;
    if (listeners) {
      for (const listener of listeners) {
        try {
          listener(reason);
        } catch {
          // A probe's cleanup fault must not keep the others from running or the result from settling.
        }
      }
    }
    this.settle(failureFromAbort(reason));
  }

  private settle(failure: Failure | null): void {
    if (this.settled) return;
    this.settled = true;
    this.onSettled(failure);
  }
}

/**
 * Per-probe timeouts with one timer. Every probe of a run has the same
 * timeout, so deadlines arrive in start order and a FIFO is a priority queue;
 * probes that finished early are skipped when they reach the head.
 */
class TimeoutQueue {
  private queue: InFlightProbe[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly clock: () => bigint,
    private readonly reason: AbortReason,
  ) {}

  track(probe: InFlightProbe): void {
    this.queue.push(probe);
    if (!this.timer) this.arm();
  }

  expireAll(reason: AbortReason): void {
    for (let i = this.head; i < this.queue.length; i++) this.queue[i]!.expire(reason);
    this.queue = [];
    this.head = 0;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
    this.head = 0;
  }

  private arm(): void {
    while (this.head < this.queue.length && this.queue[this.head]!.settled) this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (this.head >= this.queue.length) {
      this.timer = null;
      return;
    }
    const waitMs = Number(this.queue[this.head]!.deadlineNs - this.clock()) / NS_PER_MS;
    this.timer = setTimeout(() => this.fire(), Math.max(0, Math.ceil(waitMs)));
  }

  private fire(): void {
    const now = this.clock();
    while (this.head < this.queue.length) {
      const probe = this.queue[this.head]!;
      if (!probe.settled && probe.deadlineNs > now) break;
      probe.expire(this.reason);
      this.head++;
    }
    this.arm();
  }
}

function failureFromAbort(reason: unknown): Failure {
  if (reason instanceof AbortReason) return { code: reason.code, message: reason.message };
  return { code: "deadline", message: "aborted" };
}

function failureFromError(err: unknown): Failure {
  if (err instanceof ProbeFailureError) return { code: err.code, message: err.message };
  return classifyError(err);
}
