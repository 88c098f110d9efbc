// Creating the single table. On-demand billing (probe traffic is small and
// steady, alerts read in bursts) and TTL on `expiresAt` where the endpoint
// supports it; dynalite does not, which is why the store has deleteExpired.

import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { StoreError, classifyFailure, describeFailure } from "./errors";
import { PARTITION_KEY, SORT_KEY } from "./keys";

export const EXPIRES_AT_ATTRIBUTE = "expiresAt";

export interface EnsureTableReport {
  created: boolean;
  /** `unsupported`: the endpoint has no TTL (dynalite); call deleteExpired periodically instead. */
  ttl: "enabled" | "unsupported";
}

export interface TableWaitOptions {
  /** Give up waiting for ACTIVE after this long. Default 120 s (AWS usually needs a few seconds). */
  timeoutMs?: number;
  pollMs?: number;
}

/** Creates the table (or fails with StoreError), waits until it is ACTIVE, then enables TTL where supported. */
export async function createTable(client: DynamoDBClient, tableName: string, options: TableWaitOptions = {}): Promise<EnsureTableReport> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: "PAY_PER_REQUEST",
        KeySchema: [
          { AttributeName: PARTITION_KEY, KeyType: "HASH" },
          { AttributeName: SORT_KEY, KeyType: "RANGE" },
        ],
        AttributeDefinitions: [
          { AttributeName: PARTITION_KEY, AttributeType: "S" },
          { AttributeName: SORT_KEY, AttributeType: "S" },
        ],
      }),
    );
  } catch (err) {
    throw asStoreError(`CreateTable ${tableName}`, err);
  }
  await waitForActive(client, tableName, options);
  return { created: true, ttl: await enableTimeToLive(client, tableName) };
}

/** Creates the table unless it exists (tolerating a concurrent creator), and makes sure TTL is on. */
export async function ensureTable(client: DynamoDBClient, tableName: string, options: TableWaitOptions = {}): Promise<EnsureTableReport> {
  const status = await tableStatus(client, tableName);
  if (status === null) {
    try {
      return await createTable(client, tableName, options);
    } catch (err) {
      // Someone else created it between our DescribeTable and CreateTable.
      if (!(err instanceof StoreError && (err.cause as { name?: unknown } | undefined)?.name === "ResourceInUseException")) throw err;
    }
  }
  await waitForActive(client, tableName, options);
  return { created: false, ttl: await enableTimeToLive(client, tableName) };
}

async function tableStatus(client: DynamoDBClient, tableName: string): Promise<string | null> {
  try {
    const described = await client.send(new DescribeTableCommand({ TableName: tableName }));
    return described.Table?.TableStatus ?? "UNKNOWN";
  } catch (err) {
    if ((err as { name?: unknown }).name === "ResourceNotFoundException") return null;
    throw asStoreError(`DescribeTable ${tableName}`, err);
  }
}

async function waitForActive(client: DynamoDBClient, tableName: string, options: TableWaitOptions): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  for (;;) {
    const status = await tableStatus(client, tableName);
    if (status === "ACTIVE") return;
    if (Date.now() >= deadline) {
      throw new StoreError("store_unavailable", `table ${tableName} is ${status ?? "missing"}, not ACTIVE, after waiting`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 250));
  }
}

async function enableTimeToLive(client: DynamoDBClient, tableName: string): Promise<EnsureTableReport["ttl"]> {
  try {
    const described = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    const current = described.TimeToLiveDescription;
    if (
      current?.AttributeName === EXPIRES_AT_ATTRIBUTE &&
      (current.TimeToLiveStatus === "ENABLED" || current.TimeToLiveStatus === "ENABLING")
    ) {
      return "enabled";
    }
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: EXPIRES_AT_ATTRIBUTE, Enabled: true },
      }),
    );
    return "enabled";
  } catch (err) {
    if (isUnsupportedOperation(err)) return "unsupported";
    throw asStoreError(`enabling TTL on ${tableName}`, err);
  }
}

// dynalite answers operations it does not implement with UnknownOperationException.
function isUnsupportedOperation(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return name === "UnknownOperationException" || name === "UnsupportedOperationException";
}

function asStoreError(what: string, err: unknown): StoreError {
  const { code } = classifyFailure(err);
  return new StoreError(code, `${what} failed: ${describeFailure(err)}`, { cause: err });
}
