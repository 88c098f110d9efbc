// `popwatch iam-policy`: the policy a self-hosted vantage prints holds exactly
// the DynamoDB actions the stack grants the probe function on the table
// (synthesized offline as test/stacks.test.ts does), on the table's ARN only.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type PopwatchConfigInput, parseConfig } from "@popwatch/core";
import { TABLE_DEFINITION } from "@popwatch/store";
import { Template } from "aws-cdk-lib/assertions";
import { App } from "sst/constructs";
import { initProject } from "sst/project.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../packages/cli/src/index";
import { type PopwatchStacks, addPopwatchStacks } from "../stacks/index";
import { captureIo } from "./support/capture-io";

const ACCOUNT = "123456789012";
const HOME = "eu-west-1";
// The defaults: fast routing alerts on, so the probe also holds the alert state's actions, as a vantage's run does.
const CONFIG: PopwatchConfigInput = {
  homeRegion: HOME,
  regions: [HOME],
  targets: [{ name: "edge", address: "198.51.100.10", probes: { tcp: { port: 443 } } }],
};

type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Sid?: string };
interface Policy {
  Version: string;
  Statement: { Sid: string; Effect: string; Action: string[]; Resource: string }[];
}

let dir: string;
const savedEnv = process.env.POPWATCH_CONFIG;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "popwatch-iam-policy-"));
  const file = join(dir, "popwatch.config.json");
  writeFileSync(file, JSON.stringify(CONFIG));
  process.env.POPWATCH_CONFIG = file;
});
afterAll(() => {
  if (savedEnv === undefined) delete process.env.POPWATCH_CONFIG;
  else process.env.POPWATCH_CONFIG = savedEnv;
  rmSync(dir, { recursive: true, force: true });
});

async function cli(...argv: string[]) {
  const c = captureIo();
  const code = await main(argv, c.io);
  return { code, out: c.out, err: c.err };
}

async function printed(role: string, ...flags: string[]): Promise<Policy> {
  const r = await cli("iam-policy", role, ...flags);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.out) as Policy;
}

/** The home region's stacks, as `sst deploy --stage test` builds them (fixture handlers, as in test/stacks.test.ts). */
let synthesized: Promise<PopwatchStacks> | undefined;
function homeStacks(): Promise<PopwatchStacks> {
  synthesized ??= (async () => {
    await initProject({ stage: "test", region: HOME });
    const app = new App({ mode: "deploy", stage: "test", name: "popwatch", region: HOME, account: ACCOUNT });
    const stacks = await addPopwatchStacks(app, parseConfig(CONFIG), {
      handler: "test/fixtures/probe-handler.handler",
      evaluateHandler: "test/fixtures/evaluate-handler.handler",
    });
    await app.finish();
    return stacks;
  })();
  return synthesized;
}

