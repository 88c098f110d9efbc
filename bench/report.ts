// `popwatch report` over 30 days of rollups for 20 regions × 50 targets in
// the embedded store: wall time and rollup items read, with and without the
// HTML page (which adds the catchment matrix and the chart series). Every
// item the report's queries return is counted by (region, granularity,
// period), so a report that reads an item twice shows it.
//
// History is written as period rollups of every region (putPeriodRollups): minutes for
// the last 6 h, hours and days for 31 days, plus one raw result per series
// so the regions are listed. 50 availability SLOs, each per region and
// pooled.
//
// Anchor, same run, same store: reading each distinct item the report read,
// once, with the same queries a reader would send per region and range
// (what the rollup reads alone cost). A second column times the raw results
// query the report makes for failovers and per-probe RTTs (one Query per
// region and hour partition over the raw retention), the other I/O it does.
//
// Run from the repository root: node bench/run.mjs report   [env: RUNS=3]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PERIOD_MS, type Rollup, type RollupGranularity, parseConfig, periodKey, periodStartMs, sketchFromLatencies } from "@popwatch/core";
import { DynamoResultStore, type StoredResult, startEmbeddedStore } from "@popwatch/store";
import { reportCommand } from "../packages/cli/src/commands/report";
import { fmt, percentile } from "./support/stats";

const RUNS = Number(process.env.RUNS ?? "3");
const REGIONS = Array.from({ length: Number(process.env.REGIONS ?? "20") }, (_, i) => `region-${String(i).padStart(2, "0")}`);
const TARGETS = Array.from({ length: 50 }, (_, i) => `target-${String(i).padStart(2, "0")}`);
const MINUTE = PERIOD_MS.minute;
const HOUR = PERIOD_MS.hour;
const DAY = PERIOD_MS.day;
// The report runs as of END + 30 s; windows end at END.
const END = Math.floor(Date.now() / MINUTE) * MINUTE - 23 * MINUTE;

const CONFIG = {
  targets: TARGETS.map((name, i) => ({ name, address: `198.51.100.${i + 1}`, probes: { dns: {} } })),
  slos: TARGETS.map((target) => ({ name: `${target}-availability`, target, sli: { type: "availability" }, objective: 0.999 })),
};
parseConfig(CONFIG);

function rollupsFor(granularity: RollupGranularity, start: number, region: string): Rollup[] {
  const key = periodKey(granularity, start)!;
  const total = 6 * (PERIOD_MS[granularity] / MINUTE);
  return TARGETS.map((target, t) => {
    const bad = Math.floor((total * ((t + start / MINUTE) % 5)) / 2000);
    const latencies = Array.from({ length: 24 }, (_, i) => 4 + ((i * 37 + t * 11) % 180));
    const sketch = Object.fromEntries(
      Object.entries(sketchFromLatencies(latencies)).map(([k, n]) => [k, Math.max(1, Math.round((n * (total - bad)) / 24))]),
    );
    const good = total - bad;
    const base = {
      target,
      kind: "dns" as const,
      region,
      total,
      good,
      failures: bad ? { timeout: bad } : {},
      latency: sketch,
      pops: { fra: good - Math.floor(good / 3), ams: Math.floor(good / 3) },
      popChanges: 2,
      firstPop: "fra",
      lastPop: "ams",
      truncated: 0,
      tcpFallback: 0,
    };
    return granularity === "minute"
      ? { granularity, minute: key, ...base }
      : granularity === "hour"
        ? { granularity, hour: key, ...base }
        : { granularity, day: key, ...base };
  }) as Rollup[];
}

async function writeHistory(store: DynamoResultStore): Promise<number> {
  // One job per period, every region's rollups of it: hour and day buckets hold all vantages of the period (store v3).
  const jobs: [RollupGranularity, number][] = [];
  const lastHour = Math.floor(END / HOUR) * HOUR;
  const today = Math.floor(END / DAY) * DAY;
  for (let m = END - 6 * HOUR; m < END; m += MINUTE) jobs.push(["minute", m]);
  for (let h = lastHour - 31 * DAY; h < lastHour; h += HOUR) jobs.push(["hour", h]);
  for (let d = today - 31 * DAY; d < today; d += DAY) jobs.push(["day", d]);
  const written = jobs.length * REGIONS.length;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let job = jobs.shift(); job; job = jobs.shift()) {
        const [granularity, start] = job;
        const rollups = REGIONS.flatMap((region) => rollupsFor(granularity, start, region));
        await store.putPeriodRollups(granularity, periodKey(granularity, start)!, rollups);
      }
    }),
  );
  // One raw result per series registers the series, so the report lists every region.
  for (const region of REGIONS) {
    const results: StoredResult[] = TARGETS.map((target, i) => ({
      kind: "dns",
      target: `198.51.100.${i + 1}:53`,
      address: `198.51.100.${i + 1}`,
      port: 53,
      name: target,
      ok: true,
      startedAt: new Date(END - 30_000).toISOString(),
      timings: { totalMs: 10, rttMs: 9 },
      pop: { id: "fra", source: "nsid", raw: "fra1", iata: "fra" },
      failure: null,
      region,
      seq: i,
    })) as StoredResult[];
    await store.putResults({ region, invocationId: `bench-${region}`, results });
  }
  return written;
}

