// The public surface of @popwatch/core: what the other packages use. Core's own
// tests reach everything else by deep import (../src/...).

// Alerts: lifecycle, anycast conditions, state and outbox contracts
export {
  type AlertEventDetail,
  type AlertKey,
  type AlertKeyFields,
  type AlertObservation,
  type AlertOutbox,
  type AlertPlan,
  type AlertRule,
  type AlertScopeEntry,
  type AlertState,
  type AlertStateRepository,
  type AlertStatus,
  type AlertSubject,
  type AlertTransition,
  type AlertingConfig,
  type AnycastAlertDetail,
  type AnycastAlertEvaluation,
  type ApplyPlanReport,
  type DeliveryClaim,
  FAST_ROUTING_CONDITIONS,
  type FastRoutingCondition,
  type Notification,
  POOLED_SCOPE,
  type PendingNotification,
  ROUTING_SCOPE,
  type RoundOutcome,
  type RoutingAlertConfig,
  type RoutingAlertDetail,
  type SinkConfig,
  type StoredAlertState,
  type WebhookFormat,
  alertEventDetailSchema,
  alertKeyString,
  alertStateSchema,
  alertSubject,
  alertTransitionSchema,
  anycastAlertObservations,
  anycastAlertSeverities,
  anycastReadRanges,
  decodeAlertKey,
  describeAlertKey,
  encodeAlertKey,
  fastRoutingHistoryRounds,
  fastRoutingObservations,
  fastRoutingSeverities,
  mergeNotificationParts,
  notificationPart,
  planAlerts,
  roundOutcome,
  roundOutcomes,
  routingAlertDetailSchema,
  routingAlertObservations,
  routingAlertSeverity,
} from "./alerts/index";
export { type Catchment, catchment, catchmentSpan } from "./analytics/catchment";
export {
  CATCHMENT_GROUP_BYS,
  type CatchmentGroup,
  type CatchmentGroupBy,
  UNKNOWN_GROUP,
  groupCatchments,
  vantageGroup,
} from "./analytics/catchment-groups";
export {
  type ClaimedLocationFinding,
  type ClaimedLocationReport,
  type MislocatedVantage,
  type MislocationReason,
  claimedLabel,
  claimedLocationCheck,
} from "./analytics/claimed-location";
export { type DetourItem, detourAudit } from "./analytics/detour";
export { type Blip, type ConvergenceSli, type Failover, type Outage, analyzeFailovers, convergenceSli } from "./analytics/failover";
// Anycast analytics: catchments, failovers, detours, speed-of-light checks
export type { RegionalResult } from "./analytics/input";
export { DEFAULT_LIGHT_MARGIN_KM, FIBER_KM_PER_MS, impossibleRtts, lightBoundMs, minRtts } from "./analytics/light";
export { compareStrings } from "./compare";
export { DEFAULT_EXPORTER_LISTEN, DEFAULT_EXPORTER_PORT, parseListenAddress } from "./config/exporter";
// A config with OpenSLO files: the loader reads them, this joins their SLOs to `slos`
export {
  type ConfigWithSloOrigins,
  type SloOrigin,
  openSloPathsOf,
  parseConfigWithOpenSlo,
} from "./config/openslo-config";
// Configuration: the schema, and the schedule math the agent and the deployment share
export {
  LAST_ROUND_WRITE_MARGIN_MS,
  lastRoundDeadlineMs,
  probesPerRound,
  roundIntervalMs,
  roundSlotMs,
  worstCaseRoundMs,
} from "./config/schedule";
export {
  type ExporterConfig,
  type ExporterModuleConfig,
  MAX_QUEUE_DELAY_SECONDS,
  type PopwatchConfig,
  type PopwatchConfigInput,
  type TargetConfig,
  defineConfig,
  parseConfig,
  targetSchema,
  wantsDnssec,
} from "./config/schema";
// Shared units, order and errors
export { ConfigError, VrpFileError } from "./errors";
export { AWS_REGION_LOCATIONS } from "./geo/aws-regions";
// Where PoPs and regions are
export { type PopCatalogue, airportLocation, createPopCatalogue } from "./geo/catalogue";
export { greatCircleKm } from "./geo/distance";
export type { GeoPoint } from "./geo/types";
// What the Lambda functions publish to CloudWatch (EMF) and the dashboard drawn over it
export {
  CLOUDWATCH_DIMENSIONS,
  CLOUDWATCH_NAMESPACE,
  type CloudWatchMetricSpec,
  type CloudWatchRecord,
  type CloudWatchUnit,
  EMF_LIMITS,
  EVALUATION_CLOUDWATCH_METRICS,
  type EvaluationRecordsInput,
  PROBE_CLOUDWATCH_METRICS,
  type PopMemory,
  evaluationRecords,
  probeRoundRecords,
  splitRecordValues,
} from "./metrics/cloudwatch";
export {
  type DashboardInput,
  type DashboardLayout,
  type DashboardSeries,
  type DashboardWidget,
  cloudWatchDashboardLayout,
  searchExpression,
} from "./metrics/cloudwatch-dashboard";
// Metric names and labels popwatch exposes to Prometheus (exporter, rules, dashboards)
export {
  type MetricSpec,
  PROBE_DNS_METRICS,
  PROBE_INFO_METRICS,
  PROBE_SLO_GOOD,
  SCRAPE_LABELS,
  STORE_METRICS,
} from "./metrics/exporter-metrics";
// PoP identification
export { createPopIdentifier } from "./pop/identify";
export type { PopIdentificationConfig } from "./pop/schema";
// Probe results and their failure codes
export {
  type CertificateFacts,
  type DetailsByKind,
  type DnsAnswer,
  type DnsDetails,
  type DnsTransport,
  type DnssecFacts,
  type DohDetails,
  type DotDetails,
  type Failure,
  type FailureCode,
  MAX_RESULT_SEQ,
  PROBE_KINDS,
  type Pop,
  type PopEvidence,
  type ProbeKind,
  type ProbeResult,
  type ProbeResultOf,
  type RrsigFacts,
  type Timings,
  type TlsSessionFacts,
  formatEndpoint,
  isFailureCode,
} from "./result";
export {
  DEFAULT_RETENTION_DAYS,
  type RetainedKind,
  type RetainedRange,
  type RetentionDays,
  earliestRetainedMs,
  expiresAtSeconds,
  resolveRetentionDays,
  retainedRange,
} from "./retention";
export { DEFAULT_COMPACTION_GRACE_MS, dayOfHour, duePeriods, marksPending, periodOpen } from "./rollup/compaction";
// Rollups: periods, per-series aggregates, latency sketches, window reads
export {
  PERIOD_MS,
  ROLLUP_GRANULARITIES,
  type RollupGranularity,
  isCoarser,
  periodKey,
  periodStartMs,
  periodsOverlapping,
  toEpochMs,
  toIsoInstant,
} from "./rollup/period";
export { type RollupNeeds, type RollupSpan, RollupView, fallbackReads, planRollupReads } from "./rollup/read-model";
export {
  type Rollup,
  type RollupOf,
  type SeriesKey,
  canonicalRollup,
  completeRollup,
  isRollup,
  mergeRollups,
  mergeSamePeriodRollups,
  resultSeriesTarget,
  resultTime,
  rollupMinute,
  rollupPeriod,
  rollupResults,
  unrollupableReason,
} from "./rollup/rollup";
export { mergeSketches, quantile, sketchCount, sketchFromLatencies } from "./rollup/sketch";
export { type LatencySummary, type PopShare, latencySummary, popShares } from "./rollup/summary";
export { type PeriodRange, mergePeriodReads, periodInRanges, windowPeriods } from "./rollup/windows";
export {
  ARCHIVE_INTERVAL_MS,
  ARCHIVE_PLAN_DEFAULTS,
  ARCHIVE_PUBLISH_DELAY_MS,
  type ArchiveCursor,
  type ArchiveCursorRepository,
  type ArchiveFile,
  type ArchivePlanOptions,
  archiveFileUrl,
  archiveFilesToFetch,
  mayGiveUpArchiveFile,
  newestPublishedFileMs,
} from "./routing/archives";
export { type BgpBurst, type BurstKind, type PeerChurn, bgpBursts, pathChurn } from "./routing/churn";
// Routing: the BGP events every reader yields
export {
  BGP_DEFAULTS,
  type BgpConfig,
  COLLECTOR_ARCHIVES,
  type CollectorArchive,
  DEFAULT_ARCHIVES,
  DEFAULT_BMP_PORT,
  DEFAULT_RIS_LIVE_URL,
  type WatchedPrefix,
} from "./routing/config";
export {
  type FailoverRouteConvergence,
  type RegionRouteConvergence,
  type RouteConvergence,
  type RouteConvergenceInput,
  isWithdrawal,
  routeConvergence,
} from "./routing/convergence-m2";
export {
  type BgpTimeline,
  type CorrelatedEvent,
  DATA_PLANE_EVENT_TYPES,
  type DataPlaneEvent,
  type DataPlaneEventType,
  type DataPlaneSources,
  type RoutingCorrelationInput,
  bgpTimeline,
  compareBgpEvents,
  correlateRouting,
  dataPlaneEvents,
  sortBgpEvents,
} from "./routing/correlate";
export type { BgpEvent, PeerStateEvent, RouteEvent, RouteEventType, RouteOriginAttribute } from "./routing/event";
export {
  ROUTING_CONDITIONS,
  type RouteCondition,
  type RouteFinding,
  type RoutingAssessment,
  type RoutingCondition,
  type RoutingExample,
  type RoutingFinding,
  type RoutingFindingOptions,
  type RoutingPeerRef,
  type VisibilityFinding,
  type WatchedExpectations,
  routingAssessment,
  routingFindings,
} from "./routing/findings";
export { type RoutingMinutesResult, routingMinutes, visibilityOf } from "./routing/minutes";
export {
  type Prefix,
  type PrefixProblem,
  canonicalPrefix,
  formatAddress,
  formatPrefix,
  parseAddress,
  parsePrefix,
  prefixContains,
  prefixContainsAddress,
  prefixOf,
} from "./routing/prefix";
export type { BgpEventQuery, RoutingMinute, RoutingPeer, RoutingRepository, RoutingSnapshot } from "./routing/repository";
export { type RpkiValidity, type Vrp, type VrpIndex, indexVrps, loadVrpIndex, parseVrps, rpkiValidity } from "./routing/rpki";
export { type WatchedPrefixRef, applyBgpEvents } from "./routing/state";
export { ALERT_SEVERITIES } from "./severity";
export { type EventCounts, burnRate } from "./slo/budget";
export { type FiringAlert, type SloEvaluation, evaluateSlo, poolCounts } from "./slo/evaluate";
// SLOs: model, windows and rules, budgets and burn rates, evaluation
export type { SliConfig, SloConfig, SloConfigInput } from "./slo/model";
// For config authors: an OpenSLO v1 document as one of `slos` (README, examples/openslo-slo.yaml), and files of them.
export { type OpenSloEntry, type OpenSloFile, parseOpenSlo, parseOpenSloFiles } from "./slo/openslo";
export {
  type PrometheusAlertingRule,
  type PrometheusRecordingRule,
  type PrometheusRuleGroup,
  type PrometheusRules,
  type PrometheusRulesOptions,
  SLO_ALERT_NAME,
  prometheusRules,
} from "./slo/prometheus-rules";
export {
  type Rational,
  compare as compareRational,
  divide as divideRational,
  parseDecimal,
  rational,
  toNumber as rationalToNumber,
} from "./slo/rational";
export {
  ALERT_WINDOWS,
  SLO_PERIODS,
  type SloPeriod,
  WINDOW_MS,
  type WindowName,
  alertRulesFor,
  isSloPeriod,
  isWindowName,
} from "./slo/rules";
export { sloCountsFromRollups } from "./slo/sli";
export { DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS } from "./time";
// Vantages: AWS regions, self-hosted agents, imported RIPE Atlas probes
export {
  type ClaimedLocation,
  VANTAGE_NAME_PATTERN,
  VANTAGE_SOURCES,
  type Vantage,
  type VantageSource,
  atlasVantageName,
  claimedPoint,
  configuredVantage,
  evaluatedRegions,
  knownVantages,
  vantageLocations,
} from "./vantage";
