#!/usr/bin/env node
// The CLI is bundled into dist/ by `npm run build` (npm ci runs it via prepare).
import { existsSync } from "node:fs";

const bundle = new URL("../dist/popwatch.mjs", import.meta.url);
if (!existsSync(bundle)) {
  process.stderr.write("popwatch: the CLI is not built yet; run `npm run build` in the repository root\n");
  process.exit(2);
}
const { main } = await import(bundle.href);
process.exitCode = await main(process.argv.slice(2));
