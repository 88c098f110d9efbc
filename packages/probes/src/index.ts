// The public surface of @popwatch/probes: what the agent, the CLI and the
// benchmarks use. The package's own tests reach everything else by deep import.

export { classifyError } from "./classify";
// Errors: a spec that cannot run, and any thrown error as a failure code
export { ProbeSpecError } from "./errors";
// Running probes: specs from a configured target, a batch run with its timeout and concurrency
export { type RunnerOptions, runProbes } from "./runner";
export { specsForTarget } from "./specs";
export type { DnsProbeSpec, DotProbeSpec, HttpProbeSpec, ProbeSpec, TlsProbeSpec } from "./types";
