// Vantages in the readers, on the embedded store loaded with popwatch import
// and a vantage registry: Atlas-like vantages claiming a place, one of them
// answered by Frankfurt and London faster than light allows from Sydney
// (where it claims to be); catchment and the report grouped by country and
// AS; and the readers saying when retention cut the range they were asked for.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DAY_MS, type Vantage, airportLocation, greatCircleKm, lightBoundMs } from "@popwatch/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catchmentCommand } from "../packages/cli/src/commands/catchment";
import { evaluateCommand } from "../packages/cli/src/commands/evaluate";
import { reportCommand } from "../packages/cli/src/commands/report";
import { resultsCommand } from "../packages/cli/src/commands/results";
import { main } from "../packages/cli/src/index";
import { openSharedStore } from "../packages/cli/src/local-store";
import { captureIo } from "./support/capture-io";

const MINUTE = 60_000;
const NOW = Math.floor(Date.now() / MINUTE) * MINUTE;
const iso = (ms: number) => new Date(ms).toISOString();

interface Probe {
  region: string;
  pop: string;
  rttMs: number;
}

// One probe a minute, the k-th `k` minutes before NOW.
const PROBES: Probe[] = [
  // Claims Sydney; answered by Frankfurt in 2 ms and London in 9 ms: it is in Europe.
  ...[2, 2.4, 3].map((rttMs) => ({ region: "atlas-1", pop: "fra", rttMs })),
  { region: "atlas-1", pop: "lhr", rttMs: 9 },
  // Claims Frankfurt, and is there.
  ...[1.5, 1.6].map((rttMs) => ({ region: "atlas-2", pop: "fra", rttMs })),
  ...[14, 15].map((rttMs) => ({ region: "atlas-2", pop: "ams", rttMs })),
  ...[1, 1, 1, 1].map((rttMs) => ({ region: "atlas-3", pop: "cdg", rttMs })),
  // The config's own vantage claims Sydney: served by syd, and once by an "nrt" answering in 1 ms (a mislabelled PoP).
  ...[1, 1, 1].map((rttMs) => ({ region: "home-1", pop: "syd", rttMs })),
  { region: "home-1", pop: "nrt", rttMs: 1 },
  // An AWS region: not in the registry.
  ...[1, 1].map((rttMs) => ({ region: "eu-central-1", pop: "fra", rttMs })),
];

const VANTAGES: Vantage[] = [
  { name: "atlas-1", source: "atlas", claimed: { iata: "SYD" }, country: "DE", asn: 3320, atlasProbeId: 1 },
  { name: "atlas-2", source: "atlas", claimed: { iata: "FRA" }, country: "DE", asn: 3320, atlasProbeId: 2 },
  { name: "atlas-3", source: "atlas", claimed: { lat: 49.01, lon: 2.55 }, country: "FR", asn: 3215, atlasProbeId: 3 },
];

const CONFIG = {
  targets: [{ name: "anycast-dns", address: "198.51.100.53", probes: { dns: {} } }],
  vantage: { name: "home-1", location: "SYD", country: "AU", asn: 64500 },
};

function lines(): string {
  const perRegion = new Map<string, number>();
  return PROBES.map((p) => {
    const k = (perRegion.get(p.region) ?? 0) + 1;
    perRegion.set(p.region, k);
    const ms = NOW - (k + 5) * MINUTE;
    return JSON.stringify({
      kind: "dns",
      target: "198.51.100.53:53",
      address: "198.51.100.53",
      port: 53,
      name: "anycast-dns",
      ok: true,
      startedAt: iso(ms),
      timings: { totalMs: p.rttMs + 0.5, rttMs: p.rttMs },
      pop: { id: p.pop, source: "nsid", raw: `${p.pop}1`, iata: p.pop },
      failure: null,
      region: p.region,
      time: iso(ms),
    });
  }).join("\n");
}

