// uPlot (MIT), the charting library the HTML report inlines. The CLI bundle
// must not depend on node_modules at run time for it, so scripts/build.mjs
// replaces this module with one holding the files' text, read at build time.
// Run from source (tests, tsx), it reads the installed package instead.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

export interface UplotAssets {
  version: string;
  /** dist/uPlot.iife.min.js: defines the global uPlot. */
  script: string;
  /** dist/uPlot.min.css */
  stylesheet: string;
  license: string;
}

export function uplotAssets(): UplotAssets {
  const resolve = createRequire(import.meta.url).resolve;
  const read = (file: string) => readFileSync(resolve(`uplot/${file}`), "utf8");
  return {
    version: (JSON.parse(read("package.json")) as { version: string }).version,
    script: read("dist/uPlot.iife.min.js"),
    stylesheet: read("dist/uPlot.min.css"),
    license: read("LICENSE"),
  };
}
