// The probe handler with schedule.dispatch "queue", end to end minus AWS:
// real scheduled-event and SQS-event payloads, the real SQS client sending to
// a loopback SendMessageBatch endpoint, a DynamoDBClient on embedded dynalite,
// probes against loopback NSD and nginx. A virtual wall clock stands in for
// the delays SQS would apply, so six rounds a minute run in seconds.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { type LogEntry, SqsRoundQueue } from "@popwatch/agent";
import { type EmbeddedStore, startEmbeddedStore } from "@popwatch/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ProbeHandler, createHandler } from "../functions/probe";
import { requireServer, skipUnless, useTestServers } from "./support/servers";
import { type SqsEndpoint, startSqsEndpoint } from "./support/sqs-endpoint";

const servers = useTestServers();
const needs = [skipUnless(servers.dns.nsd), skipUnless(servers.nginx)];
const skip = needs.some((n) => n.skip);
const note = needs.map((n) => n.note).join("");

const REGION = "eu-west-1";
const QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/popwatch-test-probe-rounds";
// A minute well in the past, so nothing the test writes collides with a real clock.
const T = Math.floor(Date.now() / 60_000) * 60_000 - 30 * 60_000;
const minuteOf = (ms: number) => new Date(ms).toISOString().slice(0, 16);

const scheduledEvent = (ms: number) => ({
  version: "0",
  id: `event-${ms}`,
  "detail-type": "Scheduled Event",
  source: "aws.events",
  account: "123456789012",
  time: new Date(ms).toISOString().replace(".000Z", "Z"),
  region: REGION,
  resources: ["arn:aws:events:eu-west-1:123456789012:rule/popwatch-test-probe"],
  detail: {},
});
const sqsEvent = (messageId: string, body: string) => ({
  Records: [
    {
      messageId,
      receiptHandle: "handle",
      body,
      attributes: { ApproximateReceiveCount: "1", SentTimestamp: "0", SenderId: "x", ApproximateFirstReceiveTimestamp: "0" },
      messageAttributes: {},
      md5OfBody: "",
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:popwatch-test-probe-rounds",
      awsRegion: REGION,
    },
  ],
});
const context = () => ({ awsRequestId: "req", getRemainingTimeInMillis: () => 50_000 });

