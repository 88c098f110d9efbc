// `popwatch bgp state`: each watched prefix as the stored routing snapshot
// has it now, judged by core (visibility, origins, upstreams, findings).
import { readFile } from "node:fs/promises";
import { type BgpConfig, VrpFileError, type VrpIndex, loadVrpIndex, routingAssessment } from "@popwatch/core";
import { ConfigFileError, reportConfigProblem } from "../config-file";
import type { Io } from "../io";
import type { OpenStore } from "../local-store";
import { type BgpStateEntry, bgpStateJson, formatBgpState } from "../output/bgp-state";
import { STORE_FLAGS_USAGE, STORE_FLAG_OPTIONS, openChosenStore, reportStoreFailure, storeChoice } from "../store-flags";
import { parseFlags } from "./args";
import { type LoadedBgpConfig, loadBgpConfig } from "./bgp-config";
import type { BgpReadDeps } from "./bgp-events";

export const BGP_STATE_USAGE = `Usage: popwatch bgp state [--config FILE] [--json] [--data-dir DIR | --table NAME [--aws-region R] [--endpoint URL]]

Each watched prefix (config bgp.prefixes) as BGP sees it now, from the routing
snapshot the imports and live feeds keep: visibility (peers that see the
prefix / peers that report), the origin ASes seen (and by how many peers),
the ASes seen next to the origin (upstreams), and every finding, each naming
the AS numbers and prefixes involved and the peers that saw it:
  origin hijack         a route to the prefix or a more-specific from an origin not in origins
  sub-prefix hijack     a more-specific longer than maxLength (default the prefix's length)
  unexpected upstream   the AS next to an expected origin is not in upstreams (when configured)
  low visibility        fewer than bgp.minVisibility of the reporting peers see the prefix
  RPKI invalid          the route is invalid against bgp.rpki.vrpFile (when configured)
Route findings need bgp.minPeers peers that saw them (default 3; 1 for a single lab router).

Options:
  --config FILE         configuration with a bgp section (default: popwatch.config.{ts,mjs,js,json} here)
  --json                one JSON document: { generatedAt, prefixes: [{ prefix, asOf, expected, visibility, origins, upstreams, findings }] }
${STORE_FLAGS_USAGE}
  -h, --help            this help

Exit status: 0 shown (with or without findings), 1 store error, 2 usage or configuration error.
`;

const OPTIONS = {
  config: { type: "string" },
  json: { type: "boolean" },
  ...STORE_FLAG_OPTIONS,
  help: { type: "boolean", short: "h" },
} as const;

export async function bgpStateCommand(argv: string[], io: Io, deps: BgpReadDeps = {}): Promise<number> {
  const { values } = parseFlags(argv, OPTIONS);
  if (values.help) {
    io.stdout.write(BGP_STATE_USAGE);
    return 0;
  }
  let loaded: LoadedBgpConfig;
  let vrps: VrpIndex | undefined;
  try {
    loaded = await loadBgpConfig(values.config);
    vrps = await loadVrps(loaded.bgp, loaded.file);
  } catch (err) {
    return reportConfigProblem("bgp state", err, io);
  }
  const choice = storeChoice(values, loaded.config.store);
  const { bgp } = loaded;

  let opened: OpenStore;
  try {
    opened = await openChosenStore(choice);
  } catch (err) {
    return reportStoreFailure(io, "bgp state", err);
  }
  try {
    const options = { minVisibility: bgp.minVisibility, minPeers: bgp.minPeers, ...(vrps !== undefined ? { vrps } : {}) };
    const entries: BgpStateEntry[] = [];
    for (const watched of bgp.prefixes) {
      entries.push({ watched, assessment: routingAssessment(await opened.routing.getSnapshot(watched.prefix), watched, options) });
    }
    io.stdout.write(values.json ? bgpStateJson(entries, (deps.now ?? Date.now)()) : formatBgpState(entries));
    return 0;
  } catch (err) {
    return reportStoreFailure(io, "bgp state", err);
  } finally {
    await opened.close();
  }
}

/** The VRPs of bgp.rpki.vrpFile, indexed; a file that cannot be read or parsed is a configuration problem. */
async function loadVrps(bgp: BgpConfig, configFile: string): Promise<VrpIndex | undefined> {
  const vrpFile = bgp.rpki?.vrpFile;
  if (vrpFile === undefined) return undefined;
  let text: string;
  try {
    text = await readFile(vrpFile, "utf8");
  } catch (err) {
    throw new ConfigFileError(
      configFile,
      `bgp.rpki.vrpFile: cannot read ${vrpFile} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      {
        cause: err,
      },
    );
  }
  try {
    return loadVrpIndex(text);
  } catch (err) {
    if (err instanceof VrpFileError) throw new ConfigFileError(configFile, `bgp.rpki.vrpFile: ${vrpFile}: ${err.message}`, { cause: err });
    throw err;
  }
}
