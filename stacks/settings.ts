// Deployment settings derived from the validated popwatch config: names,
// timeouts, retry windows, the functions' bundle options and the exact
// DynamoDB and EventBridge actions the probe and the evaluator may call. No CDK
// (the esbuild plugin at the end is typed structurally), and the only run-time
// import is core's schedule math, which the agent uses too, so a deployable
// config is exactly one whose rounds the agent runs. The stacks, the synth
// tests, the benchmarks and stacks/deploy-all.ts all read the same numbers
// from here.
import {
  LAST_ROUND_WRITE_MARGIN_MS,
  type PopwatchConfig,
  probesPerRound,
  lastRoundDeadlineMs as scheduleLastRoundDeadlineMs,
  worstCaseRoundMs as scheduleWorstCaseRoundMs,
} from "@popwatch/core";

export { probesPerRound };

/** Lambda's hard ceiling on a function timeout. */
export const LAMBDA_MAX_TIMEOUT_SECONDS = 900;
/** Seconds left between the function timeout and the next scheduled invocation. */
export const TIMEOUT_MARGIN_SECONDS = 2;

/** Runtime and architecture of every popwatch function (probe and evaluator are built the same way). */
export const FUNCTION_RUNTIME = "nodejs22.x";
export const FUNCTION_ARCHITECTURE = "arm_64";
export const PROBE_RUNTIME = FUNCTION_RUNTIME;
export const PROBE_ARCHITECTURE = FUNCTION_ARCHITECTURE;
/**
 * Lambda gives CPU in proportion to memory (1,769 MB = one vCPU). At 128 MB a
 * TLS handshake (ECDHE, certificate chain verification) and the timers of a
 * round share ~7 % of a core, which shows up as added latency in the very
 * figures popwatch reports. 256 MB doubles the CPU share for twice the
 * GB-second price. Memory itself is not the constraint: RSS after module init
 * is 52 MB (bench/RESULTS.md).
 */
export const PROBE_MEMORY_MB = 256;

/** Where the validated config lands inside the function bundle (relative to LAMBDA_TASK_ROOT). */
export const BUNDLED_CONFIG_FILE = "popwatch.config.json";
/** Where the stacks bundle bgp.rpki.vrpFile next to the config (POPWATCH_VRP_FILE): the function cannot read the deployer's path. */
export const BUNDLED_VRP_FILE = "popwatch.vrps.json";

/** copyFiles and environment of a function that judges routing alerts: the VRP file, when the config names one. */
export function bundledVrpFile(config: Pick<PopwatchConfig, "bgp">): {
  copyFiles: { from: string; to: string }[];
  environment: Record<string, string>;
} {
  const vrpFile = config.bgp?.rpki?.vrpFile;
  if (vrpFile === undefined) return { copyFiles: [], environment: {} };
  return { copyFiles: [{ from: vrpFile, to: BUNDLED_VRP_FILE }], environment: { POPWATCH_VRP_FILE: BUNDLED_VRP_FILE } };
}
/** Handler entry, relative to the repository root (SST `file.export` syntax). */
export const PROBE_HANDLER = "functions/probe.handler";

/**
 * esbuild options of the probe bundle, on top of SST v2's own for ESM
 * (bundle, platform node, keepNames, mainFields module/main, a createRequire
 * banner). bench/bundle-size.ts builds with exactly these.
 *
 * - `@aws-sdk/*` is bundled, not taken from the runtime: the version is the one
 *   the store was tested with, and one minified file loads faster than the
 *   runtime's SDK spread over many node_modules files (bench/RESULTS.md).
 * - `dynalite` (the embedded local store, LevelDB with a native binding) is
 *   never loaded on Lambda: external keeps it out of the bundle, and the
 *   store loads it only when the embedded store starts.
 * - The source map ships inside the bundle (so SST does not upload it to its
 *   bucket through a custom resource) but is not enabled: parsing it costs
 *   ~30 ms on every cold start (bench/RESULTS.md). keepNames keeps function
 *   names in stack traces; for TypeScript lines set
 *   NODE_OPTIONS=--enable-source-maps on the function.
 * - SST v2 builds with its own esbuild (0.18.13), whatever the repository's is.
 */
export const PROBE_BUNDLE = {
  format: "esm" as const,
  minify: true,
  sourcemap: true,
  target: "node22",
  external: ["dynalite"],
};

