// Probe function bundle: size and module-init time.
//
// Builds functions/probe.ts with the options the stack gives SST
// (stacks/settings.ts PROBE_BUNDLE) on top of SST v2's own esbuild options for
// ESM (node_modules/sst/runtime/handlers/node.js: bundle, platform node,
// keepNames, mainFields module/main, createRequire banner), with the esbuild
// SST itself uses (its own dependency, 0.18.13 in sst 2.49.8, not the
// repository's), then checks the result byte for byte against the artifact
// SST builds in `app.finish()` (SST's test mode, no AWS). Variants: the AWS
// SDK left to the Lambda runtime instead of bundled, not minified, and the
// repository's esbuild.
//
// Init time: a fresh `node` per sample imports the bundle (the handler is not
// invoked) and reports performance.now() around `await import()`. Anchors in
// the same run: an empty module, and @aws-sdk/client-dynamodb alone from
// node_modules (what "use the runtime's SDK" loads at least).
//
// Run: npx tsx bench/bundle-size.ts   [env: RUNS=20; SIZE_ONLY=1 skips the init timings]
// Goals: bundle ≤ 1 MB, init p50 ≤ 150 ms.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import type { BuildOptions, BuildResult, Metafile } from "esbuild";
import * as repoEsbuild from "esbuild";
import { PROBE_BUNDLE } from "../stacks/settings";
import { fmt, percentile } from "./support/stats";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const ENTRY = join(ROOT, "functions/probe.ts");
const RUNS = Number(process.env.RUNS ?? "20");
const SIZE_ONLY = process.env.SIZE_ONLY === "1";
// Inside the repository so a bundle with external @aws-sdk resolves it from node_modules, like the runtime's copy.
const OUT = join(ROOT, ".sst", "bench", "bundle");

// The esbuild SST resolves from its own package (sst/runtime/handlers/node.js imports "esbuild").
const sstEsbuild = createRequire(join(ROOT, "node_modules/sst/runtime/handlers/node.js"))("esbuild") as typeof repoEsbuild;

if (!existsSync(ENTRY)) {
  console.log(`functions/probe.ts does not exist yet: nothing to bundle.`);
  process.exit(0);
}

/** SST v2's esbuild options for an ESM Node function (sst 2.49.8, runtime/handlers/node.js), with the stack's overrides. */
interface Variant {
  external?: string[];
  minify?: boolean;
  esbuild?: typeof repoEsbuild;
}

function sstOptions(outfile: string, variant: Variant = {}): BuildOptions {
  // The stack's nodejs.esbuild, spread last by SST over its own options.
  const override: BuildOptions = { target: PROBE_BUNDLE.target };
  const sst: BuildOptions = {
    entryPoints: [ENTRY],
    platform: "node",
    external: ["sharp", "pg-native", ...PROBE_BUNDLE.external, ...(variant.external ?? [])],
    keepNames: true,
    bundle: true,
    logLevel: "silent",
    metafile: true,
    format: "esm",
    target: "esnext",
    mainFields: ["module", "main"],
    banner: {
      js: [
        `import { createRequire as topLevelCreateRequire } from 'module';`,
        `const require = topLevelCreateRequire(import.meta.url);`,
        `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"`,
        `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
        "",
      ].join("\n"),
    },
    outfile,
    sourcemap: PROBE_BUNDLE.sourcemap,
    minify: variant.minify ?? PROBE_BUNDLE.minify,
  };
  return { ...sst, ...override };
}

interface Built {
  name: string;
  file: string;
  bytes: number;
  gzip: number;
  mapBytes: number;
  metafile: Metafile;
}

async function bundle(name: string, variant: Variant = {}): Promise<Built> {
  const file = join(OUT, name, "functions", "probe.mjs");
  rmSync(dirname(file), { recursive: true, force: true });
  const result: BuildResult = await (variant.esbuild ?? sstEsbuild).build(sstOptions(file, variant));
  const code = readFileSync(file);
  const map = `${file}.map`;
  return {
    name,
    file,
    bytes: code.length,
    gzip: gzipSync(code).length,
    mapBytes: existsSync(map) ? statSync(map).size : 0,
    metafile: result.metafile!,
  };
}

/** Builds through SST itself (app.finish() in test mode) and returns its artifact. */
async function sstArtifact(): Promise<string> {
  process.env.NODE_ENV = "test"; // SST's test mode: no bootstrap look-up, no AWS call
  const dir = join(tmpdir(), `popwatch-bench-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, "config.json");
  writeFileSync(
    configFile,
    JSON.stringify({ regions: ["us-east-1"], targets: [{ name: "t", address: "192.0.2.1", probes: { tcp: {} } }] }),
  );
  process.env.POPWATCH_CONFIG = configFile;
  const { initProject, useProject } = await import("sst/project.js");
  const { App } = await import("sst/constructs");
  const { loadPopwatchConfig } = await import("../stacks/config");
  const { addPopwatchStacks } = await import("../stacks/index");
  await initProject({ stage: "bench", region: "us-east-1" });
  const app = new App({ mode: "deploy", stage: "bench", name: "popwatch", region: "us-east-1", account: "123456789012" });
  const { probe } = await addPopwatchStacks(app, (await loadPopwatchConfig(ROOT)).config);
  await app.finish();
  rmSync(dir, { recursive: true, force: true });
  return join(useProject().paths.artifacts, probe!.node.findChild("Probe").node.addr, "functions", "probe.mjs");
}

function topInputs(metafile: Metafile, n: number): [string, number][] {
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined)!;
  const byPackage = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    const key = match ? match[1]! : input.startsWith("packages/") ? input.split("/").slice(0, 2).join("/") : input;
    byPackage.set(key, (byPackage.get(key) ?? 0) + bytesInOutput);
  }
  return [...byPackage.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
}

/** Import time of `specifier` (or another figure, `report`) in a fresh node, `runs` times. */
function importTimes(specifier: string, runs: number, nodeArgs: string[] = [], report = "performance.now() - t0"): number[] {
  const script = `const t0 = performance.now(); await import(${JSON.stringify(specifier)}); process.stdout.write(String(${report}));`;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, [...nodeArgs, "--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8" });
    times.push(Number(out));
  }
  return times;
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

