// The SLO evaluator's Lambda handler end to end, minus AWS: real EventBridge
// scheduled-event payloads, the config as the JSON file the bundle carries, a
// DynamoDBClient on embedded dynalite holding results and rollups written by
// the real store, and the real EventBridge client sending PutEvents to a
// loopback endpoint. Times are a fixed minute in the past: the evaluation
// instant is the event's time, never the clock.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { type LogEntry, powertoolsEmfPublisher } from "@popwatch/agent";
import {
  type AlertEventDetail,
  type AlertStateRepository,
  EVALUATION_CLOUDWATCH_METRICS,
  type PopwatchConfigInput,
  type StoredAlertState,
  alertEventDetailSchema,
} from "@popwatch/core";
import { type CreateSinksOptions, DETAIL_TYPE_FIRING, DETAIL_TYPE_RESOLVED } from "@popwatch/notify";
import {
  DynamoAlertStateStore,
  type DynamoAlertStateStoreOptions,
  DynamoResultStore,
  type EmbeddedStore,
  type StoredResult,
  ensureTable,
  startEmbeddedStore,
} from "@popwatch/store";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type EvaluateSummary, createEvaluateHandler } from "../functions/evaluate";
import { emfSeries, parseEmf, seriesShape } from "./support/emf";
import { type EventBridgeEndpoint, type ReceivedEvent, startEventBridgeEndpoint } from "./support/eventbridge-endpoint";

// The EventBridge client class of the SDK copy @popwatch/notify resolves (the
// repository root resolves an older one for other tools): the handler is
// handed clients of exactly the package its sinks build commands with.
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

const HOME = "eu-west-1";
const OTHER = "us-east-1";
const BUS = "popwatch-test-alerts";
const SLO = "edge-availability";
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** The first evaluation that sees the burn. */
const T = Date.parse("2025-06-02T12:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

// One SLO at 99 % over 30 days (page rules: 1h/5m above 14.4, 6h/30m above 6;
// ticket rules: 1d/2h above 3, 3d/6h above 1). HOME probes once a minute for
// a day and fails the last 10 minutes: the 1h burn is (10/60)/0.01 ≈ 16.7 and
// the 5m burn 100, so the first page rule fires; the 6h burn (10/360)/0.01 ≈
// 2.8 stays quiet, and so do the tickets (1d and 3d: (10/1440)/0.01 ≈ 0.69,
// still below 1 with the two more failing minutes the tests add).
// OTHER is healthy for the last hour, which keeps the pooled 1h burn at
// (10/120)/0.01 ≈ 8.3: only HOME's page fires.
const CONFIG: PopwatchConfigInput = {
  homeRegion: HOME,
  regions: [HOME, OTHER],
  targets: [{ name: "edge", address: "127.0.0.1", probes: { tcp: { port: 443 } } }],
  slos: [{ name: SLO, target: "edge", sli: { type: "availability" }, objective: 0.99, period: "30d" }],
  alerting: { sinks: [{ type: "eventbridge", busName: BUS }] },
};

let dir: string;
let embedded: EmbeddedStore;
let endpoint: EventBridgeEndpoint;
const clients: { destroy(): void }[] = [];
let tableSeq = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-evaluate-"));
  [embedded, endpoint] = await Promise.all([startEmbeddedStore({ dataDir: join(dir, "data") }), startEventBridgeEndpoint()]);
  await writeFile(join(dir, "popwatch.config.json"), JSON.stringify(CONFIG, null, 2));
});
afterAll(async () => {
  for (const client of clients) client.destroy();
  await Promise.all([embedded?.close(), endpoint?.close()]);
  await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await endpoint.start();
  endpoint.events.length = 0;
  endpoint.requests.length = 0;
});

function dynamoClient(): DynamoDBClient {
  const client = new DynamoDBClient({
    endpoint: embedded.endpoint,
    region: "local",
    credentials: { accessKeyId: "popwatch-test", secretAccessKey: "popwatch-test" },
    maxAttempts: 1,
  });
  clients.push(client);
  return client;
}