/**
 * The DynamoDB actions the probe function's store calls
 * (packages/store/src/items.ts sends them): putResults/putRollups use
 * BatchWriteItem, rebuildRollups reads with Query (consistent) and writes each
 * rollup with a conditional PutItem; listSeries is a Query. Nothing else.
 */
export const PROBE_TABLE_ACTIONS = ["dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:Query"] as const;

/**
 * The SST `nodejs` props of a function bundle built with PROBE_BUNDLE: the
 * evaluator is bundled exactly like the probe (same reasons, same
 * external), so both stacks take them from here.
 */
export function functionNodejsProps(): {
  format: "esm";
  minify: boolean;
  sourcemap: boolean;
  esbuild: { target: string; external: string[] };
} {
  return {
    format: PROBE_BUNDLE.format,
    minify: PROBE_BUNDLE.minify,
    sourcemap: PROBE_BUNDLE.sourcemap,
    esbuild: { target: PROBE_BUNDLE.target, external: [...PROBE_BUNDLE.external] },
  };
}

// ---------------------------------------------------------------- evaluator

/** Handler entry of the SLO evaluator (home region only), relative to the repository root. */
export const EVALUATE_HANDLER = "functions/evaluate.handler";
/** Evaluations run every minute: burn-rate alert windows start at 5 minutes, so a coarser schedule would delay pages by a sizeable share of the shortest window. */
export const EVALUATE_SCHEDULE_MINUTES = 1;
/**
 * Under the 60 s schedule, so one evaluation normally ends before the next
 * starts, yet long enough for the reads (a few dozen Queries per region) and
 * the delivery retry budget (DEFAULT_DELIVERY_RETRY.maxElapsedMs, 20 s, per
 * notification and sink). Overlaps are safe anyway: alert state writes are
 * conditional and delivery is leased (packages/store/src/alert-state.ts).
 */
export const EVALUATE_TIMEOUT_SECONDS = 50;
/**
 * Same CPU share as the probe (Lambda gives CPU in proportion to memory): the
 * evaluator decodes the rollup items of a whole SLO period (up to 30 days)
 * per region every minute, and a slow evaluation delays pages.
 */
export const EVALUATE_MEMORY_MB = 256;
/** A failed evaluation is retried (a page must not wait for luck), but only while it is fresh. */
export const EVALUATE_RETRY_ATTEMPTS = 2;
/**
 * A stale evaluation is worthless: the next minute's evaluation reads the
 * same rollups and the outbox delivers whatever an earlier one left. Two
 * minutes lets both retries start; Lambda's minimum is 60 s.
 */
export const EVALUATE_MAX_EVENT_AGE_SECONDS = 120;

/**
 * The DynamoDB actions the evaluator's stores call, nothing else:
 * - Query: DynamoResultStore.queryPeriodRollups (minute shards, bucket
 *   partitions) and compact (pending markers, minute shards, bucket heads);
 * - BatchWriteItem: compact (bucket parts past the first, stale parts);
 *   DynamoRoutingRepository.getSnapshot (a watched prefix's snapshot, for routing alerts);
 *   DynamoAlertStateStore.loadStates (the alert key index),
 *   pendingNotifications (outbox and seals), claimDelivery/recordDelivery/
 *   markDelivered (a notification's outbox parts);
 * - BatchGetItem: DynamoAlertStateStore.loadStates (the states themselves);
 * - GetItem: claimDelivery (re-reading the seal it just wrote, consistently);
 * - PutItem: transition (the key index entry), publishing to outbox and
 *   history (IF absent), claimDelivery (the lease, IF absent or expired),
 *   the seal (IF absent);
 * - UpdateItem: transition (the conditional state write), clearing
 *   `unpublished`, recordDelivery, markDelivered;
 * - DeleteItem: releaseDelivery (the lease, IF still ours); compact (a pending
 *   marker, IF its stamp is unchanged); compact's PutItems: a bucket's first
 *   part (IF it counts no fewer), day markers.
 */
export const EVALUATE_TABLE_ACTIONS = [
  "dynamodb:BatchGetItem",
  "dynamodb:BatchWriteItem",
  "dynamodb:DeleteItem",
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:Query",
  "dynamodb:UpdateItem",
] as const;

/**
 * The DynamoDB actions the alert state store (packages/store alert-state.ts)
 * calls: the probe needs them when it delivers fast routing alerts itself
 * (analytics.alerts.popChange/outage).
 */
export const ALERT_STATE_TABLE_ACTIONS = [
  "dynamodb:BatchGetItem",
  "dynamodb:DeleteItem",
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:Query",
  "dynamodb:UpdateItem",
] as const;

