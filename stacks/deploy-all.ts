// Deploys (or removes) popwatch in every region of the config, one
// `sst deploy --region <r>` after another. SST v2 sends every stack of a run
// to one region's CloudFormation (the app's `--region`), so a multi-region app
// is one run per region (stacks/README.md).
//
//   npx tsx stacks/deploy-all.ts --stage prod            # home region first, then each probe region
//   npx tsx stacks/deploy-all.ts --stage prod --remove   # probe regions first, home region (the table) last
//   npx tsx stacks/deploy-all.ts --stage prod --dry-run  # print the commands only
//
// Runs are sequential: SST keeps its build output in one .sst/ directory per
// checkout, so parallel runs would overwrite each other's artifacts.
// Any other option is passed on to `sst` (e.g. --profile).
import { spawnSync } from "node:child_process";
import { findProjectRoot, loadPopwatchConfig } from "./config";
import { deployRegions } from "./settings";

// Our three options; everything else goes to sst verbatim.
let stage: string | undefined;
let remove = false;
let dryRun = false;
const passThrough: string[] = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i]!;
  if (arg === "--stage") stage = argv[++i];
  else if (arg.startsWith("--stage=")) stage = arg.slice("--stage=".length);
  else if (arg === "--remove") remove = true;
  else if (arg === "--dry-run") dryRun = true;
  else if (arg === "--region" || arg.startsWith("--region=")) {
    console.error("popwatch: --region is set per run from the config; edit regions/homeRegion instead");
    process.exit(2);
  } else passThrough.push(arg);
}
if (!stage) {
  console.error("usage: npx tsx stacks/deploy-all.ts --stage <stage> [--remove] [--dry-run] [sst options]");
  process.exit(2);
}

const root = findProjectRoot();
const { config, source } = await loadPopwatchConfig(root);
const regions = remove ? deployRegions(config).reverse() : deployRegions(config);
const command = remove ? "remove" : "deploy";
console.log(`popwatch: ${command} stage ${stage} from ${source}: ${regions.join(" → ")} (home ${config.homeRegion})`);

for (const region of regions) {
  const args = ["sst", command, "--stage", stage, "--region", region, ...passThrough];
  console.log(`\n$ npx ${args.join(" ")}`);
  if (dryRun) continue;
  const run = spawnSync("npx", args, { cwd: root, stdio: "inherit" });
  if (run.status !== 0) {
    console.error(
      `popwatch: ${command} failed in ${region} (exit ${run.status ?? run.signal}); regions not done: ${regions.slice(regions.indexOf(region) + 1).join(", ") || "none"}`,
    );
    process.exit(run.status ?? 1);
  }
}
