// dynalite in memory on 127.0.0.1 with the single table created: for tests
// that need a DynamoDB endpoint but not the embedded store's data directory
// and lock. Used by the alert state tests here and by packages/notify's.
import type { AddressInfo } from "node:net";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import dynalite from "dynalite";
import { ensureTable } from "../../src/table";

export interface MemoryTable {
  client: DynamoDBClient;
  tableName: string;
  endpoint: string;
  /** A second client on the same endpoint, as another process would have. */
  newClient(): DynamoDBClient;
  close(): Promise<void>;
}

export async function startMemoryTable(tableName = "popwatch"): Promise<MemoryTable> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clients: DynamoDBClient[] = [];
  const newClient = (): DynamoDBClient => {
    const client = new DynamoDBClient({
      endpoint,
      region: "local",
      credentials: { accessKeyId: "popwatch-test", secretAccessKey: "popwatch-test" },
      maxAttempts: 1,
    });
    clients.push(client);
    return client;
  };
  const client = newClient();
  await ensureTable(client, tableName, { pollMs: 10, timeoutMs: 10_000 });
  return {
    client,
    tableName,
    endpoint,
    newClient,
    close: async () => {
      for (const c of clients) c.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