let dir: string;
let embedded: EmbeddedStore;
let dynamo: DynamoDBClient;
let sqs: SQSClient;
let endpoint: SqsEndpoint;
let virtualNow = T;
let probe: ProbeHandler;
const logs: LogEntry[] = [];
const targets = ["nsd", "nginx"];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-queue-"));
  embedded = await startEmbeddedStore({ dataDir: join(dir, "data") });
  endpoint = await startSqsEndpoint();
  dynamo = new DynamoDBClient({
    endpoint: embedded.endpoint,
    region: "local",
    credentials: { accessKeyId: "t", secretAccessKey: "t" },
    maxAttempts: 1,
  });
  sqs = new SQSClient({ endpoint: endpoint.url, region: REGION, credentials: { accessKeyId: "t", secretAccessKey: "t" }, maxAttempts: 1 });
});
afterAll(async () => {
  dynamo?.destroy();
  sqs?.destroy();
  await endpoint?.close();
  await embedded?.close();
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(skip)(`probe handler, queued rounds${note}`, () => {
  const env = () => ({
    AWS_REGION: REGION,
    POPWATCH_TABLE: "popwatch",
    POPWATCH_TABLE_REGION: "local",
    POPWATCH_CONFIG_FILE: "popwatch.config.json",
    POPWATCH_ROUND_QUEUE_URL: QUEUE_URL,
    LAMBDA_TASK_ROOT: dir,
  });

  beforeAll(async () => {
    const nsd = requireServer(servers.dns.nsd);
    const nginx = requireServer(servers.nginx);
    const config = {
      regions: [REGION],
      schedule: { rateMinutes: 1, roundsPerInvocation: 6, timeoutMs: 2000, dispatch: "queue" },
      targets: [
        { name: "nsd", address: nsd.address, probes: { dns: { port: nsd.port, qname: servers.records.a.name, qtype: "A" } } },
        { name: "nginx", address: nginx.address, hostname: nginx.host, probes: { http: { port: nginx.httpsPort, ca: [nginx.caPem] } } },
      ],
    };
    await writeFile(join(dir, "popwatch.config.json"), JSON.stringify(config));
    probe = createHandler({
      client: dynamo,
      env: env(),
      queue: new SqsRoundQueue({ client: sqs, queueUrl: QUEUE_URL }),
      logger: (entry) => logs.push(entry),
      now: () => virtualNow,
      sleep: async (ms) => {
        virtualNow += ms;
      },
    });
  });

  const minuteTotals = async (minuteMs: number) => {
    const totals: Record<string, number> = {};
    for (const target of targets) {
      const kind = target === "nsd" ? "dns" : "http";
      const [rollup] = await embedded.store.queryRollups({
        target,
        kind,
        region: REGION,
        granularity: "minute",
        from: minuteMs,
        to: minuteMs + 60_000,
      });
      totals[target] = rollup?.total ?? 0;
    }
    return totals;
  };

  /** Runs a scheduled period: the scheduled event at `start`, then the queued rounds it sent, each at its slot. */
  const runPeriod = async (start: number, options: { holdBack?: number[] } = {}) => {
    endpoint.sent = [];
    virtualNow = start + 200;
    const summary = await probe(scheduledEvent(start), context());
    expect(summary).toMatchObject({ rounds: 1, results: 2, ok: 2, written: 2, enqueuedRounds: 5, errors: [] });
    const sent = [...endpoint.sent];
    expect(sent.map((m) => m.delaySeconds)).toEqual([10, 20, 30, 40, 50]);
    const held: { id: string; body: string }[] = [];
    for (const [index, message] of sent.entries()) {
      if (options.holdBack?.includes(index + 1)) {
        held.push({ id: message.id, body: message.body });
        continue;
      }
      virtualNow = start + message.delaySeconds * 1000 + 150;
      expect(await probe(sqsEvent(`${start}-${message.id}`, message.body), context())).toEqual({ batchItemFailures: [] });
    }
    return held;
  };

  it("round 0 runs at once, the other five wait in the queue until their slot; the next period rolls up this one", async () => {
    await runPeriod(T);
    // Nothing rolled up yet: the scheduled invocation rolls up the previous period.
    expect(await minuteTotals(T)).toEqual({ nsd: 0, nginx: 0 });
    await runPeriod(T + 60_000, { holdBack: [5] });
    expect(await minuteTotals(T)).toEqual({ nsd: 6, nginx: 6 });
    const stored = await embedded.store.queryResults({ since: T, until: T + 60_000, region: REGION });
    expect(stored).toHaveLength(12);
    expect(new Set(stored.map((r) => r.slotAt)).size).toBe(6);
    expect(stored.every((r) => r.ok)).toBe(true);
  });

  it("a round that ends after its period was rolled up rolls it up again; a duplicate delivery counts nothing twice", async () => {
    // Period T+60 s: round 5 was held back; period T+120 s rolls it up without that round.
    const held = await runPeriod(T + 60_000, { holdBack: [5] });
    await runPeriod(T + 120_000);
    expect(await minuteTotals(T + 60_000)).toEqual({ nsd: 5, nginx: 5 });
    // The straggler: slot T+110 s, still within its interval, finishing in the settle window.
    virtualNow = T + 115_600;
    expect(await probe(sqsEvent("late", held[0]!.body), context())).toEqual({ batchItemFailures: [] });
    expect(await minuteTotals(T + 60_000)).toEqual({ nsd: 6, nginx: 6 });
    // SQS delivers a message twice: same slot, same keys.
    virtualNow = T + 115_700;
    await probe(sqsEvent("late-again", held[0]!.body), context());
    expect(await minuteTotals(T + 60_000)).toEqual({ nsd: 6, nginx: 6 });
    expect(await embedded.store.queryResults({ since: T + 60_000, until: T + 120_000, region: REGION })).toHaveLength(12);
    expect(minuteOf(T + 60_000)).toMatch(/:\d\d$/);
  });

  it("when a scheduled event is lost, the period before it is still rolled up one period later", async () => {
    const start = T + 7 * 60_000;
    await runPeriod(start);
    // The event at start + 60 s never comes; the next one rolls up both periods before it.
    endpoint.sent = [];
    virtualNow = start + 120_000 + 200;
    await probe(scheduledEvent(start + 120_000), context());
    expect(await minuteTotals(start)).toEqual({ nsd: 6, nginx: 6 });
    expect(await minuteTotals(start + 60_000)).toEqual({ nsd: 0, nginx: 0 });
  });

  it("a round whose slot passed more than an interval ago is skipped, not filed under a time it did not probe", async () => {
    const body = JSON.stringify({ v: 1, region: REGION, scheduledAt: new Date(T + 180_000).toISOString(), invocationId: "late", round: 2 });
    virtualNow = T + 180_000 + 20_000 + 10_001;
    expect(await probe(sqsEvent("stale", body), context())).toEqual({ batchItemFailures: [] });
    expect(logs.some((l) => l.msg === "round skipped" && l.invocationId === "late")).toBe(true);
    expect(await embedded.store.queryResults({ since: T + 180_000, until: T + 240_000, region: REGION })).toEqual([]);
  });

  it("drops messages that cannot be valid (garbage, another region) and asks SQS again for rounds the store refused", async () => {
    virtualNow = T + 300_000;
    expect(await probe(sqsEvent("garbage", "not json"), context())).toEqual({ batchItemFailures: [] });
    const foreign = JSON.stringify({
      v: 1,
      region: "us-east-1",
      scheduledAt: new Date(T + 300_000).toISOString(),
      invocationId: "x",
      round: 1,
    });
    expect(await probe(sqsEvent("foreign", foreign), context())).toEqual({ batchItemFailures: [] });
    expect(logs.filter((l) => /dropped/.test(String(l.msg))).map((l) => l.msg)).toEqual([
      "round message dropped",
      "round message for another region dropped",
    ]);

    const unreachable = new DynamoDBClient({
      endpoint: "http://127.0.0.1:9",
      region: "local",
      credentials: { accessKeyId: "t", secretAccessKey: "t" },
      maxAttempts: 1,
    });
    const failing = createHandler({
      client: unreachable,
      env: env(),
      queue: new SqsRoundQueue({ client: sqs, queueUrl: QUEUE_URL }),
      logger: () => {},
      now: () => virtualNow,
      sleep: async (ms) => {
        virtualNow += ms;
      },
    });
    const body = JSON.stringify({ v: 1, region: REGION, scheduledAt: new Date(T + 300_000).toISOString(), invocationId: "down", round: 1 });
    virtualNow = T + 310_100;
    expect(await failing(sqsEvent("down-1", body), context())).toEqual({ batchItemFailures: [{ itemIdentifier: "down-1" }] });
    unreachable.destroy();
  }, 60_000);
});
