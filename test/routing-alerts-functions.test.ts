// Routing alerts through the Lambda handlers, minus AWS: functions/bgp.ts
// reads a real RIS update file (test/fixtures/mrt, from bgpdump's test data)
// from a loopback archive server into dynalite and, in the same invocation,
// delivers the routing pages through the real EventBridge client to a
// loopback endpoint; a retried event sends nothing again, and
// functions/evaluate.ts, judging the same snapshots a minute later, neither.
// The watched prefix is 103.213.236.0/22 of AS135310, which the file shows
// deaggregated into /24s by that same origin: a sub-prefix hijack by the
// definition (longer than maxLength /22), seen by several peers.
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { type Server, createServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LogEntry } from "@popwatch/agent";
import { type PopwatchConfigInput, parseConfig } from "@popwatch/core";
import { type CreateSinksOptions, DETAIL_TYPE_FIRING } from "@popwatch/notify";
import { DynamoAlertStateStore, DynamoRoutingRepository } from "@popwatch/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBgpHandler } from "../functions/bgp";
import { createEvaluateHandler } from "../functions/evaluate";
import { type MemoryTable, startMemoryTable } from "../packages/store/test/support/memory-table";
import { ALERT_STATE_TABLE_ACTIONS, BGP_TABLE_ACTIONS } from "../stacks/settings";
import { type EventBridgeEndpoint, startEventBridgeEndpoint } from "./support/eventbridge-endpoint";

type NotifyEventBridgeClient = ReturnType<NonNullable<CreateSinksOptions["eventBridgeClient"]>>;
const { EventBridgeClient } = createRequire(join(import.meta.dirname, "../packages/notify/package.json"))(
  "@aws-sdk/client-eventbridge",
) as {
  EventBridgeClient: new (config: {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    maxAttempts: number;
  }) => NotifyEventBridgeClient;
};

const FIXTURE = join(import.meta.dirname, "fixtures/mrt/updates.20160811.1600.gz");
const WATCHED = "103.213.236.0/22";
const SUB_PREFIX = `routing:sub-prefix-hijack:${WATCHED}`;
const BUS = "popwatch-test-alerts";
const HOME = "eu-west-1";

const scheduled = (time: string, id = `bgp-${time}`) => ({
  version: "0",
  id,
  "detail-type": "Scheduled Event",
  source: "aws.events",
  account: "123456789012",
  time,
  region: HOME,
  resources: ["arn:aws:events:eu-west-1:123456789012:rule/popwatch-test"],
  detail: {},
});

let table: MemoryTable;
let server: Server;
let base: string;
let endpoint: EventBridgeEndpoint;
let dir: string;
const clients: NotifyEventBridgeClient[] = [];
/** The DynamoDB actions the bgp handler sent: what its stack grants. */
const sentActions = new Set<string>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-routing-functions-"));
  table = await startMemoryTable("routing-functions");
  endpoint = await startEventBridgeEndpoint();
  const file = readFileSync(FIXTURE);
  server = createServer((req, res) => {
    if (req.url === "/rrc00/2016.08/updates.20160811.1600.gz") res.writeHead(200, { "content-length": file.length }).end(file);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const client of clients) client.destroy();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await endpoint?.close();
  await table?.close();
  await rm(dir, { recursive: true, force: true });
});

function eventBridgeClient(region: string | undefined): NotifyEventBridgeClient {
  const client = new EventBridgeClient({
    endpoint: endpoint.endpoint,
    region: region ?? HOME,
    credentials: { accessKeyId: "popwatch-test", secretAccessKey: "popwatch-test" },
    maxAttempts: 1,
  });
  clients.push(client);
  return client;
}

function configInput(vrpFile?: string): PopwatchConfigInput {
  return {
    homeRegion: HOME,
    regions: [HOME],
    targets: [{ name: "edge", address: "127.0.0.1", probes: { tcp: { port: 443 } } }],
    bgp: {
      prefixes: [{ prefix: WATCHED, origins: [135310] }],
      collectors: [{ name: "rrc00", archive: "ris" }],
      archives: { ris: base },
      ...(vrpFile === undefined ? {} : { rpki: { vrpFile } }),
    },
    alerting: { sinks: [{ type: "eventbridge" }] },
  };
}

