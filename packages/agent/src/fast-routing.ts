// Fast routing notifications: after each round is written, the probe judges
// PoP changes and outages of its region (core's fastRoutingObservations) and,
// when that changes an alert, runs the alert cycle for just those alerts
// right away, so the notification leaves within the round instead of after
// the evaluator's next minute.
//
// Where the rounds before come from: within an invocation, memory; for the
// first round of an invocation, the region's raw results of the rounds just
// before it (one Query on the region's raw partition, a few items). No item of
// its own: the raw results already say everything, and a retried invocation
// reads exactly what its first attempt would have.
//
// Exactly once across retries: the plan's instant is the round's scheduled
// slot, never the wall clock, so a retried invocation plans the same
// notification ids; the state writes are conditional and the outbox drops a
// second copy of an id (and never resends a delivered one).
//
// Cost: the first round of an invocation loads the alert states once; later
// rounds plan against the states the last cycle left (in memory) and touch the
// table only when that plan changes something. Delivery failures stay in the
// outbox, which the evaluator delivers from every minute.
import {
  type AlertObservation,
  type AlertState,
  type AlertStateRepository,
  type PopwatchConfig,
  type RoundOutcome,
  fastRoutingHistoryRounds,
  fastRoutingObservations,
  fastRoutingSeverities,
  planAlerts,
  roundIntervalMs,
  roundOutcome,
  roundOutcomes,
} from "@popwatch/core";
import type { Sink } from "@popwatch/notify";
import type { ResultStore, StoredResult } from "@popwatch/store";
import { type DeliverPendingOptions, alertsNamed, runAlertCycle } from "./alert-cycle";
import type { Logger } from "./logger";

export interface FastRoutingOptions {
  /** Alert states, outbox and history: the table's alert repository. */
  alerts: AlertStateRepository;
  sinks: readonly Sink[];
  /**
   * Default: two attempts within 2 s per sink; what is not delivered then
   * stays in the outbox for the evaluator, so a slow sink cannot hold up the
   * probe's rounds.
   */
  delivery?: DeliverPendingOptions;
}

/** What fast routing did after one round. */
export interface FastRoutingRoundReport {
  round: number;
  slotAt: string;
  /** When the round was judged (its results written). */
  detectedAt: string;
  observations: number;
  /** Alerts whose condition holds in this round (`anycast:<condition>:<target>`). */
  burning: string[];
  /** Whether the alert states were read and written (false: nothing to change). */
  cycled: boolean;
  /** Notification ids planned, and those delivered to every sink, by this round's cycle. */
  planned: string[];
  delivered: string[];
  /** When delivery ended, when the cycle ran. */
  deliveredAt: string | null;
  /** The cycle failed; the next round (or the evaluator, for delivery) tries again. */
  problem: { code: string; message: string } | null;
}

/** Whether any fast routing condition is on. */
export function fastRoutingEnabled(config: Pick<PopwatchConfig, "analytics">): boolean {
  return Object.keys(fastRoutingSeverities(config.analytics)).length > 0;
}

export const DEFAULT_FAST_DELIVERY: DeliverPendingOptions = { retry: { maxAttempts: 2, maxElapsedMs: 2_000 } };

export interface FastRoutingCheckOptions extends FastRoutingOptions {
  config: Pick<PopwatchConfig, "analytics" | "alerting" | "schedule">;
  region: string;
  store: Pick<ResultStore, "queryResults">;
  now: () => number;
  log: Logger;
}

/** One invocation's fast routing: call afterRound with each round's stored results, in slot order. */
export class FastRoutingCheck {
  private readonly options: FastRoutingCheckOptions;
  private readonly kept: number;
  private readonly intervalMs: number;
  private rounds: RoundOutcome[] | null = null;
  /** States of the fast alerts as the last cycle left them; null: read them. */
  private states: AlertState[] | null = null;

