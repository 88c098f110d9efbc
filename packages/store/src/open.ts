// One table holds results, rollups, alert state and routing. Callers open it here once
// and get every repository on it, instead of pairing a client and a table
// name by hand for each.

import { DynamoAlertStateStore } from "./alert-state";
import { DynamoResultStore, type DynamoResultStoreOptions } from "./dynamo-store";
import { DynamoRoutingRepository } from "./routing";

export type OpenStoreOptions = DynamoResultStoreOptions;

export interface OpenedStore {
  /** Probe results and their rollups. */
  results: DynamoResultStore;
  /** The alert lifecycle's state, outbox and history. */
  alerts: DynamoAlertStateStore;
  /** BGP events, routing snapshots and minutes, and the archive cursors. */
  routing: DynamoRoutingRepository;
  tableName: string;
}

/** The repositories on one table. Nothing is sent: the table must exist (ensureTable, or the stack). */
export function openStore(options: OpenStoreOptions): OpenedStore {
  const { client, tableName } = options;
  return {
    results: new DynamoResultStore(options),
    alerts: new DynamoAlertStateStore({ client, tableName }),
    routing: new DynamoRoutingRepository(options),
    tableName,
  };
}
