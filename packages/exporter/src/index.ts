// The public surface of @popwatch/exporter: what the CLI's `exporter` command uses.

// `/metrics` with a store attached: SLO state, alert state and catchment, refreshed in the background
export {
  STORE_METRICS_DEFAULTS,
  type StoreMetrics,
  type StoreMetricsOptions,
  type StoreReadErrorCode,
  createStoreMetrics,
} from "./store-metrics";
export type { StoreMetricsSource } from "./store-read";
export { OTHER_POPS } from "./store-samples";
