// The Lambda handler end to end, minus AWS: a real EventBridge scheduled-event
// payload, the config as the JSON file the bundle carries, and a
// DynamoDBClient pointed at an embedded dynalite instead of the table.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { type LogEntry, powertoolsEmfPublisher } from "@popwatch/agent";
import { PROBE_CLOUDWATCH_METRICS, type ProbeKind } from "@popwatch/core";
import { type EmbeddedStore, startEmbeddedStore } from "@popwatch/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHandler, handler } from "../functions/probe";
import { emfSeries, parseEmf, seriesShape } from "./support/emf";
import { requireServer, skipUnless, useTestServers } from "./support/servers";

const servers = useTestServers();
const needs = [skipUnless(servers.dns.nsd), skipUnless(servers.nginx)];
const skip = needs.some((n) => n.skip);
const note = needs.map((n) => n.note).join("");

const REGION = "eu-west-1";

function scheduledEvent(time: string): Record<string, unknown> {
  return {
    version: "0",
    id: "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account: "123456789012",
    time,
    region: REGION,
    resources: ["arn:aws:events:eu-west-1:123456789012:rule/popwatch-probe"],
    detail: {},
  };
}

const context = (budgetMs: number) => {
  const deadline = Date.now() + budgetMs;
  return { awsRequestId: "c6af9ac6-7b61-11e6-9a41-93e812345678", getRemainingTimeInMillis: () => deadline - Date.now() };
};

