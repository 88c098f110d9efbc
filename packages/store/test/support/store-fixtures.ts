// Shared fixtures for the store tests: temp data dirs, result builders, raw
// item reads, and client middleware that injects DynamoDB faults.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AttributeValue,
  type BatchWriteItemCommandInput,
  type BatchWriteItemCommandOutput,
  type DynamoDBClient,
  QueryCommand,
  ScanCommand,
} from "@aws-sdk/client-dynamodb";
import type { FailureCode, ProbeKind } from "@popwatch/core";
import type { StoredResult } from "../../src/index";
import { minutePartitionKey, minuteSortKey, rawPartitionKey, writerKey, writerShard } from "../../src/keys";
import type { RetryPolicy } from "../../src/retry";

/** The raw partition of an agent's (a vantage's) results of one hour (`YYYY-MM-DDTHH`). */
export function regionRawPartition(region: string, hour: string): string {
  return rawPartitionKey(hour, writerShard(writerKey({ region })));
}

/** The key of an agent's minute item (`YYYY-MM-DDTHH:MM`). */
export function regionMinuteKey(region: string, minute: string): { pk: string; sk: string } {
  const key = writerKey({ region });
  return { pk: minutePartitionKey(minute.slice(0, 13), writerShard(key)), sk: minuteSortKey(minute, key) };
}

export const FAST_RETRY: Partial<RetryPolicy> = { maxAttempts: 6, baseDelayMs: 1, maxDelayMs: 8, maxElapsedMs: 5_000 };

export async function makeTempDir(prefix = "popwatch-store-"): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export interface ResultSpec {
  startedAt: string;
  seq: number;
  region?: string;
  name?: string | null;
  target?: string;
  kind?: ProbeKind;
  ok?: boolean;
  totalMs?: number;
  pop?: string | null;
  failure?: FailureCode;
}

export function storedResult(spec: ResultSpec): StoredResult {
  const ok = spec.ok ?? true;
  return {
    kind: spec.kind ?? "dns",
    target: spec.target ?? "192.0.2.53:53",
    address: "192.0.2.53",
    port: 53,
    name: spec.name === undefined ? "anycast-dns" : spec.name,
    ok,
    startedAt: spec.startedAt,
    timings: { totalMs: spec.totalMs ?? 12.5, rttMs: (spec.totalMs ?? 12.5) - 1 },
    pop: spec.pop === null ? null : { id: spec.pop ?? "fra", source: "nsid", raw: `${spec.pop ?? "fra"}1.example`, iata: null },
    failure: ok ? null : { code: spec.failure ?? "timeout", message: "no answer within 2000 ms" },
    region: spec.region ?? "eu-central-1",
    seq: spec.seq,
  } as StoredResult;
}

/** `count` results every `everyMs` from `start`, PoPs and outcomes varying deterministically. */
export function resultSeries(start: string, count: number, everyMs: number, overrides: Partial<ResultSpec> = {}): StoredResult[] {
  const pops = ["fra", "fra", "ams", "fra", null, "cdg"];
  return Array.from({ length: count }, (_, i) =>
    storedResult({
      startedAt: new Date(Date.parse(start) + i * everyMs).toISOString(),
      seq: i,
      ok: i % 7 !== 3,
      failure: i % 2 === 0 ? "timeout" : "refused",
      totalMs: 5 + ((i * 37) % 200) / 3,
      pop: pops[i % pops.length]!,
      ...overrides,
    }),
  );
}

/** Every item of a partition, all attributes, as DynamoDB returns them. */
export async function partitionItems(client: DynamoDBClient, tableName: string, pk: string): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": { S: pk } },
        ExclusiveStartKey: startKey,
        ConsistentRead: true,
      }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return items;
}

/** Every item whose partition key starts with `prefix` (`R#` raw, `M#`/`H#`/`D#` rollups), sorted by pk then sk. */
export async function itemsWithPrefix(
  client: DynamoDBClient,
  tableName: string,
  prefix: string,
): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: "begins_with(pk, :prefix)",
        ExpressionAttributeValues: { ":prefix": { S: prefix } },
        ExclusiveStartKey: startKey,
        ConsistentRead: true,
      }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  const key = (item: Record<string, AttributeValue>) => `${item.pk?.S ?? ""}\u0000${item.sk?.S ?? ""}`;
  return items.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

export type BatchWriteFault =
  /** Send only the first half of the request items; report the rest as UnprocessedItems. */
  | "drop-half"
  /** Send nothing; report every item as unprocessed. */
  | "drop-all"
  | Error
  | null;

/**
 * Installs a middleware that consults `decide` before each BatchWriteItem call
 * (1-based call number). Returns the counters so tests can assert retries.
 */
export function injectBatchWriteFaults(
  client: DynamoDBClient,
  decide: (call: number, input: BatchWriteItemCommandInput) => BatchWriteFault,
): { calls: number; faults: number; itemsSent: number } {
  const counters = { calls: 0, faults: 0, itemsSent: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== "BatchWriteItemCommand") return next(args);
      counters.calls++;
      const input = args.input as BatchWriteItemCommandInput;
      const fault = decide(counters.calls, input);
      if (fault instanceof Error) {
        counters.faults++;
        throw fault;
      }
      if (fault === null) {
        counters.itemsSent += Object.values(input.RequestItems ?? {}).reduce((n, list) => n + list.length, 0);
        return next(args);
      }
      counters.faults++;
      const [[table, requests]] = Object.entries(input.RequestItems ?? {}) as [
        [string, NonNullable<BatchWriteItemCommandInput["RequestItems"]>[string]],
      ];
      const keep = fault === "drop-half" ? requests.slice(0, Math.ceil(requests.length / 2)) : [];
      const dropped = requests.slice(keep.length);
      if (keep.length === 0) {
        const output: BatchWriteItemCommandOutput = { UnprocessedItems: { [table]: dropped }, $metadata: { httpStatusCode: 200 } };
        return { output, response: {} } as Awaited<ReturnType<typeof next>>;
      }
      counters.itemsSent += keep.length;
      const result = await next({ ...args, input: { ...input, RequestItems: { [table]: keep } } });
      const output = result.output as BatchWriteItemCommandOutput;
      const stillUnprocessed = output.UnprocessedItems?.[table] ?? [];
      return { ...result, output: { ...output, UnprocessedItems: { [table]: [...stillUnprocessed, ...dropped] } } };
    },
    { step: "initialize", name: "popwatchTestBatchWriteFaults" },
  );
  return counters;
}

export interface ChildStore {
  child: import("node:child_process").ChildProcess;
  /** The child's first line: ready with an endpoint, or the StoreError code it failed with. */
  ready: Promise<{ ready: boolean; endpoint?: string; code?: string | null; message?: string }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts test/support/embedded-child.ts in a separate Node process (TypeScript via tsx). */
export async function spawnChildStore(dataDir: string, port: number, mode?: "exit"): Promise<ChildStore> {
  const { spawn } = await import("node:child_process");
  const { fileURLToPath } = await import("node:url");
  const script = fileURLToPath(new URL("./embedded-child.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", script, dataDir, String(port), ...(mode ? [mode] : [])], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<{ ready: boolean; endpoint?: string; code?: string | null }>((resolve, reject) => {
    let stdout = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const newline = stdout.indexOf("\n");
      if (newline >= 0) resolve(JSON.parse(stdout.slice(0, newline)) as { ready: boolean });
    });
    void exited.then(({ code, signal }) => reject(new Error(`child exited (${code ?? signal}) before reporting: ${stderr}`)));
  });
  return { child, ready, exited };
}
