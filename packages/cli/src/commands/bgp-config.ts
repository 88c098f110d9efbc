// The configuration every `popwatch bgp` command but `decode` needs: the
// whole config (retention) and its `bgp` section (the watched prefixes).
import type { BgpConfig, PopwatchConfig } from "@popwatch/core";
import { ConfigFileError, loadConfig } from "../config-file";

export interface LoadedBgpConfig {
  config: PopwatchConfig;
  bgp: BgpConfig;
  file: string;
}

/** Loads the config; one without a `bgp` section is a config error (exit 2), named as such. */
export async function loadBgpConfig(explicit: string | undefined): Promise<LoadedBgpConfig> {
  const { config, file } = await loadConfig(explicit);
  if (config.bgp === undefined) {
    throw new ConfigFileError(
      file,
      'has no "bgp" section: the bgp commands need the prefixes to watch, e.g. bgp: { prefixes: [{ prefix: "198.51.100.0/24", origins: [64500] }] }',
    );
  }
  return { config, bgp: config.bgp, file };
}

export function watchedPrefixes(bgp: BgpConfig): string[] {
  return bgp.prefixes.map((watched) => watched.prefix);
}