/** A table of its own per test: alert state and the outbox are table-wide. */
async function freshTable(): Promise<{ tableName: string; client: DynamoDBClient; results: DynamoResultStore }> {
  const tableName = `evaluate-${++tableSeq}`;
  const client = dynamoClient();
  await ensureTable(client, tableName, { pollMs: 10 });
  return { tableName, client, results: new DynamoResultStore({ client, tableName }) };
}

/** One result a minute in [fromMs, toMs), as the scheduled probe writes them, then the rollups it rebuilds. */
async function probeMinutes(store: DynamoResultStore, region: string, fromMs: number, toMs: number, ok: boolean): Promise<void> {
  const writes: Promise<unknown>[] = [];
  for (let slot = fromMs; slot < toMs; slot += MINUTE) {
    const result = {
      kind: "tcp",
      target: "127.0.0.1:443",
      address: "127.0.0.1",
      port: 443,
      name: "edge",
      ok,
      startedAt: iso(slot + 120),
      timings: { totalMs: ok ? 14.5 : 5000 },
      pop: null,
      failure: ok ? null : { code: "timeout", message: "no answer within 5000 ms" },
      localAddress: null,
      localPort: null,
      region,
      seq: 0,
      slotAt: iso(slot),
    } as StoredResult;
    writes.push(store.putResults({ region, invocationId: `${region}#${iso(slot)}`, results: [result] }));
  }
  await Promise.all(writes);
  await store.rollUp({ region, granularity: "minute", from: fromMs, to: toMs, cascade: true });
}

/** The story of the config comment, up to T. */
async function burnInHome(store: DynamoResultStore): Promise<void> {
  await probeMinutes(store, HOME, T - 24 * HOUR, T - 10 * MINUTE, true);
  await probeMinutes(store, HOME, T - 10 * MINUTE, T, false);
  await probeMinutes(store, OTHER, T - HOUR, T, true);
}

function scheduledEvent(ms: number, id = `evaluate-${ms}`): Record<string, unknown> {
  return {
    version: "0",
    id,
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account: "123456789012",
    time: iso(ms).replace(".000Z", "Z"),
    region: HOME,
    resources: [`arn:aws:events:${HOME}:123456789012:rule/popwatch-test-evaluate`],
    detail: {},
  };
}

interface Evaluator {
  (atMs: number, eventId?: string): Promise<EvaluateSummary>;
  logs: LogEntry[];
  /** The EMF lines (CloudWatch metrics) the handler wrote. */
  emf: string[];
  /** Regions createSinks asked EventBridge clients for. */
  clientRegions: (string | undefined)[];
}

/** The real handler as Lambda would run it, wired to the embedded table and the loopback endpoint. */
function evaluator(tableName: string, options: { alerts?: AlertStateRepository; configFile?: string } = {}): Evaluator {
  const logs: LogEntry[] = [];
  const emf: string[] = [];
  const clientRegions: (string | undefined)[] = [];
  const handle = createEvaluateHandler({
    // Without the logger: the fixed past instants are older than CloudWatch takes, which Powertools would warn about.
    emf: powertoolsEmfPublisher({ write: (line) => emf.push(line) }),
    client: dynamoClient(),
    env: {
      AWS_REGION: HOME,
      POPWATCH_TABLE: tableName,
      POPWATCH_TABLE_REGION: "local",
      POPWATCH_CONFIG_FILE: options.configFile ?? "popwatch.config.json",
      POPWATCH_ALERT_BUS: BUS,
      LAMBDA_TASK_ROOT: dir,
    },
    eventBridgeClient: (region) => {
      clientRegions.push(region);
      const client = new EventBridgeClient({
        endpoint: endpoint.endpoint,
        region: region ?? HOME,
        credentials: { accessKeyId: "popwatch-test", secretAccessKey: "popwatch-test" },
        // deliver() retries; SDK retries underneath would blur the request counts.
        maxAttempts: 1,
      });
      clients.push(client);
      return client;
    },
    logger: (entry) => logs.push(entry),
    ...(options.alerts ? { alerts: options.alerts } : {}),
  });
  const run = ((atMs: number, eventId?: string) => handle(scheduledEvent(atMs, eventId), { awsRequestId: `req-${atMs}` })) as Evaluator;
  run.logs = logs;
  run.emf = emf;
  run.clientRegions = clientRegions;
  return run;
}

