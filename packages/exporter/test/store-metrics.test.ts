// The store part of /metrics on the embedded store (dynalite on LevelDB):
// results written as the agent writes them and rolled up, alert states
// written by a real evaluation cycle, then the text a registry renders,
// checked value by value against figures recomputed here from the generated
// results (not read back from the code under test) and by promtool.
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LogEntry, runEvaluationCycle } from "@popwatch/agent";
import { ALERT_WINDOWS, POOLED_SCOPE, type PopwatchConfig, STORE_METRICS, WINDOW_MS, parseConfig } from "@popwatch/core";
import { type EmbeddedStore, type StoredResult, openStore, startEmbeddedStore } from "@popwatch/store";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStoreMetrics } from "../src/index";

const MINUTE = 60_000;
// Windows end at NOW: the metrics refresh at NOW + 30 s, whose last complete minute is NOW.
const NOW = Math.floor(Date.now() / MINUTE) * MINUTE;
const REFRESH_AT = NOW + 30_000;
const iso = (ms: number) => new Date(ms).toISOString();

interface Generated {
  target: string;
  region: string;
  ms: number;
  ok: boolean;
  pop: string | null;
  totalMs: number;
}

const EU = "eu-west-1";
const US = "us-east-1";
const REGIONS = [EU, US];
/** eu-west-1's PoPs over the last hour, in time order: five changes of the per-minute dominant PoP. */
const EU_HOUR: [string, number][] = [
  ["lhr", 20],
  ["dub", 12],
  ["fra", 8],
  ["ams", 5],
  ["cdg", 3],
  ["mad", 2],
];
const TOP_POPS = 3;

/** One result a minute per region and target over the last two hours: k minutes back. */
function generate(): Generated[] {
  const out: Generated[] = [];
  const add = (target: string, region: string, k: number, pop: string | null, totalMs: number) =>
    out.push({ target, region, ms: NOW - k * MINUTE, ok: pop !== null, pop, totalMs });
  const euHour = EU_HOUR.flatMap(([pop, n]) => Array.from({ length: n }, () => pop));
  for (let k = 1; k <= 120; k++) {
    // us-east-1: iad, then ewr for the last 20 minutes; always fast.
    add("anycast-dns", US, k, k <= 20 ? "ewr" : "iad", 2.5);
    // eu-west-1: lhr, then six PoPs over the last hour, and the last 10 minutes fail.
    if (k <= 10) add("anycast-dns", EU, k, null, 2000);
    else if (k <= 60) add("anycast-dns", EU, k, euHour[60 - k]!, 12.5);
    else add("anycast-dns", EU, k, "lhr", 12.5);
    // A target no longer configured: its rollups are in the store, its series must not be.
    if (k <= 30) add("retired", US, k, "iad", 3);
  }
  return out;
}
const DATA = generate();

const CONFIG: PopwatchConfig = parseConfig({
  targets: [{ name: "anycast-dns", address: "198.51.100.53", probes: { dns: {} } }],
  slos: [
    { name: "dns-availability", target: "anycast-dns", sli: { type: "availability" }, objective: 0.99 },
    {
      name: "dns-latency",
      target: "anycast-dns",
      sli: { type: "latency", thresholdMs: 10 },
      objective: 0.9,
      period: "7d",
      scopes: ["pooled"],
    },
  ],
});

function stored(r: Generated, seq: number): StoredResult {
  return {
    kind: "dns",
    target: r.target === "retired" ? "198.51.100.99:53" : "198.51.100.53:53",
    address: r.target === "retired" ? "198.51.100.99" : "198.51.100.53",
    port: 53,
    name: r.target,
    ok: r.ok,
    startedAt: iso(r.ms + 100),
    timings: { totalMs: r.totalMs, rttMs: r.totalMs - 0.5 },
    pop: r.pop === null ? null : { id: r.pop, source: "nsid", raw: `${r.pop}1`, iata: r.pop },
    failure: r.ok ? null : { code: "timeout", message: "no answer within 2000 ms" },
    region: r.region,
    seq,
    slotAt: iso(r.ms),
  } as StoredResult;
}

