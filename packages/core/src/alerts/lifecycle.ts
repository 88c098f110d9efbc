// The alert lifecycle: from what the evaluator observed and the stored state
// of every alert key (./key.ts: an SLO or anycast condition, a scope, a
// severity), decide the next states and what to tell receivers. Pure: `now`
// comes in, nothing is read or written.
//
// Two things are tracked per key, and kept apart on purpose:
// - `status` (inactive → firing → resolved → firing …) is the truth, with
//   hysteresis: firing starts when the rule burns, and ends only once it no
//   longer burns AND its short window has no bad events, so an alert does not
//   resolve in the quiet minute between two bursts;
// - `announced` is what receivers believe. A maintenance window or an unmet
//   region quorum holds a delivery back; the state keeps owing it and pays when
//   the hold ends (a firing still going on is delivered then, as is a resolve
//   of something announced before the window). A resolve is never sent for a
//   firing that receivers never heard of.
//
// Notifications are grouped per (alert, severity, kind) per evaluation and carry
// ids built from those and the evaluation instant: replaying an evaluation
// yields the same ids, so deliveries retried downstream are idempotent.
import { compareStrings } from "../compare";
import { PopwatchCoreError } from "../errors";
import { toEpochMs } from "../rollup/period";
import { MINUTE_MS } from "../time";
import { alertCommand } from "./command";
import {
  type AlertKey,
  type AlertSubject,
  alertKeyString,
  alertName,
  alertSubject,
  decodeAlertKey,
  describeAlertKey,
  encodeAlertKey,
} from "./key";
import {
  type AlertObservation,
  type AlertReport,
  type AlertScopeEntry,
  type AlertSeverity,
  type AlertState,
  type AlertStatus,
  type AlertTransition,
  type AlertingConfig,
  type AnycastAlertDetail,
  type Notification,
  type NotificationKind,
  POOLED_SCOPE,
  type RoutingAlertDetail,
  type SuppressionReason,
  alertObservationSchema,
} from "./schema";

export interface PlanAlertsInput {
  /** The evaluation instant. Give every evaluator of one scheduled run the same `now` (the schedule's time), so duplicates produce identical ids. */
  now: Date | number | string;
  observations: readonly AlertObservation[];
  /** Stored states; keys without one start inactive. */
  previous: readonly AlertState[];
  config: Pick<AlertingConfig, "renotifyMinutes" | "maintenance" | "quorum">;
}

/** One key's share of a plan: what a store must write for it, with what the write owes receivers. */
export interface AlertStateUpdate {
  /** The stored state this replaces; null when none was stored. */
  previous: AlertState | null;
  state: AlertState;
  /** The plan's notifications restricted to this key's scope (see notificationPart). */
  notifications: Notification[];
  transitions: AlertTransition[];
}

export interface AlertPlan {
  /** Every key's state after this evaluation (stored and observed keys), sorted by key. */
  next: AlertState[];
  /** The states that differ from what was stored; nothing else needs writing. */
  updates: AlertStateUpdate[];
  notifications: Notification[];
  /** Status changes, delivered or not. */
  transitions: AlertTransition[];
}

function initialAlertState(key: AlertKey): AlertState {
  return {
    ...encodeAlertKey(key),
    status: "inactive",
    startedAt: null,
    resolvedAt: null,
    announced: false,
    lastNotifiedAt: null,
    held: null,
    report: null,
  };
}

function notificationId(subject: AlertSubject, severity: AlertSeverity, kind: NotificationKind, atIso: string): string {
  // The instant leads so that ids sort in time order (outbox keys rely on it).
  return `${atIso}/${severity}/${kind}/${encodeURIComponent(alertName(subject))}`;
}

function transitionId(key: AlertKey, from: AlertStatus, to: AlertStatus, atIso: string): string {
  return `${atIso}/${key.severity}/${encodeURIComponent(key.scope)}/${from}-${to}/${encodeURIComponent(alertName(key))}`;
}

