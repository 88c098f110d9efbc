// Scheduled probe function: one EventBridge "Scheduled Event" = one
// invocation of rounds (packages/agent). This file only wires the event, the
// environment and the Lambda context to runInvocation. Nothing runs at import:
// config and client are made on the first event and kept for warm starts.
import { dirname, isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  type InvocationSummary,
  type Logger,
  jsonLinesLogger,
  parseScheduledEvent,
  readConfigJson,
  runInvocation,
  storeRetention,
  throwIfIncomplete,
  withFields,
} from "@popwatch/agent";
import type { PopwatchConfig } from "@popwatch/core";
import { DynamoResultStore, type ResultStore } from "@popwatch/store";

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
  /** Default: process.env, read on the first event. */
  env?: Record<string, string | undefined>;
  logger?: Logger;
  safetyMarginMs?: number;
}

export type ProbeHandler = (event: unknown, context: ProbeContext) => Promise<InvocationSummary>;

interface Runtime {
  config: PopwatchConfig;
  store: ResultStore;
  region: string;
}

export function createHandler(options: ProbeHandlerOptions = {}): ProbeHandler {
  const logger = options.logger ?? jsonLinesLogger();
  let runtime: Promise<Runtime> | undefined;

  const setUp = async (): Promise<Runtime> => {
    const env = options.env ?? process.env;
    const region = required(env, "AWS_REGION");
    const config = options.config ?? (await readConfigJson(configPath(env)));
    if (!config.regions.includes(region)) {
      logger({ level: "warn", msg: "region not in config.regions", region, regions: config.regions });
    }
    const store =
      options.store ??
      new DynamoResultStore({
        client: options.client ?? new DynamoDBClient({ region: required(env, "POPWATCH_TABLE_REGION") }),
        tableName: required(env, "POPWATCH_TABLE"),
        retentionDays: storeRetention(config),
      });
    return { config, store, region };
  };

  return async (event, context) => {
    const scheduled = parseScheduledEvent(event);
    // A failed set-up (unreadable config) is retried on the next event, not cached.
    runtime ??= setUp().catch((err: unknown) => {
      runtime = undefined;
      throw err;
    });
    const { config, store, region } = await runtime;
    const summary = await runInvocation({
      config,
      region,
      scheduledAt: scheduled.time,
      store,
      remainingMs: () => context.getRemainingTimeInMillis(),
      logger: withFields(logger, { requestId: context.awsRequestId ?? null, eventId: scheduled.id }),
      ...(options.safetyMarginMs !== undefined ? { safetyMarginMs: options.safetyMarginMs } : {}),
    });
    // Failing the invocation makes Lambda retry the same event; its writes land on the same keys.
    throwIfIncomplete(summary);
    return summary;
  };
}

function required(env: Record<string, string | undefined>, name: string): string {
  const value = env[name];
  if (value === undefined || value === "") throw new Error(`environment variable ${name} is not set`);
  return value;
}

/** POPWATCH_CONFIG_FILE (default popwatch.config.json), relative to the function's root, else to this file, unless absolute. */
function configPath(env: Record<string, string | undefined>): string {
  const file = env.POPWATCH_CONFIG_FILE || "popwatch.config.json";
  if (isAbsolute(file)) return file;
  return join(env.LAMBDA_TASK_ROOT || dirname(fileURLToPath(import.meta.url)), file);
}

export const handler = createHandler();
