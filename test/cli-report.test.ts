// popwatch report on the embedded store, loaded with popwatch import: three
// regions, an SLO burning in one of them and a healthy one, a failover, a
// detour and an RTT faster than light. Burn rates and budgets are recomputed
// here from the generated results, not read back from the code under test.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AWS_REGION_LOCATIONS, airportLocation, greatCircleKm } from "@popwatch/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reportCommand } from "../packages/cli/src/commands/report";
import { main } from "../packages/cli/src/index";
import { captureIo } from "./support/capture-io";

const MINUTE = 60_000;
// Windows end here: the report runs at NOW + 30 s, so its last complete minute is NOW.
const NOW = Math.floor(Date.now() / MINUTE) * MINUTE;
const iso = (ms: number) => new Date(ms).toISOString();
/** Start of the k-th minute before NOW. */
const minuteBack = (k: number) => NOW - k * MINUTE;

interface Generated {
  target: string;
  kind: "dns" | "http";
  region: string;
  ms: number;
  ok: boolean;
  pop: string | null;
  rttMs: number;
}

const TARGETS = {
  "anycast-dns": { kind: "dns", address: "198.51.100.53", port: 53 },
  "front-door": { kind: "http", address: "198.51.100.80", port: 443 },
  resolver: { kind: "dns", address: "198.51.100.54", port: 53 },
} as const;

function generate(): Generated[] {
  const out: Generated[] = [];
  const add = (target: keyof typeof TARGETS, region: string, k: number, pop: string | null, rttMs: number) =>
    out.push({ target, kind: TARGETS[target].kind, region, ms: minuteBack(k), ok: pop !== null, pop, rttMs });
  for (let k = 1; k <= 120; k++) {
    add("anycast-dns", "us-east-1", k, "iad", 2);
    add("anycast-dns", "ap-southeast-2", k, "syd", 3);
    // eu-west-1: dub until 91 min back, five failures, lhr from 85 min back; in the last hour every other probe fails.
    if (k >= 91) add("anycast-dns", "eu-west-1", k, "dub", 2);
    else if (k >= 86) add("anycast-dns", "eu-west-1", k, null, 0);
    else if (k >= 61) add("anycast-dns", "eu-west-1", k, "lhr", 12);
    else add("anycast-dns", "eu-west-1", k, k % 2 === 1 ? null : "lhr", 12);
  }
  for (let k = 1; k <= 60; k++) {
    // us-east-1 is answered from Frankfurt although front-door has a PoP at IAD (seen from Sydney): a detour.
    add("front-door", "us-east-1", k, "fra", 90);
    add("front-door", "eu-west-1", k, "lhr", 12);
    add("front-door", "ap-southeast-2", k, "iad", 200);
  }
  // 1 ms from Dublin to Sydney: the PoP attribution cannot be right.
  for (let k = 1; k <= 10; k++) add("resolver", "eu-west-1", k, "syd", 1);
  return out;
}

const DATA = generate();

function line(r: Generated): string {
  const t = TARGETS[r.target as keyof typeof TARGETS];
  return JSON.stringify({
    kind: r.kind,
    target: `${t.address}:${t.port}`,
    address: t.address,
    port: t.port,
    name: r.target,
    ok: r.ok,
    startedAt: iso(r.ms),
    timings: r.kind === "dns" ? { totalMs: r.rttMs + 0.5, rttMs: r.rttMs } : { totalMs: r.rttMs + 60, connectMs: r.rttMs },
    pop: r.pop === null ? null : { id: r.pop, source: r.kind === "dns" ? "nsid" : "header:x-served-by", raw: `${r.pop}1`, iata: r.pop },
    failure: r.ok ? null : { code: "timeout", message: "no answer within 2000 ms" },
    // resolver's answers all come with TC=1; every other minute the probe retried over TCP.
    ...(r.target === "resolver" ? { truncated: true, tcpFallback: (r.ms / MINUTE) % 2 === 0 } : {}),
    region: r.region,
    time: iso(r.ms),
  });
}

