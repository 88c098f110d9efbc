// popwatch import, one line at a time (issue 15 items 3 and 4): a line dated
// 9999-12-31, one of 500 KB and one past the record cap among good lines; the
// good ones are stored with their rollups, the bad ones reported as
// FILE:LINE, and importing again completes without writing anything new.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmbeddedStore } from "@popwatch/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, tableKeys } from "./support/import-cli";

// Minute-aligned, an hour and a half back: its hour has ended, so compact builds its bucket.
const BASE = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 90 * 60_000;
const at = (seconds: number) => new Date(BASE + seconds * 1000).toISOString();

function line(over: Record<string, unknown>): string {
  return JSON.stringify({
    kind: "dns",
    target: "198.51.100.53:53",
    address: "198.51.100.53",
    port: 53,
    name: "anycast-dns",
    ok: true,
    startedAt: at(0),
    timings: { totalMs: 12.5, rttMs: 11.9 },
    pop: { id: "fra", source: "nsid", raw: "fra1.example", iata: "fra" },
    failure: null,
    rcode: "NOERROR",
    region: "eu-central-1",
    time: at(0),
    ...over,
  });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-import-lines-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("popwatch import judges every line on its own", () => {
  it("stores the good lines with their rollups and reports the bad ones as FILE:LINE; importing again completes and writes nothing new", async () => {
    const dataDir = join(dir, "hostile");
    const file = join(dir, "hostile.jsonl");
    await writeFile(
      file,
      [
        line({ time: at(0), startedAt: at(0.1) }),
        line({ time: "9999-12-31T00:00:00Z", startedAt: undefined }),
        line({ time: at(60), startedAt: at(60.1), pop: { id: "ams", source: "nsid", raw: "ams1.example", iata: "ams" } }),
        line({ time: at(120), startedAt: at(120.1), blob: "x".repeat(500 * 1024) }),
        line({ time: "1999-12-31T23:59:59Z", startedAt: undefined }),
        line({ time: at(180), startedAt: at(180.1), huge: "y".repeat(2 * 1024 * 1024) }),
        line({ time: at(240), startedAt: at(240.1), ok: false, pop: null, failure: { code: "timeout", message: "no answer" } }),
      ].join("\n"),
    );
    const first = await cli("import", "--data-dir", dataDir, file);
    expect(first.code).toBe(1);
    expect(first.err.trim().split("\n")).toEqual([
      `${file}:2: slotAt: 9999-12-31T00:00:00.000Z is more than a day ahead of this machine's clock`,
      expect.stringMatching(new RegExp(`^${file}:4: the result is \\d+ bytes as JSON, over the store's limit of 389120 for one result$`)),
      `${file}:5: slotAt: 1999-12-31T23:59:59.000Z is before 2000-01-01T00:00:00.000Z`,
      expect.stringMatching(new RegExp(`^${file}:6: the line is \\d+ bytes, over the 1048576-byte limit of one record$`)),
    ]);
    expect(first.out).toMatch(/^imported 3 results from .*hostile\.jsonl into .*; \d+ rollups rebuilt; 4 bad lines skipped\n$/);
    const keys = await tableKeys(dataDir);

    const { store, close } = await startEmbeddedStore({ dataDir });
    try {
      const stored = await store.queryResults({ since: BASE, until: BASE + 3_600_000 });
      expect(stored.map((r) => r.slotAt)).toEqual([at(0), at(60), at(240)]);
      const minutes = await store.queryRollups({
        target: "anycast-dns",
        kind: "dns",
        region: "eu-central-1",
        granularity: "minute",
        from: BASE,
        to: BASE + 3_600_000,
      });
      expect(minutes.map((m) => [m.minute, m.total, m.good])).toEqual([
        [at(0).slice(0, 16), 1, 1],
        [at(60).slice(0, 16), 1, 1],
        [at(240).slice(0, 16), 1, 0],
      ]);
      // The hour ended: compact built its bucket from the three minutes, and nothing of year 9999 exists.
      const hours = await store.queryPeriodRollups({ granularity: "hour", from: BASE, to: BASE + 3_600_000 });
      expect(hours.flatMap((h) => h.rollups.map((r) => [h.region, r.total]))).toEqual([["eu-central-1", 3]]);
      expect(await store.queryPeriodRollups({ granularity: "day", from: "9999-12-30T00:00:00Z", to: "9999-12-31T23:00:00Z" })).toEqual([]);
    } finally {
      await close();
    }

    const again = await cli("import", "--data-dir", dataDir, file);
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/^imported 3 results .*; 4 bad lines skipped\n$/);
    expect(await tableKeys(dataDir)).toEqual(keys);
  });

  it("--strict reads the file once to judge it and imports nothing when a line is bad", async () => {
    const dataDir = join(dir, "strict");
    const file = join(dir, "strict.jsonl");
    await writeFile(file, [line({ time: at(0) }), line({ time: "9999-12-31T00:00:00Z" })].join("\n"));
    const r = await cli("import", "--strict", "--data-dir", dataDir, file);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/strict\.jsonl:2: slotAt: 9999-12-31T00:00:00\.000Z is more than a day ahead/);
    expect(r.err).toMatch(/1 bad line; nothing imported \(--strict\)/);
    expect(r.out).toBe("");
    expect(await tableKeys(dataDir)).toEqual([]);
  });

  it("imports several files in one run, batches never spanning files: a file imported alone later writes nothing new", async () => {
    const dataDir = join(dir, "several");
    const a = join(dir, "a.jsonl");
    const b = join(dir, "b.jsonl");
    await writeFile(a, [line({ time: at(0) }), line({ time: at(30), region: "us-east-1" })].join("\n"));
    await writeFile(b, [line({ time: at(10) }), line({ time: at(10) }), line({ time: at(3600), region: "ap-south-1" })].join("\n"));
    const both = await cli("import", "--data-dir", dataDir, a, b);
    expect(both.err).toBe("");
    expect(both.code).toBe(0);
    expect(both.out).toMatch(/^imported 4 results from 2 files into .* \(1 repeated line counted once\); \d+ rollups rebuilt\n$/);
    const keys = await tableKeys(dataDir);
    expect((await cli("import", "--data-dir", dataDir, b)).code).toBe(0);
    expect(await tableKeys(dataDir)).toEqual(keys);
  });

  it("refuses flags that do not fit the format, and --strict with standard input", async () => {
    const cases: [string[], RegExp][] = [
      [["--format", "csv", "x"], /--format: expected popwatch or atlas, got "csv"/],
      [["--probes", "p.json", "x"], /--probes: only with --format atlas/],
      [["--format", "atlas", "--region", "eu-west-1", "x"], /--region: Atlas results name their vantage/],
      [["--strict", "-"], /--strict reads each file twice: not with "-"/],
      [["-", "-"], /"-" \(standard input\) can be read once/],
    ];
    for (const [flags, message] of cases) {
      const r = await cli("import", "--data-dir", join(dir, "unused"), ...flags);
      expect({ flags, code: r.code }).toEqual({ flags, code: 2 });
      expect(r.err).toMatch(message);
    }
  });
});
