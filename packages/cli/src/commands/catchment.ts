// `popwatch catchment`: which PoPs answer each region, in what shares, and
// when the dominant PoP changed. Reads rollups, not raw results, through the
// read model, so a month costs a few queries per region.
import { readVantages, storeRetention } from "@popwatch/agent";
import {
  type BgpConfig,
  CATCHMENT_GROUP_BYS,
  type Catchment,
  type CatchmentGroupBy,
  PROBE_KINDS,
  type PopwatchConfig,
  ROLLUP_GRANULARITIES,
  type RollupGranularity,
  type Vantage,
  analyzeFailovers,
  catchment,
  catchmentSpan,
  createPopCatalogue,
  groupCatchments,
} from "@popwatch/core";
import { readRollups } from "@popwatch/store";
import { loadConfig, reportConfigProblem } from "../config-file";
import { UsageError } from "../errors";
import type { Io } from "../io";
import type { OpenStore } from "../local-store";
import { CATCHMENT_FORMATS, type CatchmentFormat, renderCatchment, renderCatchmentGroups } from "../output/catchment-render";
import { rangeText, readRange } from "../read-range";
import { type TargetRegionM2, m2PerTargetRegion, targetRegionKey } from "../report/routing";
import { STORE_FLAGS_USAGE, STORE_FLAG_OPTIONS, openChosenStore, reportStoreFailure, storeChoice } from "../store-flags";
import { parseWhen } from "../time-flags";
import { parseFlags } from "./args";

export const CATCHMENT_USAGE = `Usage: popwatch catchment [--since WHEN] [--until WHEN] [--target T] [--region R] [--kind K]
                          [--bucket minute|hour|day] [--group-by vantage|country|asn]
                          [--format table|json|csv | --json] [--config FILE]
                          [--data-dir DIR | --table NAME [--aws-region R] [--endpoint URL]]

Which PoPs answered each region, in what shares, and when the dominant PoP
(the one answering most probes in a bucket) changed. Read from the stored
rollups: hour rollups (minutes for the partial hours at either end and for
hours not compacted yet), or minute rollups with --bucket minute.

Options:
  --since WHEN          start: a duration back from now (30m, 24h, 7d) or an ISO 8601 time (default 24h)
  --until WHEN          end (exclusive), same forms (default now)
  --target T            only this target name
  --region R            only this region or vantage
  --kind K              only this kind: ${PROBE_KINDS.join(", ")} (default: all kinds of a target together)
  --bucket G            period the dominant PoP is judged over: minute, hour or day (default hour)
  --group-by G          vantage (default): one row per region or vantage; country or asn: one row per
                        country or AS of the registered vantages (those not registered, or registered
                        without one, in the group "unknown"), counts summed, each vantage's shares averaged
                        (no dominant-PoP changes or M2 per group)
  --format F            table (default): per target, region × PoP shares, * marks the dominant PoP
                        json: one object per line per (target, region): shares, dominant, changes, counts
                        csv: one row per (target, region, PoP)
  --json                same as --format json
  --config FILE         name PoPs by place from popCatalogue (built-in airport codes otherwise); with a bgp
                        section, also route convergence M2 per target and region (first BGP change of the
                        burst to the first answer from the new PoP), from the window's raw results and
                        BGP events (json: an m2 object per line; csv: m2_* columns)
${STORE_FLAGS_USAGE}
  -h, --help            this help

Exit status: 0 listed (also when nothing matched), 1 store error, 2 usage or configuration error.
`;

const OPTIONS = {
  since: { type: "string" },
  until: { type: "string" },
  target: { type: "string" },
  region: { type: "string" },
  kind: { type: "string" },
  bucket: { type: "string" },
  "group-by": { type: "string" },
  format: { type: "string" },
  json: { type: "boolean" },
  config: { type: "string" },
  ...STORE_FLAG_OPTIONS,
  help: { type: "boolean", short: "h" },
} as const;

export interface CatchmentDeps {
  now?: () => number;
}

