// Anycast alerts through runEvaluationCycle on the embedded store: region
// rollups written as the store holds them (hour items for the baseline,
// minute items after), alert state in the same table, notifications from a
// stdout sink. The configuration has no SLO: anycast alerts stand alone.
// Times are fixed in the past; the evaluation instant is passed, never read.
// Last, `popwatch alerts` reading the stored state.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EvaluationCycleReport, runEvaluationCycle } from "@popwatch/agent";
import {
  type AlertEventDetail,
  PERIOD_MS,
  type PopwatchConfigInput,
  type RegionalResult,
  type Rollup,
  alertEventDetailSchema,
  parseConfig,
  rollupPeriod,
  rollupResults,
} from "@popwatch/core";
import { DETAIL_TYPE_FIRING, DETAIL_TYPE_RESOLVED } from "@popwatch/notify";
import { DynamoAlertStateStore, DynamoResultStore, type EmbeddedStore, ensureTable, startEmbeddedStore } from "@popwatch/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../packages/cli/src/index";
import { StdoutSink } from "../packages/notify/src/sinks/stdout";
import { captureIo } from "./support/capture-io";

const MINUTE = PERIOD_MS.minute;
const HOUR = PERIOD_MS.hour;
const REGION = "eu-central-1";
const ALERT = "anycast:flapping:edge";
/** The first evaluation: the last half hour flapped. */
const T = Date.parse("2025-06-02T12:00:00.000Z");
const FLAP_FROM = T - 30 * MINUTE;
const FLAP_SWITCHES = 10;
const CONFIG: PopwatchConfigInput = {
  regions: [REGION],
  targets: [{ name: "edge", address: "198.51.100.10", probes: { dns: {} } }],
  analytics: { flapChangesPerHour: 6 },
};

let dir: string;
let embedded: EmbeddedStore;
let tableSeq = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-anycast-"));
  embedded = await startEmbeddedStore({ dataDir: join(dir, "data") });
});
afterAll(async () => {
  await embedded?.close();
  await rm(dir, { recursive: true, force: true });
});

/**
 * One dns answer a minute from T − 25 h to T + 45 min: from fra, except that
 * from T − 30 min the PoP switches between ams and fra every 3 minutes, 10
 * times (T − 30, T − 27, … T − 3), ending on fra.
 */
function answers(): RegionalResult[] {
  const out: RegionalResult[] = [];
  for (let ms = T - 25 * HOUR; ms < T + 45 * MINUTE; ms += MINUTE) {
    const switched = ms < FLAP_FROM ? 0 : Math.min(FLAP_SWITCHES, Math.floor((ms - FLAP_FROM) / (3 * MINUTE)) + 1);
    const pop = switched % 2 === 1 ? "ams" : "fra";
    const at = new Date(ms).toISOString();
    out.push({
      kind: "dns",
      target: "198.51.100.10:53",
      address: "198.51.100.10",
      port: 53,
      name: "edge",
      ok: true,
      startedAt: at,
      slotAt: at,
      timings: { totalMs: 14 },
      pop: { id: pop, source: "nsid", raw: pop, iata: null },
      failure: null,
      region: REGION,
    } as unknown as RegionalResult);
  }
  return out;
}

async function freshTable(): Promise<{ results: DynamoResultStore; alerts: DynamoAlertStateStore }> {
  const tableName = `anycast-${++tableSeq}`;
  await ensureTable(embedded.client, tableName, { pollMs: 10 });
  const results = new DynamoResultStore({ client: embedded.client, tableName });
  await writeAnswerRollups(results);
  return { results, alerts: new DynamoAlertStateStore({ client: embedded.client, tableName }) };
}