const CONFIG = {
  targets: Object.entries(TARGETS).map(([name, t]) => ({ name, address: t.address, probes: { [t.kind]: {} } })),
  slos: [
    { name: "dns-availability", target: "anycast-dns", sli: { type: "availability" }, objective: 0.99 },
    { name: "front-door-availability", target: "front-door", sli: { type: "availability" }, objective: 0.99 },
  ],
};
// The regions holding results: config.localRegion ("local") holds none, so it is not listed (issue 10).
const REGIONS = ["ap-southeast-2", "eu-west-1", "us-east-1"];
/** Two SLOs, each per region and pooled. */
const SLO_ROWS = 2 * (REGIONS.length + 1);

let dir: string;
let dataDir: string;
let configFile: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-report-"));
  dataDir = join(dir, "data");
  configFile = join(dir, "popwatch.config.json");
  await writeFile(configFile, JSON.stringify(CONFIG));
  await writeFile(join(dir, "results.jsonl"), `${DATA.map(line).join("\n")}\n`);
  const imported = await main(["import", "--data-dir", dataDir, join(dir, "results.jsonl")], captureIo().io);
  expect(imported).toBe(0);
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

async function report(...flags: string[]) {
  const c = captureIo();
  const code = await reportCommand(["--config", configFile, "--data-dir", dataDir, ...flags], c.io, { now: () => NOW + 30_000 });
  return { code, out: c.out, err: c.err };
}

async function reportJson(...flags: string[]): Promise<Record<string, any>> {
  const r = await report("--json", ...flags);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  expect(r.out.trim().split("\n")).toHaveLength(1);
  return JSON.parse(r.out) as Record<string, any>;
}

const WINDOW_MINUTES: Record<string, number> = {
  "5m": 5,
  "30m": 30,
  "1h": 60,
  "2h": 120,
  "6h": 360,
  "1d": 1440,
  "3d": 4320,
  "30d": 43_200,
};

/** Bad and total results of a target in the window of `minutes` ending at NOW, in the given regions. */
function counts(target: string, regions: readonly string[], minutes: number) {
  const inWindow = DATA.filter((r) => r.target === target && regions.includes(r.region) && r.ms >= NOW - minutes * MINUTE && r.ms < NOW);
  return { bad: inWindow.filter((r) => !r.ok).length, total: inWindow.length };
}

// Burn rate = error ratio / (1 − objective) (Google SRE Workbook, "Alerting on SLOs").
const burn = (c: { bad: number; total: number }, objective: number) => (c.total === 0 ? null : c.bad / c.total / (1 - objective));

