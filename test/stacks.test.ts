// Synth tests for the SST v2 stacks, offline: vitest sets NODE_ENV=test, so
// SST skips its bootstrap and AWS look-ups; stacks are checked with
// aws-cdk-lib/assertions. SST v2 binds every stack of an app to the app's
// region, so each region is its own App, exactly as one `sst deploy --region`
// builds it.
import { execFileSync } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { probeSpecsOf, readConfigJson } from "@popwatch/agent";
import { type PopwatchConfig, type PopwatchConfigInput, worstCaseRoundMs as agentWorstCaseRoundMs, parseConfig } from "@popwatch/core";
import { DETAIL_TYPE_FIRING, DETAIL_TYPE_RESOLVED } from "@popwatch/notify";
import { Match, Template } from "aws-cdk-lib/assertions";
import { build } from "esbuild";
import { App, type Stack } from "sst/constructs";
import { initProject, useProject } from "sst/project.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import sstConfig from "../sst.config";
import { bundledConfigJson, loadPopwatchConfig, writeBundledConfig } from "../stacks/config";
import { type PopwatchStacks, addPopwatchStacks, deployRegions } from "../stacks/index";
import {
  ALERT_STATE_TABLE_ACTIONS,
  EVALUATE_MAX_EVENT_AGE_SECONDS,
  EVALUATE_TABLE_ACTIONS,
  EVALUATE_TIMEOUT_SECONDS,
  PROBE_TABLE_ACTIONS,
  alertBusTargets,
  deploymentProblems,
  maxEventAgeSeconds,
  probeTimeoutSeconds,
  probesPerRound,
  roundQueueRetentionSeconds,
  roundQueueVisibilitySeconds,
  worstCaseRoundMs,
} from "../stacks/settings";

const ROOT = join(import.meta.dirname, "..");
const ACCOUNT = "123456789012";
const HOME = "eu-west-1";
const REGIONS = ["eu-west-1", "us-east-1", "ap-southeast-2"];
const FIXTURE_HANDLER = "test/fixtures/probe-handler.handler";
const EVALUATE_FIXTURE_HANDLER = "test/fixtures/evaluate-handler.handler";

const CONFIG: PopwatchConfigInput = {
  homeRegion: HOME,
  regions: REGIONS,
  targets: [
    { name: "cf-resolver", address: "1.1.1.1", probes: { dns: { chaos: ["id.server"] }, tcp: {} } },
    {
      name: "edge",
      address: "151.101.1.57",
      hostname: "www.example.org",
      probes: { tls: { pinSha256: ["AA:".repeat(31) + "AA"] }, http: { path: "/health" } },
    },
  ],
};

let dir: string;
const savedEnv = process.env.POPWATCH_CONFIG;
let config: PopwatchConfig;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "popwatch-stacks-"));
  const file = join(dir, "popwatch.config.json");
  writeFileSync(file, JSON.stringify(CONFIG));
  process.env.POPWATCH_CONFIG = file;
  config = parseConfig(CONFIG);
});

afterAll(() => {
  if (savedEnv === undefined) delete process.env.POPWATCH_CONFIG;
  else process.env.POPWATCH_CONFIG = savedEnv;
  rmSync(dir, { recursive: true, force: true });
});

interface Synth extends PopwatchStacks {
  app: App;
  templates: { storage?: Template; probe?: Template; evaluate?: Template };
}

/** One region's app, built like `sst deploy --stage <stage> --region <region>` builds it, bundling included. */
async function synthRegion(region: string, options: { stage?: string; config?: PopwatchConfig; finish?: boolean } = {}): Promise<Synth> {
  const stage = options.stage ?? "test";
  await initProject({ stage, region });
  const app = new App({ mode: "deploy", stage, name: "popwatch", region, account: ACCOUNT });
  const stacks = await addPopwatchStacks(app, options.config ?? config, {
    handler: FIXTURE_HANDLER,
    evaluateHandler: EVALUATE_FIXTURE_HANDLER,
  });
  if (options.finish !== false) await app.finish();
  const templates: Synth["templates"] = {};
  if (stacks.storage) templates.storage = Template.fromStack(stacks.storage);
  if (stacks.probe) templates.probe = Template.fromStack(stacks.probe);
  if (stacks.evaluate) templates.evaluate = Template.fromStack(stacks.evaluate);
  return { ...stacks, app, templates };
}

function tableArn(stage = "test"): unknown {
  return { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, `:dynamodb:${HOME}:${ACCOUNT}:table/popwatch-${stage}`]] };
}