let dir: string;
let dataDir: string;
let configFile: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-vantages-"));
  dataDir = join(dir, "data");
  configFile = join(dir, "popwatch.config.json");
  await writeFile(configFile, JSON.stringify(CONFIG));
  await writeFile(join(dir, "results.jsonl"), `${lines()}\n`);
  expect(await main(["import", "--data-dir", dataDir, join(dir, "results.jsonl")], captureIo().io)).toBe(0);
  const opened = await openSharedStore({ dataDir });
  try {
    await opened.store.putVantages(VANTAGES);
  } finally {
    await opened.close();
  }
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

type Command = (argv: string[], io: ReturnType<typeof captureIo>["io"], deps: { now: () => number }) => Promise<number>;
async function run(command: Command, ...argv: string[]) {
  const c = captureIo();
  const code = await command([...argv, "--data-dir", dataDir], c.io, { now: () => NOW + 30_000 });
  return { code, out: c.out, err: c.err };
}

const km = (a: string, b: string) => greatCircleKm(airportLocation(a)!, airportLocation(b)!);

describe("report: vantages whose claimed location is implausible", () => {
  it("blames atlas-1 (several places, its own PoP), keeps the mislabelled nrt with the PoP attribution, and locates home-1 from the config", async () => {
    const { code, out, err } = await run(reportCommand, "--config", configFile, "--json");
    expect(err).toBe("");
    expect(code).toBe(0);
    const report = JSON.parse(out);
    expect(report.implausibleVantages).toEqual(
      [
        ["fra", 2, 3],
        ["lhr", 9, 1],
      ].map(([pop, minRttMs, samples]) => ({
        vantage: "atlas-1",
        claimed: "SYD",
        // Its own catchment lands on fra most, too.
        reasons: ["several_places", "catchment_pop"],
        target: "anycast-dns",
        pop,
        popLocation: { lat: airportLocation(pop as string)!.lat, lon: airportLocation(pop as string)!.lon },
        minRttMs,
        boundMs: lightBoundMs(km("SYD", pop as string)),
        distanceKm: km("SYD", pop as string),
        samples,
      })),
    );
    // home-1 is located by the config's vantage section: 1 ms to Tokyo from Sydney is impossible, and it is the PoP's fault.
    expect(report.impossibleRtts.map((f: { region: string; pop: string }) => [f.region, f.pop])).toEqual([["home-1", "nrt"]]);
  });

  it("shows the section in table, Markdown, CSV and HTML", async () => {
    const table = await run(reportCommand, "--config", configFile);
    expect(table.out).toMatch(/Vantages whose claimed location is implausible since .*\n/);
    expect(table.out).toMatch(/atlas-1\s+SYD\s+several places, its own PoP\s+anycast-dns\s+fra\s/);
    const markdown = await run(reportCommand, "--config", configFile, "--format", "markdown");
    expect(markdown.out).toMatch(/\| atlas-1 \| SYD \| several places, its own PoP \| anycast-dns \| lhr \|/);
    const csv = await run(reportCommand, "--config", configFile, "--format", "csv");
    const block = csv.out.split("\n\n").find((b) => b.startsWith("implausible_vantage,"));
    expect(block?.trim().split("\n")).toHaveLength(3);
    expect(block).toContain(`atlas-1,SYD,several_places catchment_pop,anycast-dns,fra,${airportLocation("fra")!.lat},`);
    const page = join(dir, "report.html");
    expect((await run(reportCommand, "--config", configFile, "--html", page)).code).toBe(0);
    const html = await readFile(page, "utf8");
    const section = html.slice(html.indexOf('<section id="implausible-vantages">'));
    expect(section).toContain("<td>atlas-1</td><td>SYD</td><td>several places, its own PoP</td>");
  });

  it("groups the page's catchment by country with --group-by", async () => {
    const page = join(dir, "grouped.html");
    expect((await run(reportCommand, "--config", configFile, "--html", page, "--group-by", "country")).code).toBe(0);
    const html = await readFile(page, "utf8");
    const section = html.slice(html.indexOf('<section id="catchment">'), html.indexOf('<section id="burn-rates">'));
    expect(section).toContain("<th>Country</th><th>Vantages</th>");
    // Rows: AU (home-1), DE (atlas-1, atlas-2), FR (atlas-3), unknown (eu-central-1).
    expect([...section.matchAll(/<tr><td>([^<]+)<\/td><td class="num">(\d+)<\/td>/g)].map((m) => [m[1], m[2]])).toEqual([
      ["AU", "1"],
      ["DE", "2"],
      ["FR", "1"],
      ["unknown", "1"],
    ]);
    await expect(run(reportCommand, "--config", configFile, "--group-by", "city")).rejects.toThrow(
      '--group-by: expected one of vantage, country, asn, got "city"',
    );
  });
});

