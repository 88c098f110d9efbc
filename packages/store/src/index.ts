// What other packages use. Tests reach internals by deep import (../src/keys).
export { DynamoAlertStateStore, type DynamoAlertStateStoreOptions } from "./alert-state";
export { decodePayloadText, encodePayloadText } from "./codec";
export { DynamoResultStore, type DynamoResultStoreOptions } from "./dynamo-store";
export { DEFAULT_DATA_DIR, DEFAULT_TABLE_NAME, type EmbeddedStore, type EmbeddedStoreOptions, startEmbeddedStore } from "./embedded";
export { StoreError, type StoreErrorCode, type StoreErrorDetails } from "./errors";
export {
  type MigrateV2Options,
  type MigrationProgress,
  type MigrationReport,
  type MigrationSkip,
  type MigrationTarget,
  type V2Level,
  migrateFromV2,
} from "./migrate-v2";
export { type OpenStoreOptions, type OpenedStore, openStore } from "./open";
export { type RollupRead, readRollups } from "./read-rollups";
export { DynamoRoutingRepository, type DynamoRoutingRepositoryOptions, type PutEventsReport } from "./routing";
export { type EnsureTableReport, TABLE_DEFINITION, type TableWaitOptions, ensureTable } from "./table";
export {
  ALERT_STATE_TABLE_ACTIONS,
  COMPACTION_TABLE_ACTIONS,
  RESULT_READER_TABLE_ACTIONS,
  RESULT_WRITER_TABLE_ACTIONS,
  tableActionsOf,
} from "./table-access";
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
