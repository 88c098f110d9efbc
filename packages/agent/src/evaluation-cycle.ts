// One evaluation: SLOs and anycast conditions from rollups (one set of reads
// per region serves both) and, with a bgp section, the routing alerts from
// each watched prefix's snapshot, then one alert lifecycle run over all of
// them (conditional state writes, outbox, delivery). What functions/evaluate.ts runs every
// minute in the home region and `popwatch run` runs after each period.
import { type AlertStateRepository, type PopwatchConfig, ROUTING_SCOPE, type RoutingRepository } from "@popwatch/core";
import type { Sink } from "@popwatch/notify";
import type { ResultStore } from "@popwatch/store";
import { type AlertCycleReport, runAlertCycle } from "./alert-cycle";
import { type AnycastEvaluationRun, anycastReads, evaluateAnycastAlerts } from "./anycast-evaluation";
import { type RoutingEvaluationRun, type RoutingProblem, evaluateRouting, routingFiring } from "./routing-alerts";
import { type SloEvaluationRun, alertObservationsOf, evaluateSlos, evaluationEndMs } from "./slo-evaluation";

export interface EvaluationCycleOptions {
  config: PopwatchConfig;
  store: Pick<ResultStore, "queryPeriodRollups" | "readStats">;
  alerts: AlertStateRepository;
  sinks: readonly Sink[];
  regions: readonly string[];
  /** The evaluation instant (the scheduled event's time, so a retried event plans the same). */
  now: number;
  /**
   * Minutes whose rollups may still be missing at `now`: with queued rounds a
   * period is rolled up at the start of the next one (1), inline at its end (0).
   */
  lagMinutes?: number;
  /** Routing snapshots; with config.bgp the routing alerts are judged from them (without, they are not). */
  routing?: Pick<RoutingRepository, "getSnapshot">;
  /** The VRP file to read instead of bgp.rpki.vrpFile (the Lambda function's bundled copy). */
  vrpFile?: string;
}

export interface EvaluationCycleReport {
  /** Its itemsRead and queries include the anycast alerts' reads. */
  slos: SloEvaluationRun;
  anycast: AnycastEvaluationRun;
  /** Null without config.bgp or a routing repository. */
  routing: RoutingEvaluationRun | null;
  alerts: AlertCycleReport;
}

/** Default rollup lag for a config: see EvaluationCycleOptions.lagMinutes. */
export function rollupLagMinutes(config: Pick<PopwatchConfig, "schedule">): number {
  return config.schedule.dispatch === "queue" ? config.schedule.rateMinutes : 0;
}

export async function runEvaluationCycle(options: EvaluationCycleOptions): Promise<EvaluationCycleReport> {
  const endMs = evaluationEndMs(options.now, options.lagMinutes ?? rollupLagMinutes(options.config));
  const slos = await evaluateSlos({
    config: options.config,
    store: options.store,
    regions: options.regions,
    endMs,
    extraReads: anycastReads(options.config, endMs),
  });
  const anycast = evaluateAnycastAlerts({ config: options.config, regions: options.regions, endMs, rollups: slos.rollups });
  const { bgp } = options.config;
  const routing =
    bgp === undefined || options.routing === undefined
      ? null
      : await evaluateRouting({ bgp, routing: options.routing, ...(options.vrpFile === undefined ? {} : { vrpFile: options.vrpFile }) });
  const alerts = await runAlertCycle({
    repository: options.alerts,
    observations: [...alertObservationsOf(slos.scopes), ...anycast.observations, ...(routing?.observations ?? [])],
    now: options.now,
    config: options.config.alerting,
    sinks: options.sinks,
  });
  return { slos, anycast, routing, alerts };
}

/** What one evaluation did: what the evaluate function logs and `popwatch evaluate` prints. */
export interface EvaluationSummary {
  endsAt: string;
  /** Regions evaluated. */
  regions: string[];
  scopes: number;
  /** Anycast (condition, target, region) cells judged, held back or not. */
  anycastObservations: number;
  itemsRead: number;
  /** Routing (condition, watched prefix) alerts judged, held back or not; 0 without bgp. */
  routingObservations: number;
  /** What the routing evaluation could not use (a bad VRP file, an unreadable snapshot): its alerts were held back. */
  routingProblems: RoutingProblem[];
  /**
   * SLO rules firing, then anycast conditions and routing findings that hold
   * (`slo` is the alert name: `anycast:<condition>:<target>`, `routing:<condition>:<prefix>`).
   */
  firing: { slo: string; scope: string; severity: string }[];
  notificationsPlanned: number;
  delivered: number;
  /** Failed or deferred deliveries: the outbox keeps them for the next evaluation. */
  undelivered: number;
}

export function summariseEvaluation(report: EvaluationCycleReport, regions: readonly string[]): EvaluationSummary {
  const undelivered = report.alerts.delivery.outcomes.filter((o) => !o.ok).length + report.alerts.delivery.deferred.length;
  return {
    endsAt: new Date(report.slos.endMs).toISOString(),
    regions: [...regions],
    scopes: report.slos.scopes.length,
    anycastObservations: report.anycast.observations.length,
    itemsRead: report.slos.itemsRead,
    routingObservations: report.routing?.observations.length ?? 0,
    routingProblems: report.routing?.problems ?? [],
    firing: [
      ...report.slos.scopes.flatMap((s) => s.evaluation.firing.map((f) => ({ slo: s.slo, scope: s.scope, severity: f.severity }))),
      ...report.anycast.observations.filter((o) => o.burning).map((o) => ({ slo: o.slo, scope: o.scope, severity: o.severity })),
      ...(report.routing === null
        ? []
        : routingFiring(report.routing).map((f) => ({ slo: f.slo, scope: ROUTING_SCOPE, severity: f.severity }))),
    ],
    notificationsPlanned: report.alerts.plan.notifications.length,
    delivered: report.alerts.delivery.delivered.length,
    undelivered,
  };
}
