// OpenSLO files named by the config (`openslo`): read relative to the config
// file, several documents per file, listed by `popwatch validate` with where
// each SLO came from; every problem (unreadable file, bad YAML, a field
// popwatch does not evaluate) printed by validate and run with its place.
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "@popwatch/core";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../packages/cli/src/index";
import { MAX_OPENSLO_FILE_BYTES, parseConfigWithOpenSloFiles, parseOpenSloText } from "../packages/cli/src/openslo-files";
import { captureIo } from "./support/capture-io";

const root = join(import.meta.dirname, "..");
const exampleSlo = join(root, "examples", "slo", "dns.yaml");

async function cli(command: string, ...argv: string[]) {
  const c = captureIo();
  const code = await main([command, ...argv], c.io);
  return { code, out: c.out, err: c.err };
}

const TARGETS = [
  { name: "k-root", address: "127.0.0.1", probes: { dns: { port: 5353 } } },
  { name: "cloudflare-dns", address: "::1", probes: { dns: { port: 5353 }, tcp: { port: 5353 } } },
];
const OWN_SLO = { name: "k-root-up", target: "k-root", sli: { type: "availability" }, objective: "99.5%", period: "7d" };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-openslo-"));
  await mkdir(join(dir, "conf", "slo"), { recursive: true });
  await copyFile(exampleSlo, join(dir, "conf", "slo", "dns.yaml"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const at = (...parts: string[]) => join(dir, ...parts);
async function config(name: string, openslo: string[], extra: Record<string, unknown> = {}) {
  await writeFile(at("conf", name), JSON.stringify({ targets: TARGETS, slos: [OWN_SLO], openslo, ...extra }));
  return at("conf", name);
}
async function sloFile(name: string, text: string) {
  await writeFile(at("conf", "slo", name), text);
}

describe("popwatch validate with OpenSLO files", () => {
  it("reads the files relative to the config file and lists every SLO with where it came from", async () => {
    const file = await config("good.json", ["slo/dns.yaml"]);
    // The working directory is the repository, not the config's directory.
    const r = await cli("validate", "--config", file);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain("slos: 3\n");
    expect(r.out).toMatch(/\n {2}k-root-up {2,}k-root {2,}availability {2,}99\.5% over 7d {2,}from slos\.0\n/);
    expect(r.out).toMatch(/\n {2}k-root-availability {2,}k-root dns {2,}availability {2,}99\.9% over 28d {2,}from slo\/dns\.yaml#1\n/);
    expect(r.out).toMatch(
      /\n {2}cloudflare-dns-fast {2,}cloudflare-dns dns {2,}latency <= 100 ms {2,}99% over 7d {2,}from slo\/dns\.yaml#2\n/,
    );
  });

  it("reads them relative to a TypeScript config too", async () => {
    await writeFile(
      at("conf", "popwatch.config.ts"),
      `import { defineConfig } from "@popwatch/core";
export default defineConfig({ targets: ${JSON.stringify(TARGETS)}, openslo: ["./slo/dns.yaml"] });
`,
    );
    const r = await cli("validate", "--config", at("conf", "popwatch.config.ts"));
    expect(r.err).toBe("");
    expect(r.out).toMatch(/from \.\/slo\/dns\.yaml#1\n/);
  });

  it("says so when there are no SLOs", async () => {
    const r = await cli("validate", "--config", await config("none.json", [], { slos: [] }));
    expect(r.code).toBe(0);
    expect(r.out).toContain("slos: none\n");
  });

  it("names openslo.N and the resolved path of a missing file, and file:line:col of bad YAML, in validate and run alike", async () => {
    await sloFile("bad.yaml", "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: x\n   bad: 1\n");
    await sloFile("dup.yaml", "apiVersion: openslo/v1\nkind: SLO\nkind: SLI\n");
    const file = await config("broken.json", ["slo/missing.yaml", "slo/bad.yaml", "slo/dup.yaml"]);
    for (const command of ["validate", "run"]) {
      const r = await cli(command, "--config", file);
      expect(r.code).toBe(2);
      expect(r.out).toBe("");
      expect(r.err).toBe(
        [
          `popwatch ${command}: ${file}: invalid configuration:`,
          `  openslo.0: cannot read ${at("conf", "slo", "missing.yaml")}: ENOENT`,
          "  openslo.1: slo/bad.yaml:4:9: invalid YAML (BLOCK_AS_IMPLICIT_KEY): Nested mappings are not allowed in compact mappings",
          "  openslo.2: slo/dup.yaml:3:1: invalid YAML (DUPLICATE_KEY): Map keys must be unique",
          "",
        ].join("\n"),
      );
    }
  });

  it("refuses fields popwatch does not evaluate, naming the file, the document (and its name) and the field path", async () => {
    const example = await readFile(exampleSlo, "utf8");
    await sloFile(
      "refused.yaml",
      `${example
        .replace(
          "budgetingMethod: Occurrences\n  objectives:\n    - targetPercent",
          "budgetingMethod: Timeslices\n  objectives:\n    - targetPercent",
        )
        .replace("    good:\n      metricSource:", "    good:\n      metricSourceRef: thanos\n      metricSource:")}---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: k-root-up
spec:
  indicatorRef: k-root-answers
  alertPolicies: [page]
  budgetingMethod: Occurrences
  objectives: [{ target: 0.99 }]
`,
    );
    const r = await cli("validate", "--config", await config("refused.json", ["slo/refused.yaml"]));
    expect(r.code).toBe(2);
    for (const line of [
      "  slo/refused.yaml#0(k-root-answers).spec.ratioMetric.good.metricSourceRef: cannot be mapped: popwatch evaluates only its own probe results",
      "  slo/refused.yaml#1(k-root-availability).spec.indicatorRef: the SLI it names (slo/refused.yaml#0) has errors, listed at its own paths",
      "  slo/refused.yaml#1(k-root-availability).spec.budgetingMethod: Timeslices cannot be mapped: popwatch budgets by event counts (Occurrences)",
      "  slo/refused.yaml#3(k-root-up).spec.alertPolicies: cannot be mapped: popwatch alerts with its own multiwindow burn-rate rules",
    ]) {
      expect(r.err).toContain(line);
    }
  });

  it("refuses an SLO name used in the config and a file, naming both places", async () => {
    await sloFile("clash.yaml", (await readFile(exampleSlo, "utf8")).replace("name: k-root-availability", "name: k-root-up"));
    const r = await cli("validate", "--config", await config("clash.json", ["slo/clash.yaml"]));
    expect(r.code).toBe(2);
    expect(r.err).toContain('  slo/clash.yaml#1(k-root-up).metadata.name: duplicate SLO name "k-root-up" (also slos.0.name)\n');
  });

  it("accepts the repository's OpenSLO example config", async () => {
    const r = await cli("validate", "--config", join(root, "examples", "anycast-dns-openslo.json"));
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
    expect(r.out).toMatch(/k-root-availability .* from slo\/dns\.yaml#1\n/);
  });
});

describe("reading OpenSLO YAML", () => {
  it("refuses an alias bomb and an oversized file without expanding them", async () => {
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 10; i++)
      bomb.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(", ")}]`,
      );
    const read = await parseOpenSloText(`${bomb.join("\n")}\n`, "bomb.yaml");
    expect(read).toEqual({ problem: expect.stringMatching(/^bomb\.yaml:1:1: invalid YAML \(RESOURCE_EXHAUSTION\): /) });
    await sloFile("huge.yaml", `# ${"x".repeat(MAX_OPENSLO_FILE_BYTES)}\n`);
    await expect(parseConfigWithOpenSloFiles({ targets: TARGETS, openslo: ["slo/huge.yaml"] }, at("conf", "c.json"))).rejects.toThrow(
      /^openslo\.0: .*huge\.yaml: \d+ bytes, more than an OpenSLO file may hold/,
    );
  });

  it("turns any YAML-ish text into SLOs or a ConfigError, never a crash (fast-check)", async () => {
    const example = await readFile(exampleSlo, "utf8");
    const yamlish = fc.oneof(
      fc.string({ unit: fc.constantFrom(..."ab: -[]{}&*!|>'\"#%@`?,\n\t .0123456789~".split("")), maxLength: 200 }),
      // The example with a slice cut out or some characters replaced: nearly valid documents.
      fc
        .tuple(fc.nat(example.length), fc.nat(40), fc.string({ maxLength: 8 }))
        .map(([start, length, insert]) => example.slice(0, start) + insert + example.slice(start + length)),
    );
    await fc.assert(
      fc.asyncProperty(yamlish, async (text) => {
        await writeFile(at("conf", "slo", "fuzz.yaml"), text);
        try {
          const { config, sloOrigins } = await parseConfigWithOpenSloFiles(
            { targets: TARGETS, openslo: ["slo/fuzz.yaml"] },
            at("conf", "c.json"),
          );
          expect(sloOrigins.map((o) => o.name)).toEqual(config.slos.map((s) => s.name));
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          for (const issue of (err as ConfigError).issues) expect(issue.path).toMatch(/^(openslo\.0|slo\/fuzz\.yaml#\d+)/);
        }
      }),
      { numRuns: 300 },
    );
  });
});
