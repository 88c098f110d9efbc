// Bundles the CLI into one ESM file so `npx popwatch` runs on plain Node
// (workspace packages export TypeScript sources).
import { build } from "esbuild";

await build({
  entryPoints: ["packages/cli/src/main.ts"],
  outfile: "packages/cli/dist/popwatch.mjs",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: true,
  logLevel: "warning",
  // CommonJS dependencies (dns-packet) call require() for Node built-ins.
  // dynalite loads its actions with dynamic require(), and esbuild (used to
  // load popwatch.config.ts) ships a native binary: neither survives bundling,
  // so both are dependencies of @popwatch/cli, resolved at run time.
  external: ["dynalite", "esbuild"],
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
});
