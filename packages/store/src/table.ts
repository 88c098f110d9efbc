// Creating the single table. On-demand billing (probe traffic is small and
// steady, alerts read in bursts) and TTL on `expiresAt` where the endpoint
// supports it; dynalite does not, which is why the store has deleteExpired.

import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  type TableDescription,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { StoreError, classifyFailure, describeFailure } from "./errors";
import { PARTITION_KEY, SORT_KEY } from "./keys";

export const EXPIRES_AT_ATTRIBUTE = "expiresAt";

/**
 * The table's definition, one home for createTable (`popwatch table create`)
 * and the StorageStack: string partition and sort keys, on-demand billing,
 * TTL on expiresAt.
 */
export const TABLE_DEFINITION = {
  partitionKey: PARTITION_KEY,
  sortKey: SORT_KEY,
  keyAttributeType: "S",
  billingMode: "PAY_PER_REQUEST",
  timeToLiveAttribute: EXPIRES_AT_ATTRIBUTE,
} as const;

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
        BillingMode: TABLE_DEFINITION.billingMode,
        KeySchema: [
          { AttributeName: TABLE_DEFINITION.partitionKey, KeyType: "HASH" },
          { AttributeName: TABLE_DEFINITION.sortKey, KeyType: "RANGE" },
        ],
        AttributeDefinitions: [
          { AttributeName: TABLE_DEFINITION.partitionKey, AttributeType: TABLE_DEFINITION.keyAttributeType },
          { AttributeName: TABLE_DEFINITION.sortKey, AttributeType: TABLE_DEFINITION.keyAttributeType },
        ],
      }),
    );
  } catch (err) {
    throw asStoreError(`CreateTable ${tableName}`, err);
  }
  await waitForActive(client, tableName, options);
  return { created: true, ttl: await enableTimeToLive(client, tableName) };
}

/**
 * Creates the table unless it exists (tolerating a concurrent creator), and
 * makes sure TTL is on. An existing table with other keys than
 * TABLE_DEFINITION's is refused (store_misconfigured): popwatch's items
 * cannot be written to it.
 */
export async function ensureTable(client: DynamoDBClient, tableName: string, options: TableWaitOptions = {}): Promise<EnsureTableReport> {
  const described = await describeTable(client, tableName);
  if (described !== null) {
    const problem = keySchemaProblem(described);
    if (problem !== null) throw new StoreError("store_misconfigured", `table ${tableName} exists with ${problem}`);
  }
  const status = described === null ? null : (described.TableStatus ?? "UNKNOWN");
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
  const described = await describeTable(client, tableName);
  return described === null ? null : (described.TableStatus ?? "UNKNOWN");
}

async function describeTable(client: DynamoDBClient, tableName: string): Promise<TableDescription | null> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table ?? {};
  } catch (err) {
    if ((err as { name?: unknown }).name === "ResourceNotFoundException") return null;
    throw asStoreError(`DescribeTable ${tableName}`, err);
  }
}

/** What differs from TABLE_DEFINITION's keys, for the message; null when the keys match. */
export function keySchemaProblem(table: Pick<TableDescription, "KeySchema" | "AttributeDefinitions">): string | null {
  const keyOf = (type: "HASH" | "RANGE") => table.KeySchema?.find((key) => key.KeyType === type)?.AttributeName;
  const typeOf = (name: string | undefined) => table.AttributeDefinitions?.find((a) => a.AttributeName === name)?.AttributeType;
  const describe = (type: "HASH" | "RANGE") => {
    const name = keyOf(type);
    return name === undefined ? "none" : `${name} (${typeOf(name) ?? "?"})`;
  };
  const { partitionKey, sortKey, keyAttributeType } = TABLE_DEFINITION;
  const matches =
    keyOf("HASH") === partitionKey &&
    keyOf("RANGE") === sortKey &&
    typeOf(partitionKey) === keyAttributeType &&
    typeOf(sortKey) === keyAttributeType &&
    (table.KeySchema?.length ?? 0) === 2;
  if (matches) return null;
  return (
    `partition key ${describe("HASH")} and sort key ${describe("RANGE")}; ` +
    `popwatch needs partition key ${partitionKey} (${keyAttributeType}) and sort key ${sortKey} (${keyAttributeType})`
  );
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
      current?.AttributeName === TABLE_DEFINITION.timeToLiveAttribute &&
      (current.TimeToLiveStatus === "ENABLED" || current.TimeToLiveStatus === "ENABLING")
    ) {
      return "enabled";
    }
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: TABLE_DEFINITION.timeToLiveAttribute, Enabled: true },
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
