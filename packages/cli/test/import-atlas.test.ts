// popwatch import --format atlas through the CLI on the embedded store: the
// API's JSON array and one result per line, results of many probes batched
// into shared items, unmapped results counted by reason with where each was
// first seen, --probes registering every vantage (those absent from the
// archive too), and a re-import that writes no new items.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmbeddedStore } from "@popwatch/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answerBuffer, atlasDnsResult, probeArchive } from "./support/atlas-results";
import { cli, tableKeys } from "./support/import-cli";

// Two hours back, on the hour: two whole hours of results that have ended.
const BASE_S = Math.floor(Date.now() / 3_600_000) * 3600 - 2 * 3600;
const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-import-atlas-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** `count` results of probes 1001..1000+probes, one a minute each, spread over two hours. */
function generated(count: number, probes: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) =>
    atlasDnsResult({
      prbId: 1001 + (i % probes),
      timestamp: BASE_S + Math.floor((i / count) * 7200),
      nsid: i % 3 === 0 ? "ams1" : "fra1",
      rt: 10 + (i % 17),
    }),
  );
}

describe("popwatch import --format atlas", () => {
  it("imports the API's JSON array in shared batches, registers every vantage, and a re-import writes no new items", async () => {
    const dataDir = join(dir, "array");
    const file = join(dir, "results.json");
    const results = generated(9000, 30);
    // Pretty-printed, as a saved API response often is: elements span lines.
    await writeFile(file, JSON.stringify(results, null, 1));
    await writeFile(
      join(dir, "probes.json"),
      JSON.stringify(probeArchive(Array.from({ length: 20 }, (_, i) => ({ id: 1001 + i, country: "DE", asn: 3320, lat: 50.1, lon: 8.7 })))),
    );
    const r = await cli("import", "--format", "atlas", "--probes", join(dir, "probes.json"), "--data-dir", dataDir, file);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /^imported 9000 results from .*results\.json into .*; \d+ rollups rebuilt; 30 vantages registered \(10 not in the probe archive: location unknown\)\n$/,
    );

    const keys = await tableKeys(dataDir);
    // Raw items are per batch and minute, not per result or vantage: 9000 results in a few hundred items.
    const raw = keys.filter((k) => k.startsWith("R#"));
    expect(raw.length).toBeGreaterThan(0);
    expect(raw.length).toBeLessThan(500);

    const { store, close } = await startEmbeddedStore({ dataDir });
    try {
      const stored = await store.queryResults({ since: BASE_S * 1000, until: (BASE_S + 7200) * 1000 });
      expect(stored).toHaveLength(9000);
      expect(stored.find((x) => x.region === "atlas-1001" && x.slotAt === iso(BASE_S))).toMatchObject({
        kind: "dns",
        region: "atlas-1001",
        slotAt: iso(BASE_S),
        ok: true,
        rcode: "NOERROR",
        nsid: "ams1",
        pop: expect.objectContaining({ source: "nsid", raw: "ams1" }),
        timings: expect.objectContaining({ rttMs: 10 }),
      });
      const vantages = await store.listVantages();
      expect(vantages).toHaveLength(30);
      expect(vantages.find((v) => v.name === "atlas-1001")).toEqual(
        expect.objectContaining({ source: "atlas", country: "DE", asn: 3320, claimed: { lat: 50.1, lon: 8.7 }, atlasProbeId: 1001 }),
      );
      expect(vantages.find((v) => v.name === "atlas-1030")).toEqual(
        expect.objectContaining({ source: "atlas", country: null, asn: null, claimed: null, atlasProbeId: 1030 }),
      );
      // Every result is in some minute rollup, and the two hours were compacted: 9000 in both.
      const minutes = await store.queryPeriodRollups({ granularity: "minute", from: BASE_S * 1000, to: (BASE_S + 7200) * 1000 });
      const hours = await store.queryPeriodRollups({ granularity: "hour", from: BASE_S * 1000, to: (BASE_S + 7200) * 1000 });
      const total = (periods: readonly { rollups: readonly { total: number }[] }[]) => periods.reduce((sum, p) => sum + p.rollups.reduce((s, x) => s + x.total, 0), 0);
      expect(total(minutes)).toBe(9000);
      expect(total(hours)).toBe(9000);
    } finally {
      await close();
    }

    const again = await cli("import", "--format", "atlas", "--probes", join(dir, "probes.json"), "--data-dir", dataDir, file);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/^imported 9000 results /);
    expect(await tableKeys(dataDir)).toEqual(keys);
  });

  it("imports one result per line the same way as the array, counting what it cannot map by reason", async () => {
    const dataDir = join(dir, "lines");
    const file = join(dir, "results.jsonl");
    const good = atlasDnsResult({ prbId: 2001, timestamp: BASE_S + 60 });
    const lines = [
      JSON.stringify(good),
      JSON.stringify({ ...atlasDnsResult({ prbId: 2002, timestamp: BASE_S + 120 }), type: "ping" }),
      JSON.stringify({ ...atlasDnsResult({ prbId: 2003, timestamp: BASE_S + 180 }), result: { rt: 3, abuf: "not base64!" } }),
      JSON.stringify({ ...atlasDnsResult({ prbId: 2004, timestamp: BASE_S + 240 }), prb_id: undefined }),
      JSON.stringify({ ...atlasDnsResult({ prbId: 2005, timestamp: 631152000 }) }),
      "{not json",
      JSON.stringify({ ...atlasDnsResult({ prbId: 2006, timestamp: BASE_S + 300 }), result: undefined }),
      JSON.stringify({ ...atlasDnsResult({ prbId: 2007, timestamp: BASE_S + 360 }), type: "traceroute" }),
      JSON.stringify({
        ...atlasDnsResult({ prbId: 2008, timestamp: BASE_S + 420 }),
        result: undefined,
        resultset: [
          { time: BASE_S + 420, dst_addr: "198.51.100.53", result: { rt: 9.5, abuf: answerBuffer("ams1") } },
          { time: BASE_S + 421, dst_addr: "2001:db8::53", error: { timeout: 5000 } },
          { time: BASE_S + 422, dst_addr: "198.51.100.53", result: { rt: 1, abuf: "AAAA" } },
        ],
      }),
    ];
    await writeFile(file, `${lines.join("\n")}\n`);
    const r = await cli("import", "--format", "atlas", "--data-dir", dataDir, file);
    expect(r.code).toBe(1);
    expect(r.err.trim().split("\n")).toEqual([expect.stringMatching(new RegExp(`^${file}:6: invalid JSON`))]);
    expect(r.out).toMatch(
      new RegExp(
        `^imported 3 results from .*results\\.jsonl into .*; \\d+ rollups rebuilt; 2 vantages registered \\(2 not in the probe archive: location unknown\\); 1 bad line skipped; ` +
          `7 Atlas results not mapped \\(bad_abuf 2, first at ${file}:3; bad_time 1, first at ${file}:5; malformed 1, first at ${file}:4; ` +
          `no_answer 1, first at ${file}:7; unsupported_type 2, first at ${file}:2\\)\\n$`,
      ),
    );
    const { store, close } = await startEmbeddedStore({ dataDir });
    try {
      const stored = await store.queryResults({ since: BASE_S * 1000, until: (BASE_S + 3600) * 1000 });
      expect(stored.map((s) => [s.region, s.slotAt, s.ok, s.failure?.code ?? null])).toEqual([
        ["atlas-2001", iso(BASE_S + 60), true, null],
        ["atlas-2008", iso(BASE_S + 420), true, null],
        ["atlas-2008", iso(BASE_S + 421), false, "timeout"],
      ]);
      expect((await store.listVantages()).map((v) => v.name)).toEqual(["atlas-2001", "atlas-2008"]);
    } finally {
      await close();
    }
  });

  it("the same results as an array and as lines store the same results", async () => {
    const results = generated(300, 7);
    await writeFile(join(dir, "same.json"), JSON.stringify(results));
    await writeFile(join(dir, "same.jsonl"), results.map((x) => JSON.stringify(x)).join("\n"));
    const read = async (name: string) => {
      const dataDir = join(dir, `same-${name}`);
      const r = await cli("import", "--format", "atlas", "--data-dir", dataDir, join(dir, name));
      expect(r.code).toBe(0);
      const { store, close } = await startEmbeddedStore({ dataDir });
      try {
        return (await store.queryResults({ since: BASE_S * 1000, until: (BASE_S + 7200) * 1000 })).map(
          ({ invocationId: _, ...rest }) => rest,
        );
      } finally {
        await close();
      }
    };
    const fromArray = await read("same.json");
    expect(fromArray).toHaveLength(300);
    expect(await read("same.jsonl")).toEqual(fromArray);
  });

  it("keeps the elements before a broken array and says where it broke", async () => {
    const dataDir = join(dir, "broken");
    const file = join(dir, "broken.json");
    const ok = atlasDnsResult({ prbId: 3001, timestamp: BASE_S + 30 });
    await writeFile(file, `[\n${JSON.stringify(ok)},\n${JSON.stringify(ok).slice(0, 40)}`);
    const r = await cli("import", "--format", "atlas", "--data-dir", dataDir, file);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`${file}:3: not a JSON array of results: the file ends inside this element\n`);
    expect(r.out).toMatch(/^imported 1 result from .*; 1 bad line skipped\n$/);
  });
});
