// The alert lifecycle's one home outside core: one alert evaluation end to
// end. Load states, plan (pure, @popwatch/core), write the plan
// (conditional per key; only won keys queue notifications), then deliver
// whatever the outbox holds, this evaluation's and earlier ones'. Delivery
// reads the outbox rather than the plan, so a notification that could not be
// sent (endpoint down, evaluator crashed after writing) goes out on a later
// evaluation instead of being lost. @popwatch/notify only formats and sends.
import {
  type AlertObservation,
  type AlertOutbox,
  type AlertPlan,
  type AlertStateRepository,
  type AlertingConfig,
  type ApplyPlanReport,
  planAlerts,
} from "@popwatch/core";
import { type DeliverOptions, type DeliveryOutcome, NotifyError, type Sink, assertUniqueSinkIds, deliver } from "@popwatch/notify";

export interface DeliverPendingOptions extends DeliverOptions {
  /** How long a deliverer owns a notification; longer than a delivery with all its retries. Default 60 s. */
  leaseMs?: number;
}

export interface PendingDeliveryReport {
  /** Notification ids now done at every sink: delivered, or refused for good (see outcomes). */
  delivered: string[];
  outcomes: DeliveryOutcome[];
  /** Not sent to a sink because an earlier notification of the same SLO and severity failed there: order is kept per sink. */
  deferred: { notificationId: string; sinkId: string }[];
  /** Leased by another deliverer, or delivered meanwhile. */
  skipped: string[];
}

export async function deliverPending(
  outbox: AlertOutbox,
  sinks: readonly Sink[],
  options: DeliverPendingOptions = {},
): Promise<PendingDeliveryReport> {
  assertUniqueSinkIds(sinks);
  const leaseMs = options.leaseMs ?? 60_000;
  if (!(Number.isFinite(leaseMs) && leaseMs > 0)) throw new NotifyError("options_invalid", "leaseMs must be a positive number");
  const report: PendingDeliveryReport = { delivered: [], outcomes: [], deferred: [], skipped: [] };
  // A firing must not reach a sink after its own resolve: once a group fails at a sink, its later notifications wait.
  const blocked = new Set<string>();
  const blockedGroups = new Set<string>();
  for (const { notification } of await outbox.pendingNotifications()) {
    const id = notification.notificationId;
    const group = `${notification.slo}\u0000${notification.severity}`;
    if (blockedGroups.has(group)) {
      for (const sink of sinks) report.deferred.push({ notificationId: id, sinkId: sink.id });
      continue;
    }
    const claim = await outbox.claimDelivery(id, leaseMs);
    if (claim === null) {
      report.skipped.push(id);
      // Another deliverer has it (or just finished it): the group's later notifications are theirs to send after it, or the next evaluation's.
      blockedGroups.add(group);
      continue;
    }
    try {
      const current = claim.pending;
      const done = new Set(current.deliveredTo);
      const due = sinks.filter((sink) => !done.has(sink.id));
      const sendable = due.filter((sink) => !blocked.has(`${sink.id}\u0000${group}`));
      for (const sink of due) if (!sendable.includes(sink)) report.deferred.push({ notificationId: id, sinkId: sink.id });
      const outcomes = await deliver([current.notification], sendable, options);
      report.outcomes.push(...outcomes);
      const finished: string[] = [];
      for (const outcome of outcomes) {
        // A permanent refusal is final too: retrying it every evaluation would only repeat the refusal.
        if (outcome.ok || !outcome.retryable) finished.push(outcome.sinkId);
        else blocked.add(`${outcome.sinkId}\u0000${group}`);
      }
      await outbox.recordDelivery(id, finished);
      for (const sinkId of finished) done.add(sinkId);
      if (sinks.every((sink) => done.has(sink.id))) {
        await outbox.markDelivered(id);
        report.delivered.push(id);
      }
    } finally {
      await outbox.releaseDelivery(id, claim.token);
    }
  }
  return report;
}

export interface AlertCycleInput {
  repository: AlertStateRepository;
  observations: readonly AlertObservation[];
  /** The evaluation instant; give duplicate invocations of one scheduled run the same value. */
  now: Date | number | string;
  config: Pick<AlertingConfig, "renotifyMinutes" | "maintenance" | "quorum">;
  sinks: readonly Sink[];
  delivery?: DeliverPendingOptions;
}

export interface AlertCycleReport {
  plan: AlertPlan;
  applied: ApplyPlanReport;
  delivery: PendingDeliveryReport;
}

export async function runAlertCycle(input: AlertCycleInput): Promise<AlertCycleReport> {
  const loaded = await input.repository.loadStates();
  const plan = planAlerts({
    now: input.now,
    observations: input.observations,
    previous: loaded.map((stored) => stored.state),
    config: input.config,
  });
  const applied = await input.repository.applyPlan(loaded, plan);
  const delivery = await deliverPending(input.repository, input.sinks, input.delivery);
  return { plan, applied, delivery };
}

/**
 * The repository seen through the alerts named: their states in every scope
 * (region quorum counts the other regions), and only their notifications in
 * the outbox. A cycle that runs outside the evaluator (fast routing after a
 * round, routing alerts after an ingest) neither plans nor delivers the
 * evaluator's other alerts.
 */
export function alertsNamed(repository: AlertStateRepository, names: ReadonlySet<string>): AlertStateRepository {
  const outbox: AlertOutbox = repository;
  return {
    loadStates: async () => (await repository.loadStates()).filter((stored) => names.has(stored.state.slo)),
    applyPlan: (loaded, plan) => repository.applyPlan(loaded, plan),
    pendingNotifications: async () => (await outbox.pendingNotifications()).filter((p) => names.has(p.notification.slo)),
    claimDelivery: (id, leaseMs) => outbox.claimDelivery(id, leaseMs),
    recordDelivery: (id, sinkIds) => outbox.recordDelivery(id, sinkIds),
    markDelivered: (id) => outbox.markDelivered(id),
    releaseDelivery: (id, token) => outbox.releaseDelivery(id, token),
  };
}
