// What other packages use. Tests reach the rest (sink classes, format
// builders, failure classification, retry policy) by deep import.
export { type DeliverOptions, type DeliveryOutcome, assertUniqueSinkIds, deliver } from "./deliver";
export { NotifyError, type NotifyErrorCode } from "./errors";
// One undici request without undici's index (bundle size): webhooks here, MRT archive downloads in the agent
export { type HttpRequestOptions, httpRequest } from "./http-request";
export { describeAnycast, describeRouting } from "./sinks/formats";
export { type CreateSinksOptions, createSinks } from "./sinks/index";
export { DETAIL_TYPE_FIRING, DETAIL_TYPE_RESOLVED, EVENT_SOURCE, type Sink } from "./sinks/sink";
