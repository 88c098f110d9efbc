// popwatch import and popwatch results on the embedded store: good and bad
// lines, re-import without duplicates, rollups of the touched minutes, and the
// filters, formats and --since forms of results.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmbeddedStore } from "@popwatch/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseImportLine } from "../packages/cli/src/commands/import";
import { main } from "../packages/cli/src/index";
import { parseWhen } from "../packages/cli/src/time-flags";
import { captureIo } from "./support/capture-io";

async function cli(...argv: string[]) {
  const c = captureIo();
  const code = await main(argv, c.io);
  return { code, out: c.out, err: c.err };
}

// Minute-aligned, a few minutes back, so every default window ("1h") covers it.
const BASE = Math.floor(Date.now() / 60_000) * 60_000 - 5 * 60_000;
const at = (seconds: number) => new Date(BASE + seconds * 1000).toISOString();

/** A line as `popwatch probe --json` prints it, plus region and time. */
function line(over: Record<string, unknown>): string {
  const ok = over.ok ?? true;
  return JSON.stringify({
    kind: "dns",
    target: "192.0.2.53:53",
    address: "192.0.2.53",
    port: 53,
    name: "anycast-dns",
    ok,
    startedAt: at(0),
    timings: { totalMs: 12.5, rttMs: 11.9 },
    pop: ok ? { id: "fra", source: "nsid", raw: "fra1.example", iata: "fra" } : null,
    failure: ok ? null : { code: "timeout", message: "no answer within 2000 ms" },
    rcode: ok ? "NOERROR" : null,
    region: "eu-central-1",
    time: at(0),
    ...over,
  });
}

const GOOD_LINES = [
  line({ time: at(0), startedAt: at(0.2) }),
  line({ time: at(10), startedAt: at(10.1), pop: { id: "ams", source: "nsid", raw: "ams1.example", iata: "ams" } }),
  line({ time: at(20), ok: false }),
  line({ time: at(70), region: "us-east-1", startedAt: undefined }),
  line({ time: at(80), kind: "http", target: "192.0.2.80:443", port: 443, name: "front-door", rcode: undefined, status: 200 }),
];

let dir: string;
let dataDir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-import-"));
  dataDir = join(dir, "data");
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function countAll(): Promise<number> {
  const r = await cli("results", "--data-dir", dataDir, "--json", "--since", "1h");
  return r.out.trim() === "" ? 0 : r.out.trim().split("\n").length;
}

