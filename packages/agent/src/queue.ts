// Queued rounds (schedule.dispatch = "queue"). Lambda bills wall time, so
// rounds spaced 10 s apart inside one invocation pay for ~50 s of waiting every
// minute. Instead the scheduled invocation runs round 0 and sends one SQS
// message per later round, delayed until that round's slot; each message
// starts a short invocation that runs its one round.
//
// Nothing here needs exactly-once delivery. A message carries the scheduled
// time, the invocation id and the round, from which the round's slot, keys
// and seq numbers follow; a duplicate (SQS redelivery, or a retried scheduled
// invocation sending the batch again) probes again and overwrites the same
// items, so nothing is counted twice.
import { MAX_QUEUE_DELAY_SECONDS, type PopwatchConfig, roundSlotMs, toIsoInstant } from "@popwatch/core";

/** The body of one round's message. `v` versions the format so an old message in flight during a deploy is recognised. */
export interface RoundMessage {
  v: 1;
  region: string;
  /** The scheduled event's time, canonical ISO: round 0's slot. */
  scheduledAt: string;
  invocationId: string;
  round: number;
}

export interface RoundQueueEntry {
  /** Unique within one send: `r<round>`. */
  id: string;
  body: string;
  delaySeconds: number;
}

/** Why a round could not be enqueued; the caller logs it and fails the invocation so it is retried. */
export interface EnqueueFailure {
  round: number;
  code: string;
  message: string;
}

/** Where the later rounds go (SQS in Lambda; anything that delays and delivers in tests). */
export interface RoundQueue {
  /** Sends the entries; resolves with the ones that could not be sent after retries (empty when all went). */
  send(entries: readonly RoundQueueEntry[]): Promise<EnqueueFailure[]>;
}

export class RoundMessageError extends Error {
  override readonly name = "RoundMessageError";
  readonly code = "round_message_invalid";
}

/**
 * One entry per round after round 0. The delay is rounded up to a whole
 * second (SQS's unit): a round starts at most a second after its slot, never
 * before, so it can not overlap the previous round.
 */
export function roundQueueEntries(
  config: Pick<PopwatchConfig, "schedule">,
  message: Omit<RoundMessage, "v" | "round">,
  nowMs: number,
): RoundQueueEntry[] {
  const scheduledMs = Date.parse(message.scheduledAt);
  if (!Number.isFinite(scheduledMs)) throw new RangeError(`scheduledAt ${message.scheduledAt} is not a valid instant`);
  const entries: RoundQueueEntry[] = [];
  for (let round = 1; round < config.schedule.roundsPerInvocation; round++) {
    const untilSlotMs = roundSlotMs(config.schedule, scheduledMs, round) - nowMs;
    const delaySeconds = Math.min(MAX_QUEUE_DELAY_SECONDS, Math.max(0, Math.ceil(untilSlotMs / 1000)));
    const body: RoundMessage = {
      v: 1,
      region: message.region,
      scheduledAt: message.scheduledAt,
      invocationId: message.invocationId,
      round,
    };
    entries.push({ id: `r${round}`, body: JSON.stringify(body), delaySeconds });
  }
  return entries;
}

/** Validates a message body; throws RoundMessageError naming the field that is off. */
export function parseRoundMessage(body: string): RoundMessage {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new RoundMessageError(`round message is not JSON: ${JSON.stringify(body.slice(0, 80))}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new RoundMessageError("round message is not an object");
  const fields = value as Record<string, unknown>;
  if (fields.v !== 1) throw new RoundMessageError(`round message version ${JSON.stringify(fields.v)} is not 1`);
  for (const name of ["region", "scheduledAt", "invocationId"] as const) {
    if (typeof fields[name] !== "string" || fields[name] === "") throw new RoundMessageError(`round message ${name} is missing`);
  }
  const scheduledAt = toIsoInstant(fields.scheduledAt as string);
  if (scheduledAt === null)
    throw new RoundMessageError(`round message scheduledAt ${JSON.stringify(fields.scheduledAt)} is not an instant`);
  const round = fields.round;
  if (typeof round !== "number" || !Number.isInteger(round) || round < 1) {
    throw new RoundMessageError(`round message round ${JSON.stringify(round)} is not an integer ≥ 1`);
  }
  return { v: 1, region: fields.region as string, scheduledAt, invocationId: fields.invocationId as string, round };
}

/** One SQS record as Lambda delivers it (the fields the handler reads). */
export interface QueuedRecord {
  messageId: string;
  body: string;
}

/** The records of an SQS event, or null when the event is not one. */
export function sqsRecordsOf(event: unknown): QueuedRecord[] | null {
  if (typeof event !== "object" || event === null || !Array.isArray((event as { Records?: unknown }).Records)) return null;
  const records = (event as { Records: unknown[] }).Records;
  if (records.length === 0) return null;
  const out: QueuedRecord[] = [];
  for (const record of records) {
    if (typeof record !== "object" || record === null) return null;
    const { eventSource, messageId, body } = record as Record<string, unknown>;
    if (eventSource !== "aws:sqs" || typeof messageId !== "string" || typeof body !== "string") return null;
    out.push({ messageId, body });
  }
  return out;
}
