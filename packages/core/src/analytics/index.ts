export { catchment, type Catchment, type CatchmentOptions, type DominantChange } from "./catchment";
export { ANALYTICS_DEFAULTS, analyticsConfigSchema, anycastAlertsConfigSchema, type AnalyticsConfig, type AnycastAlertsConfig } from "./config";
export { detourAudit, type DetourItem, type DetourOptions, type DetourReport } from "./detour";
export {
  analyzeFailovers,
  convergenceSli,
  type Blip,
  type ConvergenceSli,
  type Failover,
  type FailoverAnalysis,
  type FailoverOptions,
  type Outage,
} from "./failover";
export type { AnalyticsInstant, AnalyticsWindow, RegionalResult } from "./input";
export {
  DEFAULT_LIGHT_MARGIN_KM,
  FIBER_KM_PER_MS,
  impossibleRtts,
  minRtts,
  rttMeasureMs,
  type ImpossibleRtt,
  type ImpossibleRttOptions,
  type MinRtt,
} from "./light";
export type { MissingLocation } from "./locate";
export { detectFlapping, popChangesPerHour, type FlapFinding, type HourlyPopChanges } from "./pop-changes";
