// The public surface of @popwatch/exporter: what the CLI's `exporter` command uses.

// The server: /probe (blackbox_exporter's contract), /metrics, and its one setup error
export { ExporterError, type ExporterErrorCode } from "./errors";
export type { Collector } from "./self-metrics";
export { type ExporterOptions, type RunningExporter, startExporter } from "./server";
// `/metrics` with a store attached: SLO state, alert state and catchment, refreshed in the background
export {
  STORE_METRICS_DEFAULTS,
  type StoreLease,
  type StoreMetrics,
  type StoreMetricsOptions,
  type StoreReadErrorCode,
  createStoreMetrics,
} from "./store-metrics";
export type { StoreMetricsSource } from "./store-read";
export { OTHER_POPS } from "./store-samples";