/** Counts every vantage's period queryPeriodRollups returns, by region, granularity and period. */
function countReads(): { counts: Map<string, number>; restore: () => void } {
  const counts = new Map<string, number>();
  const proto = DynamoResultStore.prototype;
  const original = proto.queryPeriodRollups;
  proto.queryPeriodRollups = async function (this: DynamoResultStore, query: Parameters<typeof original>[0]) {
    const items = await original.call(this, query as never);
    for (const item of items) {
      const key = `${item.region}\u0000${query.granularity}\u0000${item.period}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return items;
  } as typeof original;
  const restore = (): void => {
    proto.queryPeriodRollups = original;
  };
  return { counts, restore };
}

/** The anchor: each distinct item read once, one query per contiguous run of periods. */
async function readEachOnce(store: DynamoResultStore, keys: readonly string[]): Promise<number> {
  const byRange = new Map<string, number[]>();
  for (const key of keys) {
    const [region, granularity, period] = key.split("\u0000") as [string, RollupGranularity, string];
    const starts = byRange.get(`${region}\u0000${granularity}`) ?? [];
    starts.push(periodStartMs(granularity, period)!);
    byRange.set(`${region}\u0000${granularity}`, starts);
  }
  let items = 0;
  await Promise.all(
    [...byRange].map(async ([key, starts]) => {
      const [region, granularity] = key.split("\u0000") as [string, RollupGranularity];
      starts.sort((a, b) => a - b);
      let from = starts[0]!;
      for (let i = 1; i <= starts.length; i++) {
        if (i < starts.length && starts[i] === starts[i - 1]! + PERIOD_MS[granularity]) continue;
        const to = starts[i - 1]! + PERIOD_MS[granularity];
        const got = (await store.queryRegionRollups({ region, granularity, from, to })).length;
        items += got;
        if (i < starts.length) from = starts[i]!;
      }
    }),
  );
  return items;
}

const sink = { write: () => true };
const io = { stdout: sink, stderr: { write: (text: string) => void process.stderr.write(text) } } as never;

const dir = mkdtempSync(join(tmpdir(), "popwatch-report-bench-"));
const dataDir = join(dir, "data");
const configFile = join(dir, "popwatch.config.json");
try {
  await import("node:fs/promises").then((fs) => fs.writeFile(configFile, JSON.stringify(CONFIG)));
  const retentionDays = { raw: 400, minute: 400, hour: 400, day: 400 };
  let embedded = await startEmbeddedStore({ dataDir, retentionDays });
  let t0 = performance.now();
  const written = await writeHistory(embedded.store);
  console.log(
    `node ${process.version}; ${REGIONS.length} regions × ${TARGETS.length} targets; ${CONFIG.slos.length} SLOs per region and pooled; ${written} rollup items written in ${fmt(performance.now() - t0)} ms; ${RUNS} runs each`,
  );
  await embedded.close();

  console.log(
    "| report | items returned | distinct items | most reads of one item | report (ms, median) | each item once (ms, median, anchor) | ratio | raw results query (ms, median) |",
  );
  console.log("|---|---|---|---|---|---|---|---|");
  for (const [label, flags] of [
    ["--since 30d --json", ["--json"]],
    ["--since 30d --html", ["--html", join(dir, "report.html")]],
  ] as const) {
    const reportMs: number[] = [];
    const anchorMs: number[] = [];
    const rawMs: number[] = [];
    let returned = 0;
    let distinct = 0;
    let most = 0;
    for (let run = 0; run < RUNS; run++) {
      const counting = countReads();
      t0 = performance.now();
      const code = await reportCommand(["--config", configFile, "--data-dir", dataDir, "--since", "30d", ...flags], io, {
        now: () => END + 30_000,
      });
      reportMs.push(performance.now() - t0);
      counting.restore();
      if (code !== 0) throw new Error(`report exited ${code}`);
      returned = [...counting.counts.values()].reduce((a, b) => a + b, 0);
      distinct = counting.counts.size;
      most = Math.max(...counting.counts.values());
      embedded = await startEmbeddedStore({ dataDir, retentionDays });
      t0 = performance.now();
      const items = await readEachOnce(embedded.store, [...counting.counts.keys()]);
      anchorMs.push(performance.now() - t0);
      await embedded.close();
      // As the report opens it: default retention.
      embedded = await startEmbeddedStore({ dataDir });
      t0 = performance.now();
      await embedded.store.queryResults({ since: END + 30_000 - 30 * DAY, until: END + 30_000 });
      rawMs.push(performance.now() - t0);
      await embedded.close();
      if (items !== distinct) throw new Error(`anchor read ${items} items, the report ${distinct}`);
    }
    const r = percentile(reportMs, 50);
    const a = percentile(anchorMs, 50);
    console.log(
      `| ${label} | ${returned} | ${distinct} | ${most} | ${fmt(r)} | ${fmt(a)} | ${(r / a).toFixed(2)} | ${fmt(percentile(rawMs, 50))} |`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