describe("popwatch report --json", () => {
  it("prints one object with the contract's keys; one row per SLO and scope", async () => {
    const out = await reportJson();
    expect(Object.keys(out).sort()).toEqual([
      "convergence",
      "detours",
      "endsAt",
      "failovers",
      "generatedAt",
      "implausibleVantages",
      "impossibleRtts",
      "itemsRead",
      "slos",
    ]);
    expect(out.generatedAt).toBe(iso(NOW + 30_000));
    expect(out.endsAt).toBe(iso(NOW));
    expect(out.itemsRead).toBeGreaterThan(0);
    expect(out.slos.map((s: any) => `${s.slo}/${s.scope}`)).toEqual(
      ["dns-availability", "front-door-availability"].flatMap((slo) => [...REGIONS, "pooled"].map((scope) => `${slo}/${scope}`)),
    );
  });

  it("burn rates per window and budget remaining match the generated counts, per region and pooled", async () => {
    const out = await reportJson();
    for (const row of out.slos) {
      const regions = row.scope === "pooled" ? REGIONS : [row.scope];
      const objective = 0.99;
      expect(row).toMatchObject({
        objective,
        period: "30d",
        indicator: { type: "availability" },
        alerts: { page: "inactive", ticket: "inactive" },
      });
      for (const [window, minutes] of Object.entries(WINDOW_MINUTES)) {
        const expected = burn(counts(row.target, regions, minutes), objective);
        if (expected === null) expect({ window, burn: row.burnRates[window] }).toEqual({ window, burn: null });
        else expect(row.burnRates[window], `${row.slo}/${row.scope} ${window}`).toBeCloseTo(expected, 9);
      }
      const period = counts(row.target, regions, WINDOW_MINUTES["30d"]!);
      expect(row.sli).toEqual({
        good: period.total - period.bad,
        total: period.total,
        ratio: period.total === 0 ? null : (period.total - period.bad) / period.total,
      });
      const periodBurn = burn(period, objective);
      if (periodBurn === null) expect(row.budgetRemaining).toBeNull();
      else expect(row.budgetRemaining).toBeCloseTo(1 - periodBurn, 9);
    }

    const dub = out.slos.find((s: any) => s.slo === "dns-availability" && s.scope === "eu-west-1");
    // 3 of the last 5 probes failed, half of the last hour: both page windows burn far beyond 14.4.
    expect(dub.burnRates["5m"]).toBeCloseTo(60, 9);
    expect(dub.burnRates["1h"]).toBeCloseTo(50, 9);
    expect(dub.firing.map((f: any) => `${f.severity} ${f.long}/${f.short}`)).toContain("page 1h/5m");
    expect(dub.budgetRemaining).toBeLessThan(0);
    expect(dub.topPops).toEqual([
      { pop: "lhr", count: 55, share: 55 / 85 },
      { pop: "dub", count: 30, share: 30 / 85 },
    ]);

    const healthy = out.slos.filter((s: any) => s.slo === "front-door-availability");
    for (const row of healthy) expect(row).toMatchObject({ budgetRemaining: 1, firing: [], burnRates: { "5m": 0, "1h": 0, "30d": 0 } });
    expect(out.slos.filter((s: any) => s.scope === "local")).toEqual([]);

    const fra = out.slos.find((s: any) => s.slo === "front-door-availability" && s.scope === "us-east-1");
    // Every front-door answer from us-east-1 took 150 ms; the sketch is accurate to 1 %.
    expect(fra.latency.count).toBe(60);
    for (const q of ["p50", "p95", "p99"]) expect(Math.abs(fra.latency[q] - 150) / 150).toBeLessThanOrEqual(0.01);
    expect(fra.topPops).toEqual([{ pop: "fra", count: 60, share: 1 }]);
  });

  it("finds the failover with its convergence, the detour and the impossible RTT", async () => {
    const out = await reportJson();
    expect(out.failovers).toEqual([
      {
        target: "anycast-dns",
        kind: "dns",
        region: "eu-west-1",
        from: "dub",
        to: "lhr",
        at: iso(minuteBack(85)),
        // Last dub answer 91 min back, first lhr answer 85 min back; the next result after dub came a minute later.
        convergenceMs: 6 * MINUTE,
        resolutionMs: MINUTE,
      },
    ]);
    expect(out.convergence).toEqual([{ region: "eu-west-1", thresholdMs: 30_000, failovers: 1, converged: 0, sli: 0 }]);

    const useast = AWS_REGION_LOCATIONS.get("us-east-1")!;
    const excess = greatCircleKm(useast, airportLocation("fra")!) - greatCircleKm(useast, airportLocation("iad")!);
    expect(out.detours).toEqual([
      expect.objectContaining({ target: "front-door", region: "us-east-1", pop: "fra", nearestPop: "iad", share: 1 }),
    ]);
    expect(out.detours[0].excessKm).toBeCloseTo(excess, 6);
    expect(out.detours[0].excessKm).toBeGreaterThan(6000);

    const dublinToSydney = greatCircleKm(AWS_REGION_LOCATIONS.get("eu-west-1")!, airportLocation("syd")!);
    expect(out.impossibleRtts).toEqual([expect.objectContaining({ target: "resolver", region: "eu-west-1", pop: "syd", rttMs: 1 })]);
    // Light in fibre covers 200 km/ms; 50 km of slack for where region and airport sit.
    expect(out.impossibleRtts[0].minRttMs).toBeCloseTo((2 * (dublinToSydney - 50)) / 200, 6);
  });

  it("--slo and --region filter the rows; --region also the findings", async () => {
    const bySlo = await reportJson("--slo", "front-door-availability");
    expect(bySlo.slos.map((s: any) => s.slo)).toEqual(Array(REGIONS.length + 1).fill("front-door-availability"));
    const byRegion = await reportJson("--region", "eu-west-1");
    expect(byRegion.slos.map((s: any) => `${s.slo}/${s.scope}`)).toEqual([
      "dns-availability/eu-west-1",
      "front-door-availability/eu-west-1",
    ]);
    expect(byRegion.detours).toEqual([]);
    expect(byRegion.failovers).toHaveLength(1);
    expect(byRegion.impossibleRtts).toHaveLength(1);
    const other = await reportJson("--region", "ap-southeast-2", "--slo", "dns-availability");
    expect(other.slos.map((s: any) => s.scope)).toEqual(["ap-southeast-2"]);
    expect(other.failovers).toEqual([]);
    expect(other.impossibleRtts).toEqual([]);
  });

  it("--since narrows the latency and findings window", async () => {
    const out = await reportJson("--since", "30m");
    // The failover was 85 minutes ago.
    expect(out.failovers).toEqual([]);
    const fra = out.slos.find((s: any) => s.slo === "front-door-availability" && s.scope === "us-east-1");
    expect(fra.latency.count).toBe(30);
    // SLO windows do not depend on --since.
    expect(fra.sli.total).toBe(60);
  });
});