describe("catchment --group-by", () => {
  // Shares of each vantage, averaged over the group's vantages: DE = atlas-1 (fra 3/4, lhr 1/4) and atlas-2 (fra 2/4, ams 2/4).
  const DE = { counts: { ams: 2, fra: 5, lhr: 1 }, shares: { ams: 0.25, fra: 0.625, lhr: 0.125 } };

  it("json: one object per target and country, unregistered vantages in unknown", async () => {
    const { code, out, err } = await run(catchmentCommand, "--config", configFile, "--group-by", "country", "--json");
    expect(err).toBe("");
    expect(code).toBe(0);
    const rows = out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => [r.by, r.group, r.vantages])).toEqual([
      ["country", "AU", ["home-1"]],
      ["country", "DE", ["atlas-1", "atlas-2"]],
      ["country", "FR", ["atlas-3"]],
      ["country", "unknown", ["eu-central-1"]],
    ]);
    expect(rows[1]).toMatchObject({ ...DE, dominant: "fra", total: 8, unidentified: 0 });
  });

  it("asn without the config: home-1 is not registered, so it is unknown too", async () => {
    const { out } = await run(catchmentCommand, "--group-by", "asn", "--format", "csv");
    const rows = out.trim().split("\n");
    expect(rows[0]).toBe("target,asn,vantages,pop,count,share,dominant,total,unidentified");
    expect(rows).toContain("anycast-dns,AS3320,2,fra,5,0.625,true,8,0");
    expect(rows).toContain("anycast-dns,unknown,2,fra,2,0.5,true,6,0");
    expect(rows).toContain("anycast-dns,unknown,2,syd,3,0.375,false,6,0");
  });

  it("table: a group column and the vantages counted; vantage is today's per-region matrix", async () => {
    const grouped = await run(catchmentCommand, "--config", configFile, "--group-by", "country");
    expect(grouped.out).toMatch(/COUNTRY\s+VANTAGES\s+ANSWERS\s+NO POP/);
    expect(grouped.out).toMatch(/\nDE\s+2\s+8\s+0\s.*\*62\.5%/);
    const plain = await run(catchmentCommand, "--config", configFile);
    const byVantage = await run(catchmentCommand, "--config", configFile, "--group-by", "vantage");
    expect(byVantage.out).toBe(plain.out);
    expect(plain.out).toMatch(/REGION\s+ANSWERS/);
    await expect(run(catchmentCommand, "--group-by", "city")).rejects.toThrow(
      '--group-by: expected one of vantage, country, asn, got "city"',
    );
  });
});

