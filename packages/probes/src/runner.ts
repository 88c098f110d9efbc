import {
  type Failure,
  type Pop,
  type PopEvidence,
  type ProbeKind,
  type ProbeResult,
  formatEndpoint,
} from "@popwatch/core";
import { classifyError } from "./classify";
import { ProbeFailureError } from "./errors";
import { probeRegistry } from "./registry";
import type { PhaseTimings, ProbeContext, ProbeFn, ProbeRegistry, ProbeSpec } from "./types";

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
 * spec yields exactly one result, in the order given.
 */
export async function runProbes(specs: readonly ProbeSpec[], options: RunnerOptions = {}): Promise<ProbeResult[]> {
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY));
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const clock = options.clock ?? process.hrtime.bigint;
  const wallClock = options.wallClock ?? Date.now;
  const registry = options.registry ?? probeRegistry;
  const results = new Array<ProbeResult>(specs.length);

  // One controller per in-flight probe; the deadline aborts them all.
  const inFlight = new Set<AbortController>();
  let deadlineReason: AbortReason | null = null;
  const endRun = (message: string) => {
    if (deadlineReason) return;
    deadlineReason = new AbortReason("deadline", message);
    for (const controller of inFlight) controller.abort(deadlineReason);
  };
  const deadlineTimer =
    options.deadlineMs !== undefined && Number.isFinite(options.deadlineMs)
      ? setTimeout(() => endRun(`run deadline of ${options.deadlineMs} ms reached`), Math.max(0, options.deadlineMs))
      : null;
  const onExternalAbort = () => endRun("run cancelled");
  if (options.signal?.aborted) onExternalAbort();
  else options.signal?.addEventListener("abort", onExternalAbort, { once: true });

  const runOne = async (spec: ProbeSpec): Promise<ProbeResult> => {
    const startedAt = new Date(wallClock()).toISOString();
    const startNs = clock();
    const controller = new AbortController();
    const ctx: ProbeContext = {
      signal: controller.signal,
      now: clock,
      msSince: (since) => Number(clock() - since) / NS_PER_MS,
      timings: {} as PhaseTimings,
      facts: {},
      evidence: {},
    };

    let failure: Failure | null;
    if (deadlineReason) {
      failure = { code: "deadline", message: (deadlineReason as AbortReason).message };
    } else {
      inFlight.add(controller);
      const timer = setTimeout(
        () => controller.abort(new AbortReason("timeout", `no answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      try {
        failure = await settle(registry[spec.kind] as ProbeFn<ProbeKind>, spec, ctx);
      } finally {
        clearTimeout(timer);
        inFlight.delete(controller);
      }
    }

    const totalMs = round3(Number(clock() - startNs) / NS_PER_MS);
    const timings = { totalMs } as ProbeResult["timings"];
    for (const [phase, ms] of Object.entries(ctx.timings)) {
      if (typeof ms === "number") (timings as unknown as Record<string, number>)[phase] = round3(ms);
    }
    let pop: Pop | null = null;
    if (options.identifyPop) {
      try {
        pop = options.identifyPop(spec.kind, ctx.evidence);
      } catch (err) {
        // PoP identification is pure and total; reaching here is a bug we report, not a crash.
        failure ??= { code: "internal", message: `PoP identification failed: ${classifyError(err).message}` };
      }
    }
    return {
      kind: spec.kind,
      target: formatEndpoint(spec.address, spec.port),
      address: spec.address,
      port: spec.port,
      name: spec.name ?? null,
      ok: failure === null,
      startedAt,
      timings,
      pop,
      failure,
      ...ctx.facts,
    } as ProbeResult;
  };

  let next = 0;
  const worker = async () => {
    while (next < specs.length) {
      const index = next++;
      const result = await runOne(specs[index]!);
      results[index] = result;
      if (options.onResult) {
        try {
          options.onResult(result);
        } catch {
          // A reporting callback must not lose the other results.
        }
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, specs.length) }, worker));
  } finally {
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

/**
 * Awaits a probe, but no longer than its signal allows: a probe that ignores
 * the abort still yields a result on time, and its late rejection is absorbed.
 */
function settle(probe: ProbeFn<ProbeKind>, spec: ProbeSpec, ctx: ProbeContext): Promise<Failure | null> {
  return new Promise<Failure | null>((resolve) => {
    const signal = ctx.signal;
    const onAbort = () => resolve(failureFromAbort(signal.reason));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    let pending: Promise<Failure | null>;
    try {
      pending = probe(spec as never, ctx as never);
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (failure) => {
        signal.removeEventListener("abort", onAbort);
        resolve(signal.aborted ? failureFromAbort(signal.reason) : failure);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        resolve(signal.aborted ? failureFromAbort(signal.reason) : failureFromError(err));
      },
    );
  });
}

function failureFromAbort(reason: unknown): Failure {
  if (reason instanceof AbortReason) return { code: reason.code, message: reason.message };
  return { code: "deadline", message: "aborted" };
}

function failureFromError(err: unknown): Failure {
  if (err instanceof ProbeFailureError) return { code: err.code, message: err.message };
  return classifyError(err);
}
