// Sends notifications to sinks with retries. Every notification × sink pair
// ends in an outcome: delivered, or failed with a DeliveryFailureCode and
// whether a later attempt could succeed. Nothing here throws for a failed
// delivery; the outbox keeps what is not delivered for the next evaluation.
import { type Notification, alertEventDetailSchema } from "@popwatch/core";
import { NotifyError } from "./errors";
import { type DeliveryFailureCode, type SendResult, describeError } from "./failures";
import { DEFAULT_DELIVERY_RUNTIME, type DeliveryRetryPolicy, type DeliveryRuntime, backoffDelayMs, resolveRetryPolicy } from "./retry";
import type { Sink } from "./sinks/sink";

export interface DeliverOptions {
  retry?: Partial<DeliveryRetryPolicy>;
  runtime?: Partial<DeliveryRuntime>;
}

interface OutcomeBase {
  notificationId: string;
  sinkId: string;
  /** Requests made, retries included (0 when the notification was refused before sending). */
  attempts: number;
  status?: number;
}

export type DeliveryOutcome =
  | (OutcomeBase & { ok: true })
  | (OutcomeBase & { ok: false; code: DeliveryFailureCode; retryable: boolean; detail: string });

/** Outcomes in notification order, then sink order. Sinks run in parallel; each sink gets the notifications in order. */
export async function deliver(
  notifications: readonly Notification[],
  sinks: readonly Sink[],
  options: DeliverOptions = {},
): Promise<DeliveryOutcome[]> {
  const policy = resolveRetryPolicy(options.retry);
  const runtime: DeliveryRuntime = { ...DEFAULT_DELIVERY_RUNTIME, ...options.runtime };
  assertUniqueSinkIds(sinks);
  const checked = notifications.map((notification) => {
    const parsed = alertEventDetailSchema.safeParse(notification);
    if (parsed.success) return { notification: parsed.data, problem: null };
    const issue = parsed.error.issues[0]!;
    return { notification, problem: `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}` };
  });
  const perSink = await Promise.all(
    sinks.map(async (sink) => {
      const outcomes: DeliveryOutcome[] = [];
      for (const { notification, problem } of checked) {
        const notificationId = String((notification as { notificationId?: unknown }).notificationId ?? "");
        if (problem !== null) {
          outcomes.push({
            notificationId,
            sinkId: sink.id,
            attempts: 0,
            ok: false,
            code: "invalid_notification",
            retryable: false,
            detail: problem,
          });
        } else {
          outcomes.push(await sendWithRetry(sink, notification, policy, runtime));
        }
      }
      return outcomes;
    }),
  );
  return checked.flatMap((_, index) => perSink.map((outcomes) => outcomes[index]!));
}

async function sendWithRetry(
  sink: Sink,
  notification: Notification,
  policy: DeliveryRetryPolicy,
  runtime: DeliveryRuntime,
): Promise<DeliveryOutcome> {
  const started = runtime.monotonicNow();
  const base = { notificationId: notification.notificationId, sinkId: sink.id };
  for (let attempts = 1; ; attempts++) {
    let result: SendResult;
    try {
      result = await sink.send(notification, AbortSignal.timeout(sink.timeoutMs));
    } catch (err) {
      // A sink is not supposed to throw; report it as this pair's outcome rather than abandon the others.
      result = { ok: false, code: "unexpected", retryable: false, detail: describeError(err) };
    }
    const status = result.status === undefined ? {} : { status: result.status };
    if (result.ok) return { ...base, attempts, ok: true, ...status };
    const failed = {
      ...base,
      attempts,
      ok: false as const,
      code: result.code,
      retryable: result.retryable,
      detail: result.detail,
      ...status,
    };
    if (!result.retryable || attempts >= policy.maxAttempts) return failed;
    const delay = backoffDelayMs(policy, attempts, runtime.random, result.retryAfterMs);
    if (runtime.monotonicNow() - started + delay > policy.maxElapsedMs) return failed;
    await runtime.sleep(delay);
  }
}

export function assertUniqueSinkIds(sinks: readonly Sink[]): void {
  const seen = new Set<string>();
  for (const sink of sinks) {
    if (seen.has(sink.id))
      throw new NotifyError("options_invalid", `two sinks share the id "${sink.id}"; delivery records could not tell them apart`);
    seen.add(sink.id);
  }
}