/** Writes every result as one invocation per region and minute, then the minute rollups, then compacts the hours and days. */
async function seed(embedded: EmbeddedStore): Promise<void> {
  const batches = new Map<string, StoredResult[]>();
  for (const r of DATA) {
    const key = `${r.region}#${iso(r.ms)}`;
    const batch = batches.get(key) ?? [];
    batch.push(stored(r, batch.length));
    batches.set(key, batch);
  }
  await Promise.all(
    [...batches].map(([invocationId, results]) => embedded.store.putResults({ region: results[0]!.region, invocationId, results })),
  );
  for (const region of REGIONS) {
    await embedded.store.rollUp({ region, granularity: "minute", from: NOW - 121 * MINUTE, to: NOW });
  }
  // The hour and day buckets, as the evaluator's compact builds them.
  await embedded.store.compact({ now: NOW });
}

// ---- the expected figures, from DATA ----

const good = (slo: string, r: Generated) => r.ok && (slo === "dns-availability" || r.totalMs <= 10);
const OBJECTIVES: Record<string, number> = { "dns-availability": 0.99, "dns-latency": 0.9 };

function countsIn(slo: string, scope: string, windowMs: number): { good: number; bad: number } {
  const rows = DATA.filter(
    (r) => r.target === "anycast-dns" && (scope === POOLED_SCOPE || r.region === scope) && r.ms >= NOW - windowMs && r.ms < NOW,
  );
  const goodRows = rows.filter((r) => good(slo, r)).length;
  return { good: goodRows, bad: rows.length - goodRows };
}

function burn(slo: string, scope: string, windowMs: number): number {
  const { good: g, bad } = countsIn(slo, scope, windowMs);
  return bad / (g + bad) / (1 - OBJECTIVES[slo]!);
}

/** Per region over the last hour: answers per PoP and the changes of the per-minute dominant PoP. */
function catchmentOf(region: string): { shares: Map<string, number>; changes: number } {
  const rows = DATA.filter((r) => r.target === "anycast-dns" && r.region === region && r.ms >= NOW - 60 * MINUTE && r.pop !== null);
  rows.sort((a, b) => a.ms - b.ms);
  const counts = new Map<string, number>();
  let changes = 0;
  rows.forEach((r, i) => {
    counts.set(r.pop!, (counts.get(r.pop!) ?? 0) + 1);
    if (i > 0 && rows[i - 1]!.pop !== r.pop) changes++;
  });
  return { shares: new Map([...counts].map(([pop, n]) => [pop, n / rows.length])), changes };
}

