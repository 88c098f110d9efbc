// popwatch report --html: the bundled CLI writes a static page from data loaded
// with popwatch import (two regions, two PoPs, an SLO burning in one region,
// a few answers from a PoP whose id is an HTML injection), and Debian's
// Chromium renders it headless: every chart must report that uPlot painted
// it. The chart series are recomputed here from the generated results.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { PERIOD_MS, type ProbeResult, type Rollup, burnRate, rollupResults } from "@popwatch/core";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../packages/cli/src/index";
import { MAX_SERIES_POINTS, burnRateCharts, latencyCharts, seriesBucketMs, seriesWindow } from "../packages/cli/src/report/charts";
import { escapeHtml, jsonForScript } from "../packages/cli/src/report/render-html";
import { captureIo } from "./support/capture-io";

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
const POPWATCH_BIN = join(REPO_ROOT, "packages/cli/bin/popwatch.mjs");
const POPWATCH_BUNDLE = join(REPO_ROOT, "packages/cli/dist/popwatch.mjs");
const CHROMIUM = "/usr/bin/chromium";

const MINUTE = 60_000;
const NOW = Math.floor(Date.now() / MINUTE) * MINUTE;
const iso = (ms: number) => new Date(ms).toISOString();
const HOSTILE_POP = "</script><img src=x onerror=alert(1)>";
const HOSTILE_HTML = escapeHtml(HOSTILE_POP);
const HOSTILE_JSON = jsonForScript(HOSTILE_POP).slice(1, -1);

interface Generated {
  target: "anycast-dns" | "front-door";
  kind: "dns" | "http";
  region: string;
  ms: number;
  ok: boolean;
  pop: string | null;
  totalMs: number;
}

const TARGETS = {
  "anycast-dns": { kind: "dns", address: "198.51.100.53", port: 53 },
  "front-door": { kind: "http", address: "198.51.100.80", port: 443 },
} as const;

/** Six hours, one probe per minute per series. */
function generate(): Generated[] {
  const out: Generated[] = [];
  const add = (target: Generated["target"], region: string, k: number, pop: string | null, totalMs: number) =>
    out.push({ target, kind: TARGETS[target].kind, region, ms: NOW - k * MINUTE, ok: pop !== null, pop, totalMs });
  for (let k = 1; k <= 360; k++) {
    add("anycast-dns", "us-east-1", k, "iad", 2 + (k % 3));
    // eu-west-1 is served by lhr; for ten minutes four hours ago by the hostile PoP; in the last 90 minutes every third probe fails.
    const euPop = k > 230 && k <= 240 ? HOSTILE_POP : "lhr";
    add("anycast-dns", "eu-west-1", k, k <= 90 && k % 3 === 0 ? null : euPop, 12 + (k % 5));
    // front-door: us-east-1 is slow (150 ms, over the 100 ms threshold) every fourth minute.
    add("front-door", "us-east-1", k, "iad", k % 4 === 0 ? 150 : 40);
    add("front-door", "eu-west-1", k, "lhr", 30);
  }
  return out;
}

const DATA = generate();
const REGIONS = ["eu-west-1", "us-east-1"];

function line(r: Generated): string {
  const t = TARGETS[r.target];
  return JSON.stringify({
    kind: r.kind,
    target: `${t.address}:${t.port}`,
    address: t.address,
    port: t.port,
    name: r.target,
    ok: r.ok,
    startedAt: iso(r.ms),
    timings: r.kind === "dns" ? { totalMs: r.totalMs, rttMs: r.totalMs - 0.5 } : { totalMs: r.totalMs, connectMs: r.totalMs / 3 },
    pop: r.pop === null ? null : { id: r.pop, source: r.kind === "dns" ? "nsid" : "header:x-served-by", raw: r.pop },
    failure: r.ok ? null : { code: "timeout", message: "no answer within 2000 ms" },
    region: r.region,
    time: iso(r.ms),
  });
}

