// `popwatch table create`: the table a team's self-hosted vantages share, on
// AWS or on its own DynamoDB-compatible store, created with the definition
// the StorageStack deploys (packages/store table.ts TABLE_DEFINITION).
import { TABLE_DEFINITION, ensureTable } from "@popwatch/store";
import { UsageError } from "../errors";
import type { Io } from "../io";
import { type OpenStore, openAwsStore } from "../local-store";
import { STORE_FLAG_OPTIONS, reportStoreFailure, storeChoice } from "../store-flags";
import { parseFlags } from "./args";

const { partitionKey, sortKey, keyAttributeType, timeToLiveAttribute } = TABLE_DEFINITION;

export const TABLE_USAGE = `Usage: popwatch table create --table NAME [--aws-region R] [--endpoint URL]

Creates the DynamoDB table popwatch keeps results, rollups, the vantage
registry and alert state in, as the stacks deploy it: partition key
${partitionKey} and sort key ${sortKey} (both ${keyAttributeType}), on-demand billing, TTL on
${timeToLiveAttribute}. On AWS, or on a DynamoDB-compatible endpoint (DynamoDB Local,
ScyllaDB Alternator, dynalite) with --endpoint. Credentials come from the AWS
SDK chain (for a local endpoint set AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY to what it accepts).

Running it again is harmless: a table that exists with these keys is left as
it is (TTL switched on if it was off); one with other keys is refused.

Options:
  --table NAME          the table to create
  --aws-region R        its region (default AWS_REGION; with --endpoint any)
  --endpoint URL        a DynamoDB-compatible endpoint instead of AWS
  -h, --help            this help

Exit status: 0 created or already there with popwatch's keys, 1 a store error
(unreachable, refused, or the table has other keys), 2 usage error.
`;

const OPTIONS = {
  table: STORE_FLAG_OPTIONS.table,
  "aws-region": STORE_FLAG_OPTIONS["aws-region"],
  endpoint: STORE_FLAG_OPTIONS.endpoint,
  help: { type: "boolean", short: "h" },
} as const;

export async function tableCommand(argv: string[], io: Io): Promise<number> {
  const [subcommand, ...rest] = argv;
  if (subcommand === "-h" || subcommand === "--help" || subcommand === "help") {
    io.stdout.write(TABLE_USAGE);
    return 0;
  }
  if (subcommand !== "create") {
    throw new UsageError(subcommand === undefined ? "missing subcommand: popwatch table create" : `unknown subcommand "${subcommand}"`);
  }
  const { values } = parseFlags(rest, OPTIONS);
  if (values.help) {
    io.stdout.write(TABLE_USAGE);
    return 0;
  }
  if (values.table === undefined) throw new UsageError("--table: required (the name of the table to create)");
  const choice = storeChoice(values);
  if (choice.kind !== "aws") throw new UsageError("--table: required (the name of the table to create)");

  let opened: OpenStore;
  try {
    opened = openAwsStore(choice.table, choice.region, choice.endpoint);
  } catch (err) {
    return reportStoreFailure(io, "table create", err);
  }
  try {
    const report = await ensureTable(opened.client, choice.table);
    io.stdout.write(
      `popwatch table create: ${opened.where}: ${report.created ? "created" : "already exists"} with ` +
        `partition key ${partitionKey}, sort key ${sortKey} (${keyAttributeType}), on-demand billing\n`,
    );
    io.stdout.write(
      report.ttl === "enabled"
        ? `popwatch table create: TTL on ${timeToLiveAttribute}: expired items are deleted by the table\n`
        : `popwatch table create: this endpoint has no TTL: expired items are not deleted, so the table grows\n`,
    );
    return 0;
  } catch (err) {
    return reportStoreFailure(io, "table create", err);
  } finally {
    await opened.close();
  }
}
