// runInvocation against the embedded store (dynalite in a temp dir) with real
// probes to the loopback NSD and nginx. The clock is simulated so that rounds
// 20 s apart run back to back; the probes and the store are real.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  InvocationIncompleteError,
  type InvocationOptions,
  type LogEntry,
  type RoundReport,
  defaultRollupRange,
  invocationIdFor,
  probeSpecsOf,
  runInvocation,
  throwIfIncomplete,
} from "@popwatch/agent";
import { type PopwatchConfig, parseConfig, rollupPeriod } from "@popwatch/core";
import { type EmbeddedStore, type ResultStore, StoreError, startEmbeddedStore } from "@popwatch/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DnsServerInfo, type NginxInfo, requireServer, skipUnless, useTestServers } from "./support/servers";

const servers = useTestServers();
const needs = [skipUnless(servers.dns.nsd), skipUnless(servers.nginx)];
const skip = needs.some((n) => n.skip);
const note = needs.map((n) => n.note).join("");

const REGION = "eu-central-1";
const FAST_RETRY = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5, maxElapsedMs: 2_000 };

function loopbackConfig(nsd: DnsServerInfo, nginx: NginxInfo): PopwatchConfig {
  return parseConfig({
    regions: [REGION],
    schedule: { rateMinutes: 1, roundsPerInvocation: 3, timeoutMs: 2000, concurrency: 8 },
    targets: [
      {
        name: "nsd",
        address: nsd.address,
        probes: { dns: { port: nsd.port, qname: servers.records.a.name, qtype: "A", chaos: ["id.server"] } },
      },
      {
        name: "nginx",
        address: nginx.address,
        hostname: nginx.host,
        probes: {
          tls: { port: nginx.httpsPort, ca: [nginx.caPem] },
          http: { port: nginx.httpsPort, ca: [nginx.caPem] },
        },
      },
    ],
  });
}

/** Wall clock that only moves when the invocation sleeps until its next slot. */
function simulatedClock(startMs: number) {
  let nowMs = startMs;
  return {
    now: () => nowMs,
    sleep: async (ms: number) => {
      nowMs += ms;
    },
  };
}

let embedded: EmbeddedStore;
let dataDir: string;
let config: PopwatchConfig;
const specCount = () => probeSpecsOf(config).length;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "popwatch-agent-"));
  embedded = await startEmbeddedStore({ dataDir, retry: FAST_RETRY });
});
afterAll(async () => {
  await embedded?.close();
  await rm(dataDir, { recursive: true, force: true });
});

function invoke(
  scheduledAt: string,
  overrides: Partial<InvocationOptions> = {},
  { startsLateMs = 0, deadlineAfterMs = 75_000 }: { startsLateMs?: number; deadlineAfterMs?: number } = {},
) {
  const clock = simulatedClock(Date.parse(scheduledAt) + startsLateMs);
  const logs: LogEntry[] = [];
  const rounds: RoundReport[] = [];
  const deadline = Date.parse(scheduledAt) + deadlineAfterMs;
  const run = runInvocation({
    config,
    region: REGION,
    scheduledAt,
    store: embedded.store,
    remainingMs: () => deadline - clock.now(),
    now: clock.now,
    sleep: clock.sleep,
    safetyMarginMs: 1_000,
    logger: (entry) => logs.push(entry),
    onRound: (round) => rounds.push(round),
    ...overrides,
  });
  return { run, logs, rounds, clock };
}

async function storedBetween(from: string, minutes = 1) {
  return embedded.store.queryResults({ since: from, until: Date.parse(from) + minutes * 60_000 });
}

async function rollupsOf(from: string, granularities: readonly ("minute" | "hour" | "day")[] = ["minute", "hour"]) {
  const all = [];
  for (const series of [
    { target: "nsd", kind: "dns" as const },
    { target: "nginx", kind: "tls" as const },
    { target: "nginx", kind: "http" as const },
  ]) {
    for (const granularity of granularities) {
      all.push(...(await embedded.store.queryRollups({ ...series, region: REGION, granularity, from, to: Date.parse(from) + 60_000 })));
    }
  }
  return all;
}

