// The public surface of @popwatch/agent: what the CLI, the Lambda handlers,
// the stacks and the tests use.

export type { AlertCycleReport } from "./alert-cycle";
export { deployedAlertSinks } from "./alert-sinks";
export { anycastAlertsEnabled } from "./anycast-evaluation";
// BGP: the archive run of the scheduled function, and the ingest pipeline it and the CLI share
export {
  ARCHIVE_FETCH_DEFAULTS,
  type ArchiveFailure,
  type ArchiveFailureCode,
  type ArchiveFetchOptions,
  type ArchiveFileOutcome,
  type ArchiveRunReport,
  type ArchiveRunSummary,
  type MrtEventDecoder,
  fetchArchiveUpdates,
  mrtArchiveEvents,
  summariseArchiveRun,
} from "./bgp-archives";
export { BGP_INGEST_DEFAULTS, type BgpIngestOptions, type BgpIngestReport, type RoutingFold, ingestBgpEvents } from "./bgp-ingest";
// CloudWatch: EMF lines from core's records, and the Logger backed by Powertools
export { type EmfPublisher, type EmfPublisherOptions, powertoolsEmfPublisher } from "./cloudwatch-emf";
export { publishEvaluationMetrics, roundMetricsPublisher } from "./cloudwatch-metrics";
export { ConfigFileError, parseJsonText, readConfigJson } from "./config-json";
// Dispatch: all rounds inline, or round 0 now and the rest through the round queue
export { ROLLUP_SETTLE_MS, runQueuedRound, runScheduled } from "./dispatch";
export {
  type EvaluationCycleReport,
  type EvaluationSummary,
  rollupLagMinutes,
  runEvaluationCycle,
  summariseEvaluation,
} from "./evaluation-cycle";
// The Lambda environment: the scheduled event, the bundled config, required variables
export { parseScheduledEvent } from "./event";
// Fast routing: PoP changes and outages judged and delivered after each round
export { DEFAULT_FAST_DELIVERY, type FastRoutingOptions, type FastRoutingRoundReport, fastRoutingEnabled } from "./fast-routing";
// One probing invocation: its rounds, their results and the rollups they touch
export {
  InvocationIncompleteError,
  type InvocationOptions,
  type InvocationSummary,
  type RoundReport,
  defaultRollupRange,
  probeSpecsOf,
  runInvocation,
  throwIfIncomplete,
} from "./invocation";
export { bundledConfigPath, bundledVrpPath, requiredEnv } from "./lambda-env";
// Structured logs
export { type LogEntry, type Logger, jsonLinesLogger, withFields } from "./logger";
export { type PowertoolsLoggerOptions, powertoolsLogger } from "./powertools-logger";
export { RoundMessageError, type RoundQueue, type RoundQueueEntry, parseRoundMessage, roundQueueEntries, sqsRecordsOf } from "./queue";
// Evaluation: SLO burn rates and anycast conditions, in one cycle that plans and delivers alerts
// Routing alerts: each watched prefix's snapshot judged; the cycle an ingest runs right after it changed a snapshot
export {
  type RoutingAlertCycleOptions,
  type RoutingAlertCycleReport,
  type RoutingAlertSummary,
  type RoutingEvaluationRun,
  type RoutingProblem,
  type RoutingProblemCode,
  type VrpLoad,
  archiveRunFoldedSnapshots,
  evaluateRouting,
  loadVrpFile,
  runRoutingAlertCycle,
  summariseRoutingAlertCycle,
} from "./routing-alerts";
export { DEFAULT_SAFETY_MARGIN_MS, invocationIdFor, storeRetention } from "./schedule";
export { type ScopeEvaluation, evaluateSlos, evaluateSlosFrom, evaluationEndMs, sloReadRanges } from "./slo-evaluation";
export { SQS_BATCH_LIMIT, SqsRoundQueue } from "./sqs-round-queue";
// Vantages: the registry and the config's own, located by their claims
export { type VantageRegistry, readVantages } from "./vantages";