type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Sid?: string };
function policyStatements(template: Template): Statement[] {
  return Object.values(template.findResources("AWS::IAM::Policy")).flatMap(
    (policy) => (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
  );
}

describe("sst.config.ts", () => {
  it("config() deploys to the home region by default and honours --region", async () => {
    expect(await sstConfig.config({})).toEqual({ name: "popwatch", region: HOME });
    expect(await sstConfig.config({ region: "us-east-1" })).toEqual({ name: "popwatch", region: "us-east-1" });
    await initProject({ stage: "test" });
    expect(useProject().config.region).toBe(HOME);
  });

  it("stacks(), loaded the way `sst deploy` loads it, adds storage, probe and evaluator in the home region, only the probe elsewhere", async () => {
    // SST bundles sst.config.ts with its own esbuild and imports the result (sst/stacks/build.js load()).
    const { load } = (await import("sst/stacks/build.js")) as {
      load(file: string, shallow?: boolean): Promise<[unknown, typeof sstConfig]>;
    };
    const [, loaded] = await load(join(ROOT, "sst.config.ts"));
    const seen: Record<string, string[]> = {};
    for (const region of REGIONS) {
      await initProject({ stage: "test", region });
      const app = new App({ mode: "deploy", stage: "test", name: "popwatch", region, account: ACCOUNT });
      await loaded.stacks(app);
      seen[region] = app.node.children.filter((c): c is Stack => "stackName" in c).map((s) => `${s.stackName}@${s.region}`);
      // Without app.finish() SST leaves a placeholder in place of the bundle; the handler is the real one.
      const probe = app.node.findAll().find((c) => c.node.id === "Probe");
      expect((probe as unknown as { props: { handler: string } }).props.handler).toBe("functions/probe.handler");
      const evaluate = app.node.findAll().find((c) => c.node.id === "Evaluate");
      if (region === HOME) expect((evaluate as unknown as { props: { handler: string } }).props.handler).toBe("functions/evaluate.handler");
      else expect(evaluate).toBeUndefined();
    }
    expect(seen).toEqual({
      "eu-west-1": ["test-popwatch-storage@eu-west-1", "test-popwatch-probe@eu-west-1", "test-popwatch-evaluate@eu-west-1"],
      "us-east-1": ["test-popwatch-probe@us-east-1"],
      "ap-southeast-2": ["test-popwatch-probe@ap-southeast-2"],
    });
    expect(deployRegions(config)).toEqual(REGIONS);
  });
});

describe("storage stack", () => {
  it("home region: one table, pk/sk strings, on-demand, TTL on expiresAt, PITR, fixed name; removed with a test stage", async () => {
    const { storage, probe, templates } = await synthRegion(HOME);
    expect(storage!.region).toBe(HOME);
    expect(storage!.stackName).toBe("test-popwatch-storage");
    const t = templates.storage!;
    t.resourceCountIs("AWS::DynamoDB::Table", 1);
    t.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Delete",
      UpdateReplacePolicy: "Delete",
      Properties: {
        TableName: "popwatch-test",
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: "S" },
          { AttributeName: "sk", AttributeType: "S" },
        ],
        BillingMode: "PAY_PER_REQUEST",
        TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        ProvisionedThroughput: Match.absent(),
        GlobalSecondaryIndexes: Match.absent(),
        LocalSecondaryIndexes: Match.absent(),
      },
    });
    // The storage stack holds nothing else: no function, no role.
    expect(Object.values(t.toJSON().Resources as Record<string, { Type: string }>).map((r) => r.Type)).toEqual(["AWS::DynamoDB::Table"]);
    // The probe stack of the same region waits for the table.
    expect(probe!.dependencies).toContain(storage);
  });

  it("production stage: the table is retained with deletion protection; logs are not", async () => {
    const { templates } = await synthRegion(HOME, { stage: "prod", finish: false });
    templates.storage!.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Retain",
      UpdateReplacePolicy: "Retain",
      Properties: { TableName: "popwatch-prod", DeletionProtectionEnabled: true },
    });
    templates.probe!.hasResource("AWS::Logs::LogGroup", { DeletionPolicy: "Delete" });
    templates.probe!.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Resource: tableArn("prod") })]) },
    });
  });

  it("other regions have no table", async () => {
    for (const region of REGIONS.slice(1)) {
      const { storage, templates } = await synthRegion(region, { finish: false });
      expect(storage).toBeUndefined();
      templates.probe!.resourceCountIs("AWS::DynamoDB::Table", 0);
    }
  });
});