describe.skipIf(skip)(`runInvocation${note}`, () => {
  beforeAll(() => {
    config = loopbackConfig(requireServer(servers.dns.nsd), requireServer(servers.nginx));
  });

  it("runs every round at its slot, writes results with slotAt and seq, and rebuilds rollups", async () => {
    const scheduledAt = "2025-03-02T10:00:00.000Z";
    const { run, logs, rounds } = invoke(scheduledAt);
    const summary = await run;
    const n = specCount();
    expect(n).toBe(3);
    expect(summary).toMatchObject({
      invocationId: `${REGION}#${scheduledAt}`,
      rounds: 3,
      skippedRounds: 0,
      results: 3 * n,
      ok: 3 * n,
      failed: 0,
      written: 3 * n,
      errors: [],
      cancelled: false,
    });
    expect(rounds.map((r) => r.slotAt)).toEqual(["2025-03-02T10:00:00.000Z", "2025-03-02T10:00:20.000Z", "2025-03-02T10:00:40.000Z"]);

    const stored = await storedBetween(scheduledAt);
    expect(stored).toHaveLength(3 * n);
    expect(stored.map((r) => r.seq).sort((a, b) => a - b)).toEqual([...Array(3 * n).keys()]);
    for (const result of stored) {
      expect(result.region).toBe(REGION);
      expect(result.invocationId).toBe(summary.invocationId);
      expect(result.slotAt).toBe(rounds[Math.floor(result.seq / n)]!.slotAt);
    }
    const dns = stored.filter((r) => r.kind === "dns");
    expect(dns.every((r) => r.ok && r.pop?.id === requireServer(servers.dns.nsd).nsid)).toBe(true);
    const http = stored.filter((r) => r.kind === "http");
    expect(http.every((r) => r.ok && r.pop?.id === "pop-nginx")).toBe(true);

    // Mid-hour: one minute item with every series; the hour and the day are built when they end.
    const rollups = await rollupsOf(scheduledAt, ["minute", "hour", "day"]);
    expect(rollups.map((r) => `${r.granularity} ${r.target}/${r.kind}`)).toEqual([
      "minute nsd/dns",
      "minute nginx/tls",
      "minute nginx/http",
    ]);
    for (const rollup of rollups) expect(rollup).toMatchObject({ region: REGION, total: 3, good: 3 });
    expect(summary.rollupsWritten).toBe(3);
    const [minuteItem] = await embedded.store.queryRegionRollups({
      region: REGION,
      granularity: "minute",
      from: scheduledAt,
      to: Date.parse(scheduledAt) + 60_000,
    });
    expect(minuteItem?.rollups).toHaveLength(3);

    const roundLines = logs.filter((l) => l.msg === "round");
    expect(roundLines).toHaveLength(3);
    expect(roundLines[0]).toMatchObject({
      level: "info",
      region: REGION,
      invocationId: summary.invocationId,
      results: n,
      ok: n,
      written: n,
    });
    expect(typeof roundLines[0]!.probeMs).toBe("number");
    const end = logs.filter((l) => l.msg === "invocation");
    expect(end).toEqual([expect.objectContaining({ level: "info", rounds: 3, results: 3 * n, written: 3 * n, errors: [] })]);
  });

  it("is idempotent: invoking again for the same scheduled time leaves the same items and rollups", async () => {
    const scheduledAt = "2025-03-02T10:00:00.000Z";
    const before = await storedBetween(scheduledAt);
    const rollupsBefore = await rollupsOf(scheduledAt);
    const summary = await invoke(scheduledAt).run;
    expect(summary.written).toBe(3 * specCount());
    const after = await storedBetween(scheduledAt);
    expect(after).toHaveLength(before.length);
    expect(after.map((r) => [r.slotAt, r.seq, r.invocationId])).toEqual(before.map((r) => [r.slotAt, r.seq, r.invocationId]));
    const rollupsAfter = await rollupsOf(scheduledAt);
    expect(rollupsAfter.map((r) => [r.granularity, r.target, r.kind, r.total, r.good])).toEqual(
      rollupsBefore.map((r) => [r.granularity, r.target, r.kind, r.total, r.good]),
    );
  });

  it("stops starting rounds that cannot finish before the deadline, and loses none already taken", async () => {
    const scheduledAt = "2025-03-02T11:00:00.000Z";
    // Round 2 would start at +40 s with 1 s left: less than a round (2 s) plus the 1 s margin.
    const { run, logs } = invoke(scheduledAt, {}, { deadlineAfterMs: 41_000 });
    const summary = await run;
    expect(summary).toMatchObject({ rounds: 2, skippedRounds: 1, results: 2 * specCount(), written: 2 * specCount(), errors: [] });
    expect(await storedBetween(scheduledAt)).toHaveLength(2 * specCount());
    for (const rollup of await rollupsOf(scheduledAt)) expect(rollup.total).toBe(2);
    expect(logs).toContainEqual(
      expect.objectContaining({ level: "warn", msg: "round skipped", round: 2, reason: expect.stringMatching(/not enough time/) }),
    );
  });

  it("skips a round whose slot passed more than one interval ago instead of bunching rounds up", async () => {
    const scheduledAt = "2025-03-02T12:00:00.000Z";
    // Started 25 s late: round 0 (slot +0 s) is more than the 20 s interval late, round 1 only 5 s.
    const { run, logs } = invoke(scheduledAt, {}, { startsLateMs: 25_000 });
    const summary = await run;
    expect(summary).toMatchObject({ rounds: 2, skippedRounds: 1, written: 2 * specCount() });
    const stored = await storedBetween(scheduledAt);
    expect(new Set(stored.map((r) => r.slotAt))).toEqual(new Set(["2025-03-02T12:00:20.000Z", "2025-03-02T12:00:40.000Z"]));
    expect(logs).toContainEqual(expect.objectContaining({ msg: "round skipped", round: 0, reason: expect.stringMatching(/slot passed/) }));
  });

  it("reports a failed write, stops probing, throws for the Lambda; the retry completes without duplicates", async () => {
    const scheduledAt = "2025-03-02T13:00:00.000Z";
    let puts = 0;
    const failing: ResultStore = Object.assign(Object.create(embedded.store) as ResultStore, {
      putResults: async (batch: Parameters<ResultStore["putResults"]>[0]) => {
        if (++puts === 2)
          throw new StoreError("store_unavailable", "BatchWriteItem gave up", {
            unwrittenItems: batch.results.length,
            totalItems: batch.results.length,
          });
        return embedded.store.putResults(batch);
      },
    });
    const { run, logs } = invoke(scheduledAt, { store: failing });
    const summary = await run;
    const n = specCount();
    expect(summary).toMatchObject({ rounds: 2, skippedRounds: 1, results: 2 * n, written: n });
    expect(summary.errors).toEqual([expect.objectContaining({ stage: "write", code: "store_unavailable", round: 1, unwrittenItems: n })]);
    expect(() => throwIfIncomplete(summary)).toThrow(InvocationIncompleteError);
    expect(logs.at(-1)).toMatchObject({ level: "error", msg: "invocation", written: n });
    expect(await storedBetween(scheduledAt)).toHaveLength(n);

    const retry = await invoke(scheduledAt).run;
    expect(retry.errors).toEqual([]);
    const stored = await storedBetween(scheduledAt);
    expect(stored).toHaveLength(3 * n);
    expect(new Set(stored.map((r) => r.seq)).size).toBe(3 * n);
  });

  it("a cancelled invocation writes the rounds it took and starts no more", async () => {
    const scheduledAt = "2025-03-02T14:00:00.000Z";
    const controller = new AbortController();
    const { run } = invoke(scheduledAt, { signal: controller.signal, onRound: () => controller.abort() });
    const summary = await run;
    expect(summary).toMatchObject({ rounds: 1, skippedRounds: 2, cancelled: true, written: specCount(), errors: [] });
    expect(await storedBetween(scheduledAt)).toHaveLength(specCount());
    for (const rollup of await rollupsOf(scheduledAt)) expect(rollup.total).toBe(1);
  });

  it("the invocation that closes an hour marks it, compact builds the hour, and at midnight the day", async () => {
    const closing = "2025-03-03T22:59:00.000Z";
    const hourSummary = await invoke(closing).run;
    expect(hourSummary.errors).toEqual([]);
    expect(hourSummary.rollupsWritten).toBe(3); // 3 series × the minute; the hour is compact's
    // Earlier tests' hours (same store) are built too.
    expect((await embedded.store.compact({ now: "2025-03-03T23:02:00.000Z" })).hours).toBeGreaterThanOrEqual(1);
    const hours = await rollupsOf(closing, ["hour", "day"]);
    expect(hours.map((r) => [r.granularity, rollupPeriod(r), r.total])).toEqual([
      ["hour", "2025-03-03T22", 3],
      ["hour", "2025-03-03T22", 3],
      ["hour", "2025-03-03T22", 3],
    ]);

    const midnight = "2025-03-03T23:59:00.000Z";
    const daySummary = await invoke(midnight).run;
    expect(daySummary.rollupsWritten).toBe(3);
    expect(await embedded.store.compact({ now: "2025-03-04T00:02:00.000Z" })).toMatchObject({ hours: 1, days: 1 });
    expect(await embedded.store.compact({ now: "2025-03-04T00:02:00.000Z" })).toMatchObject({ hours: 0, days: 0 });
    const days = await embedded.store.queryRegionRollups({
      region: REGION,
      granularity: "day",
      from: midnight,
      to: Date.parse(midnight) + 1,
    });
    expect(days.map((d) => [d.period, d.rollups.map((r) => [r.target, r.kind, r.total, r.good])])).toEqual([
      [
        "2025-03-03",
        [
          ["nginx", "http", 6, 6],
          ["nginx", "tls", 6, 6],
          ["nsd", "dns", 6, 6],
        ],
      ],
    ]);
  });

  it("names invocations by region and scheduled time", () => {
    expect(invocationIdFor("us-east-1", "2025-01-01T12:00:00Z")).toBe("us-east-1#2025-01-01T12:00:00.000Z");
  });
});