const SLOS = [
  { name: "dns-availability", target: "anycast-dns", sli: { type: "availability" }, objective: 0.99 },
  { name: "front-door-latency", target: "front-door", sli: { type: "latency", thresholdMs: 100 }, objective: 0.95 },
] as const;
const CONFIG = {
  targets: Object.entries(TARGETS).map(([name, t]) => ({ name, address: t.address, probes: { [t.kind]: {} } })),
  slos: SLOS,
};

/** Whether a generated result is a good event of the SLO. */
function good(slo: (typeof SLOS)[number], r: Generated): boolean {
  return slo.sli.type === "availability" ? r.ok : r.ok && r.totalMs <= slo.sli.thresholdMs;
}

let dir: string;
let dataDir: string;
let configFile: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-report-html-"));
  dataDir = join(dir, "data");
  configFile = join(dir, "popwatch.config.json");
  await writeFile(configFile, JSON.stringify(CONFIG));
  await writeFile(join(dir, "results.jsonl"), `${DATA.map(line).join("\n")}\n`);
  const c = captureIo();
  expect(await main(["import", "--data-dir", dataDir, join(dir, "results.jsonl")], c.io), c.err).toBe(0);
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

interface Exited {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command in its own process group; on timeout the whole group (Chromium's helpers too) is killed. */
function run(command: string, args: readonly string[], timeoutMs: number): Promise<Exited> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function popwatch(...args: string[]): Promise<Exited> {
  return run(process.execPath, [POPWATCH_BIN, ...args], 60_000);
}

/** The JSON data block of a page, parsed. */
function pageData(html: string): any {
  const match = /<script type="application\/json" id="report-data">([^<]*)<\/script>/.exec(html);
  expect(match, "report-data block").not.toBeNull();
  return JSON.parse(match![1]!);
}

describe("popwatch report --html (bundled CLI)", () => {
  let html: string;
  let htmlFile: string;
  beforeAll(async () => {
    expect(existsSync(POPWATCH_BUNDLE), `${POPWATCH_BUNDLE} is missing: run node scripts/build.mjs first`).toBe(true);
    htmlFile = join(dir, "out.html");
    const r = await popwatch(
      "report",
      "--config",
      configFile,
      "--data-dir",
      dataDir,
      "--since",
      "6h",
      "--until",
      new Date(NOW).toISOString(),
      "--html",
      htmlFile,
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^popwatch report: wrote .*out\.html \(\d+ SLO rows, \d+ charts\)\n$/);
    html = await readFile(htmlFile, "utf8");
  }, 120_000);

  it("embeds uPlot in the bundle at build time, with its licence in the page", async () => {
    const bundle = await readFile(POPWATCH_BUNDLE, "utf8");
    expect(bundle).toContain("/*! https://github.com/leeoniya/uPlot (v1.6.32) */");
    // Read from node_modules at run time, the bundle would name the file.
    expect(bundle).not.toContain("dist/uPlot.iife.min.js");
    expect(html).toContain("/*! https://github.com/leeoniya/uPlot (v1.6.32) */");
    expect(html).toContain("Copyright (c) 2022 Leon Sorokin");
    expect(html).toContain(".uplot, .uplot *");
  });

  it("references nothing on the network and lets only its own scripts run", () => {
    expect(html).not.toMatch(/\b(?:src|href|srcset|action|poster)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?\/\//i);
    expect(html).not.toMatch(/url\(\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?\/\//i);
    expect(html).not.toMatch(/@import/i);
    expect(html).not.toMatch(/<(?:link|iframe|object|embed|img|base)\b/i);
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1]?.replaceAll("&#39;", "'");
    expect(csp).toMatch(/default-src 'none'; script-src 'sha256-[^']+' 'sha256-[^']+';/);
    // No script has a src: uPlot and the page's script inline, and the data block.
    for (const tag of html.match(/<script\b[^>]*>/g) ?? [])
      expect(tag).toMatch(/^<script(?: type="application\/json" id="report-data")?>$/);
  });

  it("the hostile PoP id appears only escaped", () => {
    expect(html).not.toContain(HOSTILE_POP);
    const core = "img src=x onerror=alert(1)";
    const escaped = html.split(HOSTILE_HTML).length - 1 + (html.split(HOSTILE_JSON).length - 1);
    // In the catchment matrix, top PoPs, and the JSON data block.
    expect(html.split(HOSTILE_HTML).length - 1).toBeGreaterThanOrEqual(2);
    expect(html.split(HOSTILE_JSON).length - 1).toBeGreaterThanOrEqual(1);
    expect(html.split(core).length - 1).toBe(escaped);
    const data = pageData(html);
    expect(data.catchments.find((c: any) => c.target === "anycast-dns" && c.region === "eu-west-1").counts[HOSTILE_POP]).toBe(10);
  });

  it("burn rate and latency series match the generated results, bucket by bucket", () => {
    const data = pageData(html);
    const endsAt = Date.parse(data.report.endsAt);
    // 6 h at five-minute buckets is 72 points, under the 200-point cap.
    expect(data.bucketMs).toBe(5 * MINUTE);
    const burn = data.charts.filter((c: any) => c.kind === "burn");
    const latency = data.charts.filter((c: any) => c.kind === "latency");
    const figureScope = (id: string) =>
      new RegExp(`<figure class="chart" id="${id}" data-chart-kind="(\\w+)" data-scope="([^"]+)"`).exec(html)!;
    const burnScopes = burn.map((c: any) => figureScope(c.id)[2]);
    expect(burnScopes).toEqual([...REGIONS, "pooled"]);
    for (const chart of burn) {
      const scope = figureScope(chart.id)[2]!;
      const regions = scope === "pooled" ? REGIONS : [scope];
      expect(chart.lines.map((l: any) => l.label)).toEqual(SLOS.map((s) => s.name));
      for (const [i, slo] of SLOS.entries()) {
        const expected = chart.x.map((seconds: number) => {
          const from = seconds * 1000;
          const events = DATA.filter(
            (r) => r.target === slo.target && regions.includes(r.region) && r.ms >= from && r.ms < Math.min(from + data.bucketMs, endsAt),
          );
          return burnRate({ bad: events.filter((r) => !good(slo, r)).length, total: events.length }, slo.objective);
        });
        const actual = chart.lines[i].values;
        expect(actual).toHaveLength(expected.length);
        for (const [k, value] of expected.entries()) {
          if (value === null) expect({ scope, slo: slo.name, k, value: actual[k] }).toEqual({ scope, slo: slo.name, k, value: null });
          else expect(actual[k], `${scope} ${slo.name} bucket ${k}`).toBeCloseTo(value, 9);
        }
      }
    }
    // The burning SLO: a third of eu-west-1's DNS probes failed in the last 90 minutes, one or two in each whole five-minute bucket (20× or 40× at 99 %).
    const eu = burn.find((c: any) => figureScope(c.id)[2] === "eu-west-1");
    const recent = eu.x.flatMap((seconds: number, k: number) =>
      seconds * 1000 >= NOW - 90 * MINUTE && seconds * 1000 + 5 * MINUTE <= NOW ? [eu.lines[0].values[k]] : [],
    );
    expect(recent.length).toBeGreaterThanOrEqual(17);
    for (const value of recent) expect([20, 40]).toContain(Math.round(value));
    const earlier = eu.x.flatMap((seconds: number, k: number) => (seconds * 1000 < NOW - 95 * MINUTE ? [eu.lines[0].values[k]] : []));
    expect(new Set(earlier)).toEqual(new Set([0]));

    expect(latency.map((c: any) => figureScope(c.id)[2])).toEqual(["eu-west-1", "eu-west-1", "us-east-1", "us-east-1"]);
    for (const chart of latency) expect(chart.lines.map((l: any) => l.label)).toEqual(["p50", "p95", "p99"]);
    const frontDoorUs = latency[3];
    // Every fourth minute takes 150 ms, so each full five-minute bucket holds one or two of them; p50 stays 40 ms.
    for (const [k, p50] of frontDoorUs.lines[0].values.entries()) {
      const from = frontDoorUs.x[k] * 1000;
      if (from < NOW - 360 * MINUTE || from + 5 * MINUTE > NOW) continue;
      expect(Math.abs(p50 - 40) / 40, `bucket ${k}`).toBeLessThanOrEqual(0.01);
      expect(Math.abs(frontDoorUs.lines[2].values[k] - 150) / 150).toBeLessThanOrEqual(0.01);
    }
  });

  it("has the SLO table with colour-coded burn rates, the catchment matrix and the findings sections", () => {
    const sloRow = (slo: string, scope: string) => new RegExp(`<tr><td>${slo}</td><td>${scope}</td>.*?</tr>`).exec(html)?.[0] ?? "";
    const cells = (row: string) =>
      [...row.matchAll(/<td( class="[^"]*")?>(.*?)<\/td>/g)].map((m) => `${(m[1] ?? "").replace(/ class="(.*)"/, "$1")}|${m[2]}`);
    // Burn rates 5m 30m 1h 2h 6h 1d 3d and the period: a third of the last 90 minutes failed.
    const burning = cells(sloRow("dns-availability", "eu-west-1"));
    expect(burning.slice(5, 14)).toEqual([
      expect.stringMatching(/^num budget-spent\|-\d+(\.\d+)?%$/),
      "num burn-page|20×",
      "num burn-page|33.33×",
      "num burn-page|33.33×",
      "num burn-page|25×",
      "num burn-page|8.333×",
      expect.stringMatching(/^num burn-page\|/),
      expect.stringMatching(/^num burn-page\|/),
      expect.stringMatching(/^num burn-page\|/),
    ]);
    expect(burning.slice(14, 16)).toEqual(["alert-on|inactive (burning)", "alert-on|inactive (burning)"]);
    expect(cells(sloRow("dns-availability", "us-east-1")).slice(5, 14)).toEqual([
      "num budget-ok|100%",
      ...Array(8).fill("num burn-zero|0×"),
    ]);
    // config.localRegion ("local") holds no results, so it has no row (issue 10).
    expect(html).not.toContain("<td>local</td>");
    const catchment = /<section id="catchment">(.*?)<\/section>/s.exec(html)![1]!;
    expect(catchment).toMatch(
      /<h3>anycast-dns<\/h3><div class="scroll"><table class="catchment"><thead><tr><th>Region<\/th><th>Answers<\/th><th>No PoP<\/th><th>Changes<\/th><th>iad<\/th><th>lhr<\/th><th>&lt;\/script&gt;/,
    );
    expect(catchment).toMatch(
      /<tr><td>eu-west-1<\/td><td class="num">330<\/td><td class="num">30<\/td><td class="num">\d+<\/td><td class="share none">-<\/td><td class="share dominant" style="[^"]*" title="dominant PoP">★ 97\.0%<\/td><td class="share" style="[^"]*">3\.0%<\/td><\/tr>/,
    );
    expect(catchment).toMatch(/<td class="share dominant" style="[^"]*" title="dominant PoP">★ 100\.0%<\/td>/);
    for (const id of ["slos", "catchment", "burn-rates", "latency", "failovers", "detours", "impossible-rtts"])
      expect(html).toContain(`<section id="${id}">`);
  });

  it("usage errors exit 2; an unwritable FILE exits 1", async () => {
    const both = await popwatch("report", "--config", configFile, "--data-dir", dataDir, "--html", join(dir, "x.html"), "--json");
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--html and --format\/--json exclude each other/);
    const unwritable = await popwatch(
      "report",
      "--config",
      configFile,
      "--data-dir",
      dataDir,
      "--html",
      join(dir, "no-such-dir", "x.html"),
    );
    expect(unwritable.code).toBe(1);
    expect(unwritable.stderr).toMatch(/cannot write .*x\.html \(ENOENT\)/);
  }, 60_000);

  const chromium = existsSync(CHROMIUM);
  if (!chromium)
    process.stdout.write(`cli-report-html: skipping the Chromium rendering test: ${CHROMIUM} is missing (apt-get install chromium)\n`);

  // Loopback only: a proxy on a closed loopback port and a resolver that resolves nothing catch whatever the flags miss.
  const chromiumFlags = (profile: string) => [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--proxy-server=http://127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    `--user-data-dir=${profile}`,
    "--virtual-time-budget=5000",
  ];

  it.skipIf(!chromium)(
    "renders in headless Chromium: every chart reports it drew, and nothing was injected",
    async () => {
      const profile = await mkdtemp(join(tmpdir(), "popwatch-chromium-"));
      try {
        const r = await run(
          CHROMIUM,
          [...chromiumFlags(profile), "--window-size=1280,900", "--dump-dom", pathToFileURL(htmlFile).href],
          90_000,
        );
        expect(r.code, r.stderr).toBe(0);
        const dom = r.stdout;
        expect(dom).toMatch(/<\/html>\s*$/);
        const expected =
          new Set(DATA.map((d) => d.region)).size +
          1 +
          new Set(DATA.filter((d) => d.ok).map((d) => `${d.region} ${d.target} ${d.kind}`)).size;
        const body = /<body\b[^>]*>/.exec(dom)![0];
        expect(body).toContain(`data-charts-expected="${expected}"`);
        expect(body).toContain(`data-charts-drawn="${expected}"`);
        expect(body).not.toContain("data-page-error");
        const figures = dom.match(/<figure\b[^>]*>/g) ?? [];
        expect(figures).toHaveLength(expected);
        for (const figure of figures) {
          expect(figure).toContain('data-drawn="true"');
          expect(figure).not.toContain("data-chart-error");
        }
        // uPlot's canvases, one per chart, with a size.
        const canvases = dom.match(/<canvas\b[^>]*>/g) ?? [];
        expect(canvases).toHaveLength(expected);
        for (const canvas of canvases) expect(canvas).toMatch(/width="[1-9]\d*" height="[1-9]\d*"/);
        // The hostile id stayed text: no element came out of it.
        expect(dom).not.toMatch(/<img\b/i);
        expect(dom).toContain(HOSTILE_HTML);
      } finally {
        await rm(profile, { recursive: true, force: true });
      }
    },
    120_000,
  );

  it.skipIf(!chromium)(
    "a screenshot of the page is a non-trivial PNG",
    async () => {
      const profile = await mkdtemp(join(tmpdir(), "popwatch-chromium-"));
      const png = join(dir, "out.png");
      try {
        const r = await run(
          CHROMIUM,
          [...chromiumFlags(profile), "--window-size=1280,2400", `--screenshot=${png}`, pathToFileURL(htmlFile).href],
          90_000,
        );
        expect(r.code, r.stderr).toBe(0);
        const bytes = await readFile(png);
        expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
        expect((await stat(png)).size).toBeGreaterThan(50_000);
      } finally {
        await rm(profile, { recursive: true, force: true });
      }
    },
    120_000,
  );
});

describe("escaping", () => {
  it("escapeHtml leaves no markup character and decodes back to the text", () => {
    const decode = (s: string) =>
      s.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ({ amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" })[e]!);
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => {
        const escaped = escapeHtml(text);
        expect(escaped).not.toMatch(/[<>"']/);
        expect(escaped.replace(/&(amp|lt|gt|quot|#39);/g, "")).not.toContain("&");
        expect(decode(escaped)).toBe(text);
      }),
    );
  });

  it("jsonForScript cannot close a script element and parses back to the value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ unit: "binary" }), (value, text) => {
        for (const v of [value, { text }, [HOSTILE_POP, text]]) {
          const json = jsonForScript(v);
          expect(json).not.toMatch(/[<>&\u2028\u2029]/);
          expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(v)));
        }
      }),
    );
  });
});

describe("chart series from rollups", () => {
  it("picks the shortest bucket that keeps at most MAX_SERIES_POINTS points", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 90 * PERIOD_MS.day }), (span) => {
        const bucket = seriesBucketMs(span);
        const points = Math.ceil(span / bucket);
        if (bucket !== PERIOD_MS.day) expect(points).toBeLessThanOrEqual(MAX_SERIES_POINTS);
        const shorter = [5 * MINUTE, 15 * MINUTE, PERIOD_MS.hour, 6 * PERIOD_MS.hour, PERIOD_MS.day].filter((b) => b < bucket);
        for (const b of shorter) expect(Math.ceil(span / b)).toBeGreaterThan(MAX_SERIES_POINTS);
      }),
    );
    expect(seriesBucketMs(6 * PERIOD_MS.hour)).toBe(5 * MINUTE);
    expect(seriesBucketMs(PERIOD_MS.day)).toBe(15 * MINUTE);
    expect(seriesBucketMs(7 * PERIOD_MS.day)).toBe(PERIOD_MS.hour);
    expect(seriesBucketMs(30 * PERIOD_MS.day)).toBe(6 * PERIOD_MS.hour);
  });