/** The DynamoDB actions the synthesized probe stack grants its function, each once, sorted. */
async function probeStackTableActions(): Promise<{ actions: string[]; resources: unknown[] }> {
  const stacks = await homeStacks();
  const statements = Object.values(Template.fromStack(stacks.probe!).findResources("AWS::IAM::Policy")).flatMap(
    (policy) => (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
  );
  const table = statements.filter((statement) => [statement.Action].flat().some((action) => action.startsWith("dynamodb:")));
  return {
    actions: [...new Set(table.flatMap((statement) => [statement.Action].flat()))].sort(),
    resources: table.map((statement) => statement.Resource),
  };
}

describe("popwatch iam-policy", () => {
  it("vantage: exactly the DynamoDB actions the stack grants the probe function, on the table's ARN", async () => {
    const policy = await printed("vantage", "--table", "popwatch-prod", "--aws-region", HOME, "--account", ACCOUNT);
    expect(policy.Version).toBe("2012-10-17");
    expect(policy.Statement).toHaveLength(1);
    const [statement] = policy.Statement;
    expect(statement!.Effect).toBe("Allow");
    expect(statement!.Resource).toBe(`arn:aws:dynamodb:${HOME}:${ACCOUNT}:table/popwatch-prod`);

    const granted = await probeStackTableActions();
    expect(statement!.Action).toEqual(granted.actions);
    // The stack grants them on one table ARN too (its own name), never a wildcard.
    expect(new Set(granted.resources.map((resource) => JSON.stringify(resource))).size).toBe(1);
    expect(JSON.stringify(granted.resources[0])).toContain(`:dynamodb:${HOME}:${ACCOUNT}:table/popwatch-test`);
    for (const action of statement!.Action) expect(action).toMatch(/^dynamodb:[A-Z][A-Za-z]+$/);
  }, 120_000);

  it("reader: Query and BatchGetItem only; account defaults to any, the region to AWS_REGION; China and GovCloud partitions", async () => {
    const saved = process.env.AWS_REGION;
    process.env.AWS_REGION = "us-east-2";
    try {
      const policy = await printed("reader", "--table", "popwatch-prod");
      expect(policy.Statement).toEqual([
        {
          Sid: "PopwatchReader",
          Effect: "Allow",
          Action: ["dynamodb:BatchGetItem", "dynamodb:Query"],
          Resource: "arn:aws:dynamodb:us-east-2:*:table/popwatch-prod",
        },
      ]);
    } finally {
      if (saved === undefined) delete process.env.AWS_REGION;
      else process.env.AWS_REGION = saved;
    }
    expect((await printed("vantage", "--table", "t-1", "--aws-region", "cn-north-1")).Statement[0]!.Resource).toBe(
      "arn:aws-cn:dynamodb:cn-north-1:*:table/t-1",
    );
    expect((await printed("vantage", "--table", "t-1", "--aws-region", "us-gov-west-1")).Statement[0]!.Resource).toBe(
      "arn:aws-us-gov:dynamodb:us-gov-west-1:*:table/t-1",
    );
  });

  it("usage errors exit 2 naming the flag or the role", async () => {
    const saved = process.env.AWS_REGION;
    delete process.env.AWS_REGION;
    try {
      const cases: [string[], RegExp][] = [
        [[], /missing role: popwatch iam-policy vantage\|reader/],
        [["admin"], /unknown role "admin": vantage or reader/],
        [["vantage"], /--table: required/],
        [["vantage", "--table", "t-1"], /--aws-region: required \(or set AWS_REGION\)/],
        [["vantage", "--table", "t/1", "--aws-region", HOME], /--table: expected a DynamoDB table name, got "t\/1"/],
        [["vantage", "--table", "t-1", "--aws-region", "Europe"], /--aws-region: expected an AWS region code, got "Europe"/],
        [["vantage", "--table", "t-1", "--aws-region", HOME, "--account", "42"], /--account: expected a 12-digit AWS account id, got "42"/],
      ];
      for (const [argv, message] of cases) {
        const r = await cli("iam-policy", ...argv);
        expect({ argv, code: r.code }).toEqual({ argv, code: 2 });
        expect(r.err).toMatch(message);
        expect(r.out).toBe("");
      }
    } finally {
      if (saved !== undefined) process.env.AWS_REGION = saved;
    }
  });
});

describe("one table definition", () => {
  it("the stack's table has the keys and TTL attribute `popwatch table create` creates", async () => {
    const stacks = await homeStacks();
    Template.fromStack(stacks.storage!).hasResourceProperties("AWS::DynamoDB::Table", {
      KeySchema: [
        { AttributeName: TABLE_DEFINITION.partitionKey, KeyType: "HASH" },
        { AttributeName: TABLE_DEFINITION.sortKey, KeyType: "RANGE" },
      ],
      AttributeDefinitions: [
        { AttributeName: TABLE_DEFINITION.partitionKey, AttributeType: TABLE_DEFINITION.keyAttributeType },
        { AttributeName: TABLE_DEFINITION.sortKey, AttributeType: TABLE_DEFINITION.keyAttributeType },
      ],
      BillingMode: TABLE_DEFINITION.billingMode,
      TimeToLiveSpecification: { AttributeName: TABLE_DEFINITION.timeToLiveAttribute, Enabled: true },
    });
  }, 120_000);
});