/** What an EventBridge sink (packages/notify EventBridgeSink) calls. */
export const ALERT_BUS_ACTIONS = ["events:PutEvents"] as const;

/** The evaluator's custom bus: every alert notification lands here; operators attach rules. */
export function alertBusName(appName: string, stage: string): string {
  return `${appName}-${stage}-alerts`;
}

/** The example rule's target: operators subscribe their email or pager to it. */
export function pagesTopicName(appName: string, stage: string): string {
  return `${appName}-${stage}-pages`;
}

/** Fixed evaluator function name (its log group name follows from it). */
export function evaluateFunctionName(appName: string, stage: string): string {
  return `${appName}-${stage}-evaluate`;
}

/** A bus the evaluator publishes to: a name in a region, or a full ARN (whose region it names itself). */
export type AlertBusTarget = { arn: string } | { busName: string; region: string };

/**
 * Every bus the evaluator may call PutEvents on, deduplicated, the stack's own
 * first. Mirrors functions/evaluate.ts and createSinks: an eventbridge sink
 * without a bus name goes to the stack's bus, a sink without a region to the
 * home region, a bus ARN is used as it is.
 */
export function alertBusTargets(config: Pick<PopwatchConfig, "homeRegion" | "alerting">, stackBusName: string): AlertBusTarget[] {
  const targets: AlertBusTarget[] = [{ busName: stackBusName, region: config.homeRegion }];
  const seen = new Set([`${config.homeRegion}|${stackBusName}`]);
  for (const sink of config.alerting.sinks) {
    if (sink.type !== "eventbridge") continue;
    const busName: string | undefined = sink.busName;
    const target: AlertBusTarget = busName?.startsWith("arn:")
      ? { arn: busName }
      : { busName: busName ?? stackBusName, region: sink.region ?? config.homeRegion };
    const key = "arn" in target ? target.arn : `${target.region}|${target.busName}`;
    if (seen.has(key)) continue;
    seen.add(key);
    targets.push(target);
  }
  return targets;
}

/**
 * What the scheduled invocation needs on the round queue (dispatch "queue").
 * Consuming it (ReceiveMessage, DeleteMessage, ChangeMessageVisibility,
 * GetQueueAttributes, GetQueueUrl) is granted by the event source mapping.
 */
export const ROUND_QUEUE_SEND_ACTIONS = ["sqs:SendMessage"] as const;

/** Visibility timeout of the round queue: Lambda requires at least the function timeout; a little more covers its start-up. */
export function roundQueueVisibilitySeconds(schedule: PopwatchConfig["schedule"]): number {
  return probeTimeoutSeconds(schedule) + 30;
}

/**
 * A round message waits at most MAX_QUEUE_DELAY_SECONDS (config validation)
 * and is useless once its slot has passed by a round interval (the agent skips
 * it), so 30 minutes outlives every useful message without keeping stale ones.
 */
export function roundQueueRetentionSeconds(): number {
  return 30 * 60;
}

/** The regions a full deploy touches, home region first (the table exists before any probe writes). */
export function deployRegions(config: Pick<PopwatchConfig, "homeRegion" | "regions">): string[] {
  return [config.homeRegion, ...config.regions.filter((r) => r !== config.homeRegion)];
}

/** Physical table name, fixed so every region can address it without cross-region references. */
export function tableName(appName: string, stage: string): string {
  return `${appName}-${stage}`;
}

/** Fixed probe function name, the same in every region. */
export function probeFunctionName(appName: string, stage: string): string {
  return `${appName}-${stage}-probe`;
}

/** Stages whose data survives `sst remove` (table RETAIN, deletion protection on). */
export function isProductionStage(stage: string): boolean {
  return stage === "prod" || stage === "production";
}

/** Function timeout: the whole schedule period minus a margin, capped at Lambda's 900 s. */
export function probeTimeoutSeconds(schedule: PopwatchConfig["schedule"]): number {
  return Math.min(LAMBDA_MAX_TIMEOUT_SECONDS, schedule.rateMinutes * 60 - TIMEOUT_MARGIN_SECONDS);
}

/** The longest one round of this config can take (the bound the agent uses to decide whether a round still fits). */
export function worstCaseRoundMs(config: Pick<PopwatchConfig, "targets" | "schedule">): number {
  return scheduleWorstCaseRoundMs(config.schedule, probesPerRound(config));
}

