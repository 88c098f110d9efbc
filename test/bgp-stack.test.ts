// Synth tests of the BGP archive reader's stack, offline like test/stacks.test.ts:
// the home region gets it only when the config has a `bgp` section; a 5-minute
// schedule, nodejs22.x, and a role with exactly its log group, the three
// table actions the routing repository sends, the alert state store's actions
// (routing alerts after ingest) and PutEvents on the buses its eventbridge
// sinks name (test/bgp-function.test.ts records what it really sends against
// dynalite).
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type PopwatchConfig, type PopwatchConfigInput, parseConfig } from "@popwatch/core";
import { Match, Template } from "aws-cdk-lib/assertions";
import { build } from "esbuild";
import { App } from "sst/constructs";
import { initProject, useProject } from "sst/project.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PopwatchStacks, addPopwatchStacks } from "../stacks/index";
import { ALERT_STATE_TABLE_ACTIONS, BGP_TABLE_ACTIONS, BGP_TIMEOUT_SECONDS } from "../stacks/settings";

const ACCOUNT = "123456789012";
const HOME = "eu-west-1";
const REGIONS = [HOME, "us-east-1"];

const BASE: PopwatchConfigInput = {
  homeRegion: HOME,
  regions: REGIONS,
  targets: [{ name: "edge", address: "198.51.100.10", probes: { tcp: { port: 443 } } }],
};
const WITH_BGP: PopwatchConfigInput = {
  ...BASE,
  bgp: {
    prefixes: [{ prefix: "198.51.100.0/24", origins: [64496] }],
    collectors: [
      { name: "rrc00", archive: "ris" },
      { name: "route-views.linx", archive: "routeviews" },
    ],
  },
};

let dir: string;
const savedEnv = process.env.POPWATCH_CONFIG;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "popwatch-bgp-stack-"));
  const file = join(dir, "popwatch.config.json");
  writeFileSync(file, JSON.stringify(WITH_BGP));
  process.env.POPWATCH_CONFIG = file;
});
afterAll(() => {
  if (savedEnv === undefined) delete process.env.POPWATCH_CONFIG;
  else process.env.POPWATCH_CONFIG = savedEnv;
  rmSync(dir, { recursive: true, force: true });
});

async function synth(region: string, config: PopwatchConfig, finish = true): Promise<PopwatchStacks> {
  await initProject({ stage: "test", region });
  const app = new App({ mode: "deploy", stage: "test", name: "popwatch", region, account: ACCOUNT });
  const stacks = await addPopwatchStacks(app, config, {
    handler: "test/fixtures/probe-handler.handler",
    evaluateHandler: "test/fixtures/evaluate-handler.handler",
    bgpHandler: "test/fixtures/bgp-handler.handler",
  });
  if (finish) await app.finish();
  return stacks;
}

type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Sid?: string };

