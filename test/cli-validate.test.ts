// popwatch validate and config loading: every file kind, errors that name the
// file and position (syntax) or the field path (schema), exit codes 0 and 2.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findConfigFile, loadConfig } from "../packages/cli/src/config-file";
import { main } from "../packages/cli/src/index";
import { captureIo } from "./support/capture-io";

async function validate(...argv: string[]) {
  const c = captureIo();
  const code = await main(["validate", ...argv], c.io);
  return { code, out: c.out, err: c.err };
}

const GOOD = {
  regions: ["eu-central-1", "us-east-1"],
  schedule: { rateMinutes: 1, roundsPerInvocation: 4, timeoutMs: 2000 },
  targets: [
    { name: "dns-a", address: "127.0.0.1", probes: { dns: { port: 5353 }, tcp: { port: 5353 } } },
    { name: "web", address: "::1", hostname: "pop.test", probes: { http: { scheme: "http" } } },
  ],
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-validate-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const file = (name: string) => join(dir, name);

describe("popwatch validate", () => {
  it("summarises a valid JSON config: targets × kinds, regions, probes per region-minute", async () => {
    await writeFile(file("good.json"), JSON.stringify(GOOD));
    const r = await validate("--config", file("good.json"));
    expect(r.code).toBe(0);
    expect(r.out).toContain(`${file("good.json")}: valid`);
    expect(r.out).toMatch(/targets: 2 \(3 probes per round\)/);
    expect(r.out).toMatch(/dns-a\s+127\.0\.0\.1\s+dns:5353, tcp:5353/);
    expect(r.out).toMatch(/web\s+::1\s+http:80\s+\(pop\.test\)/);
    expect(r.out).toMatch(/regions: eu-central-1, us-east-1 \(home eu-central-1\)/);
    expect(r.out).toMatch(/4 rounds 15 s apart/);
    expect(r.out).toMatch(/probes per region-minute: 12 \(24 per minute across 2 regions\)/);
  });

  it("loads a TypeScript config that imports defineConfig from @popwatch/core, from outside the repository", async () => {
    await writeFile(
      file("popwatch.config.ts"),
      `import { defineConfig, type PopwatchConfigInput } from "@popwatch/core";
const port: number = 5300 + 53;
const base: PopwatchConfigInput = ${JSON.stringify(GOOD)};
export default defineConfig({ ...base, targets: [{ name: "ts", address: "127.0.0.1", probes: { dns: { port } } }] });
`,
    );
    const r = await validate("--config", file("popwatch.config.ts"));
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/ts\s+127\.0\.0\.1\s+dns:5353/);
  });

  it("loads .mjs and .js configs, and an async default export", async () => {
    await writeFile(file("a.mjs"), `export default ${JSON.stringify(GOOD)};`);
    await writeFile(file("b.js"), `export default Promise.resolve(${JSON.stringify(GOOD)});`);
    expect((await validate("--config", file("a.mjs"))).code).toBe(0);
    expect((await validate("--config", file("b.js"))).code).toBe(0);
  });

  it("finds popwatch.config.ts before .json in the working directory", async () => {
    await writeFile(file("popwatch.config.json"), JSON.stringify(GOOD));
    expect(await findConfigFile(undefined, dir)).toBe(file("popwatch.config.ts"));
    expect((await loadConfig(undefined, dir)).config.targets[0]?.name).toBe("ts");
    const empty = await mkdtemp(join(tmpdir(), "popwatch-validate-empty-"));
    await expect(findConfigFile(undefined, empty)).rejects.toThrow(
      /no config file: looked for popwatch\.config\.ts, .*popwatch\.config\.json; pass --config FILE/,
    );
    await rm(empty, { recursive: true });
  });

  it("lists every invalid field by path and exits 2", async () => {
    const bad = {
      ...GOOD,
      regoins: ["x"],
      schedule: { rateMinutes: 1, roundsPerInvocation: 12, timeoutMs: 6000 },
      targets: [{ name: "bad name", address: "1.2.3", probes: { dns: { qnmae: "." } } }],
    };
    await writeFile(file("bad.json"), JSON.stringify(bad));
    const r = await validate("--config", file("bad.json"));
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toContain(`popwatch validate: ${file("bad.json")}: invalid configuration:`);
    for (const path of [
      "regoins: unknown key",
      "schedule.timeoutMs: must be shorter",
      "targets.0.name:",
      "targets.0.address: expected an IPv4 or IPv6 address",
      "targets.0.probes.dns.qnmae: unknown key",
    ]) {
      expect(r.err).toContain(`  ${path}`);
    }
  });

  it("names the file, line and column of a JSON syntax error", async () => {
    await writeFile(file("syntax.json"), '{\n  "targets": [\n    { "name": "a", }\n  ]\n}\n');
    const r = await validate("--config", file("syntax.json"));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`${file("syntax.json").replace(/[.]/g, "\\.")}: invalid JSON at line 3, column \\d+`));
  });

  it("names the file and position of a TypeScript syntax error, and a missing default export", async () => {
    await writeFile(file("broken.ts"), "export default {\n  targets: [,\n");
    const r = await validate("--config", file("broken.ts"));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/broken\.ts: cannot be compiled:\n\s+.*broken\.ts:3:\d+: /);
    await writeFile(file("nodefault.mjs"), "export const config = {};\n");
    const n = await validate("--config", file("nodefault.mjs"));
    expect(n.code).toBe(2);
    expect(n.err).toMatch(/nodefault\.mjs: has no default export/);
  });

  it("usage errors exit 2 naming the flag; --help exits 0", async () => {
    const missing = await validate("--config", file("nope.json"));
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/nope\.json: no such file \(--config\)/);
    const unknown = await validate("--bogus");
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/--bogus/);
    const help = await validate("--help");
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^Usage: popwatch validate/);
  });

  it("accepts the repository's example configs", async () => {
    const root = join(import.meta.dirname, "..");
    for (const example of ["popwatch.config.ts", "examples/anycast-dns.json", "examples/cdn-front-door.json"]) {
      const r = await validate("--config", join(root, example));
      expect({ example, code: r.code, err: r.err }).toEqual({ example, code: 0, err: "" });
    }
  });
});