describe.each(REGIONS)("probe stack in %s", (region) => {
  let synth: Synth;
  beforeAll(async () => {
    synth = await synthRegion(region);
  });

  it("is bound to the region", () => {
    expect(synth.probe!.region).toBe(region);
    expect(synth.probe!.stackName).toBe("test-popwatch-probe");
    expect(synth.probe!.account).toBe(ACCOUNT);
  });

  it("function: nodejs22.x on arm64, 256 MB, timeout 58 s, environment, async retries", () => {
    const t = synth.templates.probe!;
    t.resourceCountIs("AWS::Lambda::Function", 1);
    t.hasResourceProperties("AWS::Lambda::Function", {
      FunctionName: "popwatch-test-probe",
      Runtime: "nodejs22.x",
      Architectures: ["arm64"],
      MemorySize: 256,
      Timeout: 58,
      Handler: "test/fixtures/probe-handler.handler",
      TracingConfig: Match.absent(),
      ReservedConcurrentExecutions: Match.absent(),
      Environment: {
        Variables: Match.objectLike({
          POPWATCH_TABLE: "popwatch-test",
          POPWATCH_TABLE_REGION: HOME,
          POPWATCH_CONFIG_FILE: "popwatch.config.json",
        }),
      },
      LoggingConfig: { LogGroup: { Ref: Match.anyValue() } },
    });
    const env = (
      Object.values(t.findResources("AWS::Lambda::Function"))[0] as { Properties: { Environment: { Variables: Record<string, string> } } }
    ).Properties.Environment.Variables;
    expect(env.NODE_OPTIONS).toBeUndefined();
    t.hasResourceProperties("AWS::Logs::LogGroup", { LogGroupName: "/aws/lambda/popwatch-test-probe", RetentionInDays: 14 });
    t.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      Qualifier: "$LATEST",
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 360,
    });
  });

  it("schedule: rate(1 minute) targeting the function; only that rule may invoke it", () => {
    const t = synth.templates.probe!;
    const fn = Object.keys(t.findResources("AWS::Lambda::Function"))[0]!;
    const rule = Object.keys(t.findResources("AWS::Events::Rule"))[0]!;
    t.resourceCountIs("AWS::Events::Rule", 1);
    t.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(1 minute)",
      State: "ENABLED",
      Targets: [
        {
          Arn: { "Fn::GetAtt": [fn, "Arn"] },
          Id: Match.anyValue(),
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 360 },
        },
      ],
    });
    t.resourceCountIs("AWS::Lambda::Permission", 1);
    t.hasResourceProperties("AWS::Lambda::Permission", {
      Action: "lambda:InvokeFunction",
      Principal: "events.amazonaws.com",
      FunctionName: { "Fn::GetAtt": [fn, "Arn"] },
      SourceArn: { "Fn::GetAtt": [rule, "Arn"] },
    });
  });

  it("IAM: one role; own log group, the store's three DynamoDB actions and (fast routing, on by default) the alert state's on the home-region table only", () => {
    const t = synth.templates.probe!;
    t.resourceCountIs("AWS::IAM::Role", 1);
    t.hasResourceProperties("AWS::IAM::Role", {
      AssumeRolePolicyDocument: {
        Statement: [{ Action: "sts:AssumeRole", Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" } }],
      },
      ManagedPolicyArns: Match.absent(),
      Policies: Match.absent(),
    });
    t.resourceCountIs("AWS::IAM::Policy", 1);
    const logGroup = Object.keys(t.findResources("AWS::Logs::LogGroup"))[0]!;
    expect(policyStatements(t)).toEqual([
      {
        Sid: "ProbeLogs",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: { "Fn::GetAtt": [logGroup, "Arn"] },
      },
      { Sid: "ResultsTable", Effect: "Allow", Action: [...PROBE_TABLE_ACTIONS], Resource: tableArn() },
      { Sid: "AlertState", Effect: "Allow", Action: [...ALERT_STATE_TABLE_ACTIONS], Resource: tableArn() },
    ]);
    expect(PROBE_TABLE_ACTIONS).toEqual(["dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:Query"]);
    // Default sinks (stdout): no bus to publish to.
    expect(policyStatements(t).some((st) => [st.Action].flat().includes("events:PutEvents"))).toBe(false);
    for (const s of policyStatements(t)) {
      for (const action of [s.Action].flat()) expect(action).not.toContain("*");
      expect(JSON.stringify(s.Resource)).not.toMatch(/"\*"|\/\*"|:\*"/);
    }
  });

  it("no cross-region references, custom resources or extra functions", () => {
    const json = JSON.stringify(synth.templates.probe!.toJSON());
    expect(json).not.toContain("Fn::ImportValue");
    expect(json).not.toMatch(/"Type":"(Custom::|AWS::CloudFormation::CustomResource)/);
    expect(synth.probe!.dependencies.filter((d) => d.region !== region)).toEqual([]);
  });

  it("ships the validated config in the bundle", () => {
    const out = join(useProject().paths.artifacts, synth.probe!.node.findChild("Probe").node.addr);
    const shipped = readFileSync(join(out, "popwatch.config.json"), "utf8");
    expect(shipped).toBe(bundledConfigJson(config));
    // What the function reads back validates to the same config (parseConfig is idempotent on its output).
    expect(parseConfig(JSON.parse(shipped))).toEqual(config);
    expect(existsSync(join(out, "test/fixtures/probe-handler.mjs"))).toBe(true);
    expect(existsSync(join(out, "test/fixtures/probe-handler.mjs.map"))).toBe(true);
  });
});

describe("probe stack and fast routing alerts", () => {
  it("off (analytics.alerts.popChange and outage false): exactly the two statements, no bus variable", async () => {
    const off = parseConfig({ ...CONFIG, analytics: { alerts: { popChange: false, outage: false } } });
    const t = (await synthRegion("us-east-1", { config: off })).templates.probe!;
    const logGroup = Object.keys(t.findResources("AWS::Logs::LogGroup"))[0]!;
    expect(policyStatements(t)).toEqual([
      {
        Sid: "ProbeLogs",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: { "Fn::GetAtt": [logGroup, "Arn"] },
      },
      { Sid: "ResultsTable", Effect: "Allow", Action: [...PROBE_TABLE_ACTIONS], Resource: tableArn() },
    ]);
    const env = (
      Object.values(t.findResources("AWS::Lambda::Function"))[0] as { Properties: { Environment: { Variables: Record<string, string> } } }
    ).Properties.Environment.Variables;
    expect(env.POPWATCH_ALERT_BUS).toBeUndefined();
  });

  it("on with eventbridge sinks: PutEvents on the evaluate stack's bus (home region, by ARN) and each named bus, nothing wider", async () => {
    const withBuses = parseConfig({
      ...CONFIG,
      alerting: {
        sinks: [
          { type: "eventbridge" },
          { type: "eventbridge", busName: "ops", region: "us-east-1" },
          { type: "webhook", url: "https://hooks.example.com/popwatch" },
        ],
      },
    });
    const t = (await synthRegion("ap-southeast-2", { config: withBuses })).templates.probe!;
    const statements = policyStatements(t);
    const bus = (region: string, name: string) => ({
      "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, `:events:${region}:${ACCOUNT}:event-bus/${name}`]],
    });
    expect(statements.find((st) => st.Sid === "AlertBuses")).toEqual({
      Sid: "AlertBuses",
      Effect: "Allow",
      Action: "events:PutEvents",
      Resource: [bus(HOME, "popwatch-test-alerts"), bus("us-east-1", "ops")],
    });
    expect(statements.find((st) => st.Sid === "AlertState")?.Resource).toEqual(tableArn());
    t.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ POPWATCH_ALERT_BUS: "popwatch-test-alerts" }) },
    });
    for (const st of statements) {
      for (const action of [st.Action].flat()) expect(action).not.toContain("*");
      expect(JSON.stringify(st.Resource)).not.toMatch(/"\*"|\/\*"|:\*"/);
    }
    expect(JSON.stringify(t.toJSON())).not.toContain("Fn::ImportValue");
  });

  it("a sink naming only another bus gets no PutEvents on the evaluate stack's bus", async () => {
    const other = parseConfig({ ...CONFIG, alerting: { sinks: [{ type: "eventbridge", busName: "ops" }] } });
    const t = (await synthRegion("us-east-1", { config: other })).templates.probe!;
    const resources = policyStatements(t).find((st) => st.Sid === "AlertBuses")?.Resource;
    expect(resources).toEqual({ "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, `:events:${HOME}:${ACCOUNT}:event-bus/ops`]] });
  });
});

