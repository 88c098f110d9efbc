// Probe function. An EventBridge "Scheduled Event" runs one period's rounds
// (all of them inline, or round 0 with the rest sent to the round queue); an
// SQS event runs one queued round (packages/agent/src/dispatch.ts). This file
// only wires events, environment and the Lambda context to the agent. Nothing
// runs at import: config and clients are made on the first event and kept for
// warm starts.
//
// After each round its results go to CloudWatch as EMF lines (core's
// probeRoundRecords). PoP changes compare each endpoint with the round just
// before it as this warm container saw it: the previous round of the same
// invocation, or the last round of the previous invocation it ran. A cold
// start, or a round another container ran (queued dispatch), leaves no value
// rather than a guess; reading the store's last result instead would cost a
// read per endpoint and round.
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import {
  type EmfPublisher,
  type FastRoutingOptions,
  type InvocationSummary,
  type Logger,
  RoundMessageError,
  type RoundQueue,
  SqsRoundQueue,
  bundledConfigPath,
  deployedAlertSinks,
  fastRoutingEnabled,
  parseRoundMessage,
  parseScheduledEvent,
  powertoolsEmfPublisher,
  powertoolsLogger,
  readConfigJson,
  requiredEnv,
  roundMetricsPublisher,
  runQueuedRound,
  runScheduled,
  sqsRecordsOf,
  storeRetention,
  throwIfIncomplete,
  withFields,
} from "@popwatch/agent";
import type { AlertStateRepository, PopwatchConfig } from "@popwatch/core";
import type { CreateSinksOptions, Sink } from "@popwatch/notify";
import { type ResultStore, openStore } from "@popwatch/store";

/** The part of the Lambda context the handler uses. */
export interface ProbeContext {
  awsRequestId?: string;
  getRemainingTimeInMillis(): number;
}

