// What other packages use. Tests reach internals by deep import (../src/keys).
export { DynamoAlertStateStore, type DynamoAlertStateStoreOptions } from "./alert-state";
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
export { readRollups, type RollupRead } from "./read-rollups";
