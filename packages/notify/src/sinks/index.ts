import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import type { SinkConfig } from "@popwatch/core";
import type { Dispatcher } from "undici";
import { EventBridgeSink } from "./eventbridge";
import type { Sink } from "./sink";
import { StdoutSink } from "./stdout";
import { WebhookSink } from "./webhook";

export interface CreateSinksOptions {
  /** Region of EventBridge sinks that name none. */
  homeRegion?: string;
  /** Builds the client for a bus region; default a plain EventBridgeClient. */
  eventBridgeClient?: (region: string | undefined) => EventBridgeClient;
  write?: (line: string) => void;
  dispatcher?: Dispatcher;
}

/** Sinks from the `alerting.sinks` config; ids are `sinks.<index>`, the position in the config. */
export function createSinks(configs: readonly SinkConfig[], options: CreateSinksOptions = {}): Sink[] {
  const clients = new Map<string, EventBridgeClient>();
  const clientFor = (region: string | undefined): EventBridgeClient => {
    const key = region ?? "";
    let client = clients.get(key);
    if (!client) {
      client = options.eventBridgeClient
        ? options.eventBridgeClient(region)
        : new EventBridgeClient(region === undefined ? {} : { region });
      clients.set(key, client);
    }
    return client;
  };
  return configs.map((config, index) => {
    const id = `sinks.${index}`;
    switch (config.type) {
      case "eventbridge":
        return new EventBridgeSink({ id, client: clientFor(config.region ?? options.homeRegion), busName: config.busName });
      case "webhook":
        return new WebhookSink({
          id,
          url: config.url,
          format: config.format,
          timeoutMs: config.timeoutMs,
          ...(config.routingKey === undefined ? {} : { routingKey: config.routingKey }),
          ...(config.headers === undefined ? {} : { headers: config.headers }),
          ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
        });
      case "stdout":
        return new StdoutSink({ id, ...(options.write === undefined ? {} : { write: options.write }) });
      default: {
        // Config parsing admits only the types above; a new one fails type-checking here until it is wired.
        const unwired: never = config;
        throw new Error(`sink type not wired: ${JSON.stringify(unwired)}`);
      }
    }
  });
}
