export {
  BATCH_WRITE_LIMIT,
  DEFAULT_RETENTION_DAYS,
  DynamoResultStore,
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
  rawPartitionKey,
  rawSortKey,
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
  RebuildRequest,
  ResultBatch,
  ResultQuery,
  ResultStore,
  RollupQuery,
  StoredResult,
  StoredResultRecord,
  WriteReport,
} from "./types";
