// Retry budget shared by every request the store sends: exponential backoff
// with full jitter (delay drawn uniformly from [0, min(cap, base·2^n)]), bounded
// both by attempts and by elapsed time, so a Lambda invocation gives up with a
// StoreError well before its own deadline instead of being killed mid-retry.
// The SDK retries on its own as well; this layer exists because the SDK does
// not retry UnprocessedItems, and so that the bound is ours to choose.

import { StoreError, classifyFailure, describeFailure } from "./errors";

export interface RetryPolicy {
  /** Requests per operation, the first one included. */
  maxAttempts: number;
  /** Backoff cap before jitter for the first retry; doubles each retry. */
  baseDelayMs: number;
  /** Largest backoff cap. */
  maxDelayMs: number;
  /** Give up rather than start a wait that would end later than this after the first attempt. */
  maxElapsedMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = {
  maxAttempts: 10,
  baseDelayMs: 50,
  maxDelayMs: 5_000,
  maxElapsedMs: 30_000,
};

/** Clock, sleep and randomness, replaceable so tests run fast and deterministically. */
export interface RetryRuntime {
  sleep(ms: number): Promise<void>;
  random(): number;
  monotonicNow(): number;
}

export const DEFAULT_RETRY_RUNTIME: Readonly<RetryRuntime> = {
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
  monotonicNow: () => performance.now(),
};

export function fullJitterDelayMs(policy: RetryPolicy, retryNumber: number, random: () => number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retryNumber - 1));
  return Math.floor(random() * cap);
}

/** Tracks one operation's attempts against a policy. */
export class RetryBudget {
  attempts = 0;
  private readonly startedAt: number;

  constructor(
    private readonly policy: RetryPolicy,
    private readonly runtime: RetryRuntime,
  ) {
    this.startedAt = runtime.monotonicNow();
  }

  /** Counts an attempt about to be made. */
  recordAttempt(): void {
    this.attempts++;
  }

  /** Waits out the backoff before the next attempt; false (without waiting) when the budget is spent. */
  async backoff(): Promise<boolean> {
    if (this.attempts >= this.policy.maxAttempts) return false;
    const delay = fullJitterDelayMs(this.policy, this.attempts, this.runtime.random);
    if (this.runtime.monotonicNow() - this.startedAt + delay > this.policy.maxElapsedMs) return false;
    await this.runtime.sleep(delay);
    return true;
  }
}

/**
 * Runs one request, retrying what classifyFailure calls retryable. Every
 * failure leaves as a StoreError whose cause is the last SDK error.
 */
export async function sendWithRetry<T>(what: string, request: () => Promise<T>, policy: RetryPolicy, runtime: RetryRuntime): Promise<T> {
  const budget = new RetryBudget(policy, runtime);
  for (;;) {
    budget.recordAttempt();
    try {
      return await request();
    } catch (err) {
      const failure = classifyFailure(err);
      if (!failure.retryable || !(await budget.backoff())) {
        const tries = budget.attempts === 1 ? "1 attempt" : `${budget.attempts} attempts`;
        throw new StoreError(failure.code, `${what} failed after ${tries}: ${describeFailure(err)}`, {
          cause: err,
          attempts: budget.attempts,
        });
      }
    }
  }
}
