// `/metrics` with a store attached: the scrape time of the store metrics with
// 1,000 SLO series, and with 1,000 (SLO, scope) pairs (about 12 series each).
// The store is the embedded one (dynalite), holding two hours of minute
// rollups for every target in three regions; the refresh runs once in the
// background as the exporter runs it, then the scrape is timed: rendering
// in-process (registry.metrics()) and a GET /metrics over loopback HTTP from
// a node:http server that serves that registry.
//
// Peers, same run: (1) prom-client rendering the very same series from plain
// gauges set once (the library's floor: what the store metrics add on top of
// it), as a ratio; (2) Debian's prometheus-blackbox-exporter's own /metrics
// over loopback (its Go process metrics), for scale per series.
//
// Run from the repository root: node bench/run.mjs exporter-metrics   [env: SCRAPES=300]
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PERIOD_MS, type PopwatchConfig, type Rollup, parseConfig, periodKey, sketchFromLatencies } from "@popwatch/core";
import { type EmbeddedStore, type StoredResult, startEmbeddedStore } from "@popwatch/store";
import { Gauge, Registry } from "prom-client";
import { createStoreMetrics } from "../packages/exporter/src/index";
import { fmt, percentile } from "./support/stats";

const SCRAPES = Number(process.env.SCRAPES ?? "300");
const WARMUP = 30;
const MINUTE = PERIOD_MS.minute;
const REGIONS = ["eu-west-1", "us-east-1", "ap-southeast-2"];
const POPS = ["lhr", "fra", "ams", "cdg", "mad", "iad", "ewr"];
const END = Math.floor(Date.now() / MINUTE) * MINUTE;

/** `slos` SLOs over `slos / 10` targets (ten objectives each), every SLO per region and pooled. */
function configOf(slos: number): PopwatchConfig {
  const targets = Array.from({ length: Math.ceil(slos / 10) }, (_, i) => `target-${String(i).padStart(3, "0")}`);
  return parseConfig({
    targets: targets.map((name, i) => ({ name, address: `198.51.100.${i + 1}`, probes: { dns: {} } })),
    slos: Array.from({ length: slos }, (_, i) => ({
      name: `slo-${String(i).padStart(4, "0")}`,
      target: targets[Math.floor(i / 10)],
      sli: i % 2 === 0 ? { type: "availability" } : { type: "latency", thresholdMs: 20 + (i % 10) * 10 },
      objective: [0.9, 0.95, 0.99, 0.995, 0.999][i % 5],
    })),
  });
}

function minuteRollups(config: PopwatchConfig, region: string, start: number): Rollup[] {
  const minute = periodKey("minute", start)!;
  return config.targets.map((target, t) => {
    const bad = (t + start / MINUTE) % 7 === 0 ? 1 : 0;
    const good = 6 - bad;
    const first = POPS[(t + Math.floor(start / (10 * MINUTE))) % POPS.length]!;
    const second = POPS[(t + 3) % POPS.length]!;
    return {
      granularity: "minute",
      minute,
      target: target.name,
      kind: "dns",
      region,
      total: 6,
      good,
      failures: bad ? { timeout: bad } : {},
      latency: sketchFromLatencies(Array.from({ length: good }, (_, i) => 8 + ((i * 37 + t * 11) % 60))),
      pops: first === second ? { [first]: good } : { [first]: good - 1, [second]: 1 },
      popChanges: 1,
      firstPop: first,
      lastPop: second,
    } as Rollup;
  });
}

async function seed(embedded: EmbeddedStore, config: PopwatchConfig): Promise<void> {
  const jobs: [string, number][] = [];
  for (const region of REGIONS) for (let m = END - 120 * MINUTE; m < END; m += MINUTE) jobs.push([region, m]);
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let job = jobs.shift(); job; job = jobs.shift()) {
        const [region, start] = job;
        await embedded.store.putRegionRollups("minute", region, periodKey("minute", start)!, minuteRollups(config, region, start));
      }
    }),
  );
  // One raw result per region registers it, so listRegions finds every region.
  for (const region of REGIONS) {
    const result = {
      kind: "dns",
      target: "198.51.100.1:53",
      address: "198.51.100.1",
      port: 53,
      name: config.targets[0]!.name,
      ok: true,
      startedAt: new Date(END - 30_000).toISOString(),
      timings: { totalMs: 10, rttMs: 9 },
      pop: { id: "lhr", source: "nsid", raw: "lhr1", iata: "lhr" },
      failure: null,
      region,
      seq: 0,
    } as StoredResult;
    await embedded.store.putResults({ region, invocationId: `bench-${region}`, results: [result] });
  }
}