const main = await bundle("deployed");
const runtimeSdk = await bundle("runtime-sdk", { external: ["@aws-sdk/*", "@smithy/*"] });
const unminified = await bundle("not-minified", { minify: false });
const repoBuild = await bundle(`esbuild-${repoEsbuild.version}`, { esbuild: repoEsbuild });
const viaSst = await sstArtifact();
const sameAsSst = readFileSync(viaSst).equals(readFileSync(main.file));

console.log(`node ${process.version}, ${process.arch}; SST's esbuild ${sstEsbuild.version}; runs ${RUNS}`);
console.log(`\n## size`);
console.log(`variant                     bundle      gzip      .map`);
for (const b of [main, runtimeSdk, unminified, repoBuild])
  console.log(`${b.name.padEnd(26)}  ${kb(b.bytes).padStart(10)}  ${kb(b.gzip).padStart(9)}  ${kb(b.mapBytes).padStart(9)}`);
console.log(`SST's own build (app.finish) vs "deployed": ${sameAsSst ? "byte-identical" : `DIFFERENT (${statSync(viaSst).size} bytes)`}`);
console.log(`\nlargest inputs of ${main.name}:`);
for (const [name, bytes] of topInputs(main.metafile, 12)) console.log(`  ${kb(bytes).padStart(9)}  ${name}`);

if (SIZE_ONLY) {
  console.log(`\nSIZE_ONLY=1: module init not measured; bundles under ${relative(ROOT, OUT)}/`);
  process.exit(0);
}

console.log(`\n## module init (fresh node per run, performance.now() around await import)`);
// The deployed bundle runs from a copy outside the repository: no node_modules to fall back on, as on Lambda.
const lambdaRoot = join(tmpdir(), `popwatch-lambda-${process.pid}`);
cpSync(join(OUT, main.name), lambdaRoot, { recursive: true });
const deployed = pathToFileURL(join(lambdaRoot, "functions", "probe.mjs")).href;
const emptyModule = join(OUT, "empty.mjs");
writeFileSync(emptyModule, "export {};\n");
const cases: [string, string, string[]][] = [
  ["empty module (anchor)", pathToFileURL(emptyModule).href, []],
  ["@aws-sdk/client-dynamodb from node_modules (anchor)", "@aws-sdk/client-dynamodb", []],
  ["undici from node_modules (anchor)", "undici", []],
  ["zod from node_modules (anchor)", "zod", []],
  ["deployed bundle", deployed, []],
  ["deployed bundle + --enable-source-maps", deployed, ["--enable-source-maps"]],
  ["SDK from node_modules (the runtime's SDK)", pathToFileURL(runtimeSdk.file).href, []],
  ["not minified", pathToFileURL(unminified.file).href, []],
];
// Interleaved (one sample of every case per pass) so load drift on the machine hits every case alike.
for (const [, specifier, args] of cases) importTimes(specifier, 2, args); // warm the file cache
const samples = cases.map(() => [] as number[]);
for (let run = 0; run < RUNS; run++) {
  for (const [i, [, specifier, args]] of cases.entries()) samples[i]!.push(...importTimes(specifier, 1, args));
}
console.log(
  `case                                                 p50 ms   p95 ms   (load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")})`,
);
cases.forEach(([name], i) => {
  console.log(`${name.padEnd(52)} ${fmt(percentile(samples[i]!, 50), 1).padStart(6)}   ${fmt(percentile(samples[i]!, 95), 1).padStart(6)}`);
});
const rss = importTimes(deployed, 5, [], "process.memoryUsage().rss / 1048576").sort((a, b) => a - b)[2]!;
const rssEmpty = importTimes(pathToFileURL(emptyModule).href, 5, [], "process.memoryUsage().rss / 1048576").sort((a, b) => a - b)[2]!;
console.log(`\nRSS after importing the deployed bundle: ${fmt(rss, 1)} MB (empty module: ${fmt(rssEmpty, 1)} MB)`);
rmSync(lambdaRoot, { recursive: true, force: true });
console.log(`\nbundles under ${relative(ROOT, OUT)}/`);