describe("popwatch import", () => {
  it("imports good lines with their slot as slotAt and rebuilds rollups of the touched minutes", async () => {
    await writeFile(join(dir, "good.jsonl"), `${GOOD_LINES.join("\n")}\n\n`);
    const r = await cli("import", "--data-dir", dataDir, join(dir, "good.jsonl"));
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^imported 5 results from .*good\.jsonl into .*data; \d+ rollups rebuilt\n$/);
    expect(await countAll()).toBe(5);

    const { store, close } = await startEmbeddedStore({ dataDir });
    try {
      const minutes = await store.queryRollups({
        target: "anycast-dns",
        kind: "dns",
        region: "eu-central-1",
        granularity: "minute",
        from: BASE,
        to: BASE + 120_000,
      });
      expect(minutes).toEqual([
        expect.objectContaining({ minute: at(0).slice(0, 16), total: 3, good: 2, failures: { timeout: 1 }, popChanges: 1 }),
      ]);
      const stored = await store.queryResults({ since: BASE, until: BASE + 120_000, region: "us-east-1" });
      expect(stored).toEqual([expect.objectContaining({ slotAt: at(70), startedAt: at(70), seq: 0 })]);
      expect(stored[0]).not.toHaveProperty("time");
    } finally {
      await close();
    }
  });

  it("importing the same file again writes nothing new", async () => {
    const r = await cli("import", "--data-dir", dataDir, join(dir, "good.jsonl"));
    expect(r.code).toBe(0);
    expect(await countAll()).toBe(5);
  });

  it("reports each bad line as FILE:LINE: reason, imports the good ones and exits 1; identical lines count once", async () => {
    const file = join(dir, "mixed.jsonl");
    const fresh = line({ time: at(30), startedAt: at(30) });
    await writeFile(
      file,
      [
        fresh,
        "{not json",
        line({ kind: "smtp" }),
        line({ region: undefined }),
        line({ time: "yesterday" }),
        line({ ok: false, failure: null }),
        fresh,
        line({ timings: {} }),
      ].join("\n"),
    );
    const r = await cli("import", "--data-dir", dataDir, file);
    expect(r.code).toBe(1);
    const errors = r.err.trim().split("\n");
    expect(errors).toEqual([
      expect.stringMatching(/mixed\.jsonl:2: invalid JSON/),
      expect.stringMatching(/mixed\.jsonl:3: kind: expected one of dns, tcp, tls, http, dot, doh, got "smtp"/),
      expect.stringMatching(/mixed\.jsonl:4: region: missing \(add a region field or pass --region\)/),
      expect.stringMatching(/mixed\.jsonl:5: time: expected an ISO 8601 time, got "yesterday"/),
      expect.stringMatching(/mixed\.jsonl:6: failure: expected an object with "code" and "message" when ok is false/),
      expect.stringMatching(/mixed\.jsonl:8: timings: expected an object with "totalMs"/),
    ]);
    expect(r.out).toMatch(/imported 1 result .*\(1 repeated line counted once\).*; 6 bad lines skipped/);
    expect(await countAll()).toBe(6);
  });

  it("--strict imports nothing from a file with a bad line; --region fills in lines without one", async () => {
    const file = join(dir, "strict.jsonl");
    await writeFile(file, [line({ time: at(40), region: undefined }), line({ kind: "smtp" })].join("\n"));
    const strict = await cli("import", "--strict", "--data-dir", dataDir, file);
    expect(strict.code).toBe(1);
    expect(strict.err).toMatch(/nothing imported \(--strict\)/);
    expect(await countAll()).toBe(6);

    await writeFile(file, line({ time: at(40), region: undefined }));
    const withRegion = await cli("import", "--region", "ap-south-1", "--data-dir", dataDir, file);
    expect(withRegion.code).toBe(0);
    const r = await cli("results", "--data-dir", dataDir, "--json", "--region", "ap-south-1");
    expect(JSON.parse(r.out)).toMatchObject({ region: "ap-south-1", slotAt: at(40) });
  });

  it("round-trips the output of results --json", async () => {
    const exported = (await cli("results", "--data-dir", dataDir, "--json")).out;
    await writeFile(join(dir, "export.jsonl"), exported);
    const other = join(dir, "other-data");
    expect((await cli("import", "--data-dir", other, join(dir, "export.jsonl"))).code).toBe(0);
    const copied = (await cli("results", "--data-dir", other, "--json")).out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const original = exported
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const strip = (r: Record<string, unknown>) => ({ ...r, invocationId: undefined });
    expect(copied.map(strip)).toEqual(original.map(strip));
  });

  it("usage errors exit 2", async () => {
    expect((await cli("import", "--data-dir", dataDir)).err).toMatch(/missing FILE/);
    const missing = await cli("import", "--data-dir", dataDir, join(dir, "nope.jsonl"));
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/cannot read ".*nope\.jsonl": ENOENT/);
    expect((await cli("import", "--region", "Bad Region", join(dir, "good.jsonl"))).err).toMatch(/--region: expected lowercase/);
  });

  it("validates lines without touching the store", () => {
    expect(parseImportLine("[]", undefined)).toEqual({ error: "expected a JSON object" });
    expect(parseImportLine(line({ time: undefined, startedAt: undefined }), undefined)).toEqual({ error: "time: missing (or startedAt)" });
  });
});

