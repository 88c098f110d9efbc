#!/usr/bin/env node
// The CLI is bundled into dist/ by `npm run build` (npm ci runs it via prepare).
import { existsSync } from "node:fs";

const bundle = new URL("../dist/popwatch.mjs", import.meta.url);
if (!existsSync(bundle)) {
  process.stderr.write("popwatch: the CLI is not built yet; run `npm run build` in the repository root\n");
  process.exit(2);
}
// The AWS SDK warns on every start under Node 20 that its releases after
// January 2027 need Node 22. popwatch pins its SDK in package-lock.json and
// supports Node 20 and 22; the README says so once, instead of every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
// A reader that stops early (`popwatch bgp decode FILE | head`) closes the
// pipe: that ends the output, as it ends bgpdump's, and is no error.
process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw err;
});
const { main } = await import(bundle.href);
process.exitCode = await main(process.argv.slice(2));