  constructor(options: FastRoutingCheckOptions) {
    this.options = options;
    this.kept = fastRoutingHistoryRounds(options.config.analytics);
    this.intervalMs = roundIntervalMs(options.config.schedule);
  }

  async afterRound(round: number, slotMs: number, results: readonly StoredResult[]): Promise<FastRoutingRoundReport> {
    const { config, region, log } = this.options;
    const detectedAtMs = this.options.now();
    const current = roundOutcome(region, slotMs, results);
    const history = await this.history(slotMs);
    const observations = fastRoutingObservations({ current, history, detectedAtMs, analytics: config.analytics });
    this.rounds = [...history.filter((r) => r.slotMs < slotMs), current].slice(-this.kept);
    const report: FastRoutingRoundReport = {
      round,
      slotAt: new Date(slotMs).toISOString(),
      detectedAt: new Date(detectedAtMs).toISOString(),
      observations: observations.length,
      burning: observations.filter((o) => o.burning).map((o) => o.slo),
      cycled: false,
      planned: [],
      delivered: [],
      deliveredAt: null,
      problem: null,
    };
    if (observations.length === 0 || !this.mayChange(observations, slotMs)) return report;
    report.cycled = true;
    try {
      const names = new Set(observations.map((o) => o.slo));
      const cycle = await runAlertCycle({
        repository: alertsNamed(this.options.alerts, names),
        observations,
        now: slotMs,
        config: config.alerting,
        sinks: this.options.sinks,
        delivery: this.options.delivery ?? DEFAULT_FAST_DELIVERY,
      });
      // Another writer won a key: its state is not what this plan says, so read it next time.
      this.states = cycle.applied.conflicts.length > 0 ? null : cycle.plan.next;
      report.planned = cycle.plan.notifications.map((n) => n.notificationId);
      report.delivered = cycle.delivery.delivered;
      report.deliveredAt = new Date(this.options.now()).toISOString();
      const undelivered = cycle.delivery.outcomes.filter((o) => !o.ok).length + cycle.delivery.deferred.length;
      log({
        level: undelivered > 0 ? "warn" : "info",
        msg: "fast routing",
        region,
        round,
        slotAt: report.slotAt,
        detectedAt: report.detectedAt,
        deliveredAt: report.deliveredAt,
        // From the round's slot to the end of delivery: what "within one round" is measured by.
        latencyMs: this.options.now() - slotMs,
        burning: report.burning,
        planned: report.planned,
        delivered: report.delivered,
        undelivered,
      });
    } catch (err) {
      this.states = null;
      report.problem = describe(err);
      log({ level: "error", msg: "fast routing failed", region, round, slotAt: report.slotAt, error: report.problem });
    }
    return report;
  }

  /** The rounds before `slotMs`: memory, or on the first round the region's stored results of the rounds before it. */
  private async history(slotMs: number): Promise<RoundOutcome[]> {
    if (this.rounds !== null) return this.rounds;
    const { store, region, log } = this.options;
    try {
      const results = await store.queryResults({ region, since: slotMs - this.kept * this.intervalMs, until: slotMs });
      return roundOutcomes(region, results);
    } catch (err) {
      // Judged as a first round: an outage waits one more round, a change needs a PoP to compare with.
      log({ level: "warn", msg: "fast routing: earlier rounds not read", region, error: describe(err) });
      return [];
    }
  }

  /** Whether planning against the states the last cycle left would write anything; always when they are unknown. */
  private mayChange(observations: readonly AlertObservation[], slotMs: number): boolean {
    if (this.states === null) return true;
    const names = new Set(observations.map((o) => o.slo));
    const plan = planAlerts({
      now: slotMs,
      observations,
      previous: this.states.filter((s) => names.has(s.slo)),
      config: this.options.config.alerting,
    });
    return plan.updates.length > 0;
  }
}

function describe(err: unknown): { code: string; message: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return {
    code: typeof code === "string" ? code : "internal",
    message: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
  };
}
