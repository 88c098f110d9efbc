// `popwatch evaluate`: one evaluation, as the evaluate function runs every
// minute on AWS, over every region the store holds (those `popwatch run`
// wrote and those `popwatch import` loaded), so a team can try the whole
// alert path locally: import → evaluate → alerts.
import {
  type EvaluationSummary,
  evaluationEndMs,
  rollupLagMinutes,
  runEvaluationCycle,
  sloReadRanges,
  storeRetention,
  summariseEvaluation,
} from "@popwatch/agent";
import type { PopwatchConfig, RollupGranularity } from "@popwatch/core";
import { createSinks } from "@popwatch/notify";
import { openStore } from "@popwatch/store";
import { loadConfig, reportConfigProblem } from "../config-file";
import { UsageError } from "../errors";
import type { Io } from "../io";
import type { OpenStore } from "../local-store";
import { renderEvaluationSummary } from "../output/evaluation-summary";
import { readRange } from "../read-range";
import { STORE_FLAGS_USAGE, STORE_FLAG_OPTIONS, openChosenStore, reportStoreFailure, storeChoice, storeRegions } from "../store-flags";
import { parseWhen } from "../time-flags";
import { parseFlags } from "./args";

export const EVALUATE_USAGE = `Usage: popwatch evaluate [--config FILE] [--at WHEN] [--json] [--data-dir DIR | --table NAME [--aws-region R] [--endpoint URL]]

One evaluation, as the evaluate function runs every minute on AWS: every
configured SLO per region and pooled (burn rates over the alert windows from
the stored rollups), the anycast conditions (catchment shift, flapping,
detour) and, with a bgp section, the routing findings of each watched prefix
(origin and sub-prefix hijack, low visibility, unexpected upstream, RPKI
invalid), then the alert lifecycle (states and outbox in the same store) and
delivery of what changed to alerting.sinks (default stdout: one JSON line per
notification). Regions: every region the embedded store holds results for,
imported ones included; the config's regions with --table. Evaluating again
for the same instant sends nothing twice. "popwatch alerts" shows the states.

Options:
  --config FILE         configuration (default: popwatch.config.{ts,mjs,js,json} here)
  --at WHEN             evaluate as of this instant instead of now: a duration back from now (2h)
                        or an ISO 8601 time (for imported history)
  --json                the summary as one JSON object (after any notification lines)
${STORE_FLAGS_USAGE}
  -h, --help            this help

Exit status: 0 evaluated and every notification delivered; 1 store error, or a notification not
delivered (the outbox keeps it for the next evaluation); 2 usage or configuration error.
`;

const OPTIONS = {
  config: { type: "string" },
  at: { type: "string" },
  json: { type: "boolean" },
  ...STORE_FLAG_OPTIONS,
  help: { type: "boolean", short: "h" },
} as const;

export interface EvaluateDeps {
  now?: () => number;
}

export async function evaluateCommand(argv: string[], io: Io, deps: EvaluateDeps = {}): Promise<number> {
  const { values } = parseFlags(argv, OPTIONS);
  if (values.help) {
    io.stdout.write(EVALUATE_USAGE);
    return 0;
  }
  const clockMs = (deps.now ?? Date.now)();
  const nowMs = values.at === undefined ? clockMs : parseWhen("at", values.at, clockMs);
  if (nowMs > clockMs) throw new UsageError("--at must not be in the future");
  let config: PopwatchConfig;
  try {
    ({ config } = await loadConfig(values.config));
  } catch (err) {
    return reportConfigProblem("evaluate", err, io);
  }
  const choice = storeChoice(values, config.store);

  noteExpiredWindows(io, config, values.at, nowMs, clockMs);

  let opened: OpenStore;
  try {
    opened = await openChosenStore(choice, storeRetention(config));
  } catch (err) {
    return reportStoreFailure(io, "evaluate", err);
  }
  let summary: EvaluationSummary;
  try {
    const regions = await storeRegions(choice, config, opened.store);
    const sinks = createSinks(config.alerting.sinks, { homeRegion: config.homeRegion, write: (line) => void io.stdout.write(line) });
    const routing = openStore({ client: opened.client, tableName: opened.tableName }).routing;
    const cycle = await runEvaluationCycle({ config, store: opened.store, alerts: opened.alerts, routing, sinks, regions, now: nowMs });
    summary = summariseEvaluation(cycle, regions);
    for (const outcome of cycle.alerts.delivery.outcomes) {
      if (!outcome.ok)
        io.stderr.write(
          `popwatch evaluate: ${outcome.notificationId} not delivered to ${outcome.sinkId}: ${outcome.code}: ${outcome.detail}` +
            `${outcome.retryable ? " (kept for the next evaluation)" : ""}\n`,
        );
    }
  } catch (err) {
    return reportStoreFailure(io, "evaluate", err);
  } finally {
    await opened.close();
  }
  io.stdout.write(values.json ? `${JSON.stringify(summary)}\n` : renderEvaluationSummary(summary));
  return summary.undelivered > 0 ? 1 : 0;
}

/** Says which SLO windows of an evaluation --at an old instant reach past their rollups' retention. */
function noteExpiredWindows(io: Io, config: PopwatchConfig, at: string | undefined, nowMs: number, clockMs: number): void {
  const endMs = evaluationEndMs(nowMs, rollupLagMinutes(config));
  const earliest = new Map<RollupGranularity, number>();
  for (const range of sloReadRanges(config, endMs)) {
    earliest.set(range.granularity, Math.min(range.fromMs, earliest.get(range.granularity) ?? range.fromMs));
  }
  const asked = at === undefined ? "an SLO window" : `--at ${at}`;
  for (const [kind, fromMs] of earliest)
    readRange(io, { command: "evaluate", asked, kind, fromMs, toMs: endMs, nowMs: clockMs, retention: storeRetention(config) });
}
