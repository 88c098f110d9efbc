// What other packages use. Tests reach internals by deep import (../src/keys).
export { DynamoAlertStateStore, type DynamoAlertStateStoreOptions } from "./alert-state";
// Still imported through the index by test/alert-state.test.ts.
export { OUTBOX_PARTITION, statePartitionKey } from "./alert-state";
export { decodePayloadText, encodePayloadText } from "./codec";
export { DynamoResultStore, type DynamoResultStoreOptions } from "./dynamo-store";
export { DEFAULT_DATA_DIR, DEFAULT_TABLE_NAME, startEmbeddedStore, type EmbeddedStore, type EmbeddedStoreOptions } from "./embedded";
export { StoreError, type StoreErrorCode, type StoreErrorDetails } from "./errors";
export { openStore, type OpenStoreOptions, type OpenedStore } from "./open";
export { ensureTable, type EnsureTableReport, type TableWaitOptions } from "./table";
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
// Retention is core's decision; the store's options take it in these terms.
export { DEFAULT_RETENTION_DAYS, type RetentionDays } from "@popwatch/core";
