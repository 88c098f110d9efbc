// popwatch import streams (issue 15 item 3): a generated Atlas JSON array of
// 200,000 results, imported by the built CLI in a child process, stays under
// a peak RSS bound that reading the whole file could not (the file alone is
// over 100 MB as text, several times that parsed), and a second import of the
// same file writes no new items.
import { execFile } from "node:child_process";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { atlasDnsResult } from "./support/atlas-results";
import { tableKeys } from "./support/import-cli";

const ROOT = join(import.meta.dirname, "..", "..", "..");
const BUNDLE = join(ROOT, "packages", "cli", "dist", "popwatch.mjs");
const RESULTS = 200_000;
/** The goal is 256 MB for a million lines; 200,000 must fit well inside it. */
const MAX_RSS_BYTES = 256 * 1024 * 1024;

// Runs the CLI's main in this process and reports its peak RSS last, on stderr.
const RUNNER = `
const { main } = await import(process.env.POPWATCH_BUNDLE);
const code = await main(process.argv.slice(1));
process.stderr.write("maxRSS=" + process.resourceUsage().maxRSS * 1024 + "\\n");
process.exitCode = code;
`;

let dir: string;
let file: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-import-memory-"));
  // The child runs the bundle: build it from these sources.
  await promisify(execFile)(process.execPath, [join(ROOT, "scripts", "build.mjs")], { cwd: ROOT });
  file = join(dir, "results.json");
  const out = createWriteStream(file);
  const startS = Math.floor(Date.now() / 3_600_000) * 3600 - 8 * 3600;
  out.write("[\n");
  for (let i = 0; i < RESULTS; i++) {
    const element = atlasDnsResult({
      prbId: 10_000 + (i % 500),
      timestamp: startS + Math.floor(i / 8),
      nsid: i % 2 ? "fra1" : "ams1",
      rt: i % 50,
    });
    if (!out.write(`${i === 0 ? "" : ",\n"}${JSON.stringify(element)}`)) await once(out, "drain");
  }
  out.end("\n]\n");
  await once(out, "finish");
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

async function importInChild(dataDir: string): Promise<{ stdout: string; maxRss: number }> {
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    ["--input-type=module", "-e", RUNNER, "import", "--format", "atlas", "--data-dir", dataDir, file],
    { env: { ...process.env, POPWATCH_BUNDLE: BUNDLE }, maxBuffer: 16 * 1024 * 1024 },
  );
  const rss = /maxRSS=(\d+)/.exec(stderr);
  expect(rss, stderr).not.toBeNull();
  return { stdout, maxRss: Number(rss![1]) };
}

describe("popwatch import memory", () => {
  it("imports 200,000 Atlas results from a JSON array with a bounded peak RSS; again, no new items", { timeout: 600_000 }, async () => {
    expect((await stat(file)).size).toBeGreaterThan(100 * 1024 * 1024);
    const dataDir = join(dir, "data");
    const first = await importInChild(dataDir);
    expect(first.stdout).toMatch(/^imported 200000 results from .*; 500 vantages registered/);
    expect(first.maxRss).toBeLessThan(MAX_RSS_BYTES);
    const keys = await tableKeys(dataDir);

    const second = await importInChild(dataDir);
    expect(second.stdout).toMatch(/^imported 200000 results /);
    expect(second.maxRss).toBeLessThan(MAX_RSS_BYTES);
    expect(await tableKeys(dataDir)).toEqual(keys);
  });
});