interface BuildNotificationInput {
  subject: AlertSubject;
  severity: AlertSeverity;
  kind: NotificationKind;
  at: string;
  entries: readonly AlertScopeEntry[];
  active: readonly string[];
}

/** Assembles a notification from its scope entries; the summary fields are derived, so parts merge back exactly. */
function buildNotification(input: BuildNotificationInput): Notification {
  if (input.entries.length === 0) throw new PopwatchCoreError("alert_input_invalid", "a notification needs at least one scope entry");
  const entries = [...input.entries].sort(compareEntries);
  const lead = entries[0]!;
  const regions = entries.map((entry) => entry.scope).filter((scope) => scope !== POOLED_SCOPE);
  const budgets = entries.map((entry) => entry.budgetRemaining).filter((budget): budget is number => budget !== null);
  const onlyRegion = entries.length === 1 ? lead.scope : undefined;
  return {
    schemaVersion: 1,
    notificationId: notificationId(input.subject, input.severity, input.kind, input.at),
    kind: input.kind,
    status: input.kind === "resolved" ? "resolved" : "firing",
    slo: alertName(input.subject),
    severity: input.severity,
    at: input.at,
    startedAt: entries.map((entry) => entry.startedAt).sort()[0]!,
    scopes: entries,
    regions,
    active: [...new Set(input.active)].sort(),
    burnRates: lead.burnRates,
    budgetRemaining: budgets.length === 0 ? null : Math.min(...budgets),
    rule: lead.rule,
    command: alertCommand(input.subject, onlyRegion),
    ...(lead.anycast === undefined ? {} : { anycast: lead.anycast }),
    ...(lead.routing === undefined ? {} : { routing: lead.routing }),
  };
}

/** The part of a notification that concerns one scope, or null when it does not list that scope. */
export function notificationPart(notification: Notification, scope: string): Notification | null {
  const entries = notification.scopes.filter((entry) => entry.scope === scope);
  if (entries.length === 0) return null;
  return buildNotification({ ...notification, subject: alertSubject(notification.slo), entries, active: notification.active });
}

/**
 * Reassembles notifications from parts (as stored per key): parts with the
 * same id become one notification again, equal to the one the plan emitted
 * when every part is there. Sorted by id, i.e. by time.
 */
export function mergeNotificationParts(parts: readonly Notification[]): Notification[] {
  const byId = new Map<string, Notification[]>();
  for (const part of parts) {
    const list = byId.get(part.notificationId);
    if (list) list.push(part);
    else byId.set(part.notificationId, [part]);
  }
  return [...byId.entries()]
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([, group]) => {
      const first = group[0]!;
      const entries = new Map<string, AlertScopeEntry>();
      for (const part of group) for (const entry of part.scopes) if (!entries.has(entry.scope)) entries.set(entry.scope, entry);
      return buildNotification({
        subject: alertSubject(first.slo),
        severity: first.severity,
        kind: first.kind,
        at: first.at,
        entries: [...entries.values()],
        active: group.flatMap((part) => part.active),
      });
    });
}

interface Work {
  key: AlertKey;
  previous: AlertState | null;
  observation: AlertObservation | undefined;
  state: AlertState;
  transition: { from: AlertStatus; to: AlertStatus } | null;
  delivered: NotificationKind | null;
  inMaintenance: boolean;
}