describe("probe stack with queued rounds (schedule.dispatch queue)", () => {
  let t: Template;
  beforeAll(async () => {
    const queued = parseConfig({ ...CONFIG, schedule: { rateMinutes: 1, roundsPerInvocation: 6, timeoutMs: 5000, dispatch: "queue" } });
    t = (await synthRegion("us-east-1", { config: queued })).templates.probe!;
  });

  it("a round queue, encrypted, kept long enough for the longest delay, visible no sooner than the function may run", () => {
    t.resourceCountIs("AWS::SQS::Queue", 1);
    t.hasResourceProperties("AWS::SQS::Queue", {
      QueueName: "popwatch-test-probe-rounds",
      SqsManagedSseEnabled: true,
      VisibilityTimeout: roundQueueVisibilitySeconds(parseConfig(CONFIG).schedule),
      MessageRetentionPeriod: roundQueueRetentionSeconds(),
    });
    expect(roundQueueVisibilitySeconds(parseConfig(CONFIG).schedule)).toBeGreaterThanOrEqual(58);
    expect(roundQueueRetentionSeconds()).toBeGreaterThan(900);
    const queue = Object.keys(t.findResources("AWS::SQS::Queue"))[0]!;
    t.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ POPWATCH_ROUND_QUEUE_URL: { Ref: queue } }) },
    });
  });

  it("the function consumes one message per invocation and reports failed ones", () => {
    const fn = Object.keys(t.findResources("AWS::Lambda::Function"))[0]!;
    const queue = Object.keys(t.findResources("AWS::SQS::Queue"))[0]!;
    t.resourceCountIs("AWS::Lambda::EventSourceMapping", 1);
    t.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: fn },
      EventSourceArn: { "Fn::GetAtt": [queue, "Arn"] },
      BatchSize: 1,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
    // The schedule still starts each period.
    t.hasResourceProperties("AWS::Events::Rule", { ScheduleExpression: "rate(1 minute)" });
  });

  it("IAM: send to the round queue and consume it, nothing wider", () => {
    const queue = Object.keys(t.findResources("AWS::SQS::Queue"))[0]!;
    const statements = policyStatements(t);
    expect(statements).toContainEqual({
      Sid: "RoundQueueSend",
      Effect: "Allow",
      Action: "sqs:SendMessage",
      Resource: { "Fn::GetAtt": [queue, "Arn"] },
    });
    const consume = statements.find((st) => [st.Action].flat().includes("sqs:ReceiveMessage"));
    expect(consume?.Resource).toEqual({ "Fn::GetAtt": [queue, "Arn"] });
    expect([consume!.Action].flat().sort()).toEqual(
      ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage"].sort(),
    );
    for (const st of statements) {
      for (const action of [st.Action].flat()) expect(action).not.toContain("*");
      expect(JSON.stringify(st.Resource)).not.toMatch(/"\*"|\/\*"|:\*"/);
    }
  });

  it("inline dispatch has no queue", async () => {
    const inline = (await synthRegion("us-east-1")).templates.probe!;
    inline.resourceCountIs("AWS::SQS::Queue", 0);
    inline.resourceCountIs("AWS::Lambda::EventSourceMapping", 0);
  });
});

