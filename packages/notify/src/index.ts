// What other packages use. Tests reach the rest (sink classes, format
// builders, failure classification, retry policy) by deep import.
export { assertUniqueSinkIds, deliver, type DeliverOptions, type DeliveryOutcome } from "./deliver";
export { NotifyError, type NotifyErrorCode } from "./errors";
export { describeAnycast } from "./sinks/formats";
export { createSinks, type CreateSinksOptions } from "./sinks/index";
export { DETAIL_TYPE_FIRING, DETAIL_TYPE_RESOLVED, EVENT_SOURCE, type Sink } from "./sinks/sink";