/** A barrier for `parties` callers: each waits until all have arrived; later callers pass at once. */
function barrier(parties: number): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return () => {
    if (++arrived === parties) open();
    return opened;
  };
}

/** The real store, except that loadStates returns only once every evaluator sharing `gate` has loaded: all plan on the same versions. */
class LoadingTogether extends DynamoAlertStateStore {
  private readonly gate: () => Promise<void>;
  constructor(options: DynamoAlertStateStoreOptions, gate: () => Promise<void>) {
    super(options);
    this.gate = gate;
  }
  override async loadStates(): Promise<StoredAlertState[]> {
    const states = await super.loadStates();
    await this.gate();
    return states;
  }
}

function detailOf(event: ReceivedEvent): AlertEventDetail {
  const parsed = alertEventDetailSchema.safeParse(event.Detail);
  expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  return parsed.data!;
}

// A day of minutes per test (one write and one minute item each) and a compact of its hours per evaluation: 60 s per test, for loaded CI machines.
describe("evaluate handler", () => {
  it("fires one page for the burning region, stays quiet while it burns, resolves once when the short window is clean", async () => {
    const { tableName, results, client } = await freshTable();
    await burnInHome(results);
    const evaluate = evaluator(tableName);

    const first = await evaluate(T);
    // Anycast: catchment shift, flapping and detour for "edge" in both regions, all held back (the loopback target names no PoP).
    expect(first).toMatchObject({
      endsAt: iso(T),
      scopes: 3,
      anycastObservations: 6,
      firing: [{ slo: SLO, scope: HOME, severity: "page" }],
      notificationsPlanned: 1,
      delivered: 1,
      undelivered: 0,
    });
    expect(first.itemsRead).toBeGreaterThan(0);
    expect(endpoint.events).toHaveLength(1);
    const [fired] = endpoint.events;
    expect(fired).toMatchObject({ Source: "popwatch", DetailType: DETAIL_TYPE_FIRING, EventBusName: BUS, Time: T / 1000 });
    const firing = detailOf(fired!);
    expect(firing).toMatchObject({
      kind: "firing",
      status: "firing",
      slo: SLO,
      severity: "page",
      at: iso(T),
      startedAt: iso(T),
      regions: [HOME],
      active: [HOME],
    });
    expect(firing.scopes.map((s) => [s.scope, s.change, s.resolvedAt])).toEqual([[HOME, "firing", null]]);
    expect(firing.rule).toEqual({ long: "1h", short: "5m", factor: 14.4 });
    expect(firing.burnRates["1h"]).toBeCloseTo(100 / 6, 9);
    expect(firing.burnRates["5m"]).toBeCloseTo(100, 9);
    expect(firing.burnRates["6h"]).toBeCloseTo(100 / 36, 9);
    expect(firing.command).toBe(`popwatch report --slo ${SLO} --region ${HOME}`);
    // A sink without a region publishes in the home region.
    expect(evaluate.clientRegions).toEqual([HOME]);
    expect(evaluate.logs).toEqual([
      expect.objectContaining({
        level: "info",
        msg: "evaluation",
        requestId: `req-${T}`,
        eventId: `evaluate-${T}`,
        delivered: 1,
        undelivered: 0,
      }),
    ]);

    // Lambda retries the same event: the same plan finds the state already moved.
    expect(await evaluate(T)).toMatchObject({ notificationsPlanned: 0, delivered: 0, firing: [{ scope: HOME }] });
    // The next minute: still failing, still firing, nothing new to say.
    await probeMinutes(results, HOME, T, T + MINUTE, false);
    await probeMinutes(results, OTHER, T, T + MINUTE, true);
    expect(await evaluate(T + MINUTE)).toMatchObject({
      firing: [{ slo: SLO, scope: HOME, severity: "page" }],
      notificationsPlanned: 0,
      delivered: 0,
    });
    expect(endpoint.events).toHaveLength(1);

    // Healthy again: after 5 clean minutes the 5m window (the firing rule's short window) has no bad event.
    await probeMinutes(results, HOME, T + MINUTE, T + 6 * MINUTE, true);
    await probeMinutes(results, OTHER, T + MINUTE, T + 6 * MINUTE, true);
    // At +5 min the 5m window still holds the failure at T: no resolve yet.
    expect(await evaluate(T + 5 * MINUTE)).toMatchObject({ firing: [{ scope: HOME }], notificationsPlanned: 0 });
    expect(endpoint.events).toHaveLength(1);
    const recovered = await evaluate(T + 6 * MINUTE);
    expect(recovered).toMatchObject({ firing: [], notificationsPlanned: 1, delivered: 1, undelivered: 0 });
    expect(endpoint.events).toHaveLength(2);
    const resolvedEvent = endpoint.events[1]!;
    expect(resolvedEvent).toMatchObject({ Source: "popwatch", DetailType: DETAIL_TYPE_RESOLVED, EventBusName: BUS });
    const resolved = detailOf(resolvedEvent);
    expect(resolved).toMatchObject({
      kind: "resolved",
      status: "resolved",
      slo: SLO,
      severity: "page",
      at: iso(T + 6 * MINUTE),
      startedAt: iso(T),
      regions: [HOME],
      active: [],
    });
    expect(resolved.scopes.map((s) => [s.scope, s.change, s.resolvedAt])).toEqual([[HOME, "resolved", iso(T + 6 * MINUTE)]]);
    expect(resolved.burnRates["5m"]).toBe(0);
    expect(resolved.notificationId).not.toBe(firing.notificationId);

    await probeMinutes(results, HOME, T + 6 * MINUTE, T + 7 * MINUTE, true);
    expect(await evaluate(T + 7 * MINUTE)).toMatchObject({ firing: [], notificationsPlanned: 0, delivered: 0 });
    expect(endpoint.events).toHaveLength(2);

    // The table's alert history tells the same story, newest first (read as of the last evaluation: history() walks back from its clock).
    const history = await new DynamoAlertStateStore({ client, tableName, clock: () => T + 7 * MINUTE }).history();
    expect(history.map((h) => [h.scope, h.severity, h.from, h.to, h.at])).toEqual([
      [HOME, "page", "firing", "resolved", iso(T + 6 * MINUTE)],
      [HOME, "page", "inactive", "firing", iso(T)],
    ]);
  }, 60_000);

  it("evaluates a self-hosted vantage registered on the table like a deployed region; an imported Atlas vantage raises nothing", async () => {
    const { tableName, results } = await freshTable();
    await results.putVantages([
      { name: "home-lab-1", source: "self-hosted", claimed: { iata: "FRA" }, country: "DE", asn: 64500 },
      { name: "atlas-6001", source: "atlas", claimed: { lat: 52.4, lon: 4.9 }, country: "NL", asn: 64501, atlasProbeId: 6001 },
    ]);
    await probeMinutes(results, "home-lab-1", T - 2 * HOUR, T - 10 * MINUTE, true);
    await probeMinutes(results, "home-lab-1", T - 10 * MINUTE, T, false);
    await probeMinutes(results, "atlas-6001", T - HOUR, T, false);
    const summary = await evaluator(tableName)(T);
    // The deployed regions wrote nothing: the pooled scope is the vantage's results alone, and burns with it.
    expect([...new Set(summary.firing.map((f) => f.scope))].sort()).toEqual(["home-lab-1", "pooled"]);
    expect(summary.firing).toContainEqual(expect.objectContaining({ slo: SLO, scope: "home-lab-1", severity: "page" }));
    expect(endpoint.events.length).toBeGreaterThan(0);
    for (const event of endpoint.events) expect(detailOf(event).regions).not.toContain("atlas-6001");
    expect(endpoint.events.some((event) => detailOf(event).active.includes("home-lab-1"))).toBe(true);
  }, 60_000);

  it("publishes burn rates, alert states and the incident as EMF documents CloudWatch accepts", async () => {
    const { tableName, results } = await freshTable();
    await burnInHome(results);
    const evaluate = evaluator(tableName);
    const summary = await evaluate(T);
    const docs = parseEmf(evaluate.emf.join(""));
    for (const doc of docs) expect(doc.timestampMs).toBe(T);
    const series = emfSeries(docs);
    // Every series is one the core table declares, under one of its dimension sets.
    const declared = new Set(
      Object.values(EVALUATION_CLOUDWATCH_METRICS).flatMap((m) => m.dimensionSets.map((set) => seriesShape("popwatch", m.name, set))),
    );
    for (const s of series) expect(declared).toContain(seriesShape(s.namespace, s.name, Object.keys(s.dimensions)));
    const burn = (window: string) =>
      series.find(
        (s) => s.name === "BurnRate" && s.dimensions.Slo === SLO && s.dimensions.Scope === HOME && s.dimensions.Window === window,
      );
    expect(burn("1h")!.values[0]).toBeCloseTo(100 / 6, 9);
    expect(burn("5m")!.values[0]).toBeCloseTo(100, 9);
    expect(series.filter((s) => s.name === "AlertFiring" && s.values[0] === 1).map((s) => s.dimensions)).toEqual(
      summary.firing.map((f) => ({ Slo: f.slo, Scope: f.scope, Severity: f.severity })),
    );
    expect(series.filter((s) => s.name === "AlertTransitions").map((s) => s.dimensions)).toEqual([
      { Slo: SLO, Scope: HOME, Severity: "page", Status: "firing" },
      { Status: "firing" },
    ]);
    // The next evaluation changes nothing: no transition, the alert still firing.
    evaluate.emf.length = 0;
    await probeMinutes(results, HOME, T, T + MINUTE, false);
    await probeMinutes(results, OTHER, T, T + MINUTE, true);
    await evaluate(T + MINUTE);
    const next = emfSeries(parseEmf(evaluate.emf.join("")));
    expect(next.filter((s) => s.name === "AlertTransitions")).toEqual([]);
    expect(
      next.find(
        (s) => s.name === "AlertFiring" && s.dimensions.Slo === SLO && s.dimensions.Scope === HOME && s.dimensions.Severity === "page",
      )!.values,
    ).toEqual([1]);
  }, 60_000);

  it("a notification the bus could not take is delivered by the next evaluation, exactly once", async () => {
    const { tableName, results } = await freshTable();
    await burnInHome(results);
    const evaluate = evaluator(tableName);

    await endpoint.stop();
    const down = await evaluate(T);
    expect(down).toMatchObject({ firing: [{ scope: HOME, severity: "page" }], notificationsPlanned: 1, delivered: 0, undelivered: 1 });
    expect(endpoint.events).toEqual([]);
    expect(evaluate.logs.at(-1)).toMatchObject({ level: "warn", msg: "evaluation", undelivered: 1 });

    await endpoint.start();
    await probeMinutes(results, HOME, T, T + MINUTE, false);
    const next = await evaluate(T + MINUTE);
    // Nothing new planned: what goes out is the first evaluation's notification, from the outbox.
    expect(next).toMatchObject({ notificationsPlanned: 0, delivered: 1, undelivered: 0 });
    expect(endpoint.events).toHaveLength(1);
    expect(endpoint.events[0]).toMatchObject({ DetailType: DETAIL_TYPE_FIRING, EventBusName: BUS, Time: T / 1000 });
    expect(detailOf(endpoint.events[0]!)).toMatchObject({ kind: "firing", at: iso(T), scopes: [expect.objectContaining({ scope: HOME })] });

    await probeMinutes(results, HOME, T + MINUTE, T + 2 * MINUTE, false);
    expect(await evaluate(T + 2 * MINUTE)).toMatchObject({ notificationsPlanned: 0, delivered: 0, undelivered: 0 });
    expect(endpoint.events).toHaveLength(1);
  }, 60_000);

  it("two evaluators invoked concurrently for the same event send one firing event between them", async () => {
    const { tableName, results } = await freshTable();
    await burnInHome(results);
    const [a, b] = [evaluator(tableName), evaluator(tableName)];

    const both = await Promise.all([a(T), b(T)]);
    for (const summary of both) expect(summary.firing).toEqual([{ slo: SLO, scope: HOME, severity: "page" }]);
    expect(both[0]!.delivered + both[1]!.delivered).toBe(1);
    expect(endpoint.events).toHaveLength(1);
    expect(endpoint.events[0]).toMatchObject({ DetailType: DETAIL_TYPE_FIRING });
    expect(detailOf(endpoint.events[0]!)).toMatchObject({ kind: "firing", scopes: [expect.objectContaining({ scope: HOME })] });

    // And again a minute later, both still seeing the burn: nothing more.
    await probeMinutes(results, HOME, T, T + MINUTE, false);
    await Promise.all([a(T + MINUTE), b(T + MINUTE)]);
    expect(endpoint.events).toHaveLength(1);
  }, 60_000);

  it("two evaluators that both plan the firing on the same state: one wins the write, one event goes out", async () => {
    const { tableName, results } = await freshTable();
    await burnInHome(results);
    const gate = barrier(2);
    const [a, b] = [0, 1].map(() => evaluator(tableName, { alerts: new LoadingTogether({ client: dynamoClient(), tableName }, gate) }));

    const both = await Promise.all([a!(T), b!(T)]);
    // Both loaded the key before either wrote it, so both planned the notification...
    expect(both.map((s) => s.notificationsPlanned)).toEqual([1, 1]);
    // ...but the conditional write let one of them through: one state version, one event.
    const states = await new DynamoAlertStateStore({ client: dynamoClient(), tableName }).loadStates();
    expect(states.map((st) => [st.state.scope, st.state.severity, st.state.status, st.version])).toEqual([[HOME, "page", "firing", 1]]);
    expect(endpoint.events).toHaveLength(1);
    expect(detailOf(endpoint.events[0]!)).toMatchObject({ kind: "firing", at: iso(T), scopes: [expect.objectContaining({ scope: HOME })] });
  }, 60_000);

  it("an eventbridge sink that names no bus publishes to the stack's bus (POPWATCH_ALERT_BUS)", async () => {
    await writeFile(join(dir, "unnamed-bus.json"), JSON.stringify({ ...CONFIG, alerting: { sinks: [{ type: "eventbridge" }] } }));
    const { tableName, results } = await freshTable();
    await probeMinutes(results, HOME, T - HOUR, T - 10 * MINUTE, true);
    await probeMinutes(results, HOME, T - 10 * MINUTE, T, false);
    const summary = await evaluator(tableName, { configFile: "unnamed-bus.json" })(T);
    expect(summary.firing).not.toEqual([]);
    expect(endpoint.events.length).toBeGreaterThan(0);
    expect(endpoint.events.map((e) => e.EventBusName)).toEqual(endpoint.events.map(() => BUS));
  }, 60_000);

  it("refuses an event that is not a scheduled event, naming what was expected", async () => {
    const { tableName } = await freshTable();
    const handle = createEvaluateHandler({
      client: dynamoClient(),
      env: { POPWATCH_TABLE: tableName, POPWATCH_TABLE_REGION: "local", LAMBDA_TASK_ROOT: dir },
      logger: () => undefined,
    });
    await expect(handle({ ...scheduledEvent(T), source: "popwatch" }, {})).rejects.toThrow(/source is "popwatch", not "aws.events"/);
    expect(endpoint.requests).toEqual([]);
  });
});
