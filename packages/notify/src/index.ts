export { runAlertCycle, deliverPending, type AlertCycleInput, type AlertCycleReport, type DeliverPendingOptions, type PendingDeliveryReport } from "./cycle";
export { assertUniqueSinkIds, deliver, type DeliverOptions, type DeliveryOutcome } from "./deliver";
export { NotifyError, isNotifyError, type NotifyErrorCode } from "./errors";
export {
  DELIVERY_FAILURE_CODES,
  classifyAwsError,
  classifyHttpStatus,
  classifyTransportError,
  describeError,
  retryAfterMs,
  type DeliveryFailureCode,
  type SendFailure,
  type SendResult,
} from "./failures";
export {
  DEFAULT_DELIVERY_RETRY,
  DEFAULT_DELIVERY_RUNTIME,
  backoffDelayMs,
  type DeliveryRetryPolicy,
  type DeliveryRuntime,
} from "./retry";
export { EventBridgeSink, MAX_EVENT_BYTES, type EventBridgeSinkOptions } from "./sinks/eventbridge";
export { describeAnycast, pagerDutyDedupKey, pagerDutyEvent, slackMessage, summaryLine, type PagerDutyEvent, type SlackMessage } from "./sinks/formats";
export { createSinks, type CreateSinksOptions } from "./sinks/index";
export { DETAIL_TYPE_FIRING, DETAIL_TYPE_RESOLVED, EVENT_SOURCE, detailTypeOf, type Sink } from "./sinks/sink";
export { StdoutSink, type StdoutSinkOptions } from "./sinks/stdout";
export { DEFAULT_MAX_REQUEST_BYTES, DEFAULT_MAX_RESPONSE_BYTES, WebhookSink, type WebhookSinkOptions } from "./sinks/webhook";
