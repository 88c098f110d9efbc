// The store flags `report` and `alerts` share with `results` and `catchment`:
// the embedded store in --data-dir (or the `popwatch run` holding it), or a
// DynamoDB table on AWS with --table and --aws-region.
import { type VantageRegistry, readVantages } from "@popwatch/agent";
import type { PopwatchConfig } from "@popwatch/core";
import { DEFAULT_DATA_DIR, type ResultStore, StoreError } from "@popwatch/store";
import { UsageError } from "./errors";
import type { Io } from "./io";
import { type OpenStore, openAwsStore, openSharedStore } from "./local-store";

export const STORE_FLAG_OPTIONS = {
  "data-dir": { type: "string" },
  table: { type: "string" },
  "aws-region": { type: "string" },
} as const;

export const STORE_FLAGS_USAGE = `  --data-dir DIR        embedded store directory (default ${DEFAULT_DATA_DIR})
  --table NAME          read the DynamoDB table NAME on AWS instead (credentials from the AWS SDK chain)
  --aws-region R        the table's region (default AWS_REGION)`;

export interface StoreFlags {
  "data-dir"?: string | undefined;
  table?: string | undefined;
  "aws-region"?: string | undefined;
}

export type StoreChoice = { kind: "aws"; table: string; region: string } | { kind: "embedded"; dataDir: string };

/** Checks the combination of store flags; throws UsageError naming the flag. */
export function storeChoice(values: StoreFlags): StoreChoice {
  if (values.table !== undefined && values["data-dir"] !== undefined) throw new UsageError("--table and --data-dir exclude each other");
  const awsRegion = values["aws-region"] ?? process.env.AWS_REGION;
  if (values.table !== undefined && !awsRegion) throw new UsageError("--aws-region: required with --table (or set AWS_REGION)");
  if (values.table === undefined && values["aws-region"] !== undefined) throw new UsageError("--aws-region: only meaningful with --table");
  return values.table !== undefined
    ? { kind: "aws", table: values.table, region: awsRegion! }
    : { kind: "embedded", dataDir: values["data-dir"] ?? DEFAULT_DATA_DIR };
}

export async function openChosenStore(choice: StoreChoice): Promise<OpenStore> {
  return choice.kind === "aws" ? openAwsStore(choice.table, choice.region) : openSharedStore({ dataDir: choice.dataDir });
}

/**
 * The regions an evaluation covers: on AWS the regions the stacks deploy to
 * (a region that wrote nothing still counts, as zero events) and the
 * vantages (registered, and the config's own); locally whatever was run or
 * imported.
 */
export async function storeRegions(
  choice: StoreChoice,
  config: Pick<PopwatchConfig, "regions" | "vantage">,
  store: Pick<ResultStore, "listRegions"> & VantageRegistry,
): Promise<string[]> {
  if (choice.kind !== "aws") return await store.listRegions();
  const vantages = await readVantages(store, config);
  return [...new Set([...config.regions, ...vantages.map((v) => v.name)])];
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
