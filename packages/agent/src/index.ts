export {
  InvocationIncompleteError,
  ROLLUP_CONCURRENCY,
  probeSpecsOf,
  runInvocation,
  throwIfIncomplete,
  type InvocationOptions,
  type InvocationProblem,
  type InvocationSummary,
  type RoundReport,
} from "./invocation";
export { jsonLinesLogger, safeLogger, withFields, type LogEntry, type LogLevel, type Logger } from "./logger";
export {
  DEFAULT_SAFETY_MARGIN_MS,
  fitsSequenceRange,
  invocationIdFor,
  roundSlotMs,
  sequenceNumber,
  storeRetention,
  worstCaseRoundMs,
} from "./schedule";
export { ConfigFileError, parseJsonText, readConfigJson } from "./config-json";
export { ScheduledEventError, parseScheduledEvent, type ScheduledEvent } from "./event";
