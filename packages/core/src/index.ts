// The public surface of @popwatch/core: what the other packages use. Core's own
// tests reach everything else by deep import (../src/...).

// Probe results and their failure codes
export {
  MAX_RESULT_SEQ,
  PROBE_KINDS,
  formatEndpoint,
  isFailureCode,
  type CertificateFacts,
  type DetailsByKind,
  type DnsAnswer,
  type Failure,
  type FailureCode,
  type Pop,
  type PopEvidence,
  type ProbeKind,
  type ProbeResult,
  type ProbeResultOf,
  type Timings,
} from "./result";

// Configuration: the schema, and the schedule math the agent and the deployment share
export {
  MAX_QUEUE_DELAY_SECONDS,
  defineConfig,
  parseConfig,
  targetSchema,
  type PopwatchConfig,
  type PopwatchConfigInput,
  type TargetConfig,
} from "./config/schema";
export {
  LAST_ROUND_WRITE_MARGIN_MS,
  lastRoundDeadlineMs,
  probesPerRound,
  roundIntervalMs,
  roundSlotMs,
  worstCaseRoundMs,
} from "./config/schedule";

// PoP identification
export { createPopIdentifier } from "./pop/identify";
export type { PopIdentificationConfig } from "./pop/schema";

// Where PoPs and regions are
export { airportLocation, createPopCatalogue, type PopCatalogue } from "./geo/catalogue";
export { AWS_REGION_LOCATIONS } from "./geo/aws-regions";
export { greatCircleKm } from "./geo/distance";

// Rollups: periods, per-series aggregates, latency sketches, window reads
export {
  PERIOD_MS,
  ROLLUP_GRANULARITIES,
  isCoarser,
  periodKey,
  periodStartMs,
  toEpochMs,
  toIsoInstant,
  type RollupGranularity,
} from "./rollup/period";
export {
  canonicalRollup,
  isRollup,
  mergeRollups,
  resultSeriesTarget,
  resultTime,
  rollupMinute,
  rollupPeriod,
  rollupResults,
  unrollupableReason,
  type Rollup,
  type RollupOf,
  type SeriesKey,
} from "./rollup/rollup";
export { mergeSketches, quantile, sketchCount, sketchFromLatencies } from "./rollup/sketch";
export { mergePeriodReads, windowPeriods, type PeriodRange } from "./rollup/windows";
export { RollupView, fallbackReads, planRollupReads, type RollupNeeds, type RollupSpan } from "./rollup/read-model";
export { latencySummary, popShares, type LatencySummary, type PopShare } from "./rollup/summary";
export {
  buildsUnbuiltHoursFirst,
  finerGranularity,
  periodsOverlapping,
  periodsToRebuild,
  planRollUp,
  unbuiltHours,
  type RollUpPlan,
} from "./rollup/cascade";
export { DEFAULT_RETENTION_DAYS, earliestRetainedMs, expiresAtSeconds, resolveRetentionDays, type RetainedKind, type RetentionDays } from "./retention";

// SLOs: model, windows and rules, budgets and burn rates, evaluation
export type { SliConfig, SloConfig, SloConfigInput } from "./slo/model";
export {
  ALERT_WINDOWS,
  SLO_PERIODS,
  WINDOW_MS,
  alertRulesFor,
  isSloPeriod,
  isWindowName,
  type SloPeriod,
  type WindowName,
} from "./slo/rules";
export { burnRate, type EventCounts } from "./slo/budget";
export {
  compare as compareRational,
  divide as divideRational,
  parseDecimal,
  rational,
  toNumber as rationalToNumber,
  type Rational,
} from "./slo/rational";
export { evaluateSlo, poolCounts, type FiringAlert, type SloEvaluation } from "./slo/evaluate";
export { sloCountsFromRollups } from "./slo/sli";
// For config authors: an OpenSLO v1 document as one of `slos` (README, examples/openslo-slo.yaml).
export { parseOpenSlo } from "./slo/openslo";

// Anycast analytics: catchments, failovers, detours, speed-of-light checks
export type { RegionalResult } from "./analytics/input";
export { catchment, type Catchment } from "./analytics/catchment";
export { analyzeFailovers, convergenceSli, type Blip, type ConvergenceSli, type Failover, type Outage } from "./analytics/failover";
export { detourAudit, type DetourItem } from "./analytics/detour";
export { impossibleRtts, minRtts } from "./analytics/light";

// Alerts: lifecycle, anycast conditions, state and outbox contracts
export {
  POOLED_SCOPE,
  alertEventDetailSchema,
  alertKeyString,
  alertStateSchema,
  alertSubject,
  decodeAlertKey,
  describeAlertKey,
  encodeAlertKey,
  alertTransitionSchema,
  anycastAlertObservations,
  anycastAlertSeverities,
  anycastReadRanges,
  mergeNotificationParts,
  notificationPart,
  planAlerts,
  type AlertEventDetail,
  type AlertKey,
  type AlertKeyFields,
  type AlertSubject,
  type AlertObservation,
  type AlertOutbox,
  type AlertPlan,
  type AlertRule,
  type AlertScopeEntry,
  type AlertState,
  type AlertStateRepository,
  type AlertStatus,
  type AlertTransition,
  type AlertingConfig,
  type AnycastAlertDetail,
  type AnycastAlertEvaluation,
  type ApplyPlanReport,
  type DeliveryClaim,
  type Notification,
  type PendingNotification,
  type SinkConfig,
  type StoredAlertState,
  type WebhookFormat,
} from "./alerts/index";

// Shared units, order and errors
export { ConfigError } from "./errors";
export { DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS } from "./time";
export { compareStrings } from "./compare";
export { ALERT_SEVERITIES } from "./severity";
