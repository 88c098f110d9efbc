// What other packages use. Tests reach internals by deep import (../src/keys).
export { DynamoAlertStateStore, type DynamoAlertStateStoreOptions } from "./alert-state";
export { decodePayloadText, encodePayloadText } from "./codec";
export { DynamoResultStore, type DynamoResultStoreOptions } from "./dynamo-store";
export { DEFAULT_DATA_DIR, DEFAULT_TABLE_NAME, type EmbeddedStore, type EmbeddedStoreOptions, startEmbeddedStore } from "./embedded";
export { StoreError, type StoreErrorCode, type StoreErrorDetails } from "./errors";
export { type OpenStoreOptions, type OpenedStore, openStore } from "./open";
export { type RollupRead, readRollups } from "./read-rollups";
export { DynamoRoutingRepository, type DynamoRoutingRepositoryOptions, type PutEventsReport } from "./routing";
export { type EnsureTableReport, type TableWaitOptions, ensureTable } from "./table";
export type {
  CompactReport,
  CompactRequest,
  DeleteExpiredReport,
  Instant,
  PeriodRollupQuery,
  ReadStats,
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
  VantagePeriodRollups,
  WriteReport,
} from "./types";
