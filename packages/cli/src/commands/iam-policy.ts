// `popwatch iam-policy`: the least-privilege IAM policy a self-hosted vantage
// (or a reader) needs on the shared table. The actions come from the store
// (packages/store table-access.ts), the same constants the stacks grant the
// probe function, so an agent elsewhere holds exactly what one on Lambda holds.
import {
  ALERT_STATE_TABLE_ACTIONS,
  COMPACTION_TABLE_ACTIONS,
  RESULT_READER_TABLE_ACTIONS,
  RESULT_WRITER_TABLE_ACTIONS,
  tableActionsOf,
} from "@popwatch/store";
import { UsageError } from "../errors";
import type { Io } from "../io";
import { parseFlags } from "./args";

export const IAM_POLICY_USAGE = `Usage: popwatch iam-policy vantage|reader --table NAME [--aws-region R] [--account ID]

Prints the IAM policy (JSON) for the DynamoDB table NAME:
  vantage   what "popwatch run --table NAME" needs: its results, rollups and
            vantage registration (${RESULT_WRITER_TABLE_ACTIONS.join(", ")}), the
            hour and day buckets it compacts before evaluating, and the alert
            state of its evaluation and fast routing alerts: the same actions
            the probe function is granted
  reader    what results, catchment, report and alerts need to read it
            (${RESULT_READER_TABLE_ACTIONS.join(", ")})
Attach it to the user or role whose credentials the agent runs with.

Options:
  --table NAME          the table
  --aws-region R        its region (default AWS_REGION)
  --account ID          its AWS account (default *: any account)
  -h, --help            this help

Exit status: 0 printed, 2 usage error.
`;

export const IAM_POLICY_ROLES = {
  vantage: {
    sid: "PopwatchVantage",
    actions: tableActionsOf(RESULT_WRITER_TABLE_ACTIONS, COMPACTION_TABLE_ACTIONS, ALERT_STATE_TABLE_ACTIONS),
  },
  reader: { sid: "PopwatchReader", actions: tableActionsOf(RESULT_READER_TABLE_ACTIONS) },
} as const;

const OPTIONS = {
  table: { type: "string" },
  "aws-region": { type: "string" },
  account: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export async function iamPolicyCommand(argv: string[], io: Io): Promise<number> {
  const [role, ...rest] = argv;
  if (role === "-h" || role === "--help" || role === "help") {
    io.stdout.write(IAM_POLICY_USAGE);
    return 0;
  }
  if (role !== "vantage" && role !== "reader") {
    throw new UsageError(
      role === undefined ? "missing role: popwatch iam-policy vantage|reader" : `unknown role "${role}": vantage or reader`,
    );
  }
  const { values } = parseFlags(rest, OPTIONS);
  if (values.help) {
    io.stdout.write(IAM_POLICY_USAGE);
    return 0;
  }
  if (values.table === undefined) throw new UsageError("--table: required");
  if (!/^[a-zA-Z0-9_.-]{3,255}$/.test(values.table)) throw new UsageError(`--table: expected a DynamoDB table name, got "${values.table}"`);
  const region = values["aws-region"] ?? process.env.AWS_REGION;
  if (!region) throw new UsageError("--aws-region: required (or set AWS_REGION)");
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) throw new UsageError(`--aws-region: expected an AWS region code, got "${region}"`);
  const account = values.account ?? "*";
  if (!/^(\d{12}|\*)$/.test(account)) throw new UsageError(`--account: expected a 12-digit AWS account id, got "${account}"`);
  const { sid, actions } = IAM_POLICY_ROLES[role];
  const policy = {
    Version: "2012-10-17",
    Statement: [{ Sid: sid, Effect: "Allow", Action: actions, Resource: tableArn(region, account, values.table) }],
  };
  io.stdout.write(`${JSON.stringify(policy, null, 2)}\n`);
  return 0;
}

/** The table's ARN in the partition its region belongs to. */
export function tableArn(region: string, account: string, table: string): string {
  const partition = region.startsWith("cn-") ? "aws-cn" : region.startsWith("us-gov-") ? "aws-us-gov" : "aws";
  return `arn:${partition}:dynamodb:${region}:${account}:table/${table}`;
}
