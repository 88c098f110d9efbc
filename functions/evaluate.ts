// SLO evaluator, scheduled every minute in the home region next to the table:
// burn rates from rollups, alert lifecycle with conditional state writes,
// delivery to the configured sinks (EventBridge bus, webhooks). This file
// only wires the event, the environment and the clients to the agent's
// runEvaluationCycle. Nothing runs at import. Each evaluation's burn rates,
// budgets, alert states and transitions go to CloudWatch as EMF lines (core's
// evaluationRecords).
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  type EmfPublisher,
  type EvaluationSummary,
  type Logger,
  bundledConfigPath,
  bundledVrpPath,
  deployedAlertSinks,
  parseScheduledEvent,
  powertoolsEmfPublisher,
  powertoolsLogger,
  publishEvaluationMetrics,
  readConfigJson,
  requiredEnv,
  runEvaluationCycle,
  storeRetention,
  summariseEvaluation,
  withFields,
} from "@popwatch/agent";
import type { AlertStateRepository, PopwatchConfig, RoutingRepository } from "@popwatch/core";
import type { CreateSinksOptions, Sink } from "@popwatch/notify";
import { type ResultStore, openStore } from "@popwatch/store";

export interface EvaluateContext {
  awsRequestId?: string;
}

export interface EvaluateHandlerOptions {
  config?: PopwatchConfig;
  /** Default: a DynamoDBClient for POPWATCH_TABLE_REGION. */
  client?: DynamoDBClient;
  store?: Pick<ResultStore, "queryPeriodRollups" | "readStats">;
  alerts?: AlertStateRepository;
  /** Routing snapshots for the routing alerts (only with a bgp config section). */
  routing?: Pick<RoutingRepository, "getSnapshot">;
  /** Replaces the sinks built from config.alerting.sinks. */
  sinks?: readonly Sink[];
  /** Builds EventBridge clients for eventbridge sinks (tests point them at a loopback endpoint). */
  eventBridgeClient?: CreateSinksOptions["eventBridgeClient"];
  env?: Record<string, string | undefined>;
  /** Default: Powertools Logger with jsonLinesLogger's fields. */
  logger?: Logger;
  /** Where each evaluation's CloudWatch metrics go. Default: EMF lines on stdout (Powertools Metrics). */
  emf?: EmfPublisher;
}

/** What one evaluation did, as logged and returned. */
export type EvaluateSummary = EvaluationSummary;

export type EvaluateHandler = (event: unknown, context: EvaluateContext) => Promise<EvaluateSummary>;

interface Runtime {
  config: PopwatchConfig;
  store: Pick<ResultStore, "queryPeriodRollups" | "readStats">;
  alerts: AlertStateRepository;
  routing: Pick<RoutingRepository, "getSnapshot">;
  sinks: readonly Sink[];
  vrpFile: string | undefined;
}

export function createEvaluateHandler(options: EvaluateHandlerOptions = {}): EvaluateHandler {
  const logger = options.logger ?? powertoolsLogger();
  const emf = options.emf ?? powertoolsEmfPublisher({ logger });
  let runtime: Promise<Runtime> | undefined;

  const setUp = async (): Promise<Runtime> => {
    const env = options.env ?? process.env;
    const handlerDir = dirname(fileURLToPath(import.meta.url));
    const config = options.config ?? (await readConfigJson(bundledConfigPath(env, handlerDir)));
    const tableName = requiredEnv(env, "POPWATCH_TABLE");
    const client = options.client ?? new DynamoDBClient({ region: requiredEnv(env, "POPWATCH_TABLE_REGION") });
    const opened = openStore({ client, tableName, retentionDays: storeRetention(config) });
    const store = options.store ?? opened.results;
    const alerts = options.alerts ?? opened.alerts;
    const routing = options.routing ?? opened.routing;
    // An eventbridge sink without a bus name goes to the stack's bus.
    const sinks =
      options.sinks ?? deployedAlertSinks(config, env, options.eventBridgeClient ? { eventBridgeClient: options.eventBridgeClient } : {});
    return { config, store, alerts, routing, sinks, vrpFile: bundledVrpPath(env, handlerDir) };
  };

  return async (event, context) => {
    const scheduled = parseScheduledEvent(event);
    runtime ??= setUp().catch((err: unknown) => {
      runtime = undefined;
      throw err;
    });
    const { config, store, alerts, routing, sinks, vrpFile } = await runtime;
    const log = withFields(logger, { requestId: context.awsRequestId ?? null, eventId: scheduled.id });
    const report = await runEvaluationCycle({
      config,
      store,
      alerts,
      sinks,
      regions: config.regions,
      now: Date.parse(scheduled.time),
      routing,
      ...(vrpFile === undefined ? {} : { vrpFile }),
    });
    publishEvaluationMetrics(emf, report, log);
    const summary = summariseEvaluation(report, config.regions);
    const level = summary.undelivered > 0 || summary.routingProblems.length > 0 ? "warn" : "info";
    log({ level, msg: "evaluation", ...summary });
    return summary;
  };
}

export const handler = createEvaluateHandler();
