// Evaluating 100 SLO×region series over 30 days of rollups in the embedded
// store (dynalite on LevelDB, in-process, as `popwatch run` and `report`
// use it): wall time and items read. 10 regions × 10 targets (dns + http),
// 10 availability SLOs, each per region and pooled (110 evaluations), over
// the windows 5m 30m 1h 2h 6h 1d 3d and 30d.
//
// History is written as period rollups of every region (putPeriodRollups): minutes for
// the last 6 h, hours and days for 31 days; writing 30 days of raw results
// would take hours and measure the writer, not the evaluator. The same
// history is written at two probe rates (every 10 s and every 1 s per
// series) to show that items read do not grow with probes.
//
// Anchor, same run, same store: the same queries (queryRegionRollups over the
// same ranges) without evaluating anything: what reading alone costs.
//
// Run from the repository root: node bench/run.mjs slo-evaluation   [env: RUNS=5]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { evaluateSlos } from "@popwatch/agent";
import {
  ALERT_WINDOWS,
  PERIOD_MS,
  type ProbeKind,
  type Rollup,
  type RollupGranularity,
  WINDOW_MS,
  mergePeriodReads,
  parseConfig,
  periodKey,
  sketchFromLatencies,
  windowPeriods,
} from "@popwatch/core";
import { type DynamoResultStore, startEmbeddedStore } from "@popwatch/store";
import { fmt, percentile } from "./support/stats";

const median = (values: readonly number[]) => percentile(values, 50);

const RUNS = Number(process.env.RUNS ?? "5");
const REGIONS = [
  "us-east-1",
  "us-west-2",
  "eu-west-1",
  "eu-central-1",
  "eu-north-1",
  "ap-southeast-1",
  "ap-southeast-2",
  "ap-northeast-1",
  "sa-east-1",
  "af-south-1",
];
const TARGETS = Array.from({ length: 10 }, (_, i) => `target-${String(i).padStart(2, "0")}`);
const KINDS: ProbeKind[] = ["dns", "http"];
const END = Date.parse("2026-11-22T10:37:00.000Z");
const DAY = PERIOD_MS.day;

const config = parseConfig({
  regions: REGIONS,
  targets: TARGETS.map((name, i) => ({ name, address: `198.51.100.${i + 1}`, hostname: "example.org", probes: { dns: {}, http: {} } })),
  slos: TARGETS.map((target) => ({ name: `${target}-availability`, target, sli: { type: "availability" }, objective: 0.999 })),
});

function rollupsFor(granularity: RollupGranularity, periodStart: number, region: string, probesPerMinute: number): Rollup[] {
  const minutes = PERIOD_MS[granularity] / PERIOD_MS.minute;
  const key = periodKey(granularity, periodStart)!;
  return TARGETS.flatMap((target, t) =>
    KINDS.map((kind) => {
      const total = probesPerMinute * minutes;
      const bad = Math.floor((total * ((t + ((periodStart / PERIOD_MS.minute) % 7)) % 5)) / 2000);
      const latencies = Array.from({ length: 24 }, (_, i) => 4 + ((i * 37 + t * 11) % 180));
      const sketch = Object.fromEntries(
        Object.entries(sketchFromLatencies(latencies)).map(([k, n]) => [k, Math.max(1, Math.round((n * (total - bad)) / 24))]),
      );
      const base = {
        target,
        kind,
        region,
        total,
        good: total - bad,
        failures: bad ? { timeout: bad } : {},
        latency: sketch,
        pops: { fra: total - bad - Math.floor((total - bad) / 3), ams: Math.floor((total - bad) / 3) },
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
    }),
  ) as Rollup[];
}

async function writeHistory(store: DynamoResultStore, probesPerMinute: number): Promise<number> {
  let items = 0;
  const jobs: [RollupGranularity, number][] = [];
  for (let m = END - 6 * 3_600_000; m < END; m += PERIOD_MS.minute) jobs.push(["minute", m]);
  const lastHour = Math.floor(END / PERIOD_MS.hour) * PERIOD_MS.hour;
  for (let h = lastHour - 31 * DAY; h < lastHour; h += PERIOD_MS.hour) jobs.push(["hour", h]);
  const today = Math.floor(END / DAY) * DAY;
  for (let d = today - 31 * DAY; d < today; d += DAY) jobs.push(["day", d]);
  // One put per period with every region's rollups: hour and day buckets hold all vantages of the period (store v3).
  const queue = [...jobs];
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let job = queue.shift(); job; job = queue.shift()) {
        const [granularity, start] = job;
        const rollups = REGIONS.flatMap((region) => rollupsFor(granularity, start, region, probesPerMinute));
        await store.putPeriodRollups(granularity, periodKey(granularity, start)!, rollups);
        items += REGIONS.length;
      }
    }),
  );
  return items;
}

/** The anchor: the reads evaluateSlos makes, and nothing else. */
async function readOnly(store: DynamoResultStore): Promise<number> {
  const lengths = [...ALERT_WINDOWS.map((w) => WINDOW_MS[w]), WINDOW_MS["30d"], DAY];
  const reads = mergePeriodReads(lengths.flatMap((ms) => windowPeriods(END, ms)));
  let items = 0;
  await Promise.all(
    REGIONS.map(async (region) => {
      for (const read of reads) {
        const got = await store.queryRegionRollups({ region, granularity: read.granularity, from: read.fromMs, to: read.toMs });
        items += got.length;
      }
    }),
  );
  return items;
}

console.log(
  `node ${process.version}; ${REGIONS.length} regions × ${TARGETS.length} targets × ${KINDS.join("+")}; ${config.slos.length} SLOs (per region and pooled); windows ${ALERT_WINDOWS.join(" ")} 30d; ${RUNS} runs each`,
);
console.log(
  "| probes per series | history items written | evaluations | items read | queries | evaluate (ms, median) | reads only (ms, median, anchor) | ratio |",
);
console.log("|---|---|---|---|---|---|---|---|");
for (const [label, perMinute] of [
  ["every 10 s", 6],
  ["every 1 s", 60],
] as const) {
  const dir = mkdtempSync(join(tmpdir(), "popwatch-slo-bench-"));
  const embedded = await startEmbeddedStore({ dataDir: dir, retentionDays: { raw: 7, minute: 400, hour: 400, day: 400 } });
  try {
    const written = await writeHistory(embedded.store, perMinute);
    const evaluateMs: number[] = [];
    const readMs: number[] = [];
    let last: Awaited<ReturnType<typeof evaluateSlos>> | undefined;
    for (let run = 0; run < RUNS; run++) {
      let t0 = performance.now();
      last = await evaluateSlos({ config, store: embedded.store, regions: REGIONS, endMs: END });
      evaluateMs.push(performance.now() - t0);
      t0 = performance.now();
      const items = await readOnly(embedded.store);
      readMs.push(performance.now() - t0);
      if (items !== last.itemsRead) throw new Error(`anchor read ${items} items, the evaluation ${last.itemsRead}`);
    }
    const burning = last!.scopes.filter((s) => s.evaluation.firing.length > 0).length;
    const e = median(evaluateMs);
    const r = median(readMs);
    console.log(
      `| ${label} | ${written} | ${last!.scopes.length} (${burning} firing) | ${last!.itemsRead} | ${last!.queries} | ${fmt(e)} | ${fmt(r)} | ${(e / r).toFixed(2)} |`,
    );
  } finally {
    await embedded.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