describe("defaultRollupRange", () => {
  const schedule = (rateMinutes: number, roundsPerInvocation: number) =>
    parseConfig({
      regions: [REGION],
      schedule: { rateMinutes, roundsPerInvocation },
      targets: [{ name: "t", address: "198.51.100.1", probes: { tcp: { port: 443 } } }],
    }).schedule;
  const range = (r: { fromMs: number; toMs: number }) => [new Date(r.fromMs).toISOString(), new Date(r.toMs).toISOString()];
  const at = (iso: string) => Date.parse(iso);

  it("covers the invocation's minutes up to the end of its period, so the period closing an hour reaches it", () => {
    // Six rounds a minute: the minute of the rounds, which closes hour 10.
    expect(range(defaultRollupRange(schedule(1, 6), at("2025-03-02T10:59:00Z"), 0, 6))).toEqual([
      "2025-03-02T10:59:00.000Z",
      "2025-03-02T11:00:00.000Z",
    ]);
    // One round every 5 minutes: no slot in minute :59, but the period ends the hour.
    expect(range(defaultRollupRange(schedule(5, 1), at("2025-03-02T10:55:00Z"), 0, 1))).toEqual([
      "2025-03-02T10:55:00.000Z",
      "2025-03-02T11:00:00.000Z",
    ]);
    // Started mid-period (a local run): from the first round it runs.
    expect(range(defaultRollupRange(schedule(10, 5), at("2025-03-02T10:50:00Z"), 2, 5))).toEqual([
      "2025-03-02T10:54:00.000Z",
      "2025-03-02T11:00:00.000Z",
    ]);
    // An unaligned one-off (run --once): its period, past the minute.
    expect(range(defaultRollupRange(schedule(1, 6), at("2025-03-02T10:59:30Z"), 0, 1))).toEqual([
      "2025-03-02T10:59:00.000Z",
      "2025-03-02T11:00:30.000Z",
    ]);
  });
});
