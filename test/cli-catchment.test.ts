// popwatch catchment on the embedded store, loaded with popwatch import: the
// JSON-lines contract, the table and CSV forms, filters, and the read path
// for long windows (hour rollups) agreeing with the short one (minutes).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../packages/cli/src/index";
import { captureIo } from "./support/capture-io";

async function cli(...argv: string[]) {
  const c = captureIo();
  const code = await main(argv, c.io);
  return { code, out: c.out, err: c.err };
}

const HOUR = 3_600_000;
// Two whole hours that have ended, so the import rolls them up into hours too.
const H0 = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString();

/** A `popwatch probe --json` line plus region and time. */
function line(region: string, ms: number, pop: string | null, over: Record<string, unknown> = {}): string {
  const ok = pop !== null;
  return JSON.stringify({
    kind: "dns",
    target: "198.51.100.53:53",
    address: "198.51.100.53",
    port: 53,
    name: "anycast-dns",
    ok,
    startedAt: iso(ms),
    timings: { totalMs: 12.5, rttMs: 11.9 },
    pop: ok ? { id: pop, source: "nsid", raw: `${pop}1.example`, iata: pop.slice(0, 3) } : null,
    failure: ok ? null : { code: "timeout", message: "no answer within 2000 ms" },
    region,
    time: iso(ms),
    ...over,
  });
}

const every = (startMs: number, pops: (string | null)[], region: string, over: Record<string, unknown> = {}) =>
  pops.map((pop, i) => line(region, startMs + i * 60_000, pop, over));

const LINES = [
  // eu-central-1: hour 0 mostly fra (and a timeout), hour 1 mostly ams: one change of the dominant PoP.
  ...every(H0, ["fra", "fra", "fra", "ams", "fra", "fra", "fra", null], "eu-central-1"),
  ...every(H0 + HOUR, ["ams", "ams", "ams", "fra", "ams", "ams"], "eu-central-1"),
  ...every(H0 + 5 * 60_000, ["iad", "iad", "iad"], "us-east-1"),
  ...every(H0, ["fra", "fra"], "eu-central-1", {
    kind: "http",
    target: "198.51.100.80:443",
    address: "198.51.100.80",
    port: 443,
    name: "front-door",
    timings: { totalMs: 40, connectMs: 9 },
  }),
];

