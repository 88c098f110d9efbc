// The public surface of @popwatch/exporter: what the CLI's `exporter` command uses.
export { ExporterError, type ExporterErrorCode } from "./errors";
export type { Collector } from "./self-metrics";
export { type ExporterOptions, type RunningExporter, startExporter } from "./server";
