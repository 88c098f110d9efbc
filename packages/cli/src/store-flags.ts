// The store flags every command reading or writing results shares: the
// embedded store in --data-dir (or the `popwatch run` holding it), or a
// DynamoDB table with --table: on AWS (--aws-region), or on any
// DynamoDB-compatible endpoint (--endpoint: DynamoDB Local, ScyllaDB
// Alternator, dynalite). Without a store flag the config's `store` section
// chooses; flags win.
import { type VantageRegistry, readVantages } from "@popwatch/agent";
import type { PopwatchConfig, RetentionDays } from "@popwatch/core";
import { DEFAULT_DATA_DIR, type ResultStore, StoreError } from "@popwatch/store";
import { UsageError } from "./errors";
import type { Io } from "./io";
import { type OpenStore, openAwsStore, openSharedStore } from "./local-store";

export const STORE_FLAG_OPTIONS = {
  "data-dir": { type: "string" },
  table: { type: "string" },
  "aws-region": { type: "string" },
  endpoint: { type: "string" },
} as const;

export const STORE_FLAGS_USAGE = `  --data-dir DIR        embedded store directory (default ${DEFAULT_DATA_DIR}; also when the config has a store section)
  --table NAME          the DynamoDB table NAME instead (credentials from the AWS SDK chain; default: the config's store.table)
  --aws-region R        the table's region (default AWS_REGION)
  --endpoint URL        with --table: a DynamoDB-compatible endpoint (DynamoDB Local, ScyllaDB Alternator, dynalite)
                        instead of AWS; credentials still come from the chain (e.g. AWS_ACCESS_KEY_ID)`;

export interface StoreFlags {
  "data-dir"?: string | undefined;
  table?: string | undefined;
  "aws-region"?: string | undefined;
  endpoint?: string | undefined;
}

export type StoreChoice = { kind: "aws"; table: string; region: string; endpoint?: string } | { kind: "embedded"; dataDir: string };

/** The region signed into requests to an endpoint when none is given: emulators accept any. */
export const ENDPOINT_DEFAULT_REGION = "us-east-1";

/**
 * Checks the combination of store flags; throws UsageError naming the flag.
 * Without any store flag the config's `store` section (when given) chooses.
 */
export function storeChoice(values: StoreFlags, configured?: PopwatchConfig["store"]): StoreChoice {
  if (values.table !== undefined && values["data-dir"] !== undefined) throw new UsageError("--table and --data-dir exclude each other");
  if (values.table === undefined && values["aws-region"] !== undefined) throw new UsageError("--aws-region: only meaningful with --table");
  if (values.table === undefined && values.endpoint !== undefined) throw new UsageError("--endpoint: only meaningful with --table");
  if (values.endpoint !== undefined) checkEndpoint("--endpoint", values.endpoint);
  if (values.table !== undefined) {
    return tableChoice(values.table, values["aws-region"], values.endpoint, "--aws-region: required with --table (or set AWS_REGION)");
  }
  if (values["data-dir"] === undefined && configured !== undefined) {
    return tableChoice(
      configured.table,
      configured.awsRegion,
      configured.endpoint,
      "store.awsRegion: required for the table in the config's store section (or set AWS_REGION, or give store.endpoint)",
    );
  }
  return { kind: "embedded", dataDir: values["data-dir"] ?? DEFAULT_DATA_DIR };
}

function tableChoice(table: string, region: string | undefined, endpoint: string | undefined, missingRegion: string): StoreChoice {
  const chosenRegion = region ?? process.env.AWS_REGION ?? (endpoint === undefined ? undefined : ENDPOINT_DEFAULT_REGION);
  if (!chosenRegion) throw new UsageError(missingRegion);
  return { kind: "aws", table, region: chosenRegion, ...(endpoint === undefined ? {} : { endpoint }) };
}

function checkEndpoint(flag: string, endpoint: string): void {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new UsageError(`${flag}: expected an http:// or https:// URL, got "${endpoint}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new UsageError(`${flag}: expected an http:// or https:// URL, got "${endpoint}"`);
}

/** Opens the chosen store; `retentionDays` (the config's) bounds how far back its reads reach. */
export async function openChosenStore(choice: StoreChoice, retentionDays?: RetentionDays): Promise<OpenStore> {
  return choice.kind === "aws"
    ? openAwsStore(choice.table, choice.region, choice.endpoint, retentionDays)
    : openSharedStore({ dataDir: choice.dataDir, ...(retentionDays === undefined ? {} : { retentionDays }) });
}

/**
 * The regions an evaluation covers: on a table the regions the stacks deploy
 * to (a region that wrote nothing still counts, as zero events), every other
 * vantage that wrote to it (self-hosted agents, imports) and the registered
 * vantages (and the config's own); locally whatever was run or imported.
 */
export async function storeRegions(
  choice: StoreChoice,
  config: Pick<PopwatchConfig, "regions" | "vantage">,
  store: Pick<ResultStore, "listRegions"> & VantageRegistry,
): Promise<string[]> {
  const written = await store.listRegions();
  if (choice.kind === "embedded") return written;
  const vantages = await readVantages(store, config);
  return [...new Set([...config.regions, ...written, ...vantages.map((v) => v.name)])];
}

/**
 * Reports a store failure as `popwatch <command>: [<context>: ]<message> (<code>)<hint>`
 * and returns exit status 1; anything but a StoreError is a fault in popwatch
 * and is rethrown.
 */
export function reportStoreFailure(io: Io, command: string, err: unknown, hint = "", context?: string): number {
  if (!(err instanceof StoreError)) throw err;
  io.stderr.write(`popwatch ${command}: ${context === undefined ? "" : `${context}: `}${err.message} (${err.code})${hint}\n`);
  return 1;
}