describe("evaluate stack (home region)", () => {
  let synth: Synth;
  let t: Template;
  beforeAll(async () => {
    synth = await synthRegion(HOME);
    t = synth.templates.evaluate!;
  });
  const logicalId = (type: string, props: Record<string, unknown> = {}): string => {
    const ids = Object.keys(t.findResources(type, { Properties: props }));
    expect(ids).toHaveLength(1);
    return ids[0]!;
  };

  it("is in the home region only, created after the table; the probe stacks stay as they are", async () => {
    expect(synth.evaluate!.region).toBe(HOME);
    expect(synth.evaluate!.stackName).toBe("test-popwatch-evaluate");
    expect(synth.evaluate!.dependencies).toContain(synth.storage);
    synth.templates.probe!.resourceCountIs("AWS::Lambda::Function", 1);
    synth.templates.probe!.resourceCountIs("AWS::Events::EventBus", 0);
    for (const region of REGIONS.slice(1)) {
      const other = await synthRegion(region, { finish: false });
      expect(other.evaluate).toBeUndefined();
      expect(other.app.node.findAll().filter((c) => c.node.id === "Evaluate" || c.node.id === "AlertBus")).toEqual([]);
      for (const type of ["AWS::Events::EventBus", "AWS::SNS::Topic"]) other.templates.probe!.resourceCountIs(type, 0);
      other.templates.probe!.resourceCountIs("AWS::Lambda::Function", 1);
    }
  });

  it("a custom alert bus <app>-<stage>-alerts", () => {
    t.resourceCountIs("AWS::Events::EventBus", 1);
    t.hasResourceProperties("AWS::Events::EventBus", { Name: "popwatch-test-alerts", EventSourceName: Match.absent() });
  });

  it("function: nodejs22.x on arm64, 256 MB, timeout 50 s, environment naming the bus, async retries within 2 minutes", () => {
    t.resourceCountIs("AWS::Lambda::Function", 1);
    t.hasResourceProperties("AWS::Lambda::Function", {
      FunctionName: "popwatch-test-evaluate",
      Runtime: "nodejs22.x",
      Architectures: ["arm64"],
      MemorySize: 256,
      Timeout: 50,
      Handler: "test/fixtures/evaluate-handler.handler",
      TracingConfig: Match.absent(),
      ReservedConcurrentExecutions: Match.absent(),
      Environment: {
        Variables: Match.objectLike({
          POPWATCH_TABLE: "popwatch-test",
          POPWATCH_TABLE_REGION: HOME,
          POPWATCH_CONFIG_FILE: "popwatch.config.json",
          POPWATCH_ALERT_BUS: "popwatch-test-alerts",
        }),
      },
      LoggingConfig: { LogGroup: { Ref: logicalId("AWS::Logs::LogGroup") } },
    });
    const env = (
      Object.values(t.findResources("AWS::Lambda::Function"))[0] as { Properties: { Environment: { Variables: Record<string, string> } } }
    ).Properties.Environment.Variables;
    expect(env.NODE_OPTIONS).toBeUndefined();
    t.resourceCountIs("AWS::Logs::LogGroup", 1);
    t.hasResource("AWS::Logs::LogGroup", {
      DeletionPolicy: "Delete",
      Properties: { LogGroupName: "/aws/lambda/popwatch-test-evaluate", RetentionInDays: 14 },
    });
    t.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      Qualifier: "$LATEST",
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 120,
    });
    expect([EVALUATE_TIMEOUT_SECONDS, EVALUATE_MAX_EVENT_AGE_SECONDS]).toEqual([50, 120]);
  });

  it("schedule: rate(1 minute) on the default bus targeting the function; only that rule may invoke it", () => {
    const fn = logicalId("AWS::Lambda::Function");
    const rule = logicalId("AWS::Events::Rule", { ScheduleExpression: Match.anyValue() });
    t.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(1 minute)",
      State: "ENABLED",
      EventBusName: Match.absent(),
      Targets: [
        {
          Arn: { "Fn::GetAtt": [fn, "Arn"] },
          Id: Match.anyValue(),
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 120 },
        },
      ],
    });
    t.resourceCountIs("AWS::Lambda::Permission", 1);
    t.hasResourceProperties("AWS::Lambda::Permission", {
      Action: "lambda:InvokeFunction",
      Principal: "events.amazonaws.com",
      FunctionName: { "Fn::GetAtt": [fn, "Arn"] },
      SourceArn: { "Fn::GetAtt": [rule, "Arn"] },
    });
  });

  it("example rule on the alert bus: popwatch pages, firing and resolved, to the pages topic", () => {
    t.resourceCountIs("AWS::Events::Rule", 2);
    const bus = logicalId("AWS::Events::EventBus");
    const topic = logicalId("AWS::SNS::Topic");
    t.hasResourceProperties("AWS::SNS::Topic", { TopicName: "popwatch-test-pages" });
    t.hasResourceProperties("AWS::Events::Rule", {
      EventBusName: { Ref: bus },
      State: "ENABLED",
      ScheduleExpression: Match.absent(),
      EventPattern: { source: ["popwatch"], "detail-type": [DETAIL_TYPE_FIRING, DETAIL_TYPE_RESOLVED], detail: { severity: ["page"] } },
      Targets: [{ Arn: { Ref: topic }, Id: Match.anyValue(), RoleArn: Match.absent() }],
    });
    expect([DETAIL_TYPE_FIRING, DETAIL_TYPE_RESOLVED]).toEqual(["Popwatch Burn-Rate Alert Firing", "Popwatch Burn-Rate Alert Resolved"]);
    // The topic lets EventBridge publish; nothing else may.
    t.resourceCountIs("AWS::SNS::TopicPolicy", 1);
    t.hasResourceProperties("AWS::SNS::TopicPolicy", {
      Topics: [{ Ref: topic }],
      PolicyDocument: {
        Statement: [
          {
            Action: "sns:Publish",
            Effect: "Allow",
            Principal: { Service: "events.amazonaws.com" },
            Resource: { Ref: topic },
            Sid: Match.anyValue(),
          },
        ],
      },
    });
    t.resourceCountIs("AWS::SNS::Subscription", 0);
  });

  it("IAM: one role, three statements: own log group, the evaluator's DynamoDB actions on the table, PutEvents on the bus", () => {
    t.resourceCountIs("AWS::IAM::Role", 1);
    t.hasResourceProperties("AWS::IAM::Role", {
      AssumeRolePolicyDocument: {
        Statement: [{ Action: "sts:AssumeRole", Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" } }],
      },
      ManagedPolicyArns: Match.absent(),
      Policies: Match.absent(),
    });
    t.resourceCountIs("AWS::IAM::Policy", 1);
    expect(policyStatements(t)).toEqual([
      {
        Sid: "EvaluateLogs",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: { "Fn::GetAtt": [logicalId("AWS::Logs::LogGroup"), "Arn"] },
      },
      {
        Sid: "ResultsTable",
        Effect: "Allow",
        Action: [
          "dynamodb:BatchGetItem",
          "dynamodb:BatchWriteItem",
          "dynamodb:DeleteItem",
          "dynamodb:GetItem",
          "dynamodb:PutItem",
          "dynamodb:Query",
          "dynamodb:UpdateItem",
        ],
        Resource: tableArn(),
      },
      {
        Sid: "AlertBuses",
        Effect: "Allow",
        Action: "events:PutEvents",
        Resource: { "Fn::GetAtt": [logicalId("AWS::Events::EventBus"), "Arn"] },
      },
    ]);
    expect([...EVALUATE_TABLE_ACTIONS]).toEqual([
      "dynamodb:BatchGetItem",
      "dynamodb:BatchWriteItem",
      "dynamodb:DeleteItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:UpdateItem",
    ]);
    for (const s of policyStatements(t)) {
      for (const action of [s.Action].flat()) expect(action).not.toContain("*");
      expect(JSON.stringify(s.Resource)).not.toMatch(/"\*"|\/\*"|:\*"/);
    }
  });

  it("outputs the bus name and ARN, the topic ARN and the function name", () => {
    const outputs = t.toJSON().Outputs as Record<string, { Value: unknown }>;
    const bus = logicalId("AWS::Events::EventBus");
    expect(outputs.AlertBusName?.Value).toEqual({ Ref: bus });
    expect(outputs.AlertBusArn?.Value).toEqual({ "Fn::GetAtt": [bus, "Arn"] });
    expect(outputs.PagesTopicArn?.Value).toEqual({ Ref: logicalId("AWS::SNS::Topic") });
    expect(outputs.EvaluateFunction?.Value).toEqual({ Ref: logicalId("AWS::Lambda::Function") });
  });

  it("no cross-region references, custom resources or extra functions", () => {
    const json = JSON.stringify(t.toJSON());
    expect(json).not.toContain("Fn::ImportValue");
    expect(json).not.toMatch(/"Type":"(Custom::|AWS::CloudFormation::CustomResource)/);
    expect(synth.evaluate!.dependencies.filter((d) => d.region !== HOME)).toEqual([]);
  });

  it("ships the validated config in the bundle", () => {
    const out = join(useProject().paths.artifacts, synth.evaluate!.node.findChild("Evaluate").node.addr);
    expect(readFileSync(join(out, "popwatch.config.json"), "utf8")).toBe(bundledConfigJson(config));
    expect(existsSync(join(out, "test/fixtures/evaluate-handler.mjs"))).toBe(true);
  });
});

describe("evaluate stack with bgp.rpki", () => {
  // Repository-relative, as deploys name it; bundled next to the config because the function cannot read the deployer's path.
  const VRPS = "packages/core/test/fixtures/rpki/rpki-client.json";

  it("bundles the VRP file as popwatch.vrps.json (POPWATCH_VRP_FILE); the routing reads need no statement more", async () => {
    const withRpki = parseConfig({
      ...CONFIG,
      bgp: { prefixes: [{ prefix: "198.51.100.0/24", origins: [64496] }], rpki: { vrpFile: VRPS } },
    });
    const synth = await synthRegion(HOME, { config: withRpki });
    const t = synth.templates.evaluate!;
    t.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({ POPWATCH_VRP_FILE: "popwatch.vrps.json", POPWATCH_CONFIG_FILE: "popwatch.config.json" }),
      },
    });
    expect(policyStatements(t).map((s) => s.Sid)).toEqual(["EvaluateLogs", "ResultsTable", "AlertBuses"]);
    const out = join(useProject().paths.artifacts, synth.evaluate!.node.findChild("Evaluate").node.addr);
    expect(readFileSync(join(out, "popwatch.vrps.json"), "utf8")).toBe(readFileSync(VRPS, "utf8"));
  });
});

