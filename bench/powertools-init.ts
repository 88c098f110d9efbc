// What Powertools for AWS Lambda (Metrics and Logger) costs the probe
// function's cold start: bytes in the bundle and module-init time.
//
// Peers in the same run, built with the stack's bundle options
// (stacks/settings.ts PROBE_BUNDLE) by the repository's esbuild:
//   with-powertools     functions/probe.ts as deployed (EMF via Powertools
//                       Metrics, logs via Powertools Logger)
//   without-powertools  the same function with the agent's two Powertools
//                       modules swapped at bundle time for the alternative:
//                       jsonLinesLogger and records written as plain JSON lines
//   powertools-alone    only the two Powertools packages, each constructed once
//   empty module        the anchor
// Each sample is a fresh `node` importing one bundle (the handler is not
// invoked; constructing the logger and publisher is part of the import, as in
// Lambda's init phase), interleaved so load drift hits every case alike, with
// wall time and the process's CPU time around `await import()`: on a loaded
// machine CPU time is the steadier of the two.
//
// Run: npx tsx bench/powertools-init.ts   [env: RUNS=40]
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type Metafile, type Plugin, build } from "esbuild";
import { PROBE_BUNDLE } from "../stacks/settings";
import { fmt, percentile } from "./support/stats";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const RUNS = Number(process.env.RUNS ?? "40");
const OUT = join(ROOT, ".sst", "bench", "powertools");
const AGENT_SRC = join(ROOT, "packages", "agent", "src");

/** The alternative to Powertools, swapped in for the agent's two modules that use it. */
const withoutPowertools: Plugin = {
  name: "without-powertools",
  setup(b) {
    b.onLoad({ filter: /[\\/]packages[\\/]agent[\\/]src[\\/]powertools-logger\.ts$/ }, () => ({
      loader: "ts",
      resolveDir: AGENT_SRC,
      contents: `export { jsonLinesLogger as powertoolsLogger } from "./logger";`,
    }));
    b.onLoad({ filter: /[\\/]packages[\\/]agent[\\/]src[\\/]cloudwatch-emf\.ts$/ }, () => ({
      loader: "ts",
      resolveDir: AGENT_SRC,
      contents: [
        `export function powertoolsEmfPublisher(options: { write?: (line: string) => void } = {}) {`,
        `  const write = options.write ?? ((line: string) => void process.stdout.write(line));`,
        `  return { publish(records: readonly unknown[]) { for (const r of records) write(JSON.stringify(r) + "\\n"); } };`,
        `}`,
      ].join("\n"),
    }));
  },
};

async function bundle(name: string, entry: { file: string } | { contents: string }, plugins: Plugin[] = []) {
  const outfile = join(OUT, name, "index.mjs");
  const result = await build({
    ...("file" in entry ? { entryPoints: [entry.file] } : { stdin: { contents: entry.contents, resolveDir: ROOT, loader: "ts" } }),
    outfile,
    bundle: true,
    platform: "node",
    format: PROBE_BUNDLE.format,
    target: PROBE_BUNDLE.target,
    minify: PROBE_BUNDLE.minify,
    external: [...PROBE_BUNDLE.external],
    keepNames: true,
    mainFields: ["module", "main"],
    banner: {
      js: "import { createRequire as topLevelCreateRequire } from 'module';const require = topLevelCreateRequire(import.meta.url);",
    },
    metafile: true,
    logLevel: "silent",
    plugins,
  });
  return { name, file: outfile, bytes: statSync(outfile).size, metafile: result.metafile as Metafile };
}

function powertoolsBytes(metafile: Metafile): number {
  let bytes = 0;
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs))
      if (input.includes("@aws-lambda-powertools")) bytes += bytesInOutput;
  }
  return bytes;
}

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const probe = join(ROOT, "functions", "probe.ts");
const cases = [
  await bundle("with-powertools", { file: probe }),
  await bundle("without-powertools", { file: probe }, [withoutPowertools]),
  await bundle("powertools-alone", {
    contents: [
      `import { Metrics } from "@aws-lambda-powertools/metrics";`,
      `import { Logger } from "@aws-lambda-powertools/logger";`,
      `(globalThis as Record<string, unknown>).kept = [new Metrics({ namespace: "popwatch" }), new Logger()];`,
    ].join("\n"),
  }),
];
// Run from a copy outside the repository: no node_modules to fall back on, as on Lambda.
const lambdaRoot = join(tmpdir(), `popwatch-powertools-${process.pid}`);
cpSync(OUT, lambdaRoot, { recursive: true });
writeFileSync(join(lambdaRoot, "empty.mjs"), "export {};\n");
const specifiers = [
  ["empty module (anchor)", pathToFileURL(join(lambdaRoot, "empty.mjs")).href],
  ...cases.map((c) => [c.name, pathToFileURL(join(lambdaRoot, c.name, "index.mjs")).href]),
] as const;

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
console.log(`node ${process.version}, ${process.arch}; runs ${RUNS}\n`);
console.log(`bundle               size        of which Powertools`);
for (const c of cases) console.log(`${c.name.padEnd(20)} ${kb(c.bytes).padStart(10)}  ${kb(powertoolsBytes(c.metafile)).padStart(10)}`);

/** [wall ms, CPU ms] of one fresh node importing the module. */
function sample(specifier: string): [number, number] {
  const code = `const c0 = process.cpuUsage(); const t0 = performance.now(); await import(${JSON.stringify(specifier)}); const t = performance.now() - t0; const c = process.cpuUsage(c0); console.log(t, (c.user + c.system) / 1000);`;
  const [wall, cpu] = execFileSync(process.execPath, ["--input-type=module", "-e", code], { env: { PATH: process.env.PATH ?? "" } })
    .toString()
    .trim()
    .split(" ")
    .map(Number);
  return [wall!, cpu!];
}

for (const [, specifier] of specifiers) sample(specifier); // warm the file cache
const walls = specifiers.map(() => [] as number[]);
const cpus = specifiers.map(() => [] as number[]);
for (let run = 0; run < RUNS; run++) {
  specifiers.forEach(([, specifier], i) => {
    const [wall, cpu] = sample(specifier);
    walls[i]!.push(wall);
    cpus[i]!.push(cpu);
  });
}
console.log(
  `\nmodule init   (load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")})`,
);
console.log(`case                     wall p50   wall p95    CPU p50    CPU p95   (ms)`);
specifiers.forEach(([name], i) => {
  const cells = [percentile(walls[i]!, 50), percentile(walls[i]!, 95), percentile(cpus[i]!, 50), percentile(cpus[i]!, 95)];
  console.log(`${name.padEnd(22)} ${cells.map((v) => fmt(v, 1).padStart(9)).join("  ")}`);
});
const at = (name: string) => specifiers.findIndex(([n]) => n === name);
const ratio = (a: number[], b: number[]) => fmt(percentile(a, 50) / percentile(b, 50), 2);
console.log(
  `\nwith / without Powertools, p50: wall ${ratio(walls[at("with-powertools")]!, walls[at("without-powertools")]!)}, ` +
    `CPU ${ratio(cpus[at("with-powertools")]!, cpus[at("without-powertools")]!)}`,
);
rmSync(lambdaRoot, { recursive: true, force: true });
