// Which stacks one `sst deploy` creates. SST v2 deploys every stack of an app
// into the app's region (its CloudFormation client is bound to
// `--region`/config.region; see stacks/README.md), so a deploy covers one
// region: the home region gets StorageStack and EvaluateStack (and BgpStack
// when the config has a `bgp` section), every configured region gets ProbeStack. stacks/deploy-all.ts runs one deploy per
// region.

import type { PopwatchConfig } from "@popwatch/core";
import { type App, type Stack, getStack } from "sst/constructs";
import { useProject } from "sst/project.js";
import { type BgpStackProps, bgpStack } from "./BgpStack";
import { writeBundledConfig } from "./config";
import { type EvaluateStackProps, evaluateStack } from "./EvaluateStack";
import { type ProbeStackProps, probeStack } from "./ProbeStack";
import { StorageStack } from "./StorageStack";
import { deployRegions } from "./settings";

export { deployRegions };

export interface PopwatchStacks {
  region: string;
  /** Present in the home region. */
  storage?: Stack;
  /** Present in every configured region. */
  probe?: Stack;
  /** The SLO evaluator and the alert bus; present in the home region. */
  evaluate?: Stack;
  /** The BGP archive reader; present in the home region when the config has a `bgp` section. */
  bgp?: Stack;
}

export interface PopwatchStacksOptions {
  /** Handler override (tests use a fixture); default functions/probe.handler. */
  handler?: string;
  /** Evaluator handler override (tests use a fixture); default functions/evaluate.handler. */
  evaluateHandler?: string;
  /** BGP reader handler override (tests use a fixture); default functions/bgp.handler. */
  bgpHandler?: string;
  /** Repository root; default the SST project root. */
  root?: string;
}

/** Adds this region's stacks to the app. Throws when the app's region is not part of the config. */
export async function addPopwatchStacks(app: App, config: PopwatchConfig, options: PopwatchStacksOptions = {}): Promise<PopwatchStacks> {
  const region = app.region;
  const isHome = region === config.homeRegion;
  const isProbe = config.regions.includes(region);
  if (!isHome && !isProbe) {
    throw new Error(
      `popwatch: region ${region} is neither the home region (${config.homeRegion}) nor one of the probe regions (${config.regions.join(", ")}); ` +
        `deploy with --region set to one of ${deployRegions(config).join(", ")}`,
    );
  }
  const result: PopwatchStacks = { region };
  if (isHome) {
    app.stack(StorageStack, { id: "storage" });
    result.storage = getStack(StorageStack);
  }
  if (isProbe) {
    const root = options.root ?? useProject().paths.root;
    const props: ProbeStackProps = { config, configFile: await writeBundledConfig(config, root) };
    if (options.handler !== undefined) props.handler = options.handler;
    const ProbeStack = probeStack(props);
    app.stack(ProbeStack, { id: "probe" });
    result.probe = getStack(ProbeStack);
    // Same region: create the table before the first probe writes to it.
    if (result.storage) result.probe.addDependency(result.storage);
  }
  if (isHome) {
    const root = options.root ?? useProject().paths.root;
    const props: EvaluateStackProps = { config, configFile: await writeBundledConfig(config, root) };
    if (options.evaluateHandler !== undefined) props.handler = options.evaluateHandler;
    const EvaluateStack = evaluateStack(props);
    app.stack(EvaluateStack, { id: "evaluate" });
    result.evaluate = getStack(EvaluateStack);
    // The evaluator reads and writes the table from its first run.
    if (result.storage) result.evaluate.addDependency(result.storage);
  }
  if (isHome && config.bgp !== undefined) {
    const root = options.root ?? useProject().paths.root;
    const props: BgpStackProps = { config, configFile: await writeBundledConfig(config, root) };
    if (options.bgpHandler !== undefined) props.handler = options.bgpHandler;
    const BgpStack = bgpStack(props);
    app.stack(BgpStack, { id: "bgp" });
    result.bgp = getStack(BgpStack);
    // Its first run writes events and advances cursors in the table.
    if (result.storage) result.bgp.addDependency(result.storage);
  }
  return result;
}
