export { classifyError } from "./classify";
export { ProbeFailureError, ProbeSpecError } from "./errors";
export { probeRegistry } from "./registry";
export { runProbe, runProbes, type RunnerOptions } from "./runner";
export { validateProbeSpec } from "./validate";
export type {
  ChaosIdentity,
  DnsProbeSpec,
  HttpProbeSpec,
  PhaseTimings,
  ProbeContext,
  ProbeFn,
  ProbeRegistry,
  ProbeSpec,
  SpecByKind,
  TcpProbeSpec,
  TlsProbeSpec,
  TrustOptions,
} from "./types";
export { compileDnsSpec, type CompiledDnsSpec } from "./dns/spec";
export { inspectDnsResponse, parseDnsMessage, type DnsMessage, type DnsParseResult, type ResponseVerdict } from "./dns/wire";
export { specsForTarget } from "./specs";