export function planAlerts(input: PlanAlertsInput): AlertPlan {
  const nowMs = toEpochMs(input.now);
  if (nowMs === null) throw new PopwatchCoreError("alert_input_invalid", "now is not a valid instant");
  const at = new Date(nowMs).toISOString();
  const observations = validatedObservations(input.observations);
  const previous = new Map<string, AlertState>();
  for (const state of input.previous) {
    const key = alertKeyString(state);
    if (previous.has(key)) throw new PopwatchCoreError("alert_input_invalid", `previous holds two states for ${describeAlertKey(state)}`);
    previous.set(key, state);
  }

  const keys = new Map<string, AlertKey>();
  for (const state of input.previous) keys.set(alertKeyString(state), decodeAlertKey(state));
  for (const observation of observations.values()) keys.set(alertKeyString(observation), decodeAlertKey(observation));

  const work: Work[] = [...keys.entries()]
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([id, key]) => {
      const stored = previous.get(id) ?? null;
      return {
        key,
        previous: stored,
        observation: observations.get(id),
        state: { ...(stored ?? initialAlertState(key)) },
        transition: null,
        delivered: null,
        inMaintenance: false,
      };
    });

  for (const item of work) advanceStatus(item, at);

  const firingRegions = new Map<string, number>();
  for (const { state } of work) {
    if (state.severity === "page" && state.scope !== POOLED_SCOPE && state.status === "firing") {
      firingRegions.set(state.slo, (firingRegions.get(state.slo) ?? 0) + 1);
    }
  }
  const windows = input.config.maintenance.map((window) => ({
    start: Date.parse(window.start),
    end: Date.parse(window.end),
    slos: window.slos === undefined ? null : new Set(window.slos),
    scopes: window.regions === undefined ? null : new Set(window.regions),
  }));
  // Maintenance windows and quorum name alerts as the configuration does: by name.
  const inMaintenance = (key: AlertKey): boolean =>
    windows.some(
      (w) =>
        w.start <= nowMs &&
        nowMs < w.end &&
        (w.slos === null || w.slos.has(alertName(key))) &&
        (w.scopes === null || w.scopes.has(key.scope)),
    );
  const quorumUnmet = (key: AlertKey): boolean => {
    const name = alertName(key);
    const needed = input.config.quorum[name];
    return needed !== undefined && key.severity === "page" && key.scope !== POOLED_SCOPE && (firingRegions.get(name) ?? 0) < needed;
  };
  const renotifyMs = input.config.renotifyMinutes * MINUTE_MS;

  for (const item of work) {
    item.inMaintenance = inMaintenance(item.key);
    decideDelivery(item, at, nowMs, renotifyMs, item.inMaintenance, quorumUnmet(item.key));
  }

  // Grouping: one notification per (alert, severity, kind) in this evaluation.
  const groups = new Map<string, { subject: AlertSubject; severity: AlertSeverity; kind: NotificationKind; entries: AlertScopeEntry[] }>();
  const active = new Map<string, string[]>();
  const groupKeyOf = (subject: AlertSubject, severity: AlertSeverity) => `${alertName(subject)}\u0000${severity}`;
  for (const { key, state, delivered } of work) {
    const groupKey = groupKeyOf(key, key.severity);
    if (state.status === "firing" && state.announced) active.set(groupKey, [...(active.get(groupKey) ?? []), state.scope]);
    if (delivered === null) continue;
    const id = `${groupKey}\u0000${delivered}`;
    let group = groups.get(id);
    if (!group) {
      group = { subject: key, severity: key.severity, kind: delivered, entries: [] };
      groups.set(id, group);
    }
    group.entries.push(scopeEntry(key, state, delivered));
  }
  // Sorted by id like mergeNotificationParts: within one instant, by severity, then firing < renotify < resolved.
  const notifications = [...groups.values()]
    .map((group) => buildNotification({ ...group, at, active: active.get(groupKeyOf(group.subject, group.severity)) ?? [] }))
    .sort((a, b) => compareStrings(a.notificationId, b.notificationId));
  const notificationFor = new Map<string, string>();
  for (const notification of notifications) {
    for (const entry of notification.scopes) {
      notificationFor.set(
        alertKeyString({ slo: notification.slo, severity: notification.severity, scope: entry.scope }),
        notification.notificationId,
      );
    }
  }

  const transitions: AlertTransition[] = [];
  const updates: AlertStateUpdate[] = [];
  for (const item of work) {
    const keyTransitions: AlertTransition[] = [];
    if (item.transition !== null) {
      const notified = item.delivered === null ? null : (notificationFor.get(alertKeyString(item.state)) ?? null);
      keyTransitions.push({
        id: transitionId(item.key, item.transition.from, item.transition.to, at),
        ...encodeAlertKey(item.key),
        from: item.transition.from,
        to: item.transition.to,
        at,
        notificationId: notified,
        suppressedBy: notified === null ? suppressionReason(item) : null,
        report: requireReport(item.state),
      });
    }
    transitions.push(...keyTransitions);
    if (!sameAlertState(item.state, item.previous ?? initialAlertState(item.key))) {
      updates.push({
        previous: item.previous,
        state: item.state,
        notifications: notifications
          .map((n) => (n.slo === item.state.slo && n.severity === item.key.severity ? notificationPart(n, item.key.scope) : null))
          .filter((n) => n !== null),
        transitions: keyTransitions,
      });
    }
  }

  return { next: work.map((item) => item.state), updates, notifications, transitions };
}

