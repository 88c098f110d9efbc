// `/metrics`: the exporter's own process and the probes it ran, plus whatever
// collectors the caller plugs in (the store's SLO state, see the CLI).
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";

/** Why a request got no probe; a closed set, so the label stays bounded. */
export type RejectReason = "bad_request" | "overloaded" | "draining" | "not_found";

export interface SelfMetrics {
  registry: Registry;
  probeFinished(module: string, success: boolean): void;
  rejected(reason: RejectReason): void;
  inFlight(count: number): void;
}

/** Adds metrics to the `/metrics` registry; called once at start. */
export type Collector = (registry: Registry) => void;

export function createSelfMetrics(collectors: readonly Collector[]): SelfMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // prom-client names three gauges `_total`, which promtool's lint refuses for a non-counter;
  // their per-type siblings (nodejs_active_handles{type}, ...) carry the same counts.
  for (const name of ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"]) {
    registry.removeSingleMetric(name);
  }
  // Label values are module names the exporter accepted (kinds or configured modules): bounded by the config.
  const probes = new Counter({
    name: "popwatch_exporter_probes_total",
    help: "Probes run through /probe, by module and result",
    labelNames: ["module", "result"],
    registers: [registry],
  });
  const rejected = new Counter({
    name: "popwatch_exporter_rejected_requests_total",
    help: "Requests answered without a probe, by reason (bad_request, overloaded, draining, not_found)",
    labelNames: ["reason"],
    registers: [registry],
  });
  for (const reason of ["bad_request", "overloaded", "draining", "not_found"] satisfies RejectReason[]) rejected.inc({ reason }, 0);
  const inFlight = new Gauge({ name: "popwatch_exporter_probes_in_flight", help: "Probes running now", registers: [registry] });
  for (const collector of collectors) collector(registry);
  return {
    registry,
    probeFinished: (module, success) => probes.inc({ module, result: success ? "success" : "failure" }),
    rejected: (reason) => rejected.inc({ reason }),
    inFlight: (count) => inFlight.set(count),
  };
}