/** Whole hours up to T − 1 h as hour items, every minute after as minute items: what the evaluations up to T + 45 min read. */
async function writeAnswerRollups(results: DynamoResultStore): Promise<void> {
  const all = answers();
  const hours = rollupResults(
    all.filter((r) => Date.parse(r.startedAt) < T - HOUR),
    { region: REGION, granularity: "hour" },
  );
  const minutes = rollupResults(
    all.filter((r) => Date.parse(r.startedAt) >= T - HOUR),
    { region: REGION, granularity: "minute" },
  );
  // One put per period (an hour bucket holds every series and vantage of its hour).
  const byPeriod = new Map<string, Rollup[]>();
  for (const rollup of [...hours, ...minutes]) {
    const key = `${rollup.granularity}|${rollupPeriod(rollup)}`;
    byPeriod.set(key, [...(byPeriod.get(key) ?? []), rollup]);
  }
  for (const rollups of byPeriod.values()) {
    expect(await results.putPeriodRollups(rollups[0]!.granularity, rollupPeriod(rollups[0]!), rollups)).toBe(true);
  }
}

interface Evaluator {
  (atMs: number): Promise<EvaluationCycleReport>;
  /** Every stdout sink line so far, parsed. */
  lines: { source: string; "detail-type": string; detail: AlertEventDetail }[];
}

function evaluator(config: PopwatchConfigInput, stores: { results: DynamoResultStore; alerts: DynamoAlertStateStore }): Evaluator {
  const parsed = parseConfig(config);
  const lines: Evaluator["lines"] = [];
  const sink = new StdoutSink({ write: (line) => lines.push(JSON.parse(line)) });
  const run = ((atMs: number) =>
    runEvaluationCycle({
      config: parsed,
      store: stores.results,
      alerts: stores.alerts,
      sinks: [sink],
      regions: [REGION],
      now: atMs,
    })) as Evaluator;
  run.lines = lines;
  return run;
}

function detailOf(line: Evaluator["lines"][number]): AlertEventDetail {
  const parsed = alertEventDetailSchema.safeParse(line.detail);
  expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  return parsed.data!;
}