function advanceStatus(item: Work, at: string): void {
  const { observation, state } = item;
  // No observation (an SLO or region no longer evaluated) or too little traffic to judge: the status stands.
  if (observation === undefined || observation.heldBack === true) return;
  const from = state.status;
  if (from === "firing") {
    // Hysteresis: an alert raised by the 6h/30m rule must not resolve on a clean 5m window.
    const firedShort = state.report?.rule.short;
    const clean =
      observation.cleanShortWindows !== undefined && firedShort !== undefined
        ? observation.cleanShortWindows.includes(firedShort)
        : observation.shortWindowClean;
    if (!observation.burning && clean) {
      state.status = "resolved";
      state.resolvedAt = at;
    }
  } else if (observation.burning) {
    state.status = "firing";
    state.startedAt = at;
    state.resolvedAt = null;
  }
  if (state.status !== from) {
    item.transition = { from, to: state.status };
    state.report = reportOf(observation);
  }
}

function decideDelivery(item: Work, at: string, nowMs: number, renotifyMs: number, maintenance: boolean, quorumUnmet: boolean): void {
  const { state } = item;
  const deliver = (kind: NotificationKind): void => {
    item.delivered = kind;
    state.held = null;
    if (item.observation !== undefined) {
      const firedRule = state.report?.rule;
      state.report = reportOf(item.observation);
      // Still firing but no longer burning: keep the rule that fired, whose short window decides the resolve.
      if (kind !== "resolved" && !item.observation.burning && firedRule !== undefined) state.report.rule = firedRule;
    }
    if (kind === "resolved") {
      state.announced = false;
    } else {
      state.announced = true;
      state.lastNotifiedAt = at;
    }
  };
  if (state.status === "firing") {
    if (!state.announced) {
      if (maintenance) state.held = "maintenance";
      else if (quorumUnmet) state.held = "quorum";
      else deliver("firing");
      return;
    }
    state.held = null;
    const last = state.lastNotifiedAt === null ? null : Date.parse(state.lastNotifiedAt);
    // Without an observation (SLO or region no longer evaluated) there are no current figures to repeat.
    const observed = item.observation !== undefined;
    if (renotifyMs > 0 && observed && !maintenance && !quorumUnmet && (last === null || nowMs - last >= renotifyMs)) deliver("renotify");
    return;
  }
  if (!state.announced) {
    state.held = null;
    return;
  }
  // Resolves are not gated by quorum: receivers were told it fires, so they must hear that it stopped.
  if (maintenance) state.held = "maintenance";
  else deliver("resolved");
}

function suppressionReason(item: Work): SuppressionReason {
  const { state, transition } = item;
  if (state.held !== null) return state.held;
  if (item.inMaintenance) return "maintenance";
  return transition?.to === "firing" ? "already_announced" : "not_announced";
}

function scopeEntry(key: AlertKey, state: AlertState, change: NotificationKind): AlertScopeEntry {
  const report = requireReport(state);
  if (state.startedAt === null)
    throw new PopwatchCoreError("alert_input_invalid", `${describeAlertKey(state)} is ${state.status} without startedAt`);
  return {
    scope: state.scope,
    change,
    startedAt: state.startedAt,
    resolvedAt: change === "resolved" ? state.resolvedAt : null,
    burnRates: report.burnRates,
    budgetRemaining: report.budgetRemaining,
    rule: report.rule,
    command: alertCommand(key, key.scope),
    ...(report.anycast === undefined ? {} : { anycast: report.anycast }),
    ...(report.routing === undefined ? {} : { routing: report.routing }),
  };
}

