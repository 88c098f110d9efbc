// Which rounds an invocation runs and which minutes it rolls up, for both
// ways of dispatching rounds (config schedule.dispatch):
//
// inline  The scheduled invocation runs every round of its period and rolls
//         up its own period at the end (it wrote everything in it).
// queue   The scheduled invocation sends rounds 1..n-1 to the queue, runs
//         round 0, then rolls up the PREVIOUS period (and the one before, in
//         case a scheduled event was lost): by now its last round (slot one
//         interval ago, probes shorter than an interval) has been written. A round that finishes within ROLLUP_SETTLE_MS of its
//         period's end, or after it, rolls up its period itself: the roller
//         may already have read the raw items without it. Both write with
//         "never fewer results" conditions, so the fuller rollup wins
//         whichever finishes last.
import { MINUTE_MS, type PopwatchConfig, toEpochMs } from "@popwatch/core";
import { type InvocationOptions, type InvocationProblem, type InvocationSummary, type RollupRange, runInvocation } from "./invocation";
import { type RoundMessage, type RoundQueue, roundQueueEntries } from "./queue";
import { invocationIdFor } from "./schedule";

/**
 * How close to its period's end a queued round must finish to roll the period
 * up itself. It covers the roller's own delay (it rolls up after its round 0)
 * and clock differences between invocations.
 */
export const ROLLUP_SETTLE_MS = 5_000;

/** Periods before its own that a queued scheduled invocation rolls up. */
export const ROLLED_UP_PERIODS = 2;

/** The scheduled period [start, end) an invocation scheduled at `scheduledMs` covers. */
export function periodOf(config: Pick<PopwatchConfig, "schedule">, scheduledMs: number): { startMs: number; endMs: number } {
  return { startMs: scheduledMs, endMs: scheduledMs + config.schedule.rateMinutes * MINUTE_MS };
}

export type ScheduledRunOptions = Omit<InvocationOptions, "rounds" | "firstRound" | "rollups"> & {
  /** Required when config.schedule.dispatch is "queue"; ignored otherwise. */
  queue?: RoundQueue;
};

/** Runs what one scheduled event asks for, inline or queued (see the top of this file). */
export async function runScheduled(options: ScheduledRunOptions): Promise<InvocationSummary> {
  const { config } = options;
  if (config.schedule.dispatch !== "queue" || config.schedule.roundsPerInvocation === 1) {
    return runInvocation(options);
  }
  const { queue } = options;
  if (!queue) throw new Error('schedule.dispatch is "queue" but no round queue was given');
  const scheduledMs = toEpochMs(options.scheduledAt);
  if (scheduledMs === null) throw new RangeError(`scheduledAt ${String(options.scheduledAt)} is not a valid instant`);
  const scheduledAt = new Date(scheduledMs).toISOString();
  const invocationId = options.invocationId ?? invocationIdFor(options.region, scheduledMs);
  const now = options.now ?? Date.now;

  // Enqueue first: round 0 takes a while, and the later rounds' delays count from now.
  const entries = roundQueueEntries(config, { region: options.region, scheduledAt, invocationId }, now());
  let enqueueProblems: InvocationProblem[];
  let enqueuedRounds: number;
  try {
    enqueueProblems = (await queue.send(entries)).map((failure) => ({ stage: "enqueue", ...failure }));
    enqueuedRounds = entries.length - enqueueProblems.length;
  } catch (err) {
    // One problem stands for every round here: none is known to be sent.
    enqueueProblems = [{ stage: "enqueue", code: "internal", message: err instanceof Error ? err.message : String(err) }];
    enqueuedRounds = 0;
  }
  const { startMs } = periodOf(config, scheduledMs);
  // The previous period, and the one before it: when a scheduled event is
  // lost, the period it should have rolled up is still rolled up one period
  // later (about 1 WRU a minute more).
  const previous: RollupRange = { fromMs: startMs - ROLLED_UP_PERIODS * config.schedule.rateMinutes * MINUTE_MS, toMs: startMs };
  const summary = await runInvocation({ ...options, invocationId, rounds: 1, rollups: previous });
  // Failing makes Lambda retry the scheduled event, which sends the rounds again (duplicates overwrite).
  summary.errors.push(...enqueueProblems);
  summary.enqueuedRounds = enqueuedRounds;
  return summary;
}

export type QueuedRoundOptions = Omit<InvocationOptions, "rounds" | "firstRound" | "rollups" | "scheduledAt" | "invocationId" | "region">;

/** Runs one queued round (and rolls up its period when it finished late; see the top of this file). */
export async function runQueuedRound(message: RoundMessage, options: QueuedRoundOptions): Promise<InvocationSummary> {
  const scheduledMs = Date.parse(message.scheduledAt);
  const { startMs, endMs } = periodOf(options.config, scheduledMs);
  const now = options.now ?? Date.now;
  return runInvocation({
    ...options,
    region: message.region,
    scheduledAt: message.scheduledAt,
    invocationId: message.invocationId,
    firstRound: message.round,
    rounds: message.round + 1,
    rollups: () => (now() >= endMs - ROLLUP_SETTLE_MS ? { fromMs: startMs, toMs: endMs } : null),
  });
}