describe("anycast alerts in the evaluation cycle", () => {
  it("a flap fires once, is not repeated while it lasts, and resolves once when it stops", async () => {
    const evaluate = evaluator(CONFIG, await freshTable());

    const first = await evaluate(T);
    expect(evaluate.lines).toHaveLength(1);
    expect(evaluate.lines[0]).toMatchObject({ source: "popwatch", "detail-type": DETAIL_TYPE_FIRING });
    const fired = detailOf(evaluate.lines[0]!);
    expect(fired).toMatchObject({
      kind: "firing",
      slo: ALERT,
      severity: "page",
      at: new Date(T).toISOString(),
      regions: [REGION],
      active: [REGION],
      command: `popwatch catchment --since 1h --bucket minute --target edge --region ${REGION}`,
      anycast: {
        condition: "flapping",
        target: "edge",
        changesPerHour: FLAP_SWITCHES,
        kind: "dns",
        threshold: 6,
        shortWindowChanges: 5,
        recentEvents: 60,
      },
    });
    // Only the flap: 15 of the last hour's 60 answers came from ams (no shift), and fra is next to Frankfurt (no detour).
    expect(first.anycast.observations.filter((o) => o.burning).map((o) => o.slo)).toEqual([ALERT]);
    expect(first.anycast.observations.map((o) => o.slo)).toEqual(["anycast:catchment-shift:edge", "anycast:detour:edge", ALERT]);
    expect(first.anycast.missing).toEqual([]);
    // Bounded reads: the 24 hours before 11:00 and the 60 minutes since; no SLO windows to read.
    expect(first.anycast.itemsUsed).toBe(84);
    expect(first.slos).toMatchObject({ itemsRead: 84, queries: 2, scopes: [] });

    await evaluate(T + MINUTE);
    // [11:42, 12:42) still holds 6 changes (11:42 … 11:57): at the threshold it still flaps.
    const stillFlapping = await evaluate(T + 42 * MINUTE);
    expect(stillFlapping.anycast.observations.find((o) => o.slo === ALERT)).toMatchObject({ burning: true, shortWindowClean: true });
    expect(evaluate.lines).toHaveLength(1);

    // [11:43, 12:43): 5 changes, none in the last 15 minutes.
    const stopped = await evaluate(T + 43 * MINUTE);
    expect(stopped.alerts.plan.transitions.map((t) => [t.slo, t.scope, t.from, t.to])).toEqual([[ALERT, REGION, "firing", "resolved"]]);
    expect(evaluate.lines).toHaveLength(2);
    expect(evaluate.lines[1]!["detail-type"]).toBe(DETAIL_TYPE_RESOLVED);
    expect(detailOf(evaluate.lines[1]!)).toMatchObject({
      kind: "resolved",
      slo: ALERT,
      active: [],
      anycast: { changesPerHour: 5, shortWindowChanges: 0 },
    });

    await evaluate(T + 44 * MINUTE);
    expect(evaluate.lines).toHaveLength(2);
  });

  it("a maintenance window for the region holds the page back; what still fires when it ends is delivered then", async () => {
    const window = {
      start: new Date(T - HOUR).toISOString(),
      end: new Date(T + 30 * MINUTE).toISOString(),
      regions: [REGION],
      reason: "PoP work",
    };
    const evaluate = evaluator({ ...CONFIG, alerting: { maintenance: [window] } }, await freshTable());

    const held = await evaluate(T);
    expect(evaluate.lines).toEqual([]);
    expect(held.alerts.plan.transitions).toMatchObject([
      { slo: ALERT, scope: REGION, from: "inactive", to: "firing", notificationId: null, suppressedBy: "maintenance" },
    ]);
    expect(held.alerts.plan.next.find((s) => s.slo === ALERT)).toMatchObject({ status: "firing", announced: false, held: "maintenance" });
    await evaluate(T + 29 * MINUTE);
    expect(evaluate.lines).toEqual([]);

    // The window is over and [11:31, 12:31) still holds 9 changes.
    await evaluate(T + 31 * MINUTE);
    expect(evaluate.lines.map((line) => [line.detail.kind, line.detail.slo, line.detail.startedAt])).toEqual([
      ["firing", ALERT, new Date(T).toISOString()],
    ]);
    await evaluate(T + 43 * MINUTE);
    expect(evaluate.lines.map((line) => line.detail.kind)).toEqual(["firing", "resolved"]);
  });

  it("a window covering the whole flap: never announced, so its resolve is not sent either", async () => {
    const window = { start: new Date(T - HOUR).toISOString(), end: new Date(T + 2 * HOUR).toISOString(), slos: [ALERT], regions: [REGION] };
    const evaluate = evaluator({ ...CONFIG, alerting: { maintenance: [window] } }, await freshTable());
    await evaluate(T);
    const resolved = await evaluate(T + 43 * MINUTE);
    expect(resolved.alerts.plan.transitions).toMatchObject([
      { slo: ALERT, from: "firing", to: "resolved", notificationId: null, suppressedBy: "maintenance" },
    ]);
    expect(evaluate.lines).toEqual([]);
  });
});

describe("popwatch alerts with anycast states", () => {
  it("shows what the anycast alert saw instead of a burn rate", async () => {
    // A data directory of its own: the CLI opens the embedded store there once the evaluation has closed it.
    const dataDir = join(dir, "cli-data");
    const own = await startEmbeddedStore({ dataDir });
    try {
      await writeAnswerRollups(own.store);
      await evaluator(CONFIG, {
        results: own.store,
        alerts: new DynamoAlertStateStore({ client: own.client, tableName: own.store.tableName }),
      })(T);
    } finally {
      await own.close();
    }

    const c = captureIo();
    expect(await main(["alerts", "--data-dir", dataDir], c.io)).toBe(0);
    expect(c.err).toBe("");
    const at = "2025-06-02 12:00:00Z";
    expect(c.out).toMatch(
      new RegExp(
        `\\n${ALERT}\\s+page\\s+${REGION}\\s+FIRING\\s+${at}\\s+${at}\\s+-\\s+answering PoP changed 10 times over 1h \\(dns\\) \\(threshold 6; 5 over 15m\\)\\n`,
      ),
    );
    // Only the flap fired, so only it has a state; its rule (1h/15m, factor 1, no burn rates) is not shown as a burn.
    expect(c.out.trimEnd().split("\n")).toHaveLength(2);
    expect(c.out).not.toMatch(/> 1×\)/);
  });
});