describe("evaluate stack with eventbridge sinks on other buses", () => {
  const OTHER_ACCOUNT_BUS = "arn:aws:events:eu-central-1:210987654321:event-bus/central-ops";

  it("PutEvents on each configured bus's ARN too, the stack's own bus once", async () => {
    const withSinks = parseConfig({
      ...CONFIG,
      alerting: {
        sinks: [
          { type: "eventbridge", busName: "ops-alerts", region: "us-east-1" },
          { type: "eventbridge", busName: OTHER_ACCOUNT_BUS },
          { type: "eventbridge", busName: "popwatch-test-alerts" },
          { type: "eventbridge", busName: "ops-alerts", region: "us-east-1" },
          { type: "webhook", url: "https://hooks.example.org/popwatch" },
        ],
      },
    });
    const t = (await synthRegion(HOME, { config: withSinks, finish: false })).templates.evaluate!;
    const bus = Object.keys(t.findResources("AWS::Events::EventBus"))[0]!;
    const putEvents = policyStatements(t).filter((s) => [s.Action].flat().includes("events:PutEvents"));
    expect(putEvents).toEqual([
      {
        Sid: "AlertBuses",
        Effect: "Allow",
        Action: "events:PutEvents",
        Resource: [
          { "Fn::GetAtt": [bus, "Arn"] },
          { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, `:events:us-east-1:${ACCOUNT}:event-bus/ops-alerts`]] },
          OTHER_ACCOUNT_BUS,
        ],
      },
    ]);
    expect(JSON.stringify(putEvents)).not.toMatch(/"\*"|\/\*"|:\*"/);
  });

  it("a sink's buses follow functions/evaluate.ts: no bus name means the stack's bus, no region the home region", () => {
    const sinks = [
      { type: "eventbridge", busName: undefined },
      { type: "eventbridge", busName: "default" },
      { type: "stdout" },
    ] as unknown as PopwatchConfig["alerting"]["sinks"];
    const base = parseConfig(CONFIG);
    expect(alertBusTargets({ homeRegion: HOME, alerting: { ...base.alerting, sinks } }, "popwatch-test-alerts")).toEqual([
      { busName: "popwatch-test-alerts", region: HOME },
      { busName: "default", region: HOME },
    ]);
    // Default alerting (stdout only): the stack's bus alone.
    expect(alertBusTargets(base, "popwatch-test-alerts")).toEqual([{ busName: "popwatch-test-alerts", region: HOME }]);
  });
});