  it("a bucket's burn rate is the same whether read from minute or hour rollups; pooled sums the regions", () => {
    const start = Date.UTC(2025, 0, 1, 0, 0);
    const results = (region: string, failEvery: number) =>
      Array.from({ length: 180 }, (_, k) => ({
        kind: "dns" as const,
        name: "t",
        target: "198.51.100.53:53",
        address: "198.51.100.53",
        port: 53,
        ok: k % failEvery !== 0,
        startedAt: iso(start + k * MINUTE),
        timings: { totalMs: 10 + (k % 7) },
        pop: null,
        failure: k % failEvery !== 0 ? null : { code: "timeout" as const, message: "timeout" },
        region,
      }));
    const all = [...results("a", 4), ...results("b", 10)];
    const rollupsOf = (granularity: "minute" | "hour") =>
      ["a", "b"].flatMap(
        (region) => rollupResults(all.filter((r) => r.region === region) as unknown as ProbeResult[], { region, granularity }) as Rollup[],
      );
    const slo = { name: "avail", target: "t", sli: { type: "availability" as const }, objective: 0.9 };
    const input = (rollups: Rollup[]) => ({
      slos: [slo],
      scopes: ["a", "b", "pooled"].map((scope) => ({ slo: "avail", scope })),
      pooledRegions: ["a", "b"],
      rollups,
      window: { fromMs: start, toMs: start + 3 * PERIOD_MS.hour, bucketMs: PERIOD_MS.hour },
    });
    const fromHours = burnRateCharts(input(rollupsOf("hour")));
    const fromMinutes = burnRateCharts(input(rollupsOf("minute")));
    expect(fromMinutes).toEqual(fromHours);
    expect(fromHours.map((c) => c.scope)).toEqual(["a", "b", "pooled"]);
    for (const [index, chart] of fromHours.entries()) {
      const regions = index === 2 ? ["a", "b"] : [chart.scope];
      chart.x.forEach((from, k) => {
        const events = all.filter(
          (r) => regions.includes(r.region) && Date.parse(r.startedAt) >= from && Date.parse(r.startedAt) < from + PERIOD_MS.hour,
        );
        expect(chart.lines[0]!.values[k]).toBeCloseTo(
          burnRate({ bad: events.filter((r) => !r.ok).length, total: events.length }, 0.9)!,
          12,
        );
      });
    }
    const latency = latencyCharts(rollupsOf("minute"), seriesWindow(start, start + 3 * PERIOD_MS.hour));
    expect(latency.map((c) => `${c.scope} ${c.target} ${c.probeKind}`)).toEqual(["a t dns", "b t dns"]);
    expect(latency[0]!.x).toHaveLength(36);
  });
});
