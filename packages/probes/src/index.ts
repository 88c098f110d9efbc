// The public surface of @popwatch/probes: what the agent, the CLI and the
// benchmarks use. The package's own tests reach everything else by deep import.

// RIPE Atlas results as popwatch results, and Atlas probes as vantages (used by `popwatch import --format atlas`)
export { atlasVantage, readAtlasProbeArchive } from "./atlas/archive";
export { mapAtlasResult } from "./atlas/map";
export type { AtlasMapOptions } from "./atlas/result";
export {
  ATLAS_UNMAPPED_REASONS,
  type AtlasMappedResult,
  type AtlasMapping,
  type AtlasProbeArchive,
  type AtlasProbeInfo,
  type AtlasUnmappedReason,
} from "./atlas/types";
export { classifyError } from "./classify";
// Errors: a spec that cannot run, and any thrown error as a failure code
export { ProbeSpecError } from "./errors";
// Running probes: specs from a configured target, a batch run with its timeout and concurrency
export { type RunnerOptions, runProbes } from "./runner";
export { specsForTarget } from "./specs";
export type { DnsProbeSpec, DohProbeSpec, DotProbeSpec, HttpProbeSpec, ProbeSpec, TlsProbeSpec } from "./types";