let dir: string;
let embedded: EmbeddedStore;
let client: DynamoDBClient;
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-handler-"));
  embedded = await startEmbeddedStore({ dataDir: join(dir, "data") });
  client = new DynamoDBClient({
    endpoint: embedded.endpoint,
    region: "local",
    credentials: { accessKeyId: "popwatch-test", secretAccessKey: "popwatch-test" },
    maxAttempts: 1,
  });
  env = {
    AWS_REGION: REGION,
    POPWATCH_TABLE: "popwatch",
    POPWATCH_TABLE_REGION: "local",
    POPWATCH_CONFIG_FILE: "popwatch.config.json",
    LAMBDA_TASK_ROOT: dir,
  };
});
afterAll(async () => {
  client?.destroy();
  await embedded?.close();
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(skip)(`probe handler${note}`, () => {
  beforeAll(async () => {
    const nsd = requireServer(servers.dns.nsd);
    const nginx = requireServer(servers.nginx);
    // One round per invocation: the event's time is its slot, so the test runs at once.
    const config = {
      regions: [REGION],
      schedule: { rateMinutes: 1, roundsPerInvocation: 1, timeoutMs: 2000 },
      targets: [
        { name: "nsd", address: nsd.address, probes: { dns: { port: nsd.port, qname: servers.records.a.name, qtype: "A" } } },
        { name: "nginx", address: nginx.address, hostname: nginx.host, probes: { http: { port: nginx.httpsPort, ca: [nginx.caPem] } } },
      ],
    };
    await writeFile(join(dir, "popwatch.config.json"), JSON.stringify(config, null, 2));
  });

  it("probes on a scheduled event and leaves results and rollups in the table; a retry adds nothing", async () => {
    const logs: LogEntry[] = [];
    const probe = createHandler({ client, env, logger: (entry) => logs.push(entry) });
    const time = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000).toISOString().replace(".000Z", "Z");
    const summary = await probe(scheduledEvent(time), context(30_000));
    expect(summary).toMatchObject({
      invocationId: `${REGION}#${time.replace("Z", ".000Z")}`,
      rounds: 1,
      results: 2,
      ok: 2,
      written: 2,
      errors: [],
    });
    expect(logs.filter((l) => l.msg === "round")).toEqual([
      expect.objectContaining({
        region: REGION,
        requestId: "c6af9ac6-7b61-11e6-9a41-93e812345678",
        eventId: "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
      }),
    ]);

    const window = { since: time, until: Date.parse(time) + 60_000 };
    const stored = await embedded.store.queryResults(window);
    expect(stored.map((r) => [r.name, r.kind, r.region, r.ok, r.slotAt])).toEqual(
      expect.arrayContaining([
        ["nsd", "dns", REGION, true, time.replace("Z", ".000Z")],
        ["nginx", "http", REGION, true, time.replace("Z", ".000Z")],
      ]),
    );
    for (const [target, kind] of [
      ["nsd", "dns"],
      ["nginx", "http"],
    ] as [string, ProbeKind][]) {
      const minutes = await embedded.store.queryRollups({
        target,
        kind,
        region: REGION,
        granularity: "minute",
        from: window.since,
        to: window.until,
      });
      expect(minutes).toEqual([expect.objectContaining({ total: 1, good: 1 })]);
      // The hour is built by the invocation whose period closes it (time is the clock's, so usually not this one).
      const hours = await embedded.store.queryRollups({
        target,
        kind,
        region: REGION,
        granularity: "hour",
        from: window.since,
        to: window.until,
      });
      const closesHour = time.slice(14, 16) === "59";
      expect(hours.length).toBe(closesHour ? 1 : 0);
    }

    // Lambda retries the same event after a failure: same keys, nothing new.
    await probe(scheduledEvent(time), context(30_000));
    expect(await embedded.store.queryResults(window)).toHaveLength(stored.length);
  });

  it("publishes each round as EMF documents CloudWatch accepts; the next round's PoP is compared with this one's", async () => {
    const emf: string[] = [];
    // Two consecutive one-minute slots on a clock set just after each slot, so neither round waits or counts as late.
    const slot = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
    let clock = slot;
    const probe = createHandler({
      client,
      env,
      logger: () => undefined,
      emf: powertoolsEmfPublisher({ write: (line) => emf.push(line) }),
      now: () => clock,
    });
    const at = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");
    clock = slot + 5;
    expect(await probe(scheduledEvent(at(slot)), context(30_000))).toMatchObject({ results: 2, ok: 2 });
    const first = emfSeries(parseEmf(emf.join("")));
    emf.length = 0;
    clock = slot + 60_005;
    expect(await probe(scheduledEvent(at(slot + 60_000)), context(30_000))).toMatchObject({ results: 2, ok: 2 });
    const second = emfSeries(parseEmf(emf.join("")));

    const declared = new Set(
      Object.values(PROBE_CLOUDWATCH_METRICS).flatMap((m) => m.dimensionSets.map((set) => seriesShape("popwatch", m.name, set))),
    );
    for (const s of [...first, ...second]) expect(declared).toContain(seriesShape(s.namespace, s.name, Object.keys(s.dimensions)));
    for (const [target, kind] of [
      ["nsd", "dns"],
      ["nginx", "http"],
    ]) {
      const full = { Region: REGION, Target: target, Kind: kind };
      const of = (series: typeof first, name: string) =>
        series.find((s) => s.name === name && JSON.stringify(s.dimensions) === JSON.stringify(full));
      expect(of(first, "ProbeSuccess")!.values).toEqual([1]);
      expect(of(first, "ProbeLatency")!.values).toEqual([expect.any(Number)]);
      expect(of(first, "ProbeLatency")!.unit).toBe("Milliseconds");
      // The first round after a cold start knows no previous PoP; the second compares with the first.
      expect(of(first, "PopChange")).toBeUndefined();
      const pops = first.filter((s) => s.name === "PopAnswers" && s.dimensions.Target === target);
      if (pops.length > 0) expect(of(second, "PopChange")!.values).toEqual([0]);
    }
    // NSD answers with its NSID, so the DNS target's PoP is known.
    expect(first.filter((s) => s.name === "PopAnswers" && s.dimensions.Target === "nsd")).toHaveLength(1);
    // The Region roll-up: one series per record, which CloudWatch adds up to the region's probes.
    const regionOnly = second.filter((s) => s.name === "ProbeSuccess" && Object.keys(s.dimensions).join() === "Region");
    expect(regionOnly.flatMap((s) => s.values)).toEqual([1, 1]);
  });

  it("refuses a malformed event with a message that says what was expected", async () => {
    const probe = createHandler({ client, env, logger: () => undefined });
    const ctx = context(30_000);
    await expect(probe(null, ctx)).rejects.toThrow(/expected an EventBridge scheduled event .*got null/);
    await expect(probe({ ...scheduledEvent("2025-01-01T12:00:00Z"), "detail-type": "Object Created" }, ctx)).rejects.toThrow(
      /detail-type is "Object Created", not "Scheduled Event"/,
    );
    await expect(probe({ ...scheduledEvent("2025-01-01T12:00:00Z"), source: "aws.s3" }, ctx)).rejects.toThrow(/source is "aws.s3"/);
    await expect(probe(scheduledEvent("yesterday"), ctx)).rejects.toThrow(/time "yesterday" is not an ISO 8601 instant/);
  });

  it("names a missing environment variable and a broken config file, and recovers once they are fixed", async () => {
    const time = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
    const noTable = createHandler({ client, env: { ...env, POPWATCH_TABLE: "" }, logger: () => undefined });
    await expect(noTable(scheduledEvent(time), context(30_000))).rejects.toThrow(/environment variable POPWATCH_TABLE is not set/);

    await writeFile(join(dir, "broken.json"), '{ "targets": [ { "name": "x", } ] }');
    const broken = createHandler({ client, env: { ...env, POPWATCH_CONFIG_FILE: join(dir, "broken.json") }, logger: () => undefined });
    await expect(broken(scheduledEvent(time), context(30_000))).rejects.toThrow(/broken\.json: invalid JSON at line 1, column \d+/);

    await writeFile(join(dir, "broken.json"), JSON.stringify({ targets: [{ name: "x", address: "127.0.0.1", probes: {} }] }));
    await expect(broken(scheduledEvent(time), context(30_000))).rejects.toThrow(/targets\.0\.probes: at least one probe kind/);
  });

  it("exports a handler whose import did no I/O", () => {
    expect(typeof handler).toBe("function");
  });
});