/** The same series as `registry`, from plain gauges set once: prom-client's own rendering cost. */
async function plainCopy(registry: Registry): Promise<Registry> {
  const copy = new Registry();
  for (const metric of await registry.getMetricsAsJSON()) {
    if (!["gauge", "counter"].includes(String(metric.type))) continue;
    const labelNames = [...new Set(metric.values.flatMap((v) => Object.keys(v.labels)))];
    const gauge = new Gauge({ name: metric.name, help: metric.help, labelNames, registers: [copy] });
    for (const v of metric.values) gauge.set(v.labels as Record<string, string>, v.value);
  }
  return copy;
}

function serve(registry: Registry): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`, server })),
  );
}

async function timeMs(run: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) await run();
  const times: number[] = [];
  for (let i = 0; i < SCRAPES; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  return times;
}

/** Both interleaved, the order swapped every round, so load from elsewhere falls on both alike. */
async function timePair(a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<[number[], number[]]> {
  for (let i = 0; i < WARMUP; i++) {
    await a();
    await b();
  }
  const times: [number[], number[]] = [[], []];
  for (let i = 0; i < SCRAPES; i++) {
    for (const which of i % 2 === 0 ? [0, 1] : [1, 0]) {
      const start = performance.now();
      await (which === 0 ? a : b)();
      times[which]!.push(performance.now() - start);
    }
  }
  return times;
}

const scrape = (url: string) => async () => (await fetch(url)).text();
const seriesIn = (text: string) => text.split("\n").filter((line) => line !== "" && !line.startsWith("#")).length;
const row = (times: number[]) => `${fmt(percentile(times, 50))} | ${fmt(percentile(times, 99))}`;

async function startBlackbox(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const config = join(dir, "blackbox.yml");
  writeFileSync(config, "modules:\n  dns:\n    prober: dns\n    dns:\n      query_name: example.test\n");
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port: free } = probe.address() as AddressInfo;
      probe.close(() => resolve(free));
    });
  });
  const child = spawn("/usr/bin/prometheus-blackbox-exporter", [`--config.file=${config}`, `--web.listen-address=127.0.0.1:${port}`], {
    stdio: "ignore",
  });
  const url = `http://127.0.0.1:${port}/metrics`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(url)).ok) return { url, child };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill();
  throw new Error("blackbox_exporter did not start");
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "popwatch-bench-exporter-"));
  const blackbox = await startBlackbox(dir);
  const blackboxText = await (await fetch(blackbox.url)).text();
  const blackboxTimes = await timeMs(scrape(blackbox.url));
  process.stdout.write(`node ${process.version}, ${SCRAPES} scrapes after ${WARMUP} warm-up, times in ms (p50 | p99)\n`);
  process.stdout.write(
    "| SLOs | (SLO, scope) pairs | series | refresh | render | GET /metrics | plain prom-client render | GET | ratio render | ratio GET |\n",
  );
  process.stdout.write("|---|---|---|---|---|---|---|---|---|---|\n");
  try {
    // 21 SLOs × (3 regions + pooled): about 1,000 series; 250 SLOs: 1,000 pairs.
    for (const slos of [21, 250]) {
      const config = configOf(slos);
      const embedded = await startEmbeddedStore({ dataDir: join(dir, `store-${slos}`) });
      try {
        await seed(embedded, config);
        const metrics = createStoreMetrics({ config, store: { results: embedded.store, alerts: embedded.alerts }, refreshMs: 3_600_000 });
        const registry = new Registry();
        metrics.register(registry);
        const refreshStart = performance.now();
        await metrics.refresh();
        const refreshMs = performance.now() - refreshStart;
        const text = await registry.metrics();
        const plain = await plainCopy(registry);
        if (seriesIn(await plain.metrics()) !== seriesIn(text)) throw new Error("the plain copy lost series");
        const ours = await serve(registry);
        const theirs = await serve(plain);
        const [render, plainRender] = await timePair(
          () => registry.metrics(),
          () => plain.metrics(),
        );
        const [get, plainGet] = await timePair(scrape(ours.url), scrape(theirs.url));
        process.stdout.write(
          `| ${slos} | ${slos * (REGIONS.length + 1)} | ${seriesIn(text)} | ${fmt(refreshMs, 0)} | ${row(render)} | ${row(get)} | ${row(plainRender)} | ${row(plainGet)} | ${fmt(percentile(render, 50) / percentile(plainRender, 50), 2)} | ${fmt(percentile(get, 50) / percentile(plainGet, 50), 2)} |\n`,
        );
        await metrics.close();
        ours.server.close();
        theirs.server.close();
      } finally {
        await embedded.close();
      }
    }
    process.stdout.write(`prometheus-blackbox-exporter /metrics (its own ${seriesIn(blackboxText)} series): GET ${row(blackboxTimes)}\n`);
  } finally {
    blackbox.child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