describe("routing alerts in the Lambda handlers", { timeout: 120_000 }, () => {
  it("functions/bgp.ts delivers the sub-prefix page right after ingest, once; the evaluator a minute later adds nothing", async () => {
    // The bundled VRP file (POPWATCH_VRP_FILE under LAMBDA_TASK_ROOT): the /24s of AS135310 are covered only up to /22.
    await writeFile(join(dir, "popwatch.vrps.json"), JSON.stringify({ roas: [{ asn: 135310, prefix: WATCHED, maxLength: 22 }] }));
    const env = {
      AWS_REGION: HOME,
      POPWATCH_TABLE: table.tableName,
      POPWATCH_TABLE_REGION: "local",
      POPWATCH_ALERT_BUS: BUS,
      POPWATCH_VRP_FILE: "popwatch.vrps.json",
      LAMBDA_TASK_ROOT: dir,
    };
    const client = table.newClient();
    client.middlewareStack.add(
      (next, context) => (args) => {
        sentActions.add(`dynamodb:${String(context.commandName).replace(/Command$/, "")}`);
        return next(args);
      },
      { step: "initialize" },
    );
    const logs: LogEntry[] = [];
    // The deployer's path in the config: the function must read its bundled copy instead.
    const config = parseConfig(configInput("/nonexistent/deployer/vrps.json"));
    // The repositories the handler would open on this client, with the clock at the file's day (events older than the
    // retention are not read back); the alert state store is the one it opens too.
    const routingRepo = new DynamoRoutingRepository({
      client,
      tableName: table.tableName,
      clock: () => Date.parse("2016-08-11T16:30:00Z"),
    });
    const alerts = new DynamoAlertStateStore({ client, tableName: table.tableName });
    const bgp = createBgpHandler({
      config,
      routing: routingRepo,
      alerts,
      env,
      eventBridgeClient,
      logger: (entry) => logs.push(entry),
    });
    const first = await bgp(scheduled("2016-08-11T16:10:00Z"), { awsRequestId: "r1" });
    expect(first.ingested).toBe(1);
    expect(first.matched).toBeGreaterThan(0);
    const routing = first.routingAlerts!;
    expect(routing.problems).toEqual([]);
    expect(routing.firing).toContainEqual({ slo: SUB_PREFIX, severity: "page" });
    expect(routing.firing).toContainEqual({ slo: `routing:rpki-invalid:${WATCHED}`, severity: "ticket" });
    expect(routing.notificationsPlanned).toBe(routing.firing.length);
    expect(routing.delivered).toBe(routing.firing.length);
    expect(routing.undelivered).toBe(0);
    const pages = endpoint.events.filter((e) => (e.Detail as { slo: string }).slo === SUB_PREFIX);
    expect(pages).toHaveLength(1);
    expect(pages[0]).toMatchObject({ EventBusName: BUS, DetailType: DETAIL_TYPE_FIRING });
    expect(JSON.stringify(pages[0]!.Detail)).toContain("103.213.236.0/24");
    expect(endpoint.events.map((e) => (e.Detail as { slo: string }).slo).sort()).toEqual(routing.firing.map((f) => f.slo).sort());
    expect(logs.find((l) => l.msg === "routing alerts")).toMatchObject({ level: "info", requestId: "r1" });

    // Lambda retries the event: the file is done (cursor), nothing is folded, nothing is judged or sent again.
    const retry = await bgp(scheduled("2016-08-11T16:10:00Z"), { awsRequestId: "r2" });
    expect(retry).toMatchObject({ ingested: 0, routingAlerts: null });
    const sent = endpoint.events.length;

    // The evaluator, judging the same snapshots at the next minute through its own store: the states are already firing.
    await writeFile(join(dir, "popwatch.config.json"), JSON.stringify(configInput("/nonexistent/deployer/vrps.json")));
    const evaluate = createEvaluateHandler({
      client: table.newClient(),
      env: { ...env, POPWATCH_CONFIG_FILE: "popwatch.config.json" },
      eventBridgeClient,
      logger: () => {},
    });
    const summary = await evaluate(scheduled("2016-08-11T16:11:00Z", "evaluate-1"), {});
    expect(summary.routingProblems).toEqual([]);
    expect(summary.firing).toContainEqual({ slo: SUB_PREFIX, scope: "pooled", severity: "page" });
    expect(summary.notificationsPlanned).toBe(0);
    expect(endpoint.events).toHaveLength(sent);

    // Every action the bgp handler sent is one its stack grants.
    const granted = new Set<string>([...BGP_TABLE_ACTIONS, ...ALERT_STATE_TABLE_ACTIONS]);
    expect([...sentActions].filter((action) => !granted.has(action))).toEqual([]);
  });
});
