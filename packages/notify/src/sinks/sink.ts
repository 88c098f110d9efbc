import type { Notification } from "@popwatch/core";
import type { SendResult } from "../failures";

/** Where notifications go. `send` never throws for a delivery failure: it returns it, classified. */
export interface Sink {
  /** Stable across evaluations (the outbox records delivered sinks by id), e.g. `sinks.0`. */
  readonly id: string;
  /** For reports: `eventbridge default`, `webhook slack https://hooks.slack.com`. */
  readonly description: string;
  /** One attempt. `signal` aborts at the attempt's deadline. */
  send(notification: Notification, signal: AbortSignal): Promise<SendResult>;
  /** Per-attempt deadline. */
  readonly timeoutMs: number;
}

export const EVENT_SOURCE = "popwatch";
export const DETAIL_TYPE_FIRING = "Popwatch Burn-Rate Alert Firing";
export const DETAIL_TYPE_RESOLVED = "Popwatch Burn-Rate Alert Resolved";

export function detailTypeOf(notification: Notification): string {
  return notification.status === "resolved" ? DETAIL_TYPE_RESOLVED : DETAIL_TYPE_FIRING;
}
