// The sinks a deployed function delivers alerts to: config.alerting.sinks,
// with eventbridge sinks that name no bus sent to the evaluate stack's bus
// (POPWATCH_ALERT_BUS). The evaluator and the probe (fast routing) deliver
// the same notifications, so they build their sinks the same way.
import type { PopwatchConfig } from "@popwatch/core";
import { type CreateSinksOptions, type Sink, createSinks } from "@popwatch/notify";

export function deployedAlertSinks(
  config: Pick<PopwatchConfig, "alerting" | "homeRegion">,
  env: Record<string, string | undefined>,
  options: Pick<CreateSinksOptions, "eventBridgeClient"> = {},
): Sink[] {
  const bus = env.POPWATCH_ALERT_BUS;
  const sinkConfigs = config.alerting.sinks.map((sink) =>
    sink.type === "eventbridge" && sink.busName === undefined && bus ? { ...sink, busName: bus } : sink,
  );
  return createSinks(sinkConfigs, {
    homeRegion: config.homeRegion,
    ...(options.eventBridgeClient ? { eventBridgeClient: options.eventBridgeClient } : {}),
  });
}
