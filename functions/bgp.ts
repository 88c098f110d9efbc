// BGP archive reader, scheduled every 5 minutes in the home region next to
// the table: reads the newest update files of the configured collectors
// (RIPE RIS, RouteViews), keeps the events of the watched prefixes and folds
// them into routing snapshots and minutes. This file only wires the event,
// the environment and the clients to the agent's fetchArchiveUpdates. Nothing
// runs at import.
//
// The run's instant is the scheduled event's time, so a retried invocation
// plans the same files; the store writes each event once and the cursors only
// move forward, so a retry or an overlap with another run writes nothing twice.
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  type ArchiveFetchOptions,
  type ArchiveRunSummary,
  type Logger,
  bundledConfigPath,
  fetchArchiveUpdates,
  jsonLinesLogger,
  parseScheduledEvent,
  readConfigJson,
  requiredEnv,
  storeRetention,
  summariseArchiveRun,
  withFields,
} from "@popwatch/agent";
import type { ArchiveCursorRepository, PopwatchConfig, RoutingRepository } from "@popwatch/core";
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
  env?: Record<string, string | undefined>;
  logger?: Logger;
  /** Passed on to fetchArchiveUpdates (tests: a loopback dispatcher, small caps). */
  fetch?: Pick<ArchiveFetchOptions, "dispatcher" | "maxBytes" | "timeoutMs" | "maxFiles" | "giveUpAfterMs" | "clock">;
}

/** No new file is started this close to the Lambda timeout. */
const DEADLINE_MARGIN_MS = 30_000;

export type BgpHandler = (event: unknown, context: BgpContext) => Promise<ArchiveRunSummary>;

export function createBgpHandler(options: BgpHandlerOptions = {}): BgpHandler {
  const logger = options.logger ?? jsonLinesLogger();
  let runtime: Promise<{ config: PopwatchConfig; routing: RoutingRepository & ArchiveCursorRepository }> | undefined;

  const setUp = async () => {
    const env = options.env ?? process.env;
    const config = options.config ?? (await readConfigJson(bundledConfigPath(env, dirname(fileURLToPath(import.meta.url)))));
    if (config.bgp === undefined) throw new Error("the config has no bgp section: this function has nothing to watch");
    const routing =
      options.routing ??
      openStore({
        client: options.client ?? new DynamoDBClient({ region: requiredEnv(env, "POPWATCH_TABLE_REGION") }),
        tableName: requiredEnv(env, "POPWATCH_TABLE"),
        retentionDays: storeRetention(config),
      }).routing;
    return { config, routing };
  };

  return async (event, context) => {
    const scheduled = parseScheduledEvent(event);
    runtime ??= setUp().catch((err: unknown) => {
      runtime = undefined;
      throw err;
    });
    const { config, routing } = await runtime;
    const log = withFields(logger, { requestId: context.awsRequestId ?? null, eventId: scheduled.id });
    const clock = options.fetch?.clock ?? Date.now;
    const remaining = context.getRemainingTimeInMillis?.();
    const report = await fetchArchiveUpdates(routing, config.bgp!, {
      ...options.fetch,
      nowMs: Date.parse(scheduled.time),
      ...(remaining === undefined ? {} : { deadlineMs: clock() + remaining - DEADLINE_MARGIN_MS }),
    });
    const summary = summariseArchiveRun(report);
    log({
      level: summary.skipped > 0 || summary.failures.some((f) => f.code !== "archive_missing") ? "warn" : "info",
      msg: "bgp archives",
      ...summary,
    });
    return summary;
  };
}

export const handler = createBgpHandler();