describe("region and schedule rules", () => {
  it("refuses a region outside the config, naming the ones that are", async () => {
    await expect(synthRegion("sa-east-1", { finish: false })).rejects.toThrow(
      /sa-east-1 is neither the home region \(eu-west-1\).*--region set to one of eu-west-1, us-east-1, ap-southeast-2/s,
    );
  });

  it("a home region that probes nothing gets the table and the evaluator only", async () => {
    const homeOnly = parseConfig({ ...CONFIG, homeRegion: "eu-central-1" });
    const { storage, probe, evaluate } = await synthRegion("eu-central-1", { config: homeOnly, finish: false });
    expect(storage?.region).toBe("eu-central-1");
    expect(evaluate?.region).toBe("eu-central-1");
    expect(probe).toBeUndefined();
    const remote = await synthRegion("us-east-1", { config: homeOnly, finish: false });
    remote.templates.probe!.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ POPWATCH_TABLE_REGION: "eu-central-1" }) },
    });
    remote.templates.probe!.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Resource: { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, `:dynamodb:eu-central-1:${ACCOUNT}:table/popwatch-test`]] },
          }),
        ]),
      },
    });
  });

  it("timeout, event age and rule follow schedule.rateMinutes", async () => {
    const schedule = (rateMinutes: number, roundsPerInvocation = 1, timeoutMs = 5000) => ({
      rateMinutes,
      roundsPerInvocation,
      timeoutMs,
      concurrency: 32,
      dispatch: "inline" as const,
    });
    expect(probeTimeoutSeconds(schedule(1))).toBe(58);
    expect(probeTimeoutSeconds(schedule(5))).toBe(298);
    expect(probeTimeoutSeconds(schedule(15))).toBe(898);
    expect(probeTimeoutSeconds(schedule(60))).toBe(900);
    expect(maxEventAgeSeconds(schedule(1))).toBe(360);
    expect(maxEventAgeSeconds(schedule(5))).toBe(1080);
    expect(maxEventAgeSeconds(schedule(1440))).toBe(21600);
    const five = parseConfig({ ...CONFIG, schedule: { rateMinutes: 5, roundsPerInvocation: 10 } });
    const { templates } = await synthRegion("us-east-1", { config: five, finish: false });
    templates.probe!.hasResourceProperties("AWS::Events::Rule", { ScheduleExpression: "rate(5 minutes)" });
    templates.probe!.hasResourceProperties("AWS::Lambda::Function", { Timeout: 298 });
  });

  it("rejects schedules whose last round cannot finish before the function timeout", () => {
    // 6 rounds a minute, 9.5 s probe timeout: valid locally, but the last round may run to 59.5 s > 58 s.
    expect(deploymentProblems(parseConfig({ ...CONFIG, schedule: { timeoutMs: 9500 } }))).toEqual([
      expect.stringMatching(/last of 6 rounds may run until 59500 ms \(4 probes in 1 batch of at most 32, 9500 ms each\)/),
    ]);
    // 40 probes at the default concurrency 32 take two 5 s batches: 50 s + 10 s > 58 s.
    const forty = parseConfig({
      ...CONFIG,
      targets: Array.from({ length: 10 }, (_, i) => ({
        name: `t${i}`,
        address: "192.0.2.1",
        probes: { dns: {}, tcp: {}, tls: {}, http: {} },
      })),
    });
    expect(deploymentProblems(forty)).toEqual([
      expect.stringMatching(/until 60000 ms \(40 probes in 2 batches.*raise schedule\.concurrency to at least 40/),
    ]);
    expect(deploymentProblems({ ...forty, schedule: { ...forty.schedule, concurrency: 40 } })).toEqual([]);
    // 6 rounds over an hour cannot fit Lambda's 15 minutes.
    expect(deploymentProblems(parseConfig({ ...CONFIG, schedule: { rateMinutes: 60, roundsPerInvocation: 6 } }))).toEqual([
      expect.stringMatching(/Lambda stops at 15 minutes/),
    ]);
    expect(deploymentProblems(parseConfig({ ...CONFIG, schedule: { rateMinutes: 60, roundsPerInvocation: 1 } }))).toEqual([]);
    expect(deploymentProblems(config)).toEqual([]);
  });

  it("counts a round's probes and its worst case exactly as the agent does", () => {
    for (const c of [
      config,
      parseConfig({ ...CONFIG, schedule: { concurrency: 3 } }),
      parseConfig({ ...CONFIG, schedule: { concurrency: 1, timeoutMs: 700 } }),
    ]) {
      expect(probesPerRound(c)).toBe(probeSpecsOf(c).length);
      expect(worstCaseRoundMs(c)).toBe(agentWorstCaseRoundMs(c.schedule, probeSpecsOf(c).length));
    }
  });
});

