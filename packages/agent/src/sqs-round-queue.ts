// RoundQueue on SQS: SendMessageBatch (10 entries per request), entries that
// fail are sent again a few times with back-off. Only entries SQS reports as
// sender faults (malformed, too large) are given up at once; anything else may
// be transient.
import { type SQSClient, SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import type { EnqueueFailure, RoundQueue, RoundQueueEntry } from "./queue";

/** SQS's limit on entries per SendMessageBatch. */
export const SQS_BATCH_LIMIT = 10;

export interface SqsRoundQueueOptions {
  client: Pick<SQSClient, "send">;
  queueUrl: string;
  /** Attempts per entry, first included. Default 3. */
  attempts?: number;
  /** Back-off before the second attempt, doubled after. Default 100 ms. */
  backoffMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export class SqsRoundQueue implements RoundQueue {
  private readonly client: Pick<SQSClient, "send">;
  private readonly queueUrl: string;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: SqsRoundQueueOptions) {
    this.client = options.client;
    this.queueUrl = options.queueUrl;
    this.attempts = Math.max(1, options.attempts ?? 3);
    this.backoffMs = options.backoffMs ?? 100;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async send(entries: readonly RoundQueueEntry[]): Promise<EnqueueFailure[]> {
    const failures: EnqueueFailure[] = [];
    for (let start = 0; start < entries.length; start += SQS_BATCH_LIMIT) {
      failures.push(...(await this.sendChunk(entries.slice(start, start + SQS_BATCH_LIMIT))));
    }
    return failures;
  }

  private async sendChunk(chunk: readonly RoundQueueEntry[]): Promise<EnqueueFailure[]> {
    let pending = [...chunk];
    const final: EnqueueFailure[] = [];
    let last = new Map<string, { code: string; message: string }>();
    for (let attempt = 1; attempt <= this.attempts && pending.length > 0; attempt++) {
      if (attempt > 1) await this.sleep(this.backoffMs * 2 ** (attempt - 2));
      last = new Map();
      try {
        const output = await this.client.send(
          new SendMessageBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: pending.map((entry) => ({ Id: entry.id, MessageBody: entry.body, DelaySeconds: entry.delaySeconds })),
          }),
        );
        const failed = new Map((output.Failed ?? []).map((f) => [f.Id ?? "", f]));
        const retry: RoundQueueEntry[] = [];
        for (const entry of pending) {
          const failure = failed.get(entry.id);
          if (!failure) continue;
          const problem = { code: failure.Code ?? "sqs_failed_entry", message: failure.Message ?? "entry not sent" };
          if (failure.SenderFault) final.push({ round: roundOf(entry), ...problem });
          else {
            last.set(entry.id, problem);
            retry.push(entry);
          }
        }
        pending = retry;
      } catch (err) {
        const code = (err as { name?: string; code?: string }).name ?? (err as { code?: string }).code ?? "sqs_error";
        const message = err instanceof Error ? err.message : String(err);
        for (const entry of pending) last.set(entry.id, { code, message });
      }
    }
    for (const entry of pending)
      final.push({ round: roundOf(entry), ...(last.get(entry.id) ?? { code: "sqs_error", message: "not sent" }) });
    return final;
  }
}

function roundOf(entry: RoundQueueEntry): number {
  return Number(entry.id.slice(1));
}