// ---- the exposition, parsed ----

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): Series[] {
  const series: Series[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) throw new Error(`unparsed exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    series.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return series;
}

function seriesValue(all: readonly Series[], name: string, labels: Record<string, string>): number | undefined {
  const found = all.filter(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  expect(found.length, `${name} ${JSON.stringify(labels)}`).toBeLessThanOrEqual(1);
  return found[0]?.value;
}

function promtoolCheck(text: string): { status: number | null; output: string } {
  const run = spawnSync("/usr/bin/promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

let dir: string;
let embedded: EmbeddedStore;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-store-metrics-"));
  embedded = await startEmbeddedStore({ dataDir: join(dir, "data") });
  await seed(embedded);
  // The evaluator's own cycle stores the alert states /metrics reports.
  await runEvaluationCycle({
    config: CONFIG,
    store: embedded.store,
    alerts: embedded.alerts,
    sinks: [],
    regions: REGIONS,
    now: REFRESH_AT,
  });
}, 120_000);
afterAll(async () => {
  await embedded?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("store metrics on the embedded store", () => {
  let text: string;
  let all: Series[];
  const logs: LogEntry[] = [];
  beforeAll(async () => {
    const metrics = createStoreMetrics({
      config: CONFIG,
      store: { results: embedded.store, alerts: embedded.alerts },
      now: () => REFRESH_AT,
      refreshMs: 3_600_000,
      topPops: TOP_POPS,
      logger: (entry) => logs.push(entry),
    });
    const registry = new Registry();
    metrics.register(registry);
    await metrics.refresh();
    text = await registry.metrics();
    all = parseExposition(text);
    await metrics.close();
  });

  it("passes promtool check metrics", () => {
    const { status, output } = promtoolCheck(text);
    expect(output).toBe("");
    expect(status).toBe(0);
  });

  it("documents every contract metric with its help text and type", () => {
    for (const spec of Object.values(STORE_METRICS)) {
      expect(text).toContain(`# HELP ${spec.name} ${spec.help}\n`);
      expect(text).toMatch(new RegExp(`# TYPE ${spec.name} (gauge|counter)\\n`));
    }
    expect(logs.filter((l) => l.level === "warn")).toEqual([]);
  });

  it("reports each SLO's objective", () => {
    expect(seriesValue(all, STORE_METRICS.objective.name, { slo: "dns-availability" })).toBe(0.99);
    expect(seriesValue(all, STORE_METRICS.objective.name, { slo: "dns-latency" })).toBe(0.9);
  });

  it("reports the burn rate of every alert window per SLO and scope, as recomputed from the results", () => {
    const scopes = [...[EU, US, POOLED_SCOPE].map((scope) => ["dns-availability", scope] as const), ["dns-latency", POOLED_SCOPE] as const];
    for (const [slo, scope] of scopes) {
      for (const window of ALERT_WINDOWS) {
        const got = seriesValue(all, STORE_METRICS.burnRate.name, { slo, scope, window });
        expect(got, `${slo} ${scope} ${window}`).toBeCloseTo(burn(slo, scope, WINDOW_MS[window]), 9);
      }
    }
    // The figures the story is about: eu-west-1 failed its last 10 minutes (5m burn 100×, 1h 16.7×).
    expect(seriesValue(all, STORE_METRICS.burnRate.name, { slo: "dns-availability", scope: EU, window: "5m" })).toBeCloseTo(100, 9);
    expect(seriesValue(all, STORE_METRICS.burnRate.name, { slo: "dns-availability", scope: EU, window: "1h" })).toBeCloseTo(100 / 6, 9);
    expect(seriesValue(all, STORE_METRICS.burnRate.name, { slo: "dns-availability", scope: US, window: "1h" })).toBe(0);
    // Region scopes of a pooled-only SLO do not exist.
    expect(seriesValue(all, STORE_METRICS.burnRate.name, { slo: "dns-latency", scope: EU, window: "1h" })).toBeUndefined();
    expect(all.filter((s) => s.name === STORE_METRICS.burnRate.name)).toHaveLength(4 * ALERT_WINDOWS.length);
  });

  it("reports the period's events and the budget remaining", () => {
    for (const [slo, scope, period] of [
      ["dns-availability", EU, "30d"],
      ["dns-availability", US, "30d"],
      ["dns-availability", POOLED_SCOPE, "30d"],
      ["dns-latency", POOLED_SCOPE, "7d"],
    ] as const) {
      const counts = countsIn(slo, scope, WINDOW_MS[period]);
      expect(seriesValue(all, STORE_METRICS.periodEvents.name, { slo, scope, outcome: "good" })).toBe(counts.good);
      expect(seriesValue(all, STORE_METRICS.periodEvents.name, { slo, scope, outcome: "bad" })).toBe(counts.bad);
      expect(seriesValue(all, STORE_METRICS.budgetRemaining.name, { slo, scope })).toBeCloseTo(1 - burn(slo, scope, WINDOW_MS[period]), 9);
    }
    // 10 bad of 120 against a 1 % budget: overspent 8.33 times, shown unclamped.
    expect(seriesValue(all, STORE_METRICS.budgetRemaining.name, { slo: "dns-availability", scope: EU })).toBeCloseTo(1 - 1000 / 120, 9);
  });

  it("reports the alert states the evaluator stored, per severity", async () => {
    const states = (await embedded.alerts.loadStates()).map((s) => s.state);
    const firing = (slo: string, scope: string, severity: string) =>
      states.some((s) => s.slo === slo && s.scope === scope && s.severity === severity && s.status === "firing") ? 1 : 0;
    const alertSeries = all.filter((s) => s.name === STORE_METRICS.alertFiring.name);
    expect(alertSeries.length).toBeGreaterThan(0);
    for (const s of alertSeries) expect(s.value, JSON.stringify(s.labels)).toBe(firing(s.labels.slo!, s.labels.scope!, s.labels.severity!));
    // eu-west-1: 1h 16.7× and 5m 100× exceed the 14.4× page; 1d/2h 8.3× exceed the 3× ticket.
    expect(seriesValue(all, STORE_METRICS.alertFiring.name, { slo: "dns-availability", scope: EU, severity: "page" })).toBe(1);
    expect(seriesValue(all, STORE_METRICS.alertFiring.name, { slo: "dns-availability", scope: EU, severity: "ticket" })).toBe(1);
    expect(seriesValue(all, STORE_METRICS.alertFiring.name, { slo: "dns-availability", scope: US, severity: "page" })).toBe(0);
    // pooled: 1h 8.3× stays under the page; 1d/2h 4.2× exceed the ticket's 3×.
    expect(seriesValue(all, STORE_METRICS.alertFiring.name, { slo: "dns-availability", scope: POOLED_SCOPE, severity: "page" })).toBe(0);
    expect(seriesValue(all, STORE_METRICS.alertFiring.name, { slo: "dns-availability", scope: POOLED_SCOPE, severity: "ticket" })).toBe(1);
  });

  it("reports catchment shares with the top PoPs per target and region, the rest as other, and failovers", () => {
    for (const region of REGIONS) {
      const expected = catchmentOf(region);
      const ranked = [...expected.shares].sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
      const shown = all.filter((s) => s.name === STORE_METRICS.catchmentShare.name && s.labels.region === region);
      expect(shown.length).toBe(Math.min(ranked.length, TOP_POPS + 1));
      for (const [pop, share] of ranked.slice(0, TOP_POPS)) {
        expect(seriesValue(all, STORE_METRICS.catchmentShare.name, { target: "anycast-dns", region, pop }), pop).toBeCloseTo(share, 12);
      }
      const rest = ranked.slice(TOP_POPS).reduce((sum, [, share]) => sum + share, 0);
      expect(seriesValue(all, STORE_METRICS.catchmentShare.name, { target: "anycast-dns", region, pop: "other" })).toEqual(
        ranked.length > TOP_POPS ? expect.closeTo(rest, 12) : undefined,
      );
      expect(seriesValue(all, STORE_METRICS.failovers.name, { target: "anycast-dns", region })).toBe(expected.changes);
    }
    // The figures the story is about: eu-west-1 lhr 20/50, dub 12/50, fra 8/50, the other three 10/50; five changes.
    expect(seriesValue(all, STORE_METRICS.catchmentShare.name, { target: "anycast-dns", region: EU, pop: "lhr" })).toBeCloseTo(0.4, 12);
    expect(seriesValue(all, STORE_METRICS.catchmentShare.name, { target: "anycast-dns", region: EU, pop: "other" })).toBeCloseTo(0.2, 12);
    expect(seriesValue(all, STORE_METRICS.failovers.name, { target: "anycast-dns", region: EU })).toBe(5);
    expect(seriesValue(all, STORE_METRICS.failovers.name, { target: "anycast-dns", region: US })).toBe(1);
    // The retired target's rollups are in the store; its series are not.
    expect(all.filter((s) => s.labels.target === "retired")).toEqual([]);
  });

  it("stamps the evaluation time and starts every read error code at 0", () => {
    expect(seriesValue(all, STORE_METRICS.evaluationTimestamp.name, {})).toBe(REFRESH_AT / 1000);
    const errors = all.filter((s) => s.name === STORE_METRICS.evaluationErrors.name);
    expect(errors.map((s) => s.labels.code).sort()).toContain("store_unavailable");
    expect(errors.every((s) => s.value === 0)).toBe(true);
  });
});