describe("popwatch results", () => {
  it("prints the probe table with time and region columns", async () => {
    const r = await cli("results", "--data-dir", dataDir, "--since", "1h");
    expect(r.code).toBe(0);
    const [header, ...rows] = r.out.trim().split("\n");
    expect(header).toMatch(/^TIME\s+REGION\s+KIND\s+TARGET\s+OK\s+POP\s+SOURCE\s+TIMINGS \(ms\)\s+DETAILS$/);
    expect(rows).toHaveLength(7);
    expect(rows[0]).toMatch(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+eu-central-1\s+dns\s+anycast-dns \(192\.0\.2\.53:53\)\s+ok\s+fra\s+nsid\s+rtt 11\.9\s+total 12\.5/,
    );
    expect(r.out).toMatch(/FAIL\s+-\s+-\s+.*timeout: no answer within 2000 ms/);
  });

  it("filters by target, region, kind and limit; --json prints one stored result per line", async () => {
    const json = async (...flags: string[]) => {
      const r = await cli("results", "--data-dir", dataDir, "--json", ...flags);
      expect(r.code).toBe(0);
      return r.out.trim() === ""
        ? []
        : r.out
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l) as Record<string, unknown>);
    };
    expect((await json("--kind", "http")).map((r) => r.name)).toEqual(["front-door"]);
    expect((await json("--target", "anycast-dns", "--region", "eu-central-1")).map((r) => r.slotAt)).toEqual([
      at(0),
      at(10),
      at(20),
      at(30),
    ]);
    expect((await json("--limit", "2")).map((r) => r.slotAt)).toEqual([at(0), at(10)]);
    const [first] = await json("--limit", "1");
    expect(first).toMatchObject({
      kind: "dns",
      region: "eu-central-1",
      seq: 0,
      invocationId: expect.stringMatching(/^import#[0-9a-f]{32}$/),
    });
    expect(await json("--since", at(75), "--until", at(90))).toHaveLength(1);
    expect(await json("--since", "1d", "--until", new Date(BASE - 1).toISOString())).toEqual([]);
  });

  it("says so on stderr when nothing matched", async () => {
    const r = await cli("results", "--data-dir", dataDir, "--target", "nothing-here");
    expect(r.code).toBe(0);
    expect(r.out).toBe("");
    expect(r.err).toMatch(/no results from .* to .* in /);
  });

  it("parses --since as a duration back from now or an ISO time", () => {
    const now = Date.parse("2025-03-02T12:00:00.000Z");
    expect(parseWhen("since", "15m", now)).toBe(now - 15 * 60_000);
    expect(parseWhen("since", "2h", now)).toBe(now - 2 * 3_600_000);
    expect(parseWhen("since", "1d", now)).toBe(now - 86_400_000);
    expect(parseWhen("since", "30s", now)).toBe(now - 30_000);
    expect(parseWhen("since", "2025-03-01T10:00:00Z", now)).toBe(Date.parse("2025-03-01T10:00:00Z"));
    expect(parseWhen("since", "2025-03-01", now)).toBe(Date.parse("2025-03-01T00:00:00Z"));
    for (const bad of ["15", "1w", "yesterday", "2025-13-40", ""])
      expect(() => parseWhen("since", bad, now)).toThrow(/--since: expected a duration/);
  });

  it("usage errors exit 2 naming the flag", async () => {
    const cases: [string[], RegExp][] = [
      [["--since", "soon"], /--since: expected a duration/],
      [["--kind", "smtp"], /--kind: expected one of dns, tcp, tls, http/],
      [["--limit", "0"], /--limit: expected a positive integer/],
      [["--table", "popwatch", "--data-dir", "x"], /--table and --data-dir exclude each other/],
      [["--aws-region", "eu-west-1"], /--aws-region: only meaningful with --table/],
      [["--since", "1h", "--until", "2h"], /--until must be later than --since/],
    ];
    for (const [flags, message] of cases) {
      const r = await cli("results", "--data-dir", dataDir, ...flags);
      expect({ flags, code: r.code }).toEqual({ flags, code: 2 });
      expect(r.err).toMatch(message);
    }
  });
});
