// Runs a benchmark as production runs popwatch: bundled by esbuild into one
// ESM file (as the CLI and the Lambda are), not through a TypeScript loader.
//   node bench/run.mjs dns-throughput [args...]
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";

const [name, ...args] = process.argv.slice(2);
if (!name) {
  process.stderr.write("usage: node bench/run.mjs <benchmark> [args...]   (e.g. dns-throughput, timing-accuracy)\n");
  process.exit(2);
}
const outdir = join("bench", ".out");
mkdirSync(outdir, { recursive: true });
const outfile = join(outdir, `${name}.mjs`);
await build({
  entryPoints: [join("bench", `${name}.ts`)],
  outfile,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  logLevel: "warning",
  external: ["dynalite", "esbuild"],
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
});
const { status } = spawnSync(process.execPath, [outfile, ...args], { stdio: "inherit" });
process.exit(status ?? 1);