describe("config loading", () => {
  it("loads popwatch.config.ts from the root, POPWATCH_CONFIG first", async () => {
    const root = mkdtempSync(join(tmpdir(), "popwatch-root-"));
    try {
      writeFileSync(
        join(root, "popwatch.config.ts"),
        `const regions: string[] = ["us-west-2", "eu-north-1"];\nexport default { regions, targets: [{ name: "t", address: "192.0.2.1", probes: { tcp: { port: 53 } } }] };\n`,
      );
      const fromTs = await loadPopwatchConfig(root, {});
      expect(fromTs.source).toBe(join(root, "popwatch.config.ts"));
      expect(fromTs.config.homeRegion).toBe("us-west-2");
      expect(fromTs.config.schedule).toEqual({
        rateMinutes: 1,
        roundsPerInvocation: 6,
        timeoutMs: 5000,
        concurrency: 32,
        dispatch: "inline",
      });
      const fromEnv = await loadPopwatchConfig(root, { POPWATCH_CONFIG: process.env.POPWATCH_CONFIG });
      expect(fromEnv.config).toEqual(config);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("names the file and every invalid field; says how to create a missing config", async () => {
    const root = mkdtempSync(join(tmpdir(), "popwatch-root-"));
    try {
      await expect(loadPopwatchConfig(root, {})).rejects.toThrow(/no config found\. Create popwatch\.config\.ts/);
      await expect(loadPopwatchConfig(root, { POPWATCH_CONFIG: "nope.json" })).rejects.toThrow(/POPWATCH_CONFIG=nope\.json names no file/);
      writeFileSync(join(root, "popwatch.config.json"), JSON.stringify({ regions: ["mars-1"], targets: [] }));
      await expect(loadPopwatchConfig(root, {})).rejects.toThrow(
        /invalid config .*popwatch\.config\.json:\nregions\.0: expected an AWS region code.*\ntargets:/s,
      );
      writeFileSync(join(root, "popwatch.config.json"), JSON.stringify({ ...CONFIG, schedule: { timeoutMs: 9500 } }));
      await expect(loadPopwatchConfig(root, {})).rejects.toThrow(/cannot be deployed:\nschedule: the last of 6 rounds/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("config loading with OpenSLO files", () => {
  it("resolves the files at synth time: the bundled JSON holds their SLOs and no paths, and the functions' reader gets the same config", async () => {
    const root = mkdtempSync(join(tmpdir(), "popwatch-root-"));
    try {
      mkdirSync(join(root, "conf", "slo"), { recursive: true });
      copyFileSync(join(ROOT, "examples", "slo", "dns.yaml"), join(root, "conf", "slo", "dns.yaml"));
      const targets = [
        { name: "k-root", address: "193.0.14.129", probes: { dns: {} } },
        { name: "cloudflare-dns", address: "1.1.1.1", probes: { dns: {} } },
      ];
      writeFileSync(join(root, "conf", "popwatch.json"), JSON.stringify({ ...CONFIG, targets, openslo: ["slo/dns.yaml"] }));
      const { config: loaded } = await loadPopwatchConfig(root, { POPWATCH_CONFIG: "conf/popwatch.json" });
      expect(loaded.slos.map((s) => s.name)).toEqual(["k-root-availability", "cloudflare-dns-fast"]);
      const bundled = bundledConfigJson(loaded);
      expect(bundled).not.toContain("openslo");
      // The probe and evaluate functions read the shipped file with readConfigJson: no YAML, no files to find.
      expect(await readConfigJson(join(root, await writeBundledConfig(loaded, root)))).toEqual(loaded);

      writeFileSync(join(root, "conf", "slo", "dns.yaml"), "apiVersion: openslo/v1\nkind: [SLO\n");
      await expect(loadPopwatchConfig(root, { POPWATCH_CONFIG: "conf/popwatch.json" })).rejects.toThrow(
        /invalid config .*popwatch\.json:\nopenslo\.0: slo\/dns\.yaml:\d+:\d+: invalid YAML \([A-Z_]+\)/,
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("the real handlers", () => {
  const handlers = [
    { file: "functions/probe", construct: "Probe", region: "us-east-1", stack: (s: PopwatchStacks) => s.probe },
    { file: "functions/evaluate", construct: "Evaluate", region: HOME, stack: (s: PopwatchStacks) => s.evaluate },
  ];
  it.each(handlers)(
    "$file.ts: SST's bundle imports only node built-ins and loads without node_modules",
    async ({ file, construct, region, stack }) => {
      await initProject({ stage: "test", region });
      const app = new App({ mode: "deploy", stage: "test", name: "popwatch", region, account: ACCOUNT });
      const built = stack(await addPopwatchStacks(app, config))!;
      await app.finish();
      Template.fromStack(built).hasResourceProperties("AWS::Lambda::Function", { Handler: `${file}.handler`, Runtime: "nodejs22.x" });
      const out = join(useProject().paths.artifacts, built.node.findChild(construct).node.addr);
      const code = readFileSync(join(out, `${file}.mjs`), "utf8");
      // Regression guard only; the probe's goal (≤ 1 MB) and the size breakdown are in bench/RESULTS.md.
      expect(code.length).toBeLessThanOrEqual(2 * 1024 * 1024);
      // Every import and require the bundle still makes, as esbuild parses them.
      const scan = await build({
        entryPoints: [join(out, `${file}.mjs`)],
        bundle: true,
        write: false,
        metafile: true,
        platform: "node",
        format: "esm",
        external: ["*"],
        logLevel: "silent",
        outdir: join(tmpdir(), "popwatch-scan"),
      });
      const imports = new Set(Object.values(scan.metafile.inputs).flatMap((input) => input.imports.map((i) => i.path)));
      expect([...imports].filter((spec) => !spec.startsWith("node:"))).toEqual(["module", "url"]); // SST's createRequire banner
      expect(code).not.toContain("dynalite");
      // Lambda has no node_modules next to the bundle: load a copy from a directory without any.
      const lambdaRoot = mkdtempSync(join(tmpdir(), "popwatch-lambda-"));
      try {
        cpSync(out, lambdaRoot, { recursive: true });
        const script = `const m = await import(${JSON.stringify(pathToFileURL(join(lambdaRoot, `${file}.mjs`)).href)}); console.log(typeof m.handler);`;
        const loaded = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
          cwd: lambdaRoot,
          encoding: "utf8",
          env: { PATH: process.env.PATH ?? "" },
        });
        expect(loaded.trim()).toBe("function");
        expect(JSON.parse(readFileSync(join(lambdaRoot, "popwatch.config.json"), "utf8"))).toEqual(JSON.parse(bundledConfigJson(config)));
      } finally {
        rmSync(lambdaRoot, { recursive: true, force: true });
      }
    },
  );
});
