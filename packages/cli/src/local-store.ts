// Opening the store for a command. The embedded store (dynalite on LevelDB)
// allows one process per data directory, so `popwatch run` holds it and
// publishes its loopback endpoint in the data directory; `results` and
// `import` started meanwhile talk to that endpoint instead of failing.
import { readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { RetentionDays, RoutingRepository } from "@popwatch/core";
import {
  DEFAULT_TABLE_NAME,
  type DynamoAlertStateStore,
  DynamoRoutingRepository,
  type EmbeddedStore,
  type ResultStore,
  StoreError,
  openStore,
  startEmbeddedStore,
} from "@popwatch/store";

// The SDK warns on Node 20 about its own future releases on every CLI run;
// it says nothing about popwatch, and the CLI supports Node 20.
function quietSdkNodeVersionWarning(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
}

/** Written by `popwatch run` while it holds the data directory: `{ endpoint, pid }`. */
export const ENDPOINT_FILE = "endpoint.json";

export interface OpenStore {
  store: ResultStore;
  /** Alert state, on the same table. */
  alerts: DynamoAlertStateStore;
  /** BGP events, routing snapshots and routing minutes, on the same table. */
  routing: RoutingRepository;
  /** The store's client and table. */
  client: DynamoDBClient;
  tableName: string;
  /** For messages: where the data is. */
  where: string;
  close(): Promise<void>;
}

export interface LocalStoreOptions {
  dataDir: string;
  retentionDays?: RetentionDays;
}

/** Starts the embedded store and publishes its endpoint for other popwatch processes until closed. */
export async function openOwnedStore(options: LocalStoreOptions): Promise<OpenStore> {
  quietSdkNodeVersionWarning();
  const embedded = await startEmbeddedStore({
    dataDir: options.dataDir,
    ...(options.retentionDays ? { retentionDays: options.retentionDays } : {}),
  });
  const endpointFile = join(embedded.dataDir, ENDPOINT_FILE);
  try {
    await writeFile(endpointFile, `${JSON.stringify({ endpoint: embedded.endpoint, pid: process.pid })}\n`);
  } catch (err) {
    await embedded.close();
    throw new StoreError("store_unavailable", `cannot write ${endpointFile}`, { cause: err });
  }
  return openedEmbedded(embedded, options.retentionDays, async () => {
    await rm(endpointFile, { force: true });
    await embedded.close();
  });
}

/**
 * The store `popwatch run` owns: as openOwnedStore, but a directory held for a
 * moment by a reader that publishes no endpoint (`results`, a refresh of
 * `popwatch exporter`) is waited out, up to `waitMs`. A long-lived holder
 * (another run, `bgp listen`) still refuses at once with store_locked.
 */
export function openOwnedStoreWhenFree(options: LocalStoreOptions, waitMs = 10_000): Promise<OpenStore> {
  return retryWhileBrieflyLocked(
    () => openOwnedStore(options),
    async () => (await readEndpoint(resolve(options.dataDir))) === null,
    waitMs,
  );
}

/** The embedded store, or, when a `popwatch run` holds the directory, that run's store over loopback. */
export async function openSharedStore(options: LocalStoreOptions): Promise<OpenStore> {
  quietSdkNodeVersionWarning();
  const dataDir = resolve(options.dataDir);
  try {
    const embedded = await startEmbeddedStore({
      dataDir,
      ...(options.retentionDays ? { retentionDays: options.retentionDays } : {}),
    });
    return openedEmbedded(embedded, options.retentionDays, () => embedded.close());
  } catch (err) {
    if (!(err instanceof StoreError && err.code === "store_locked")) throw err;
    const running = await readEndpoint(dataDir);
    if (running === null) throw err;
    const client = new DynamoDBClient({
      endpoint: running.endpoint,
      region: "local",
      credentials: { accessKeyId: "popwatch-local", secretAccessKey: "popwatch-local" },
      maxAttempts: 1,
    });
    return openedTable(client, DEFAULT_TABLE_NAME, `${dataDir} (through popwatch run, pid ${running.pid})`, options.retentionDays);
  }
}

/**
 * For a command that runs until stopped (`bgp watch`, `bgp listen`): the
 * store it owns and publishes, as `popwatch run` does, so that `bgp events`
 * and `bgp state` can read meanwhile; or, when a `popwatch run` (or another
 * feed) holds the directory, that process's store over loopback. A
 * short-lived reader (`results`, `bgp events`) holds the directory without
 * publishing an endpoint for a moment: that is waited out, up to `waitMs`.
 */
export function openLongLivedStore(options: LocalStoreOptions, waitMs = 10_000): Promise<OpenStore> {
  const ownedOrShared = async () => {
    try {
      return await openOwnedStore(options);
    } catch (err) {
      if (!(err instanceof StoreError && err.code === "store_locked")) throw err;
    }
    return openSharedStore(options);
  };
  // openSharedStore is refused only while the holder publishes no endpoint: a brief holder.
  return retryWhileBrieflyLocked(ownedOrShared, async () => true, waitMs);
}

/** Calls `open` again, with growing pauses up to `waitMs`, while it is refused with store_locked by a holder `isBrief` judges brief. */
async function retryWhileBrieflyLocked(
  open: () => Promise<OpenStore>,
  isBrief: () => Promise<boolean>,
  waitMs: number,
): Promise<OpenStore> {
  const deadline = Date.now() + waitMs;
  for (let pauseMs = 100; ; pauseMs = Math.min(pauseMs * 2, 1000)) {
    try {
      return await open();
    } catch (err) {
      const retry = err instanceof StoreError && err.code === "store_locked" && Date.now() + pauseMs <= deadline && (await isBrief());
      if (!retry) throw err;
    }
    await new Promise((done) => setTimeout(done, pauseMs));
  }
}

/**
 * A DynamoDB table on AWS, or on a DynamoDB-compatible `endpoint` (DynamoDB
 * Local, ScyllaDB Alternator, dynalite). Credentials come from the usual SDK
 * chain either way: a local endpoint needs AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY set to whatever it accepts.
 */
export function openAwsStore(tableName: string, region: string, endpoint?: string, retentionDays?: RetentionDays): OpenStore {
  quietSdkNodeVersionWarning();
  const client = new DynamoDBClient({ region, ...(endpoint === undefined ? {} : { endpoint }) });
  return openedTable(client, tableName, `table ${tableName} (${endpoint ?? region})`, retentionDays);
}

function openedEmbedded(embedded: EmbeddedStore, retentionDays: RetentionDays | undefined, close: () => Promise<void>): OpenStore {
  const { store, alerts, client, dataDir } = embedded;
  const routing = new DynamoRoutingRepository({ client, tableName: store.tableName, ...(retentionDays ? { retentionDays } : {}) });
  return { store, alerts, routing, client, tableName: store.tableName, where: dataDir, close };
}

/** Results and alert state on a table this process reaches through `client`; closing destroys the client. */
function openedTable(client: DynamoDBClient, tableName: string, where: string, retentionDays?: RetentionDays): OpenStore {
  const { results, alerts, routing } = openStore({ client, tableName, ...(retentionDays ? { retentionDays } : {}) });
  return { store: results, alerts, routing, client, tableName, where, close: async () => client.destroy() };
}

async function readEndpoint(dataDir: string): Promise<{ endpoint: string; pid: number } | null> {
  try {
    const parsed = JSON.parse(await readFile(join(dataDir, ENDPOINT_FILE), "utf8")) as { endpoint?: unknown; pid?: unknown };
    if (typeof parsed.endpoint !== "string" || !/^http:\/\/127\.0\.0\.1:\d+$/.test(parsed.endpoint)) return null;
    return { endpoint: parsed.endpoint, pid: typeof parsed.pid === "number" ? parsed.pid : 0 };
  } catch {
    return null;
  }
}