export interface ProbeHandlerOptions {
  /** Validated config; default: read from POPWATCH_CONFIG_FILE. */
  config?: PopwatchConfig;
  /** Default: a DynamoDBClient for POPWATCH_TABLE_REGION. */
  client?: DynamoDBClient;
  /** Replaces the DynamoResultStore built from client and POPWATCH_TABLE. */
  store?: ResultStore;
  /** Replaces the alert repository on the same table (fast routing alerts, analytics.alerts.popChange/outage). */
  alerts?: AlertStateRepository;
  /** Replaces the sinks built from config.alerting.sinks (fast routing alerts). */
  sinks?: readonly Sink[];
  /** Builds EventBridge clients for eventbridge sinks (tests point them at a loopback endpoint). */
  eventBridgeClient?: CreateSinksOptions["eventBridgeClient"];
  /** Replaces the SQS queue at POPWATCH_ROUND_QUEUE_URL (dispatch "queue"). */
  queue?: RoundQueue;
  /** Default: process.env, read on the first event. */
  env?: Record<string, string | undefined>;
  /** Default: Powertools Logger with jsonLinesLogger's fields. */
  logger?: Logger;
  /** Where each round's CloudWatch metrics go. Default: EMF lines on stdout (Powertools Metrics). */
  emf?: EmfPublisher;
  safetyMarginMs?: number;
  /** Wall clock and waits of the agent (tests drive queued rounds on a virtual clock). */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Lambda's partial batch response for SQS (ReportBatchItemFailures): the messages to deliver again. */
export interface QueuedRoundsResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

export type ProbeHandler = (event: unknown, context: ProbeContext) => Promise<InvocationSummary | QueuedRoundsResponse>;

interface Runtime {
  config: PopwatchConfig;
  store: ResultStore;
  region: string;
  queue: RoundQueue | undefined;
  /** Present while a fast routing condition is on. */
  fastRouting: FastRoutingOptions | undefined;
}

export function createHandler(options: ProbeHandlerOptions = {}): ProbeHandler {
  const logger = options.logger ?? powertoolsLogger();
  const emf = options.emf ?? powertoolsEmfPublisher({ logger });
  let runtime: Promise<Runtime> | undefined;
  // One per handler, so its PoP memory lives as long as the warm container: see the top of this file.
  const publishRound = roundMetricsPublisher(emf, logger);

  const setUp = async (): Promise<Runtime> => {
    const env = options.env ?? process.env;
    const region = requiredEnv(env, "AWS_REGION");
    const config = options.config ?? (await readConfigJson(bundledConfigPath(env, dirname(fileURLToPath(import.meta.url)))));
    if (!config.regions.includes(region)) {
      logger({ level: "warn", msg: "region not in config.regions", region, regions: config.regions });
    }
    const table = () =>
      openStore({
        client: options.client ?? new DynamoDBClient({ region: requiredEnv(env, "POPWATCH_TABLE_REGION") }),
        tableName: requiredEnv(env, "POPWATCH_TABLE"),
        retentionDays: storeRetention(config),
      });
    const opened = options.store && (options.alerts || !fastRoutingEnabled(config)) ? undefined : table();
    const store = options.store ?? opened!.results;
    // Fast routing delivers PoP-change and outage alerts itself, right after the round that shows them.
    const fastRouting: FastRoutingOptions | undefined = fastRoutingEnabled(config)
      ? {
          alerts: options.alerts ?? opened!.alerts,
          sinks:
            options.sinks ??
            deployedAlertSinks(config, env, options.eventBridgeClient ? { eventBridgeClient: options.eventBridgeClient } : {}),
        }
      : undefined;
    const queueUrl = env.POPWATCH_ROUND_QUEUE_URL;
    const queue =
      options.queue ??
      (config.schedule.dispatch === "queue" && queueUrl ? new SqsRoundQueue({ client: new SQSClient({ region }), queueUrl }) : undefined);
    if (config.schedule.dispatch === "queue" && !queue) {
      throw new Error('schedule.dispatch is "queue" but POPWATCH_ROUND_QUEUE_URL is not set (deploy the probe stack with this config)');
    }
    return { config, store, region, queue, fastRouting };
  };

  const ready = (): Promise<Runtime> =>
    // A failed set-up (unreadable config) is retried on the next event, not cached.
    (runtime ??= setUp().catch((err: unknown) => {
      runtime = undefined;
      throw err;
    }));

  return async (event, context) => {
    const records = sqsRecordsOf(event);
    const common = {
      remainingMs: () => context.getRemainingTimeInMillis(),
      ...(options.safetyMarginMs !== undefined ? { safetyMarginMs: options.safetyMarginMs } : {}),
      ...(options.now ? { now: options.now } : {}),
      ...(options.sleep ? { sleep: options.sleep } : {}),
    };
    if (records) {
      const { config, store, region, fastRouting } = await ready();
      const batchItemFailures: QueuedRoundsResponse["batchItemFailures"] = [];
      for (const record of records) {
        const log = withFields(logger, { requestId: context.awsRequestId ?? null, messageId: record.messageId });
        let message: ReturnType<typeof parseRoundMessage>;
        try {
          message = parseRoundMessage(record.body);
        } catch (err) {
          // Delivering it again cannot make it valid: log and let it go.
          if (err instanceof RoundMessageError) {
            log({ level: "error", msg: "round message dropped", code: err.code, error: err.message });
            continue;
          }
          throw err;
        }
        if (message.region !== region) {
          log({ level: "error", msg: "round message for another region dropped", messageRegion: message.region, region });
          continue;
        }
        const summary = await runQueuedRound(message, {
          config,
          store,
          logger: log,
          onRound: publishRound(config),
          ...(fastRouting ? { fastRouting } : {}),
          ...common,
        });
        if (summary.errors.length > 0) batchItemFailures.push({ itemIdentifier: record.messageId });
      }
      return { batchItemFailures };
    }

    const scheduled = parseScheduledEvent(event);
    const { config, store, region, queue, fastRouting } = await ready();
    const summary = await runScheduled({
      config,
      region,
      scheduledAt: scheduled.time,
      store,
      ...(queue ? { queue } : {}),
      ...(fastRouting ? { fastRouting } : {}),
      logger: withFields(logger, { requestId: context.awsRequestId ?? null, eventId: scheduled.id }),
      onRound: publishRound(config),
      ...common,
    });
    // Failing the invocation makes Lambda retry the same event; its writes land on the same keys.
    throwIfIncomplete(summary);
    return summary;
  };
}

export const handler = createHandler();
