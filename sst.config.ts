import type { SSTConfig } from "sst";
import { findProjectRoot, loadPopwatchConfig } from "./stacks/config";
import { addPopwatchStacks, deployRegions } from "./stacks/index";

// SST v2 app. The popwatch config (popwatch.config.ts at the root, or
// POPWATCH_CONFIG=<file.json>) decides the regions: the home region holds the
// results table and the SLO evaluator (with its alert bus), every configured
// region runs the scheduled probe function.
// SST v2 deploys one region per run (`--region`, default the home region);
// `npx tsx stacks/deploy-all.ts --stage <stage>` deploys them all
// (stacks/README.md).
export default {
  async config(globals) {
    const { config } = await loadPopwatchConfig(globals.root ?? findProjectRoot());
    return { name: "popwatch", region: globals.region ?? config.homeRegion };
  },
  async stacks(app) {
    const { config, source } = await loadPopwatchConfig(findProjectRoot());
    const { storage, probe, evaluate } = await addPopwatchStacks(app, config);
    if (process.env.NODE_ENV !== "test") {
      const others = deployRegions(config).filter((r) => r !== app.region);
      const parts = [storage ? "results table" : null, evaluate ? "SLO evaluator + alert bus" : null, probe ? "probe function" : null]
        .filter(Boolean)
        .join(" + ");
      console.log(
        `popwatch: ${source}: ${app.region} gets the ${parts}` +
          (others.length ? `; other regions: ${others.join(", ")} (stacks/deploy-all.ts deploys all)` : ""),
      );
    }
  },
} satisfies SSTConfig;
