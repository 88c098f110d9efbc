// Plain, gzip and bzip2 MRT files decode alike; a cut or corrupt compressed
// stream ends in a classified error after everything before the damage.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { MrtDecodeError, detectCompression, newMrtStats, readMrtEvents, readMrtFile } from "../src/index";
import { MRT_FIXTURES } from "./mrt-oracle-support";

const dir = mkdtempSync(join(tmpdir(), "popwatch-mrt-files-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const gz = readFileSync(join(MRT_FIXTURES, "updates.20100722.2015.gz"));
const plain = gunzipSync(gz);
const files = {
  plain: join(dir, "updates.mrt"),
  gzip: join(dir, "updates.mrt.gz"),
  bzip2: join(dir, "updates.mrt.bz2"),
};
writeFileSync(files.plain, plain);
writeFileSync(files.gzip, gz);
writeFileSync(files.bzip2, execFileSync("bzip2", ["-c", files.plain], { maxBuffer: 1 << 26 }));

async function read(file: string): Promise<{ events: number; error: MrtDecodeError | null; records: number }> {
  const stats = newMrtStats();
  let events = 0;
  try {
    for await (const _ of readMrtEvents(readMrtFile(file), { stats })) events++;
  } catch (err) {
    if (!(err instanceof MrtDecodeError)) throw err;
    return { events, error: err, records: stats.records };
  }
  return { events, error: null, records: stats.records };
}

describe("MRT files", () => {
  it("recognises the compression by its magic bytes", () => {
    expect(detectCompression(readFileSync(files.gzip))).toBe("gzip");
    expect(detectCompression(readFileSync(files.bzip2))).toBe("bzip2");
    expect(detectCompression(plain)).toBe("none");
  });

  it("decodes plain, gzip and bzip2 to the same events", async () => {
    const [a, b, c] = await Promise.all([read(files.plain), read(files.gzip), read(files.bzip2)]);
    expect(a.error).toBeNull();
    expect(a.events).toBe(5654); // bgpdump -m prints 5654 lines for this file
    expect(b).toEqual(a);
    expect(c).toEqual(a);
  });

  for (const kind of ["gzip", "bzip2"] as const) {
    it(`a cut ${kind} file: the records before the damage, then a compression error`, async () => {
      const whole = readFileSync(files[kind]);
      const cut = join(dir, `cut.${kind}`);
      writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.6)));
      const outcome = await read(cut);
      expect(outcome.error?.code).toBe("compression");
      expect(outcome.error?.recordsRead).toBe(outcome.records);
      // bzip2 decodes in 900 kB blocks: a cut inside the only block yields nothing before it.
      if (kind === "gzip") expect(outcome.events).toBeGreaterThan(0);
      expect(outcome.events).toBeLessThan(5654);
    });

    it(`a corrupt ${kind} stream is a compression error`, async () => {
      const bytes = Buffer.from(readFileSync(files[kind]));
      for (let i = 20; i < 200; i++) bytes[i] = (bytes[i] as number) ^ 0x5a;
      const bad = join(dir, `corrupt.${kind}`);
      writeFileSync(bad, bytes);
      expect((await read(bad)).error?.code).toBe("compression");
    });
  }

  it("a plain file cut inside a record: truncated, at that record's offset", async () => {
    const cut = join(dir, "cut.mrt");
    writeFileSync(cut, plain.subarray(0, 100_003));
    const outcome = await read(cut);
    expect(outcome.error?.code).toBe("truncated");
    expect(outcome.error?.offset).toBeLessThan(100_003);
    expect(outcome.error?.offset).toBeGreaterThan(100_003 - 4096 - 12 - 40);
  });

  it("an empty file has no events and no error", async () => {
    const empty = join(dir, "empty.mrt");
    writeFileSync(empty, "");
    expect(await read(empty)).toEqual({ events: 0, error: null, records: 0 });
  });
});
