// A report reads each rollup item at most once (issue 10): the SLO windows,
// the catchment over --since, the chart buckets and the per-target rows all
// take their rollups from one read. A counting store records every item the
// report's queries return; no (region, granularity, period) may come back
// twice, and the report's itemsRead is exactly the number of items returned.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "@popwatch/core";
import { DynamoAlertStateStore, type ResultStore, startEmbeddedStore } from "@popwatch/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../packages/cli/src/index";
import { buildReport } from "../packages/cli/src/report/build";
import { captureIo } from "./support/capture-io";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const NOW = Math.floor(Date.now() / HOUR) * HOUR - 17 * MINUTE;
const REGIONS = ["eu-west-1", "us-east-1"];
const TARGETS = [
  { name: "anycast-dns", address: "198.51.100.53", kind: "dns", pops: ["lhr", "iad"] },
  { name: "front-door", address: "203.0.113.80", kind: "http", pops: ["fra", "iad"] },
] as const;

const CONFIG = parseConfig({
  targets: TARGETS.map((t) => ({ name: t.name, address: t.address, probes: { [t.kind]: {} } })),
  slos: [
    { name: "dns-availability", target: "anycast-dns", sli: { type: "availability" }, objective: 0.99 },
    { name: "front-door-fast", target: "front-door", sli: { type: "latency", thresholdMs: 100 }, objective: 0.95 },
  ],
});

function lines(): string[] {
  const out: string[] = [];
  // Every 10 minutes for 50 hours: minute items at the edges, hour items in the middle.
  for (let ms = NOW - 50 * HOUR; ms < NOW; ms += 10 * MINUTE) {
    for (const [r, region] of REGIONS.entries()) {
      for (const t of TARGETS) {
        const ok = (ms / (10 * MINUTE)) % 7 !== 0;
        out.push(
          JSON.stringify({
            kind: t.kind,
            target: `${t.address}:53`,
            address: t.address,
            port: 53,
            name: t.name,
            ok,
            startedAt: new Date(ms).toISOString(),
            timings: { totalMs: 20 + 40 * r },
            pop: ok ? { id: t.pops[r], source: "nsid", raw: t.pops[r], iata: t.pops[r] } : null,
            failure: ok ? null : { code: "timeout", message: "no answer" },
            region,
            time: new Date(ms).toISOString(),
          }),
        );
      }
    }
  }
  return out;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-read-once-"));
  await writeFile(join(dir, "results.jsonl"), `${lines().join("\n")}\n`);
  expect(await main(["import", "--data-dir", join(dir, "data"), join(dir, "results.jsonl")], captureIo().io)).toBe(0);
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

function countingStore(store: ResultStore) {
  const returned = new Map<string, number>();
  let seriesQueries = 0;
  const counting: Pick<ResultStore, "queryResults" | "queryPeriodRollups" | "readStats"> = {
    queryResults: (query) => store.queryResults(query),
    readStats: () => store.readStats(),
    queryPeriodRollups: async (query) => {
      const items = await store.queryPeriodRollups(query);
      for (const item of items) {
        const key = `${item.region} ${query.granularity} ${item.period}`;
        returned.set(key, (returned.get(key) ?? 0) + 1);
      }
      return items;
    },
  };
  const perSeries = new Proxy(counting, {
    get(target, name, receiver) {
      if (name === "queryRollups") seriesQueries++;
      return Reflect.get(target, name, receiver);
    },
  });
  return { store: perSeries, returned, seriesQueries: () => seriesQueries };
}

describe("report reads each rollup item once", () => {
  for (const [label, sinceHours, page] of [
    ["--since 6h, HTML page (five-minute chart buckets: minute items)", 6, true],
    ["--since 48h, HTML page (hour chart buckets: hour items)", 48, true],
    ["--since 48h, no page (catchment shares from day items)", 48, false],
  ] as const) {
    it(`${label}, with every section`, async () => {
      const embedded = await startEmbeddedStore({ dataDir: join(dir, "data") });
      try {
        const counted = countingStore(embedded.store);
        const built = await buildReport(
          { store: counted.store, alerts: new DynamoAlertStateStore({ client: embedded.client, tableName: embedded.store.tableName }) },
          { config: CONFIG, regions: REGIONS, nowMs: NOW + 30_000, sinceMs: NOW - sinceHours * HOUR, page, series: true },
        );
        const counts = [...counted.returned.values()];
        expect(counts.length).toBeGreaterThan(50);
        expect(Math.max(...counts)).toBe(1);
        expect(built.report.itemsRead).toBe(counts.length);
        expect(counted.seriesQueries()).toBe(0);
        // Every section had data to read.
        expect(built.report.slos.length).toBe(2 * (REGIONS.length + 1));
        expect(built.report.series?.map((s) => `${s.target}/${s.region}`)).toEqual(
          TARGETS.flatMap((t) => REGIONS.map((r) => `${t.name}/${r}`)),
        );
        expect(built.report.series?.every((s) => s.total > 0 && s.pops.length === 1)).toBe(true);
        if (page) {
          expect(built.page?.catchments.length).toBe(TARGETS.length * REGIONS.length);
          expect(built.page?.charts.latency.length).toBe(TARGETS.length * REGIONS.length);
          expect(built.page?.charts.burn.length).toBe(REGIONS.length + 1);
        } else expect(built.page).toBeUndefined();
      } finally {
        await embedded.close();
      }
    }, 60_000);
  }
});
