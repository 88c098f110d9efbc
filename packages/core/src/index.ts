export { ConfigError, PopwatchCoreError, type CoreErrorCode } from "./errors";
export { compareStrings } from "./compare";
export { DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS } from "./time";
export {
  FAILURE_CODES,
  PROBE_KINDS,
  formatEndpoint,
  isFailureCode,
  type CertificateFacts,
  type DetailsByKind,
  type DnsAnswer,
  type DnsDetails,
  type Failure,
  type FailureCode,
  type HttpDetails,
  type Pop,
  type PopEvidence,
  type PopSource,
  type ProbeKind,
  type ProbeResult,
  type ProbeResultOf,
  type ResultBase,
  type TcpDetails,
  type Timings,
  type TlsDetails,
} from "./result";
export {
  BUILTIN_POP_HEADERS,
  BUILTIN_POP_PATTERNS,
  MAX_MATCHED_EVIDENCE_LENGTH,
  MAX_POP_ID_LENGTH,
  canonicalPopId,
  compilePopIdentification,
  createPopIdentifier,
  identifyPop,
  normalizeFingerprint,
  parsePopIdentification,
  popIdentificationSchema,
  popRuleSchema,
  popSourceSchema,
  type BuiltinPopExample,
  type BuiltinPopPattern,
  type CompiledPopIdentification,
  type PopIdentification,
  type PopIdentificationConfig,
  type PopRule,
} from "./pop";
export * from "./rollup/index";
export * from "./slo/index";
export * from "./alerts/index";
export * from "./analytics/index";
export * from "./geo/index";
export {
  configSchema,
  defineConfig,
  dnsProbeOptionsSchema,
  httpProbeOptionsSchema,
  parseConfig,
  retentionSchema,
  MAX_QUEUE_DELAY_SECONDS,
  scheduleSchema,
  targetSchema,
  tcpProbeOptionsSchema,
  tlsProbeOptionsSchema,
  type DnsProbeOptions,
  type HttpProbeOptions,
  type PopwatchConfig,
  type PopwatchConfigInput,
  type TargetConfig,
  type TlsProbeOptions,
} from "./config/schema";
export {
  LAST_ROUND_WRITE_MARGIN_MS,
  lastRoundDeadlineMs,
  probesPerRound,
  roundIntervalMs,
  roundSlotMs,
  worstCaseRoundMs,
  type RoundBudget,
  type RoundSpacing,
} from "./config/schedule";
export { popCatalogueEntrySchema, type PopCatalogueEntry } from "./geo/schema";
export type { AlertSeverity } from "./severity";
