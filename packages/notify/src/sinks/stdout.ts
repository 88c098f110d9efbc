import type { Notification } from "@popwatch/core";
import type { SendResult } from "../failures";
import { EVENT_SOURCE, type Sink, detailTypeOf } from "./sink";

export interface StdoutSinkOptions {
  /** Default: process.stdout. */
  write?: (line: string) => void;
  id?: string;
}

/** One JSON line per notification, shaped like an EventBridge event, for local runs and log-based alerting. */
export class StdoutSink implements Sink {
  readonly id: string;
  readonly description = "stdout";
  readonly timeoutMs = 1000;
  private readonly write: (line: string) => void;

  constructor(options: StdoutSinkOptions = {}) {
    this.id = options.id ?? "stdout";
    this.write = options.write ?? ((line) => void process.stdout.write(line));
  }

  async send(notification: Notification): Promise<SendResult> {
    this.write(`${JSON.stringify({ source: EVENT_SOURCE, "detail-type": detailTypeOf(notification), detail: notification })}\n`);
    return { ok: true };
  }
}
