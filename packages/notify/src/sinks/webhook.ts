// Webhook sinks over undici's request: generic JSON (the notification as is),
// Slack, PagerDuty Events v2. The status decides: 2xx delivered, 429 and 5xx
// retried, any other answer refused for good. The response body is read up
// to a cap and discarded (it says nothing we act on, and an endless body must
// not hold the evaluation).
import type { Notification, WebhookFormat } from "@popwatch/core";
import type { Dispatcher } from "undici";
import { NotifyError } from "../errors";
import { type SendResult, classifyHttpStatus, classifyTransportError, retryAfterMs } from "../failures";
import { httpRequest } from "../http-request";
import { pagerDutyEvent, slackMessage } from "./formats";
import type { Sink } from "./sink";

export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024;
/** PagerDuty Events API v2 refuses payloads over 512 KB; the same cap keeps any webhook request bounded. */
export const DEFAULT_MAX_REQUEST_BYTES = 512 * 1024;

export interface WebhookSinkOptions {
  url: string;
  format?: WebhookFormat;
  /** PagerDuty integration key (required for format pagerduty). */
  routingKey?: string;
  headers?: Record<string, string>;
  /** Per attempt, connect to response headers. Default 5000. */
  timeoutMs?: number;
  id?: string;
  /** Default: undici's global dispatcher. */
  dispatcher?: Dispatcher;
  maxResponseBytes?: number;
  /** Larger request bodies are refused (invalid_notification) without being sent. Default DEFAULT_MAX_REQUEST_BYTES. */
  maxRequestBytes?: number;
  /** Epoch ms, for Retry-After dates. */
  now?: () => number;
}

export class WebhookSink implements Sink {
  readonly id: string;
  readonly description: string;
  readonly timeoutMs: number;
  readonly format: WebhookFormat;
  private readonly url: URL;
  private readonly routingKey: string | undefined;
  private readonly headers: Record<string, string>;
  private readonly dispatcher: Dispatcher | undefined;
  private readonly maxResponseBytes: number;
  private readonly maxRequestBytes: number;
  private readonly now: () => number;

  constructor(options: WebhookSinkOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch (err) {
      throw new NotifyError("sink_invalid", "url: expected an http:// or https:// URL", { cause: err });
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new NotifyError("sink_invalid", "url: expected an http:// or https:// URL");
    this.format = options.format ?? "json";
    if (this.format === "pagerduty" && !options.routingKey)
      throw new NotifyError("sink_invalid", "routingKey: is required when format is pagerduty");
    this.url = url;
    this.routingKey = options.routingKey;
    this.headers = { ...options.headers };
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.dispatcher = options.dispatcher;
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
    if (!(Number.isSafeInteger(this.maxRequestBytes) && this.maxRequestBytes > 0))
      throw new NotifyError("sink_invalid", "maxRequestBytes: expected a positive integer");
    this.now = options.now ?? Date.now;
    // Origin only, in the id and the description alike: paths of Slack and other webhooks carry their secret.
    this.id = options.id ?? `webhook:${this.format}:${url.origin}`;
    this.description = `webhook ${this.format} ${url.origin}`;
  }

  /** The request body this sink sends for a notification. */
  body(notification: Notification): unknown {
    if (this.format === "slack") return slackMessage(notification);
    if (this.format === "pagerduty") return pagerDutyEvent(notification, this.routingKey!);
    return notification;
  }

  async send(notification: Notification, signal: AbortSignal): Promise<SendResult> {
    const body = JSON.stringify(this.body(notification));
    // Refused here rather than by the receiver: its 413 would be a 4xx all the same, after uploading the whole body.
    if (Buffer.byteLength(body) > this.maxRequestBytes) {
      return {
        ok: false,
        code: "invalid_notification",
        retryable: false,
        detail: `request body larger than ${this.maxRequestBytes} bytes`,
      };
    }
    let response: Dispatcher.ResponseData;
    try {
      response = await httpRequest(this.url, {
        method: "POST",
        headers: { "user-agent": "popwatch", ...this.headers, "content-type": "application/json" },
        body,
        signal,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        ...(this.dispatcher === undefined ? {} : { dispatcher: this.dispatcher }),
      });
    } catch (err) {
      return classifyTransportError(err, signal.aborted);
    }
    // The status is the answer; a body that stalls or breaks afterwards changes nothing.
    await discardCapped(response.body, this.maxResponseBytes).catch(() => undefined);
    return classifyHttpStatus(response.statusCode, retryAfterMs(response.headers["retry-after"], this.now()));
  }
}

async function discardCapped(body: Dispatcher.ResponseData["body"], maxBytes: number): Promise<void> {
  let read = 0;
  for await (const chunk of body) {
    read += (chunk as Buffer).length;
    if (read > maxBytes) {
      body.destroy();
      return;
    }
  }
}
