// Errors notify throws: configuration and programmer faults only. A failed
// delivery is not thrown; it is an outcome with a DeliveryFailureCode.

export type NotifyErrorCode =
  /** A sink cannot be built as configured (bad URL, PagerDuty without a routing key, …). */
  | "sink_invalid"
  /** Options passed to deliver or deliverPending are unusable (bad retry policy, duplicate sink ids, …). */
  | "options_invalid";

export class NotifyError extends Error {
  override readonly name = "NotifyError";
  readonly code: NotifyErrorCode;

  constructor(code: NotifyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