function requireReport(state: AlertState): AlertReport {
  if (state.report === null)
    throw new PopwatchCoreError("alert_input_invalid", `${describeAlertKey(state)} is ${state.status} without a report`);
  return state.report;
}

function reportOf(observation: AlertObservation): AlertReport {
  return {
    burnRates: { ...observation.burnRates },
    budgetRemaining: observation.budgetRemaining,
    rule: { long: observation.rule.long, short: observation.rule.short, factor: observation.rule.factor },
    ...(observation.anycast === undefined ? {} : { anycast: structuredClone(observation.anycast) }),
    ...(observation.routing === undefined ? {} : { routing: structuredClone(observation.routing) }),
  };
}

// Most burning first (the rule's long window), then by name: the first entry leads the summary fields.
function compareEntries(a: AlertScopeEntry, b: AlertScopeEntry): number {
  const burnA = a.burnRates[a.rule.long] ?? -Infinity;
  const burnB = b.burnRates[b.rule.long] ?? -Infinity;
  if (burnA !== burnB) return burnB - burnA;
  return compareStrings(a.scope, b.scope);
}

function validatedObservations(list: readonly AlertObservation[]): Map<string, AlertObservation> {
  const byKey = new Map<string, AlertObservation>();
  list.forEach((observation, index) => {
    const parsed = alertObservationSchema.safeParse(observation);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const path = ["observations", index, ...issue.path].map(String).join(".");
      throw new PopwatchCoreError("alert_input_invalid", `${path}: ${issue.message}`, { cause: parsed.error });
    }
    const mismatch = detailMismatch(alertSubject(parsed.data.slo), parsed.data);
    if (mismatch !== null) throw new PopwatchCoreError("alert_input_invalid", `observations.${index}.${mismatch}`);
    const key = alertKeyString(parsed.data);
    if (byKey.has(key))
      throw new PopwatchCoreError(
        "alert_input_invalid",
        `observations.${index}: a second observation for ${describeAlertKey(parsed.data)}`,
      );
    byKey.set(key, parsed.data);
  });
  return byKey;
}

/**
 * What an observation reports must be about its key: anycast figures on an
 * anycast alert of the same condition and target, routing figures on a
 * routing alert of the same condition and prefix, neither on an SLO's.
 * Formatters choose their text by the key's kind and rely on it. Returns the
 * field at fault and why.
 */
function detailMismatch(
  subject: AlertSubject,
  figures: { anycast?: AnycastAlertDetail | undefined; routing?: RoutingAlertDetail | undefined },
): string | null {
  const { anycast, routing } = figures;
  switch (subject.kind) {
    case "slo":
      if (anycast !== undefined) return `anycast: an SLO alert (${subject.slo}) carries no anycast figures`;
      return routing === undefined ? null : `routing: an SLO alert (${subject.slo}) carries no routing figures`;
    case "anycast":
      if (routing !== undefined) return `routing: an anycast alert (${alertName(subject)}) carries no routing figures`;
      if (anycast === undefined) return `anycast: required on anycast alert ${alertName(subject)}`;
      return anycast.condition === subject.condition && anycast.target === subject.target
        ? null
        : `anycast: ${anycast.condition} of ${anycast.target} on alert ${alertName(subject)}`;
    case "routing":
      if (anycast !== undefined) return `anycast: a routing alert (${alertName(subject)}) carries no anycast figures`;
      if (routing === undefined) return `routing: required on routing alert ${alertName(subject)}`;
      return routing.condition === subject.condition && routing.prefix === subject.prefix
        ? null
        : `routing: ${routing.condition} of ${routing.prefix} on alert ${alertName(subject)}`;
  }
}

/** Field-by-field equality of two states (key order of stored JSON must not matter). */
function sameAlertState(a: AlertState, b: AlertState): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === "object" && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => compareStrings(a, b)))
      : inner,
  );
}
