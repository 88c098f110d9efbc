// popwatch bgp decode: bgpdump -m compatible text, JSON lines, and what it
// prints for a file that breaks off, is missing, or is asked for wrongly.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { MRT_FIXTURES, bgpdumpOf, normaliseLine } from "../packages/bgp/test/mrt-oracle-support";
import { main } from "../packages/cli/src/index";
import { captureIo } from "./support/capture-io";

async function cli(...argv: string[]) {
  const c = captureIo();
  const code = await main(argv, c.io);
  return { code, out: c.out, err: c.err };
}

const dir = mkdtempSync(join(tmpdir(), "popwatch-cli-bgp-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const updates = join(MRT_FIXTURES, "updates.20100722.2015.gz");
const rib = join(MRT_FIXTURES, "bview.ipv4_unicast_add_path.gz");

describe("popwatch bgp decode", () => {
  it("prints what bgpdump -m prints, for several files in order", async () => {
    const { code, out, err } = await cli("bgp", "decode", "--large-communities", updates, rib);
    expect(err).toBe("");
    expect(code).toBe(0);
    const lines = out.trimEnd().split("\n").map(normaliseLine);
    expect(lines).toEqual([...(await bgpdumpOf(updates)), ...(await bgpdumpOf(rib))]);
  });

  it("--format json: one object per event with the route fields", async () => {
    const { code, out } = await cli("bgp", "decode", "--format", "json", updates);
    expect(code).toBe(0);
    const objects = out
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(objects).toHaveLength(5654);
    expect(objects[0]).toEqual({
      type: "A",
      time: 1279829701,
      peer: "193.203.0.97",
      peerAs: 286,
      prefix: "62.140.65.0/24",
      nextHop: "193.203.0.97",
      asPath: [286, 6453, 36992],
      origin: 36992,
      originAttribute: "IGP",
      communities: ["286:80", "286:800", "286:3031", "286:4002"],
    });
    // Attributes the UPDATE carries are there; those it lacks are absent, not zero.
    expect(objects.find((o) => o.aggregator)).toMatchObject({
      atomicAggregate: true,
      aggregator: { asn: expect.any(Number), address: expect.any(String) },
    });
    const withdrawal = objects.find((o) => o.type === "W");
    expect(withdrawal).toMatchObject({ asPath: [], origin: null });
    expect(objects.filter((o) => o.prefix?.includes(":")).length).toBeGreaterThan(0);
  });

  it("a file that breaks off: its events, then the file and byte offset on stderr, exit 1", async () => {
    const plain = gunzipSync(readFileSync(updates));
    const cut = join(dir, "cut.mrt");
    writeFileSync(cut, plain.subarray(0, 50_001));
    const { code, out, err } = await cli("bgp", "decode", "-l", cut);
    expect(code).toBe(1);
    const lines = out.trimEnd().split("\n");
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.map(normaliseLine)).toEqual((await bgpdumpOf(updates)).slice(0, lines.length));
    expect(err).toMatch(
      new RegExp(
        `^popwatch bgp decode: ${cut}: truncated at byte \\d+ \\(after \\d+ records\\): MRT record of \\d+ bytes cut after \\d+\\n$`,
      ),
    );
  });

  it("a malformed UPDATE: a warning naming the offset, the rest decoded, exit 0", async () => {
    const { code, out, err } = await cli("bgp", "decode", join(MRT_FIXTURES, "updates.nlri_mask_trailing_bits.gz"), rib);
    expect(code).toBe(0);
    expect(err).toContain("updates.nlri_mask_trailing_bits.gz: skipped a record: truncated at byte 87");
    expect(out.trimEnd().split("\n")).toHaveLength(62);
  });

  it("a missing file is named; usage errors exit 2", async () => {
    const missing = await cli("bgp", "decode", join(dir, "nope.mrt"));
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("nope.mrt: cannot read: ENOENT");
    expect((await cli("bgp", "decode")).code).toBe(2);
    expect((await cli("bgp", "decode", "--format", "xml", updates)).code).toBe(2);
    const help = await cli("bgp", "decode", "--help");
    expect(help.code).toBe(0);
    expect(help.out).toContain("Usage: popwatch bgp decode");
  });

  it("a reader that closes the pipe early (| head -1) ends the output quietly: exit 0, nothing on stderr", async () => {
    // The built CLI as a shell runs it (npm test builds it first).
    const bin = join(import.meta.dirname, "..", "packages", "cli", "bin", "popwatch.mjs");
    const child = spawn(process.execPath, [bin, "bgp", "decode", updates], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const firstLine = await new Promise<string>((resolve) => {
      let buffered = "";
      child.stdout.on("data", (chunk: Buffer) => {
        buffered += chunk.toString();
        const newline = buffered.indexOf("\n");
        if (newline >= 0) {
          child.stdout.destroy();
          resolve(buffered.slice(0, newline));
        }
      });
    });
    const exitCode = await new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    expect(firstLine).toMatch(/^BGP4MP\|1279829701\|A\|/);
    expect(stderr).toBe("");
    expect(exitCode).toBe(0);
  });
});
