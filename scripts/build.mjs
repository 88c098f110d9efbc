// Bundles the CLI into one ESM file so `npx popwatch` runs on plain Node
// (workspace packages export TypeScript sources).
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { build } from "esbuild";

// The HTML report inlines uPlot. In the bundle its files are text read here,
// in place of the module that reads them from node_modules when run from source.
const UPLOT_ASSETS_MODULE = /[\\/]packages[\\/]cli[\\/]src[\\/]output[\\/]uplot-assets\.ts$/;
let uplotEmbedded = false;
const embedUplot = {
  name: "embed-uplot",
  setup(builder) {
    builder.onLoad({ filter: UPLOT_ASSETS_MODULE }, async () => {
      // uplot is a dependency of @popwatch/cli: resolve it from there.
      const resolve = createRequire(new URL("../packages/cli/package.json", import.meta.url)).resolve;
      const read = (file) => readFile(resolve(`uplot/${file}`), "utf8");
      const assets = {
        version: JSON.parse(await read("package.json")).version,
        script: await read("dist/uPlot.iife.min.js"),
        stylesheet: await read("dist/uPlot.min.css"),
        license: await read("LICENSE"),
      };
      uplotEmbedded = true;
      return { loader: "js", contents: `const ASSETS = ${JSON.stringify(assets)};\nexport function uplotAssets() { return ASSETS; }\n` };
    });
  },
};

await build({
  entryPoints: ["packages/cli/src/main.ts"],
  outfile: "packages/cli/dist/popwatch.mjs",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: true,
  // A third less to parse at every start (bgp decode's figure against bgpdump
  // includes it); names stay. Stacks map back to the sources through the map
  // with NODE_OPTIONS=--enable-source-maps, which the internal-error message says.
  minifyWhitespace: true,
  logLevel: "warning",
  // CommonJS dependencies (dns-packet) call require() for Node built-ins.
  // dynalite loads its actions with dynamic require(), and esbuild (used to
  // load popwatch.config.ts) ships a native binary: neither survives bundling,
  // so both are dependencies of @popwatch/cli, resolved at run time.
  external: ["dynalite", "esbuild"],
  plugins: [embedUplot],
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
});

// A renamed module would be bundled as it is, and read node_modules at run time.
if (!uplotEmbedded) throw new Error("build: packages/cli/src/output/uplot-assets.ts was not bundled, so uPlot is not embedded (renamed?)");