describe("regions given (a DynamoDB table on AWS: the config's regions)", () => {
  it("evaluates those regions only, pooled over them", async () => {
    const metrics = createStoreMetrics({
      config: CONFIG,
      store: { results: embedded.store, alerts: embedded.alerts },
      regions: [EU],
      now: () => REFRESH_AT,
      refreshMs: 3_600_000,
    });
    const registry = new Registry();
    metrics.register(registry);
    await metrics.refresh();
    await metrics.close();
    const all = parseExposition(await registry.metrics());
    const scopes = new Set(all.filter((s) => s.name === STORE_METRICS.burnRate.name).map((s) => s.labels.scope));
    expect([...scopes].sort()).toEqual([EU, POOLED_SCOPE]);
    // Pooled over eu-west-1 alone is eu-west-1's figure.
    for (const window of ALERT_WINDOWS) {
      const labels = { slo: "dns-availability", window };
      expect(seriesValue(all, STORE_METRICS.burnRate.name, { ...labels, scope: POOLED_SCOPE })).toBeCloseTo(
        burn("dns-availability", EU, WINDOW_MS[window]),
        9,
      );
    }
    expect(all.filter((s) => s.name === STORE_METRICS.failovers.name).map((s) => s.labels.region)).toEqual([EU]);
  });
});

