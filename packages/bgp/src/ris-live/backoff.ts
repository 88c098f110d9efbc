// Reconnect delays: exponential, capped, with jitter so that many clients
// dropped together (a server restart) do not come back in step.

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

/**
 * The wait before reconnect attempt `attempt` (0 for the first): the
 * exponential step, capped at `maxMs`, then drawn uniformly from its upper
 * half ("equal jitter"), so it never collapses to zero.
 */
export function reconnectDelayMs(attempt: number, options: BackoffOptions, random: number): number {
  const step = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + (step / 2) * random);
}
