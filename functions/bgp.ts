// BGP archive reader, scheduled every 5 minutes in the home region next to
// the table: reads the newest update files of the configured collectors
// (RIPE RIS, RouteViews), keeps the events of the watched prefixes and folds
// them into routing snapshots and minutes; when that rewrote a snapshot it
// runs the routing alert cycle right away (hijack pages leave within the run,
// not after the evaluator's next minute). This file only wires the event, the
// environment and the clients to the agent's fetchArchiveUpdates and
// runRoutingAlertCycle. Nothing runs at import.
//
// The run's instant is the scheduled event's time, so a retried invocation
// plans the same files; the store writes each event once and the cursors only
// move forward, so a retry or an overlap with another run writes nothing twice;
// the alert cycle plans at the same instant, so a retry notifies nothing twice.
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  type ArchiveFetchOptions,
  type ArchiveRunSummary,
  type Logger,
  type RoutingAlertSummary,
  archiveRunFoldedSnapshots,
  bundledConfigPath,
  bundledVrpPath,
  deployedAlertSinks,
  fetchArchiveUpdates,
  parseScheduledEvent,
  powertoolsLogger,
  readConfigJson,
  requiredEnv,
  runRoutingAlertCycle,
  storeRetention,
  summariseArchiveRun,
  summariseRoutingAlertCycle,
  withFields,
} from "@popwatch/agent";
import type { AlertStateRepository, ArchiveCursorRepository, PopwatchConfig, RoutingRepository } from "@popwatch/core";
import type { CreateSinksOptions, Sink } from "@popwatch/notify";
import { openStore } from "@popwatch/store";

export interface BgpContext {
  awsRequestId?: string;
  getRemainingTimeInMillis?: () => number;
}

export interface BgpHandlerOptions {
  config?: PopwatchConfig;
  /** Default: a DynamoDBClient for POPWATCH_TABLE_REGION. */
  client?: DynamoDBClient;
  routing?: RoutingRepository & ArchiveCursorRepository;
  /** Default: the table's alert state store (as the evaluator's). */
  alerts?: AlertStateRepository;
  /** Replaces the sinks built from config.alerting.sinks. */
  sinks?: readonly Sink[];
  /** Builds EventBridge clients for eventbridge sinks (tests point them at a loopback endpoint). */
  eventBridgeClient?: CreateSinksOptions["eventBridgeClient"];
  env?: Record<string, string | undefined>;
  /** Default: Powertools Logger with jsonLinesLogger's fields. */
  logger?: Logger;
  /** Passed on to fetchArchiveUpdates (tests: a loopback dispatcher, small caps). */
  fetch?: Pick<ArchiveFetchOptions, "dispatcher" | "maxBytes" | "timeoutMs" | "maxFiles" | "giveUpAfterMs" | "clock">;
}

/** No new file is started this close to the Lambda timeout. */
const DEADLINE_MARGIN_MS = 30_000;

/** The archive run, and the routing alert cycle that followed it (null: no snapshot rewritten, so nothing to judge anew). */
export interface BgpSummary extends ArchiveRunSummary {
  routingAlerts: RoutingAlertSummary | null;
  /** The routing alert cycle failed; the evaluator judges the same snapshots within a minute. */
  routingAlertsProblem?: { code: string; message: string };
}

export type BgpHandler = (event: unknown, context: BgpContext) => Promise<BgpSummary>;

interface Runtime {
  config: PopwatchConfig;
  routing: RoutingRepository & ArchiveCursorRepository;
  alerts: AlertStateRepository;
  sinks: readonly Sink[];
  vrpFile: string | undefined;
}

export function createBgpHandler(options: BgpHandlerOptions = {}): BgpHandler {
  const logger = options.logger ?? powertoolsLogger();
  let runtime: Promise<Runtime> | undefined;

  const setUp = async (): Promise<Runtime> => {
    const env = options.env ?? process.env;
    const handlerDir = dirname(fileURLToPath(import.meta.url));
    const config = options.config ?? (await readConfigJson(bundledConfigPath(env, handlerDir)));
    if (config.bgp === undefined) throw new Error("the config has no bgp section: this function has nothing to watch");
    let store: ReturnType<typeof openStore> | undefined;
    const opened = () =>
      (store ??= openStore({
        client: options.client ?? new DynamoDBClient({ region: requiredEnv(env, "POPWATCH_TABLE_REGION") }),
        tableName: requiredEnv(env, "POPWATCH_TABLE"),
        retentionDays: storeRetention(config),
      }));
    const routing = options.routing ?? opened().routing;
    const alerts = options.alerts ?? opened().alerts;
    // An eventbridge sink without a bus name goes to the evaluate stack's bus, as the evaluator's do.
    const sinks =
      options.sinks ?? deployedAlertSinks(config, env, options.eventBridgeClient ? { eventBridgeClient: options.eventBridgeClient } : {});
    return { config, routing, alerts, sinks, vrpFile: bundledVrpPath(env, handlerDir) };
  };

  return async (event, context) => {
    const scheduled = parseScheduledEvent(event);
    runtime ??= setUp().catch((err: unknown) => {
      runtime = undefined;
      throw err;
    });
    const { config, routing, alerts, sinks, vrpFile } = await runtime;
    const log = withFields(logger, { requestId: context.awsRequestId ?? null, eventId: scheduled.id });
    const clock = options.fetch?.clock ?? Date.now;
    const remaining = context.getRemainingTimeInMillis?.();
    const report = await fetchArchiveUpdates(routing, config.bgp!, {
      ...options.fetch,
      nowMs: Date.parse(scheduled.time),
      ...(remaining === undefined ? {} : { deadlineMs: clock() + remaining - DEADLINE_MARGIN_MS }),
    });
    const archives = summariseArchiveRun(report);
    log({
      level: archives.skipped > 0 || archives.failures.some((f) => f.code !== "archive_missing") ? "warn" : "info",
      msg: "bgp archives",
      ...archives,
    });
    const summary: BgpSummary = { ...archives, routingAlerts: null };
    if (archiveRunFoldedSnapshots(report) === 0) return summary;
    try {
      const cycle = await runRoutingAlertCycle({
        config,
        routing,
        alerts,
        sinks,
        now: Date.parse(scheduled.time),
        ...(vrpFile === undefined ? {} : { vrpFile }),
      });
      summary.routingAlerts = cycle === null ? null : summariseRoutingAlertCycle(cycle);
      const routingAlerts = summary.routingAlerts;
      if (routingAlerts !== null) {
        const level = routingAlerts.undelivered > 0 || routingAlerts.problems.length > 0 ? "warn" : "info";
        log({ level, msg: "routing alerts", ...routingAlerts });
      }
    } catch (err) {
      summary.routingAlertsProblem = describeFailure(err);
      log({ level: "error", msg: "routing alerts failed", error: summary.routingAlertsProblem });
    }
    return summary;
  };
}

function describeFailure(err: unknown): { code: string; message: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return { code: typeof code === "string" ? code : "internal", message: err instanceof Error ? err.message : String(err) };
}

export const handler = createBgpHandler();