describe("the background refresh", () => {
  it("refreshes every refreshMs on its own, and stops when closed", async () => {
    let clock = REFRESH_AT;
    const metrics = createStoreMetrics({
      config: CONFIG,
      store: { results: embedded.store, alerts: embedded.alerts },
      // Each refresh reads the clock when it starts: one minute later every time.
      now: () => {
        clock += 60_000;
        return clock;
      },
      refreshMs: 50,
      logger: () => {},
    });
    const registry = new Registry();
    metrics.register(registry);
    const stamps = new Set<number>();
    for (let i = 0; i < 400 && stamps.size < 3; i++) {
      const stamp = seriesValue(parseExposition(await registry.metrics()), STORE_METRICS.evaluationTimestamp.name, {})!;
      if (stamp > 0) stamps.add(stamp);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(stamps.size).toBe(3);
    await metrics.close();
    const closedAt = seriesValue(parseExposition(await registry.metrics()), STORE_METRICS.evaluationTimestamp.name, {});
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seriesValue(parseExposition(await registry.metrics()), STORE_METRICS.evaluationTimestamp.name, {})).toBe(closedAt);
  });
});

describe("a store that fails", () => {
  it("keeps the last values, counts the failure by code, logs it, and never throws", async () => {
    const own = await startEmbeddedStore({ dataDir: join(dir, "failing") });
    const region = US;
    const results = DATA.filter((r) => r.region === region && r.target === "anycast-dns" && r.ms >= NOW - 30 * MINUTE).map(stored);
    await own.store.putResults({ region, invocationId: "failing", results: results.map((r, seq) => ({ ...r, seq })) });
    await own.store.rollUp({ region, granularity: "minute", from: NOW - 31 * MINUTE, to: NOW });
    await own.store.compact({ now: NOW });

    const logs: LogEntry[] = [];
    let nowMs = REFRESH_AT;
    const metrics = createStoreMetrics({
      config: CONFIG,
      // What openStore() returns fits as it is (the exporter on a DynamoDB table opens it so); two attempts
      // per read, because the default retry budget would only make the test wait.
      store: openStore({ client: own.client, tableName: own.store.tableName, retry: { maxAttempts: 2 } }),
      now: () => nowMs,
      refreshMs: 3_600_000,
      logger: (entry) => logs.push(entry),
    });
    const registry = new Registry();
    metrics.register(registry);
    // The first refresh started with createStoreMetrics and has not read the store yet: a timestamp of 0 says so.
    const first = parseExposition(await registry.metrics());
    expect(seriesValue(first, STORE_METRICS.evaluationTimestamp.name, {})).toBe(0);
    expect(first.filter((s) => s.name.startsWith("popwatch_slo_"))).toEqual([]);
    await metrics.refresh();
    const before = await registry.metrics();
    const beforeSeries = parseExposition(before).filter((s) => s.name !== STORE_METRICS.evaluationErrors.name);
    expect(seriesValue(beforeSeries, STORE_METRICS.periodEvents.name, { slo: "dns-availability", scope: region, outcome: "good" })).toBe(
      30,
    );

    // The embedded store stops: its endpoint refuses connections.
    await own.close();
    nowMs += 60_000;
    await expect(metrics.refresh()).resolves.toBeUndefined();
    await expect(metrics.refresh()).resolves.toBeUndefined();
    const after = await registry.metrics();
    const afterSeries = parseExposition(after);
    expect(afterSeries.filter((s) => s.name !== STORE_METRICS.evaluationErrors.name)).toEqual(beforeSeries);
    expect(seriesValue(afterSeries, STORE_METRICS.evaluationErrors.name, { code: "store_unavailable" })).toBe(2);
    const warnings = logs.filter((l) => l.level === "warn");
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatchObject({ code: "store_unavailable" });
    expect(promtoolCheck(after).status).toBe(0);

    // A closed client (the CLI's store closed under the exporter) is counted the same way.
    own.client.destroy();
    await metrics.refresh();
    const counted = parseExposition(await registry.metrics());
    expect(seriesValue(counted, STORE_METRICS.evaluationErrors.name, { code: "store_unavailable" })).toBe(3);
    expect(counted.filter((s) => s.name !== STORE_METRICS.evaluationErrors.name)).toEqual(beforeSeries);
    await metrics.close();
  });
});