/** When the last round ends at the latest, in ms after the invocation's scheduled time. */
export function lastRoundDeadlineMs(config: Pick<PopwatchConfig, "targets" | "schedule">): number {
  return scheduleLastRoundDeadlineMs(config.schedule, probesPerRound(config));
}

/**
 * Async invocation retries. EventBridge invokes asynchronously; when the
 * handler fails Lambda retries after ~1 min and again ~2 min later. Writes are
 * idempotent per (event id, slot), so a retry repairs a lost batch instead of
 * duplicating it. The event must stay valid across both retries:
 * 3 × timeout + 3 min of back-off, at least one schedule period, rounded up to
 * a minute, within Lambda's 60 s – 6 h range.
 */
export const PROBE_RETRY_ATTEMPTS = 2;
export function maxEventAgeSeconds(schedule: PopwatchConfig["schedule"]): number {
  const timeout = probeTimeoutSeconds(schedule);
  const needed = Math.max(schedule.rateMinutes * 60, 3 * timeout + 180);
  return Math.min(6 * 3600, Math.max(60, Math.ceil(needed / 60) * 60));
}

/**
 * Problems that make a config undeployable on Lambda although it is valid for
 * local runs: the agent skips every round that cannot end (worst case) a
 * margin before the function timeout, so such a config would silently lose
 * its last rounds on every invocation.
 */
export function deploymentProblems(config: Pick<PopwatchConfig, "targets" | "schedule">): string[] {
  const problems: string[] = [];
  const { schedule } = config;
  const timeoutMs = probeTimeoutSeconds(schedule) * 1000;
  const deadline = lastRoundDeadlineMs(config);
  if (deadline + LAST_ROUND_WRITE_MARGIN_MS > timeoutMs) {
    const probes = probesPerRound(config);
    const batches = Math.ceil(Math.max(1, probes) / schedule.concurrency);
    problems.push(
      `schedule: the last of ${schedule.roundsPerInvocation} rounds may run until ${deadline} ms ` +
        `(${probes} probes in ${batches} batch${batches === 1 ? "" : "es"} of at most ${schedule.concurrency}, ${schedule.timeoutMs} ms each), ` +
        `less than ${LAST_ROUND_WRITE_MARGIN_MS} ms before the function timeout (${timeoutMs} ms), so the agent would skip it; ` +
        (batches > 1 ? `raise schedule.concurrency to at least ${probes}, or ` : "") +
        `lower schedule.timeoutMs or schedule.roundsPerInvocation` +
        (schedule.rateMinutes > 15 ? `, or schedule.rateMinutes (Lambda stops at 15 minutes)` : ""),
    );
  }
  return problems;
}

// ---------------------------------------------------------------- BGP archive reader

/** Handler entry of the BGP archive reader (home region, only with a `bgp` config section), relative to the repository root. */
export const BGP_HANDLER = "functions/bgp.handler";
/** RIS publishes an update file every 5 minutes: one run per file. */
export const BGP_SCHEDULE_MINUTES = 5;
/**
 * Under the 5-minute schedule with a minute to spare; the run starts no new
 * file in its last 30 s (functions/bgp.ts). Overlapping runs are safe anyway:
 * event writes are conditional and cursors only move forward.
 */
export const BGP_TIMEOUT_SECONDS = 240;
/**
 * A file is held compressed in memory while it is decoded (at most
 * ARCHIVE_FETCH_DEFAULTS.maxBytes, 128 MB; typical files are 1–20 MB), and
 * bzip2 decoding is CPU-bound: 512 MB buys a third of a vCPU.
 */
export const BGP_MEMORY_MB = 512;
/** A failed run is retried once; the next scheduled run catches up anyway (cursors). */
export const BGP_RETRY_ATTEMPTS = 1;
/** A retry after the next run has started only repeats it. */
export const BGP_MAX_EVENT_AGE_SECONDS = 300;

/**
 * The DynamoDB actions DynamoRoutingRepository calls in an archive run
 * (packages/store/src/routing.ts), nothing else:
 * - PutItem: each event (IF absent), the snapshot head (IF version), the archive cursor (IF older);
 * - Query: archive cursors, the feed index, events read back for the fold, the snapshot (consistent);
 * - BatchWriteItem: routing minutes, the feed index, snapshot chunks (put and delete).
 */
export const BGP_TABLE_ACTIONS = ["dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:Query"] as const;

/** Fixed BGP function name (its log group name follows from it). */
export function bgpFunctionName(appName: string, stage: string): string {
  return `${appName}-${stage}-bgp`;
}