let dir: string;
let dataDir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-catchment-"));
  dataDir = join(dir, "data");
  await writeFile(join(dir, "results.jsonl"), `${LINES.join("\n")}\n`);
  const imported = await cli("import", "--data-dir", dataDir, join(dir, "results.jsonl"));
  expect(imported.err).toBe("");
  expect(imported.code).toBe(0);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function jsonLines(...flags: string[]): Promise<Record<string, unknown>[]> {
  const r = await cli("catchment", "--data-dir", dataDir, "--json", ...flags);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  return r.out.trim() === ""
    ? []
    : r.out
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("popwatch catchment", () => {
  it("--json prints one object per (target, region) with shares, dominant and changes", async () => {
    const lines = await jsonLines("--since", iso(H0));
    expect(lines).toEqual([
      {
        target: "anycast-dns",
        region: "eu-central-1",
        counts: { ams: 6, fra: 7 },
        shares: { ams: 6 / 13, fra: 7 / 13 },
        dominant: "fra",
        total: 13,
        unidentified: 1,
        changes: [{ at: iso(H0 + HOUR), from: "fra", to: "ams" }],
      },
      {
        target: "anycast-dns",
        region: "us-east-1",
        counts: { iad: 3 },
        shares: { iad: 1 },
        dominant: "iad",
        total: 3,
        unidentified: 0,
        changes: [],
      },
      {
        target: "front-door",
        region: "eu-central-1",
        counts: { fra: 2 },
        shares: { fra: 1 },
        dominant: "fra",
        total: 2,
        unidentified: 0,
        changes: [],
      },
    ]);
    for (const entry of lines) {
      const shares = Object.values(entry.shares as Record<string, number>);
      expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
  });

  it("reads long windows from hour rollups with the same result", async () => {
    expect(await jsonLines("--since", "7d")).toEqual(await jsonLines("--since", iso(H0)));
    expect(await jsonLines("--since", "30d", "--bucket", "day")).toEqual(
      (await jsonLines("--since", iso(H0))).map((e) => ({ ...e, changes: expect.any(Array) })),
    );
  });

  it("filters by target, region, kind and window; minute buckets show every change", async () => {
    expect((await jsonLines("--target", "front-door", "--since", "1d")).map((e) => [e.target, e.region])).toEqual([
      ["front-door", "eu-central-1"],
    ]);
    expect((await jsonLines("--region", "us-east-1", "--since", "1d")).map((e) => e.dominant)).toEqual(["iad"]);
    expect((await jsonLines("--kind", "http", "--since", "1d")).map((e) => e.target)).toEqual(["front-door"]);
    const firstHour = await jsonLines("--since", iso(H0), "--until", iso(H0 + HOUR), "--target", "anycast-dns", "--region", "eu-central-1");
    expect(firstHour).toEqual([expect.objectContaining({ counts: { ams: 1, fra: 6 }, changes: [] })]);
    const minutes = await jsonLines("--since", iso(H0), "--bucket", "minute", "--target", "anycast-dns", "--region", "eu-central-1");
    expect((minutes[0]!.changes as { from: string; to: string }[]).map((c) => `${c.from}>${c.to}`)).toEqual([
      "fra>ams",
      "ams>fra",
      "fra>ams",
      "ams>fra",
      "fra>ams",
    ]);
  });

  it("prints a region × PoP table per target with the dominant PoP marked", async () => {
    const r = await cli("catchment", "--data-dir", dataDir, "--since", iso(H0));
    expect(r.code).toBe(0);
    const lines = r.out.split("\n");
    expect(lines[0]).toBe("anycast-dns");
    expect(lines[1]).toMatch(/^REGION\s+ANSWERS\s+NO POP\s+CHANGES\s+fra\s+ams\s+iad$/);
    expect(lines[2]).toMatch(/^eu-central-1\s+13\s+1\s+1\s+\*53\.8%\s+46\.2%\s+-$/);
    expect(lines[3]).toMatch(/^us-east-1\s+3\s+0\s+0\s+-\s+-\s+\*100\.0%$/);
    expect(r.out).toMatch(/dominant PoP changes:\n {2}eu-central-1 {2}\d{4}-\d\d-\d\d \d\d:00Z {2}fra -> ams\n/);
    expect(r.out).toMatch(/PoPs: fra Frankfurt, DE; ams Amsterdam, NL; iad Washington, US\n/);
    expect(r.out).toMatch(/^front-door\nREGION\s+ANSWERS\s+NO POP\s+CHANGES\s+fra\neu-central-1\s+2\s+0\s+0\s+\*100\.0%$/m);
    expect(r.out).toMatch(/\* dominant PoP/);
  });

  it("prints CSV, one row per (target, region, PoP)", async () => {
    const r = await cli("catchment", "--data-dir", dataDir, "--since", iso(H0), "--format", "csv");
    expect(r.code).toBe(0);
    expect(r.out.trim().split("\n")).toEqual([
      "target,region,pop,count,share,dominant,total,unidentified",
      `anycast-dns,eu-central-1,ams,6,${6 / 13},false,13,1`,
      `anycast-dns,eu-central-1,fra,7,${7 / 13},true,13,1`,
      "anycast-dns,us-east-1,iad,3,1,true,3,0",
      "front-door,eu-central-1,fra,2,1,true,2,0",
    ]);
  });

  it("names PoPs from the config's popCatalogue", async () => {
    const config = join(dir, "popwatch.config.json");
    await writeFile(
      config,
      JSON.stringify({
        targets: [{ name: "anycast-dns", address: "198.51.100.53", probes: { dns: {} } }],
        popCatalogue: { fra: { lat: 50.11, lon: 8.68, city: "Frankfurt DC2", country: "DE" } },
      }),
    );
    const r = await cli("catchment", "--data-dir", dataDir, "--since", iso(H0), "--config", config, "--target", "anycast-dns");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/PoPs: fra Frankfurt DC2, DE; ams Amsterdam, NL; iad Washington, US\n/);
    await writeFile(config, JSON.stringify({ targets: [], popCatalogue: { fra: { lat: 100, lon: 0 } } }));
    const bad = await cli("catchment", "--data-dir", dataDir, "--config", config);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/popCatalogue\.fra\.lat/);
  });

  it("says so on stderr when nothing matched", async () => {
    const r = await cli("catchment", "--data-dir", dataDir, "--target", "nothing-here");
    expect(r.code).toBe(0);
    expect(r.out).toBe("");
    expect(r.err).toMatch(/no rollups from .* to .* in /);
  });

  it("usage errors exit 2 naming the flag", async () => {
    const cases: [string[], RegExp][] = [
      [["--format", "xml"], /--format: expected one of table, json, csv/],
      [["--bucket", "week"], /--bucket: expected one of minute, hour, day/],
      [["--json", "--format", "csv"], /--json and --format exclude each other/],
      [["--kind", "smtp"], /--kind: expected one of dns, tcp, tls, http/],
      [["--since", "soon"], /--since: expected a duration/],
      [["--table", "popwatch", "--data-dir", "x"], /--table and --data-dir exclude each other/],
    ];
    for (const [flags, message] of cases) {
      const r = await cli("catchment", "--data-dir", dataDir, ...flags);
      expect({ flags, code: r.code }).toEqual({ flags, code: 2 });
      expect(r.err).toMatch(message);
    }
  });
});
