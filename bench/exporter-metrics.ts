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
// (its Go process metrics). Then Debian's Prometheus scrapes popwatch's
// /metrics and blackbox's every second, one size at a time, and its own
// scrape_duration_seconds is the scrape time: the same scraper, HTTP client
// and timing for both.
//
// Run from the repository root: node bench/run.mjs exporter-metrics   [env: SCRAPES=300 SCRAPE_SECONDS=60]
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
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
/** How long Prometheus scrapes every job, once a second. */
const SCRAPE_SECONDS = Number(process.env.SCRAPE_SECONDS ?? "60");
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
      truncated: 0,
      tcpFallback: 0,
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
        await embedded.store.putPeriodRollups("minute", periodKey("minute", start)!, minuteRollups(config, region, start));
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

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Starts a Debian binary listening on a free loopback port and waits until `path` answers 200. */
async function startDaemon(binary: string, args: (port: number) => string[], path: string): Promise<{ base: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(binary, args(port), { stdio: "ignore" });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${base}${path}`)).ok) return { base, child };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill();
  throw new Error(`${binary} did not start`);
}

interface Size {
  slos: number;
  series: number;
  refreshMs: number;
  ours: { url: string; server: Server };
  plain: { url: string; server: Server };
  registry: Registry;
  plainRegistry: Registry;
  close(): Promise<void>;
}

async function setUp(dir: string, slos: number): Promise<Size> {
  const config = configOf(slos);
  const embedded = await startEmbeddedStore({ dataDir: join(dir, `store-${slos}`) });
  await seed(embedded, config);
  const metrics = createStoreMetrics({ config, store: { results: embedded.store, alerts: embedded.alerts }, refreshMs: 3_600_000 });
  const registry = new Registry();
  metrics.register(registry);
  const refreshStart = performance.now();
  await metrics.refresh();
  const refreshMs = performance.now() - refreshStart;
  const text = await registry.metrics();
  const plainRegistry = await plainCopy(registry);
  if (seriesIn(await plainRegistry.metrics()) !== seriesIn(text)) throw new Error("the plain copy lost series");
  const ours = await serve(registry);
  const plain = await serve(plainRegistry);
  return {
    slos,
    series: seriesIn(text),
    refreshMs,
    ours,
    plain,
    registry,
    plainRegistry,
    async close() {
      await metrics.close();
      ours.server.close();
      plain.server.close();
      await embedded.close();
    },
  };
}

/** Prometheus scrapes every job each second for SCRAPE_SECONDS; its scrape_duration_seconds per job, p50 and p99, in ms. */
async function prometheusScrapes(dir: string, jobs: Record<string, string>): Promise<Record<string, [number, number]>> {
  mkdirSync(dir, { recursive: true });
  const config = join(dir, "prometheus.yml");
  const scrapeConfigs = Object.entries(jobs).map(([job, url]) => {
    const { host } = new URL(url);
    return `  - job_name: ${job}\n    static_configs:\n      - targets: ["${host}"]\n`;
  });
  writeFileSync(config, `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n${scrapeConfigs.join("")}`);
  const prometheus = await startDaemon(
    "/usr/bin/prometheus",
    (port) => [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, "tsdb")}`, `--web.listen-address=127.0.0.1:${port}`],
    "/-/ready",
  );
  try {
    await new Promise((resolve) => setTimeout(resolve, (SCRAPE_SECONDS + 5) * 1000));
    const out: Record<string, [number, number]> = {};
    for (const q of [0.5, 0.99]) {
      const query = `quantile_over_time(${q}, scrape_duration_seconds[${SCRAPE_SECONDS}s])`;
      const body = (await (await fetch(`${prometheus.base}/api/v1/query?query=${encodeURIComponent(query)}`)).json()) as {
        data: { result: { metric: { job: string }; value: [number, string] }[] };
      };
      for (const r of body.data.result) {
        const figures = out[r.metric.job] ?? [Number.NaN, Number.NaN];
        figures[q === 0.5 ? 0 : 1] = Number(r.value[1]) * 1000;
        out[r.metric.job] = figures;
      }
    }
    return out;
  } finally {
    prometheus.child.kill();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "popwatch-bench-exporter-"));
  const blackboxConfig = join(dir, "blackbox.yml");
  writeFileSync(blackboxConfig, "modules:\n  dns:\n    prober: dns\n    dns:\n      query_name: example.test\n");
  const blackbox = await startDaemon(
    "/usr/bin/prometheus-blackbox-exporter",
    (port) => [`--config.file=${blackboxConfig}`, `--web.listen-address=127.0.0.1:${port}`],
    "/metrics",
  );
  const blackboxUrl = `${blackbox.base}/metrics`;
  const sizes: Size[] = [];
  try {
    // 21 SLOs × (3 regions + pooled): about 1,000 series; 250 SLOs: 1,000 (SLO, scope) pairs.
    for (const slos of [21, 250]) sizes.push(await setUp(dir, slos));
    const blackboxSeries = seriesIn(await (await fetch(blackboxUrl)).text());

    process.stdout.write(
      `node ${process.version}; in-process: ${SCRAPES} scrapes after ${WARMUP} warm-up, ours and the peer interleaved; ms p50 | p99\n`,
    );
    process.stdout.write(
      "| SLOs | (SLO, scope) pairs | series | refresh | render | plain prom-client render | ratio | GET /metrics | plain GET | ratio |\n",
    );
    process.stdout.write("|---|---|---|---|---|---|---|---|---|---|\n");
    for (const size of sizes) {
      const [render, plainRender] = await timePair(
        () => size.registry.metrics(),
        () => size.plainRegistry.metrics(),
      );
      const [get, plainGet] = await timePair(scrape(size.ours.url), scrape(size.plain.url));
      const ratio = (a: number[], b: number[]) => fmt(percentile(a, 50) / percentile(b, 50), 2);
      process.stdout.write(
        `| ${size.slos} | ${size.slos * (REGIONS.length + 1)} | ${size.series} | ${fmt(size.refreshMs, 0)} | ${row(render)} | ${row(plainRender)} | ${ratio(render, plainRender)} | ${row(get)} | ${row(plainGet)} | ${ratio(get, plainGet)} |\n`,
      );
    }

    // One size at a time with blackbox beside it: the exporters of the bench share one event loop, so two heavy
    // scrapes landing in the same moment would time each other.
    process.stdout.write(`\nPrometheus (Debian's) scraping each job every second for ${SCRAPE_SECONDS} s: scrape_duration_seconds in ms\n`);
    process.stdout.write(
      "| job | series | scrape p50 | p99 | blackbox p50 (48 series) | p99 | goal ≤ 50 ms (p50) |\n|---|---|---|---|---|---|---|\n",
    );
    for (const size of sizes) {
      const scraped = await prometheusScrapes(join(dir, `prometheus-${size.slos}`), { popwatch: size.ours.url, blackbox: blackboxUrl });
      const [p50, p99] = scraped.popwatch ?? [Number.NaN, Number.NaN];
      const [b50, b99] = scraped.blackbox ?? [Number.NaN, Number.NaN];
      process.stdout.write(
        `| popwatch /metrics, ${size.slos} SLOs | ${size.series} | ${fmt(p50)} | ${fmt(p99)} | ${fmt(b50)} | ${fmt(b99)} | ${p50 <= 50 ? "met" : "missed"} |\n`,
      );
    }
    process.stdout.write(`(blackbox_exporter's /metrics: ${blackboxSeries} series)\n`);
  } finally {
    for (const size of sizes) await size.close();
    blackbox.child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
