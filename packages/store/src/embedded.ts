// The default store when no AWS table is configured: dynalite (DynamoDB on
// LevelDB) in this process, on loopback, with its data on disk, driven by the
// very same DynamoResultStore as production.
//
// LevelDB allows one process per directory. dynalite opens its database lazily
// and, when the directory is locked, fails later inside a request with an
// uncaught exception that kills the process. So the lock is checked here first,
// and held: `<dataDir>/dynamo.lock` is a tiny LevelDB this process keeps open
// for the store's lifetime. The OS drops it when the process dies, so there is
// no stale lock file to clean up after a crash.

import { mkdir } from "node:fs/promises";
import type { Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { DynamoAlertStateStore } from "./alert-state";
import type { DynamoResultStore, DynamoResultStoreOptions } from "./dynamo-store";
import { StoreError } from "./errors";
import { openStore } from "./open";
import { ensureTable } from "./table";

export const DEFAULT_DATA_DIR = ".popwatch";
export const DEFAULT_TABLE_NAME = "popwatch";

export interface EmbeddedStoreOptions extends Omit<DynamoResultStoreOptions, "client" | "tableName"> {
  /** Data lives in `<dataDir>/dynamo`. Default `.popwatch` (relative to the working directory). */
  dataDir?: string;
  tableName?: string;
  /** Loopback port; 0 (default) picks a free one. */
  port?: number;
}

export interface EmbeddedStore {
  store: DynamoResultStore;
  /** Alert state on the same table. */
  alerts: DynamoAlertStateStore;
  /** The client the store uses, pointed at the embedded endpoint. */
  client: DynamoDBClient;
  /** `http://127.0.0.1:<port>`: any DynamoDB client can use it while the store is open. */
  endpoint: string;
  /** Absolute path of the data directory. */
  dataDir: string;
  /** Stops the server, flushes and closes the database, releases the lock. Idempotent. */
  close(): Promise<void>;
}

interface LevelDatabase {
  open(): Promise<void>;
  close(): Promise<void>;
}
type LevelConstructor = new (location: string, options?: { createIfMissing?: boolean }) => LevelDatabase;

/**
 * Starts the embedded store. Rejects with StoreError `store_locked` when
 * another process (or another embedded store in this one) has the data
 * directory open, and `store_unavailable` when it cannot be started.
 */
export async function startEmbeddedStore(options: EmbeddedStoreOptions = {}): Promise<EmbeddedStore> {
  const dataDir = resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  const databaseDir = join(dataDir, "dynamo");
  const lockDir = join(dataDir, "dynamo.lock");
  try {
    await mkdir(dataDir, { recursive: true });
  } catch (err) {
    throw new StoreError("store_unavailable", `cannot create data directory ${dataDir}`, { cause: err });
  }

  // Loaded here, not at import: a Lambda bundle imports this package without
  // dynalite, and must not fail at cold start for a store it never starts.
  const { default: dynalite } = await import("dynalite");
  // `level` is dynalite's own dependency: resolve it from dynalite so both use the same LevelDB binding.
  const requireFromDynalite = createRequire(createRequire(import.meta.url).resolve("dynalite"));
  const { Level } = requireFromDynalite("level") as { Level: LevelConstructor };
  const lock = await openLevel(Level, lockDir, dataDir);
  // Also catches a process that opened the database without our lock (e.g. a dynalite CLI on the same directory).
  try {
    const probe = await openLevel(Level, databaseDir, dataDir);
    await probe.close();
  } catch (err) {
    await lock.close().catch(() => undefined);
    throw err;
  }

  const server = dynalite({ path: databaseDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  let client: DynamoDBClient | undefined;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      client?.destroy();
      await new Promise<void>((done) => server.close(() => done()));
      await lock.close().catch(() => undefined);
    })();
    return closed;
  };

  try {
    await listen(server, options.port ?? 0);
    const { port } = server.address() as AddressInfo;
    const endpoint = `http://127.0.0.1:${port}`;
    // One attempt per SDK call: the store's own retry loop decides, so a dead
    // local server is reported within the store's budget, not the SDK's.
    client = new DynamoDBClient({
      endpoint,
      region: "local",
      credentials: { accessKeyId: "popwatch-local", secretAccessKey: "popwatch-local" },
      maxAttempts: 1,
    });
    const tableName = options.tableName ?? DEFAULT_TABLE_NAME;
    await ensureTable(client, tableName, { pollMs: 10, timeoutMs: 10_000 });
    const { dataDir: _dataDir, tableName: _tableName, port: _port, ...storeOptions } = options;
    const { results, alerts } = openStore({ ...storeOptions, client, tableName });
    return { store: results, alerts, client, endpoint, dataDir, close };
  } catch (err) {
    await close();
    if (err instanceof StoreError) throw err;
    throw new StoreError("store_unavailable", `cannot start the embedded store in ${dataDir}`, { cause: err });
  }
}

async function openLevel(Level: LevelConstructor, location: string, dataDir: string): Promise<LevelDatabase> {
  const db = new Level(location, { createIfMissing: true });
  try {
    await db.open();
    return db;
  } catch (err) {
    const codes = [(err as { code?: unknown }).code, (err as { cause?: { code?: unknown } }).cause?.code];
    if (codes.includes("LEVEL_LOCKED")) {
      throw new StoreError("store_locked", `data directory ${dataDir} is in use by another popwatch process`, { cause: err });
    }
    throw new StoreError("store_unavailable", `cannot open the database in ${location}`, { cause: err });
  }
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((done, fail) => {
    const onError = (err: Error): void => fail(err);
    server.once("error", onError);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", onError);
      done();
    });
  });
}
