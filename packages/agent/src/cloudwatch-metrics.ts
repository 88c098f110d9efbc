// When the functions publish CloudWatch metrics: after each probing round
// (with the PoP memory a warm Lambda container keeps between rounds and
// invocations) and after each evaluation. What is published is core's
// (packages/core/src/metrics/cloudwatch.ts); how, the EMF publisher's.
// Metrics are a side channel: a fault here is logged, never thrown into the
// round or the evaluation that was already written and delivered.
import { type PopMemory, type PopwatchConfig, evaluationRecords, probeRoundRecords, roundIntervalMs } from "@popwatch/core";
import type { EmfPublisher } from "./cloudwatch-emf";
import type { EvaluationCycleReport } from "./evaluation-cycle";
import type { RoundReport } from "./invocation";
import type { Logger } from "./logger";

/**
 * An `onRound` hook publishing each round. Keep one per container: its PoP
 * memory is what PopChange compares with (core's probeRoundRecords explains
 * why nothing older than the previous round is compared).
 */
export function roundMetricsPublisher(emf: EmfPublisher, logger: Logger): (config: PopwatchConfig) => (round: RoundReport) => void {
  let memory: PopMemory = new Map();
  return (config) => (round) => {
    try {
      const out = probeRoundRecords(round.results, memory, { roundIntervalMs: roundIntervalMs(config.schedule) });
      memory = out.memory;
      emf.publish(out.records);
    } catch (err) {
      logger({ level: "error", msg: "cloudwatch metrics failed", round: round.round, error: describe(err) });
    }
  };
}

/** Publishes one evaluation's burn rates, budgets, alert states and transitions. */
export function publishEvaluationMetrics(emf: EmfPublisher, report: EvaluationCycleReport, logger: Logger): void {
  try {
    emf.publish(evaluationRecords({ endMs: report.slos.endMs, scopes: report.slos.scopes, plan: report.alerts.plan }));
  } catch (err) {
    logger({ level: "error", msg: "cloudwatch metrics failed", error: describe(err) });
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
