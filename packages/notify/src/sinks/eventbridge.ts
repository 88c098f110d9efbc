// EventBridge: one PutEvents entry per notification, Source "popwatch", the
// notification as Detail. PutEvents answers 200 even when entries fail, so
// FailedEntryCount and each entry's ErrorCode decide, not the status.
import { type EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import type { Notification } from "@popwatch/core";
import { NotifyError } from "../errors";
import { type SendResult, classifyAwsError } from "../failures";
import { EVENT_SOURCE, type Sink, detailTypeOf } from "./sink";

/** PutEvents limit for one entry (detail, detail type, source, resources together). */
export const MAX_EVENT_BYTES = 256 * 1024;

export interface EventBridgeSinkOptions {
  client: EventBridgeClient;
  /** Bus name or ARN. Default "default". */
  busName?: string;
  id?: string;
  timeoutMs?: number;
}

export class EventBridgeSink implements Sink {
  readonly id: string;
  readonly description: string;
  readonly timeoutMs: number;
  private readonly client: EventBridgeClient;
  private readonly busName: string;

  constructor(options: EventBridgeSinkOptions) {
    this.client = options.client;
    this.busName = options.busName ?? "default";
    if (this.busName === "") throw new NotifyError("sink_invalid", "busName must not be empty");
    this.id = options.id ?? `eventbridge:${this.busName}`;
    this.description = `eventbridge ${this.busName}`;
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  async send(notification: Notification, signal: AbortSignal): Promise<SendResult> {
    const detail = JSON.stringify(notification);
    const detailType = detailTypeOf(notification);
    if (Buffer.byteLength(detail) + Buffer.byteLength(detailType) + EVENT_SOURCE.length > MAX_EVENT_BYTES) {
      return { ok: false, code: "invalid_notification", retryable: false, detail: `event larger than ${MAX_EVENT_BYTES} bytes` };
    }
    try {
      const output = await this.client.send(
        new PutEventsCommand({
          Entries: [
            { Source: EVENT_SOURCE, DetailType: detailType, Detail: detail, EventBusName: this.busName, Time: new Date(notification.at) },
          ],
        }),
        { abortSignal: signal },
      );
      const status = output.$metadata.httpStatusCode;
      const failed = output.Entries?.find((entry) => entry.ErrorCode !== undefined && entry.ErrorCode !== null);
      if ((output.FailedEntryCount ?? 0) > 0 || failed !== undefined) {
        const errorCode = failed?.ErrorCode ?? "unknown";
        // Per-entry failures are transient by nature (the request itself was accepted); throttling gets its own code.
        return {
          ok: false,
          code: errorCode === "ThrottlingException" ? "throttled" : "eventbridge_failed_entry",
          retryable: true,
          detail: `PutEvents entry ${errorCode}`,
          ...(status === undefined ? {} : { status }),
        };
      }
      return status === undefined ? { ok: true } : { ok: true, status };
    } catch (err) {
      return classifyAwsError(err, signal.aborted);
    }
  }
}