export async function catchmentCommand(argv: string[], io: Io, deps: CatchmentDeps = {}): Promise<number> {
  const { values } = parseFlags(argv, OPTIONS);
  if (values.help) {
    io.stdout.write(CATCHMENT_USAGE);
    return 0;
  }
  const nowMs = (deps.now ?? Date.now)();
  const sinceText = values.since ?? "24h";
  const since = parseWhen("since", sinceText, nowMs);
  const until = values.until === undefined ? nowMs : parseWhen("until", values.until, nowMs);
  if (until <= since) throw new UsageError("--until must be later than --since");
  const kind = values.kind;
  if (kind !== undefined && !(PROBE_KINDS as readonly string[]).includes(kind)) {
    throw new UsageError(`--kind: expected one of ${PROBE_KINDS.join(", ")}, got "${kind}"`);
  }
  const bucket = values.bucket ?? "hour";
  if (!(ROLLUP_GRANULARITIES as readonly string[]).includes(bucket)) {
    throw new UsageError(`--bucket: expected one of ${ROLLUP_GRANULARITIES.join(", ")}, got "${bucket}"`);
  }
  const groupBy = values["group-by"] ?? "vantage";
  if (!(CATCHMENT_GROUP_BYS as readonly string[]).includes(groupBy)) {
    throw new UsageError(`--group-by: expected one of ${CATCHMENT_GROUP_BYS.join(", ")}, got "${groupBy}"`);
  }
  if (values.json && values.format !== undefined && values.format !== "json")
    throw new UsageError("--json and --format exclude each other");
  const format = values.json ? "json" : (values.format ?? "table");
  if (!(CATCHMENT_FORMATS as readonly string[]).includes(format))
    throw new UsageError(`--format: expected one of ${CATCHMENT_FORMATS.join(", ")}, got "${format}"`);
  let catalogue = createPopCatalogue();
  let config: PopwatchConfig | null = null;
  if (values.config !== undefined) {
    try {
      ({ config } = await loadConfig(values.config));
      catalogue = createPopCatalogue(config.popCatalogue);
    } catch (err) {
      return reportConfigProblem("catchment", err, io);
    }
  }
  const choice = storeChoice(values, config?.store);
  const retention = config === null ? undefined : storeRetention(config);

  let opened: OpenStore;
  try {
    opened = await openChosenStore(choice, retention);
  } catch (err) {
    return reportStoreFailure(io, "catchment", err);
  }
  let entries: Catchment[];
  let vantages: Vantage[] = [];
  let m2: Map<string, TargetRegionM2> | null = null;
  // An hour or day bucket reads hours (catchmentSpan), so the hour rollups' retention bounds it; a minute bucket, the minutes'.
  const requested = catchmentSpan(since, until, bucket as RollupGranularity);
  const read = readRange(io, {
    command: "catchment",
    asked: `--since ${sinceText}`,
    kind: requested.finest,
    fromMs: since,
    toMs: until,
    nowMs,
    ...(retention === undefined ? {} : { retention }),
  });
  try {
    const regions = (await opened.store.listRegions()).filter((region) => values.region === undefined || region === values.region);
    const span = catchmentSpan(read.fromMs, read.toMs, bucket as RollupGranularity);
    const { view } = await readRollups(opened.store, regions, { spans: [span] });
    const rollups = regions
      .flatMap((region) => view.span(region, span))
      .filter((r) => (values.target === undefined || r.target === values.target) && (kind === undefined || r.kind === kind));
    entries = catchment(rollups, { window: { from: read.fromMs, to: read.toMs }, bucket: bucket as RollupGranularity });
    if (groupBy !== "vantage") vantages = await readVantages(opened.store, config ?? {});
    if (config?.bgp !== undefined) m2 = await readM2(opened, config, config.bgp, { since, until, region: values.region });
  } catch (err) {
    return reportStoreFailure(io, "catchment", err);
  } finally {
    await opened.close();
  }

  if (entries.length === 0) {
    io.stderr.write(`popwatch catchment: no rollups from ${rangeText(read)} in ${opened.where}\n`);
    return 0;
  }
  if (groupBy !== "vantage") {
    const by = groupBy as CatchmentGroupBy;
    io.stdout.write(renderCatchmentGroups(format as CatchmentFormat, groupCatchments(entries, vantages, by), by, catalogue));
    return 0;
  }
  const m2Of = m2 === null ? undefined : (target: string, region: string) => m2.get(targetRegionKey(target, region));
  io.stdout.write(renderCatchment(format as CatchmentFormat, entries, catalogue, m2Of));
  return 0;
}

/**
 * With a `bgp` config: M2 per (target, region), from the failovers in the raw
 * results of the window and the watched prefixes' BGP events (from a
 * correlation window before it).
 */
async function readM2(
  opened: OpenStore,
  config: PopwatchConfig,
  bgp: BgpConfig,
  window: { since: number; until: number; region: string | undefined },
): Promise<Map<string, TargetRegionM2>> {
  const results = await opened.store.queryResults({
    since: window.since,
    until: window.until,
    ...(window.region === undefined ? {} : { region: window.region }),
  });
  const { failovers } = analyzeFailovers(results, {
    minStableSamples: config.analytics.failoverMinStableSamples,
    window: { from: window.since, to: window.until },
  });
  const bgpEvents = await opened.routing.queryEvents({
    prefixes: bgp.prefixes.map((p) => p.prefix),
    fromMs: window.since - bgp.correlationWindowSeconds * 1000,
    toMs: window.until,
  });
  return m2PerTargetRegion({ bgp, targets: config.targets, bgpEvents, failovers });
}
