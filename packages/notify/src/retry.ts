// Retry budget for one notification at one sink: exponential backoff with
// full jitter (delay uniform in [0, min(cap, base·2^(n−1))], AWS Architecture
// Blog, "Exponential Backoff And Jitter"), never shorter than a Retry-After
// the receiver asked for, bounded by attempts and by elapsed time so an
// evaluation ends well inside its Lambda timeout. Anything not delivered
// stays in the outbox for the next evaluation.
import { NotifyError } from "./errors";

export interface DeliveryRetryPolicy {
  /** Attempts per notification and sink, the first one included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Do not start a wait that would end later than this after the first attempt. */
  maxElapsedMs: number;
}

export const DEFAULT_DELIVERY_RETRY: Readonly<DeliveryRetryPolicy> = {
  maxAttempts: 4,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  maxElapsedMs: 20_000,
};

/** Clock, sleep and randomness, replaceable so tests run fast and deterministically. */
export interface DeliveryRuntime {
  sleep(ms: number): Promise<void>;
  random(): number;
  monotonicNow(): number;
  /** Epoch ms, for Retry-After dates. */
  now(): number;
}

export const DEFAULT_DELIVERY_RUNTIME: Readonly<DeliveryRuntime> = {
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
  monotonicNow: () => performance.now(),
  now: Date.now,
};

export function backoffDelayMs(policy: DeliveryRetryPolicy, retryNumber: number, random: () => number, retryAfterMs?: number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retryNumber - 1));
  const jittered = Math.floor(random() * cap);
  return retryAfterMs === undefined ? jittered : Math.max(jittered, Math.min(retryAfterMs, policy.maxDelayMs));
}

export function resolveRetryPolicy(partial: Partial<DeliveryRetryPolicy> | undefined): DeliveryRetryPolicy {
  const policy = { ...DEFAULT_DELIVERY_RETRY, ...Object.fromEntries(Object.entries(partial ?? {}).filter(([, v]) => v !== undefined)) };
  for (const [name, value] of Object.entries(policy)) {
    if (!(Number.isFinite(value) && value >= 0)) throw new NotifyError("options_invalid", `retry.${name} must be a non-negative number`);
  }
  if (policy.maxAttempts < 1) throw new NotifyError("options_invalid", "retry.maxAttempts must be at least 1");
  return policy;
}
