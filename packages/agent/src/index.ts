// The public surface of @popwatch/agent: what the CLI, the Lambda handlers,
// the stacks and the tests use.

// One probing invocation: its rounds, their results and the rollups they touch
export {
  InvocationIncompleteError,
  defaultRollupRange,
  probeSpecsOf,
  runInvocation,
  throwIfIncomplete,
  type InvocationOptions,
  type InvocationSummary,
  type RoundReport,
} from "./invocation";
export { DEFAULT_SAFETY_MARGIN_MS, invocationIdFor, storeRetention } from "./schedule";

// Dispatch: all rounds inline, or round 0 now and the rest through the round queue
export { ROLLUP_SETTLE_MS, runQueuedRound, runScheduled } from "./dispatch";
export { RoundMessageError, parseRoundMessage, roundQueueEntries, sqsRecordsOf, type RoundQueue, type RoundQueueEntry } from "./queue";
export { SQS_BATCH_LIMIT, SqsRoundQueue } from "./sqs-round-queue";

// Evaluation: SLO burn rates and anycast conditions, in one cycle that plans and delivers alerts
export { evaluateSlos, evaluateSlosFrom, evaluationEndMs, sloReadRanges, type ScopeEvaluation } from "./slo-evaluation";
export { anycastAlertsEnabled } from "./anycast-evaluation";
export type { AlertCycleReport } from "./alert-cycle";
export { rollupLagMinutes, runEvaluationCycle, summariseEvaluation, type EvaluationCycleReport, type EvaluationSummary } from "./evaluation-cycle";

// The Lambda environment: the scheduled event, the bundled config, required variables
export { parseScheduledEvent } from "./event";
export { ConfigFileError, parseJsonText, readConfigJson } from "./config-json";
export { bundledConfigPath, requiredEnv } from "./lambda-env";

// Structured logs
export { jsonLinesLogger, withFields, type LogEntry, type Logger } from "./logger";
