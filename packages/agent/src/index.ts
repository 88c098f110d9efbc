export {
  InvocationIncompleteError,
  defaultRollupRange,
  probeSpecsOf,
  runInvocation,
  throwIfIncomplete,
  type InvocationOptions,
  type InvocationProblem,
  type InvocationSummary,
  type RollupRange,
  type RoundReport,
} from "./invocation";
export { jsonLinesLogger, safeLogger, withFields, type LogEntry, type LogLevel, type Logger } from "./logger";
export {
  DEFAULT_SAFETY_MARGIN_MS,
  fitsSequenceRange,
  invocationIdFor,
  sequenceNumber,
  storeRetention,
} from "./schedule";
export { ConfigFileError, parseJsonText, readConfigJson } from "./config-json";
export { ScheduledEventError, parseScheduledEvent, type ScheduledEvent } from "./event";
export {
  RoundMessageError,
  parseRoundMessage,
  roundQueueEntries,
  sqsRecordsOf,
  type EnqueueFailure,
  type QueuedRecord,
  type RoundMessage,
  type RoundQueue,
  type RoundQueueEntry,
} from "./queue";
export { SQS_BATCH_LIMIT, SqsRoundQueue, type SqsRoundQueueOptions } from "./sqs-round-queue";
export {
  ROLLED_UP_PERIODS,
  ROLLUP_SETTLE_MS,
  periodOf,
  runQueuedRound,
  runScheduled,
  type QueuedRoundOptions,
  type ScheduledRunOptions,
} from "./dispatch";
export {
  alertObservationsOf,
  evaluateSlos,
  evaluationEndMs,
  type LatencySummary,
  type ScopeEvaluation,
  type SloEvaluationOptions,
  type SloEvaluationRun,
} from "./slo-evaluation";
export {
  anycastAlertsEnabled,
  anycastReads,
  evaluateAnycastAlerts,
  type AnycastEvaluationOptions,
  type AnycastEvaluationRun,
} from "./anycast-evaluation";
export { rollupLagMinutes, runEvaluationCycle, type EvaluationCycleOptions, type EvaluationCycleReport } from "./evaluation-cycle";
export { bundledConfigPath, requiredEnv, type Env } from "./lambda-env";