describe("popwatch report: table, csv, markdown", () => {
  it("table: one row per SLO and scope, then failovers, detours and impossible RTTs", async () => {
    const r = await report();
    expect(r.code).toBe(0);
    const lines = r.out.split("\n");
    const header = lines.findIndex((l) => l.startsWith("SLO "));
    expect(lines[header]).toMatch(
      /^SLO\s+SCOPE\s+OBJECTIVE\s+SLI\s+GOOD\/TOTAL\s+BUDGET LEFT\s+5m\s+30m\s+1h\s+2h\s+6h\s+1d\s+3d\s+PERIOD\s+PAGE\s+TICKET/,
    );
    const rows = lines.slice(header + 1, header + 1 + SLO_ROWS);
    expect(rows.map((l) => l.split(/\s+/).slice(0, 2).join("/"))).toEqual(
      ["dns-availability", "front-door-availability"].flatMap((slo) => [...REGIONS, "pooled"].map((scope) => `${slo}/${scope}`)),
    );
    expect(r.out).toMatch(/dns-availability\s+eu-west-1\s+99% 30d\s+70\.83%\s+85\/120\s+-2817%\s+60×\s+50×\s+50×/);
    expect(r.out).toMatch(/inactive \(burning\)/);
    expect(r.out).toMatch(
      /Failovers since .*\nTARGET\s+KIND\s+REGION\s+FROM\s+TO\s+AT\s+CONVERGENCE\s+RESOLUTION\nanycast-dns\s+dns\s+eu-west-1\s+dub\s+lhr\s+\S+ \S+Z\s+6 min\s+60 s\n/,
    );
    expect(r.out).toMatch(/converged within 30 s: eu-west-1 0\/1 \(0%\)/);
    expect(r.out).toMatch(/Detours since .*\n.*\nfront-door\s+us-east-1\s+fra\s+100%\s+\d+ km\s+iad/);
    expect(r.out).toMatch(/Impossible RTTs since .*\n.*\nresolver\s+eu-west-1\s+syd\s+dns\s+1 ms\s+1\d\d\.?\d* ms/);
  });

  it("csv: a header and one row per SLO and scope, then one block per kind of finding", async () => {
    const r = await report("--format", "csv");
    expect(r.code).toBe(0);
    const blocks = r.out
      .trimEnd()
      .split("\n\n")
      .map((b) => b.split("\n"));
    const [slos, failovers, convergence, detours, impossible] = blocks;
    expect(blocks).toHaveLength(5);
    const header = slos![0]!.split(",");
    expect(header.slice(0, 10)).toEqual([
      "slo",
      "target",
      "scope",
      "sli_type",
      "objective",
      "period",
      "good",
      "total",
      "sli",
      "budget_remaining",
    ]);
    expect(slos).toHaveLength(1 + SLO_ROWS);
    const row = Object.fromEntries(slos![1 + REGIONS.indexOf("eu-west-1")]!.split(",").map((v, i) => [header[i], v]));
    expect(row).toMatchObject({ slo: "dns-availability", scope: "eu-west-1", good: "85", total: "120", page: "inactive" });
    expect(Number(row.burn_5m)).toBeCloseTo(60, 9);
    expect(Number(row.budget_remaining)).toBeCloseTo(1 - 35 / 120 / 0.01, 9);
    for (const line of slos!) expect(line.split(",")).toHaveLength(header.length);
    expect(failovers![0]).toBe("failover_target,kind,region,from,to,at,convergence_ms,resolution_ms");
    expect(failovers![1]).toBe(`anycast-dns,dns,eu-west-1,dub,lhr,${iso(minuteBack(85))},360000,60000`);
    expect(convergence).toEqual(["convergence_region,threshold_ms,failovers,converged,sli", "eu-west-1,30000,1,0,0"]);
    expect(detours![0]).toMatch(/^detour_target,/);
    expect(detours![1]).toMatch(/^front-door,us-east-1,fra,1,/);
    expect(impossible![1]).toMatch(/^resolver,eu-west-1,syd,dns,/);
  });

  it("markdown: headings and pipe tables", async () => {
    const r = await report("--format", "markdown", "--region", "eu-west-1");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^## SLOs: windows end /);
    const tableLines = r.out.split("\n").filter((l) => l.startsWith("|"));
    expect(tableLines[0]).toMatch(
      /^\| SLO \| SCOPE \| OBJECTIVE \| SLI \| GOOD\/TOTAL \| BUDGET LEFT \| 5m \| 30m \| 1h \| 2h \| 6h \| 1d \| 3d \| PERIOD \| PAGE \| TICKET \|/,
    );
    expect(tableLines[1]).toMatch(/^\|( --- \|)+$/);
    expect(tableLines[2]).toMatch(/^\| dns-availability \| eu-west-1 \| 99% 30d \|/);
    expect(tableLines[3]).toMatch(/^\| front-door-availability \| eu-west-1 \|/);
    expect(r.out).toMatch(/\n## Failovers since /);
    expect(r.out).not.toMatch(/## Detours/);
    expect(r.out).toMatch(/\n## Impossible RTTs since /);
  });

  it("through main: usage and configuration errors exit 2", async () => {
    const cases: [string[], RegExp][] = [
      [["--format", "xml"], /--format: expected one of table, json, csv, markdown/],
      [["--json", "--format", "csv"], /--json and --format exclude each other/],
      [["--slo", "nope"], /--slo: no SLO named "nope" in the configuration \(SLOs: dns-availability, front-door-availability\)/],
      [["--since", "later"], /--since: expected a duration/],
      [["--table", "t", "--data-dir", "x"], /--table and --data-dir exclude each other/],
    ];
    for (const [flags, message] of cases) {
      const c = captureIo();
      const code = await main(["report", "--config", configFile, ...flags], c.io);
      expect({ flags, code }).toEqual({ flags, code: 2 });
      expect(c.err).toMatch(message);
    }
    const c = captureIo();
    expect(await main(["report", "--config", join(dir, "missing.json"), "--data-dir", dataDir], c.io)).toBe(2);
    expect(c.err).toMatch(/missing\.json: no such file/);
  });
});

describe("popwatch report without SLOs", () => {
  async function reportWithout(...flags: string[]) {
    const file = join(dir, "no-slos.config.json");
    await writeFile(file, JSON.stringify({ ...CONFIG, slos: [] }));
    const c = captureIo();
    const code = await reportCommand(["--config", file, "--data-dir", dataDir, ...flags], c.io, { now: () => NOW + 30_000 });
    return { code, out: c.out, err: c.err };
  }

  it("shows per target, kind and region the success ratio, latency quantiles and PoP shares (json)", async () => {
    const r = await reportWithout("--json", "--since", "2h");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out);
    expect(out.slos).toEqual([]);
    const rows = out.series as any[];
    // Every stored series, and no region without results (config.localRegion "local" holds none).
    const expected = [...new Set(DATA.map((d) => `${d.target}/${TARGETS[d.target as keyof typeof TARGETS].kind}/${d.region}`))].sort();
    expect(rows.map((s) => `${s.target}/${s.kind}/${s.region}`)).toEqual(expected);
    for (const row of rows) {
      const mine = DATA.filter((d) => d.target === row.target && d.region === row.region && d.ms >= NOW - 120 * MINUTE);
      const good = mine.filter((d) => d.ok);
      expect({ series: `${row.target}/${row.region}`, good: row.good, total: row.total }).toEqual({
        series: `${row.target}/${row.region}`,
        good: good.length,
        total: mine.length,
      });
      expect(row.successRatio).toBeCloseTo(good.length / mine.length, 12);
      expect(row.unidentified).toBe(mine.length - good.length);
      const byPop = new Map<string, number>();
      for (const d of good) byPop.set(d.pop!, (byPop.get(d.pop!) ?? 0) + 1);
      expect(Object.fromEntries(row.pops.map((p: any) => [p.pop, p.count]))).toEqual(Object.fromEntries(byPop));
    }
    const eu = rows.find((s) => s.target === "anycast-dns" && s.region === "eu-west-1");
    // 85 of 120 answered: 30 from dub, 55 from lhr.
    expect(eu).toMatchObject({
      good: 85,
      total: 120,
      pops: [
        { pop: "lhr", count: 55 },
        { pop: "dub", count: 30 },
      ],
    });
    const resolver = rows.find((s) => s.target === "resolver");
    expect(resolver).toMatchObject({ total: 10, truncated: 10, tcpFallback: 5 });
    expect(eu).toMatchObject({ truncated: 0, tcpFallback: 0 });
    const fra = rows.find((s) => s.target === "front-door" && s.region === "us-east-1");
    for (const q of ["p50", "p95", "p99"]) expect(Math.abs(fra.latency[q] - 150) / 150).toBeLessThanOrEqual(0.01);
  });

  it('table: a targets section instead of "no SLOs"; with SLOs it appears only with --series', async () => {
    const r = await reportWithout("--since", "2h");
    expect(r.code).toBe(0);
    expect(r.out).not.toMatch(/no SLOs to report/);
    expect(r.out).toMatch(/Targets since .*\nTARGET\s+KIND\s+REGION\s+SUCCESS\s+GOOD\/TOTAL\s+TC\/TCP RETRY\s+P50\/P95\/P99 MS\s+POPS\n/);
    expect(r.out).toMatch(/anycast-dns\s+dns\s+eu-west-1\s+70\.83%\s+85\/120\s+0\/0\s+[\d.]+\/[\d.]+\/[\d.]+\s+lhr 64\.71%, dub 35\.29%/);
    expect(r.out).toMatch(/resolver\s+dns\s+eu-west-1\s+100%\s+10\/10\s+10\/5\s+/);
    expect(r.out).toMatch(/front-door\s+http\s+eu-west-1\s+100%\s+60\/60\s+-\s+/);
    expect(r.out).not.toMatch(/\blocal\b/);
    expect((await report()).out).not.toMatch(/Targets since/);
    const both = await report("--series", "--json");
    expect(JSON.parse(both.out).series.length).toBeGreaterThan(0);
  });
});