describe("bgp stack", () => {
  let stacks: PopwatchStacks;
  let t: Template;
  beforeAll(async () => {
    stacks = await synth(HOME, parseConfig(WITH_BGP));
    t = Template.fromStack(stacks.bgp!);
  });

  it("is in the home region, after the table, only with a bgp section", async () => {
    expect(stacks.bgp!.stackName).toBe("test-popwatch-bgp");
    expect(stacks.bgp!.region).toBe(HOME);
    expect(stacks.bgp!.dependencies).toContain(stacks.storage);
    expect((await synth("us-east-1", parseConfig(WITH_BGP), false)).bgp).toBeUndefined();
    expect((await synth(HOME, parseConfig(BASE), false)).bgp).toBeUndefined();
  });

  it("runs every 5 minutes: nodejs22.x on arm64, under the schedule, with the table's environment", () => {
    t.resourceCountIs("AWS::Lambda::Function", 1);
    t.hasResourceProperties("AWS::Lambda::Function", {
      FunctionName: "popwatch-test-bgp",
      Runtime: "nodejs22.x",
      Architectures: ["arm64"],
      Timeout: BGP_TIMEOUT_SECONDS,
      Handler: "test/fixtures/bgp-handler.handler",
      Environment: {
        Variables: Match.objectLike({
          POPWATCH_TABLE: "popwatch-test",
          POPWATCH_TABLE_REGION: HOME,
          POPWATCH_CONFIG_FILE: "popwatch.config.json",
          POPWATCH_ALERT_BUS: "popwatch-test-alerts",
        }),
      },
    });
    expect(BGP_TIMEOUT_SECONDS).toBeLessThan(5 * 60);
    t.resourceCountIs("AWS::Events::Rule", 1);
    t.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(5 minutes)",
      State: "ENABLED",
      Targets: [Match.objectLike({ Arn: { "Fn::GetAtt": [Object.keys(t.findResources("AWS::Lambda::Function"))[0], "Arn"] } })],
    });
    t.hasResourceProperties("AWS::Lambda::EventInvokeConfig", { MaximumRetryAttempts: 1, MaximumEventAgeInSeconds: 300 });
  });

  it("least privilege: its log group, BatchWriteItem, PutItem, Query and the alert state actions on the one table; no wildcard", () => {
    const logGroup = Object.keys(t.findResources("AWS::Logs::LogGroup"))[0]!;
    t.resourceCountIs("AWS::IAM::Policy", 1);
    const statements = Object.values(t.findResources("AWS::IAM::Policy")).flatMap(
      (p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
    );
    expect(statements).toEqual([
      {
        Sid: "BgpLogs",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: { "Fn::GetAtt": [logGroup, "Arn"] },
      },
      {
        Sid: "RoutingTable",
        Effect: "Allow",
        Action: ["dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:Query"],
        Resource: { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, `:dynamodb:${HOME}:${ACCOUNT}:table/popwatch-test`]] },
      },
      {
        // The default sink is stdout: no bus to publish to, so no AlertBuses statement.
        Sid: "AlertState",
        Effect: "Allow",
        Action: [...ALERT_STATE_TABLE_ACTIONS],
        Resource: { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, `:dynamodb:${HOME}:${ACCOUNT}:table/popwatch-test`]] },
      },
    ]);
    expect([...BGP_TABLE_ACTIONS]).toEqual(["dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:Query"]);
    for (const s of statements) {
      for (const action of [s.Action].flat()) expect(action).not.toContain("*");
      expect(JSON.stringify(s.Resource)).not.toMatch(/"\*"|\/\*"|:\*"/);
    }
    // Its own role: no managed policies (AWSLambdaBasicExecutionRole grants logs:* everywhere).
    t.hasResourceProperties("AWS::IAM::Role", { ManagedPolicyArns: Match.absent() });
  });

  it("routing alerts to an eventbridge sink: PutEvents on the stack's bus only; a VRP file is bundled as POPWATCH_VRP_FILE", async () => {
    const withBus = parseConfig({
      ...WITH_BGP,
      bgp: { ...WITH_BGP.bgp!, rpki: { vrpFile: "test/fixtures/rpki/vrps.json" } },
      alerting: { sinks: [{ type: "eventbridge" }] },
    });
    const bus = Template.fromStack((await synth(HOME, withBus, false)).bgp!);
    const statements = Object.values(bus.findResources("AWS::IAM::Policy")).flatMap(
      (p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
    );
    expect(statements.map((s) => s.Sid)).toEqual(["BgpLogs", "RoutingTable", "AlertState", "AlertBuses"]);
    expect(statements.at(-1)).toEqual({
      Sid: "AlertBuses",
      Effect: "Allow",
      Action: "events:PutEvents",
      Resource: {
        "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, `:events:${HOME}:${ACCOUNT}:event-bus/popwatch-test-alerts`]],
      },
    });
    bus.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ POPWATCH_VRP_FILE: "popwatch.vrps.json", POPWATCH_ALERT_BUS: "popwatch-test-alerts" }) },
    });
  });
});

// Bundling every stack of the home region (probe, evaluate, bgp) takes a while on a shared machine.
describe("the real handler", { timeout: 240_000 }, () => {
  it("functions/bgp.ts: SST's bundle imports only node built-ins and loads without node_modules", async () => {
    await initProject({ stage: "test", region: HOME });
    const app = new App({ mode: "deploy", stage: "test", name: "popwatch", region: HOME, account: ACCOUNT });
    const built = (await addPopwatchStacks(app, parseConfig(WITH_BGP))).bgp!;
    await app.finish();
    Template.fromStack(built).hasResourceProperties("AWS::Lambda::Function", { Handler: "functions/bgp.handler", Runtime: "nodejs22.x" });
    const out = join(useProject().paths.artifacts, built.node.findChild("Bgp").node.addr);
    const code = readFileSync(join(out, "functions/bgp.mjs"), "utf8");
    expect(code).not.toContain("dynalite");
    const scan = await build({
      entryPoints: [join(out, "functions/bgp.mjs")],
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
    expect([...imports].filter((spec) => !isBuiltin(spec))).toEqual([]);
    const lambdaRoot = mkdtempSync(join(tmpdir(), "popwatch-lambda-"));
    try {
      cpSync(out, lambdaRoot, { recursive: true });
      const script = `const m = await import(${JSON.stringify(pathToFileURL(join(lambdaRoot, "functions/bgp.mjs")).href)}); console.log(typeof m.handler);`;
      const loaded = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
        cwd: lambdaRoot,
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "" },
      });
      expect(loaded.trim()).toBe("function");
    } finally {
      rmSync(lambdaRoot, { recursive: true, force: true });
    }
  });
});
