export { DynamoAlertStateStore, type DynamoAlertStateStoreOptions } from "./alert-state";
export { cascadePeriods, periodsOverlapping, type CascadePeriods } from "./cascade";
export {
  MAX_DECODED_BYTES,
  PAYLOAD_CODECS,
  WRITE_CODEC,
  decodePayload,
  decodePayloadText,
  dictionaryDigest,
  encodePayloadText,
  isPayloadCodec,
  type PayloadCodec,
} from "./codec";
export {
  BATCH_WRITE_LIMIT,
  DEFAULT_RETENTION_DAYS,
  DynamoResultStore,
  MAX_PAYLOAD_BYTES,
  type DynamoResultStoreOptions,
  type RetentionDays,
} from "./dynamo-store";
export {
  DEFAULT_DATA_DIR,
  DEFAULT_TABLE_NAME,
  startEmbeddedStore,
  type EmbeddedStore,
  type EmbeddedStoreOptions,
} from "./embedded";
export {
  StoreError,
  classifyFailure,
  describeFailure,
  isStoreError,
  type FailureClass,
  type StoreErrorCode,
  type StoreErrorDetails,
} from "./errors";
export {
  MAX_SEQ,
  escapeKeyPart,
  periodOfRollupKey,
  rawPartitionKey,
  rawSortKey,
  rollupItemKey,
  rollupPartitionKey,
  seriesKeyPart,
  unescapeKeyPart,
} from "./keys";
export { DEFAULT_RETRY_POLICY, fullJitterDelayMs, type RetryPolicy, type RetryRuntime } from "./retry";
export { EXPIRES_AT_ATTRIBUTE, createTable, ensureTable, type EnsureTableReport, type TableWaitOptions } from "./table";
export type {
  DeleteExpiredReport,
  Instant,
  RebuildReport,
  RegionRollupQuery,
  RegionRollups,
  ResultBatch,
  ResultQuery,
  ResultStore,
  RollUpRequest,
  RollupQuery,
  StoredResult,
  StoredResultRecord,
  WriteReport,
} from "./types";
export { readRollups, type RollupRead } from "./read-rollups";