describe("no silent narrowing", () => {
  const clock = NOW + 30_000;

  it("results: --since past the raw retention says the range it read, and still lists what is kept", async () => {
    const { code, out, err } = await run(resultsCommand, "--since", "30d", "--region", "atlas-3");
    expect(code).toBe(0);
    expect(err).toBe(
      `popwatch results: --since 30d reaches past the raw retention (7 d): read ${iso(clock - 9 * DAY_MS)} to ${iso(clock)}\n`,
    );
    expect(out.trim().split("\n")).toHaveLength(1 + 4);
  });

  it("results: an --until in the future neither cuts --since nor hides results; no results names the range read", async () => {
    const future = await run(resultsCommand, "--since", "8d", "--until", iso(NOW + 30 * DAY_MS), "--region", "atlas-3");
    expect(future.err).toBe("");
    expect(future.out.trim().split("\n")).toHaveLength(1 + 4);
    const none = await run(resultsCommand, "--since", "8d", "--until", iso(NOW + 30 * DAY_MS), "--region", "nowhere");
    expect(none.err).toBe(`popwatch results: no results from ${iso(clock - 8 * DAY_MS)} to ${iso(clock)} in ${dataDir}\n`);
    const old = await run(resultsCommand, "--since", "30d", "--until", "20d");
    expect(old.err).toBe(
      `popwatch results: --since 30d reaches past the raw retention (7 d): read ${iso(clock - 20 * DAY_MS)} to ${iso(clock - 20 * DAY_MS)}\n` +
        `popwatch results: no results from ${iso(clock - 20 * DAY_MS)} to ${iso(clock - 20 * DAY_MS)} in ${dataDir}\n`,
    );
  });

  it("catchment: a window past the hour rollups' retention is said, the rest listed", async () => {
    const { code, out, err } = await run(catchmentCommand, "--since", "120d", "--json");
    expect(code).toBe(0);
    expect(err).toBe(
      `popwatch catchment: --since 120d reaches past the hour rollup retention (90 d): read ${iso(clock - 92 * DAY_MS)} to ${iso(clock)}\n`,
    );
    expect(out.trim().split("\n")).toHaveLength(5);
    expect((await run(catchmentCommand, "--since", "30d", "--json")).err).toBe("");
  });

  it("catchment and report: a config keeping rollups and raw results longer reads (and says) its own retention", async () => {
    const longer = join(dir, "longer.config.json");
    await writeFile(longer, JSON.stringify({ ...CONFIG, retention: { rawDays: 60, hourDays: 200 } }));
    const catchment = await run(catchmentCommand, "--config", longer, "--since", "120d", "--json");
    expect(catchment.err).toBe("");
    expect(catchment.out.trim().split("\n")).toHaveLength(5);
    const report = await run(reportCommand, "--config", longer, "--since", "100d", "--json");
    expect(report.err).toBe(
      `popwatch report: --since 100d reaches past the raw retention (60 d): read ${iso(clock - 62 * DAY_MS)} to ${iso(clock)}\n`,
    );
  }, 180_000);

  it("report: findings past the raw retention are said; the catchment's day rollups reach further", async () => {
    const { code, err } = await run(reportCommand, "--config", configFile, "--since", "30d", "--json");
    expect(code).toBe(0);
    expect(err).toBe(
      `popwatch report: --since 30d reaches past the raw retention (7 d): read ${iso(clock - 9 * DAY_MS)} to ${iso(clock)}\n`,
    );
    const page = await run(reportCommand, "--config", configFile, "--since", "100d", "--html", join(dir, "old.html"));
    expect(page.err).toBe(
      `popwatch report: --since 100d reaches past the raw retention (7 d): read ${iso(clock - 9 * DAY_MS)} to ${iso(clock)}\n` +
        `popwatch report: --since 100d reaches past the hour rollup retention (90 d): read ${iso(clock - 92 * DAY_MS)} to ${iso(clock)}\n`,
    );
  }, 180_000);

  it("evaluate: SLO windows at an --at past the rollups' retention are said", async () => {
    const withSlo = join(dir, "slo.config.json");
    await writeFile(
      withSlo,
      JSON.stringify({ ...CONFIG, slos: [{ name: "dns", target: "anycast-dns", sli: { type: "availability" }, objective: 0.99 }] }),
    );
    const recent = await run(evaluateCommand, "--config", withSlo);
    expect(recent.err).toBe("");
    const old = await run(evaluateCommand, "--config", withSlo, "--at", "100d");
    expect(old.code).toBe(0);
    // Windows end at the last whole minute; the 30-day window ends 100 days back, past minute and hour rollups' retention.
    const end = iso(NOW - 100 * DAY_MS);
    expect(old.err).toBe(
      `popwatch evaluate: --at 100d reaches past the minute rollup retention (14 d): read ${end} to ${end}\n` +
        `popwatch evaluate: --at 100d reaches past the hour rollup retention (90 d): read ${end} to ${end}\n`,
    );
  }, 120_000);
});
