// Bodies for the webhook formats. Slack: incoming-webhook message with a
// plain-text fallback and Block Kit blocks. PagerDuty: Events API v2 with one
// incident per (SLO, severity): resolved only once no scope of the group
// fires, as Alertmanager does with its group key. What an alert saw is told
// by the kind of its key: burn rates for an SLO, PoPs, changes and kilometres
// for an anycast condition, AS numbers and prefixes for a routing condition
// (planAlerts guarantees the figures match the key). A routing alert's resolve
// says what recovered ("origin restored", "visible again").
import {
  type AlertRule,
  type AlertScopeEntry,
  type AnycastAlertDetail,
  type Notification,
  type RoutingAlertDetail,
  alertSubject,
} from "@popwatch/core";

const SLACK_HEADER_LIMIT = 150;
const SLACK_SECTION_LIMIT = 3000;
const SLACK_SCOPES_SHOWN = 20;
const PAGERDUTY_SUMMARY_LIMIT = 1024;
/** AS numbers and prefixes listed in one line; the rest are counted. */
const ROUTING_LIST_SHOWN = 8;

export interface SlackMessage {
  text: string;
  blocks: Record<string, unknown>[];
}

export interface PagerDutyEvent {
  routing_key: string;
  event_action: "trigger" | "resolve";
  dedup_key: string;
  payload: {
    summary: string;
    source: string;
    severity: "critical" | "warning";
    timestamp: string;
    component: string;
    custom_details: Notification;
  };
}

const VERB: Record<Notification["kind"], string> = { firing: "FIRING", renotify: "STILL FIRING", resolved: "RESOLVED" };

/** One line: what, where, how bad. The fallback text of Slack and PagerDuty's summary. */
export function summaryLine(notification: Notification): string {
  const scopes = notification.scopes.map((entry) => entry.scope).join(", ");
  const lead = notification.scopes[0]!;
  const figures = figuresOf(notification.slo, notification);
  // Routing is global: its one scope (pooled) says nothing.
  const where = figures?.kind === "routing" ? "" : ` in ${scopes}`;
  const head = `[${VERB[notification.kind]}] ${notification.slo} (${notification.severity})${where}`;
  if (notification.kind === "resolved") {
    if (figures?.kind === "routing") return `${head}: ${describeRouting(figures.detail, false)}`;
    const still = notification.active.length === 0 ? "" : `; still firing in ${notification.active.join(", ")}`;
    return `${head}${still}`;
  }
  if (figures?.kind === "anycast") return `${head}: ${describeAnycast(figures.detail, lead.rule)}`;
  if (figures?.kind === "routing") return `${head}: ${describeRouting(figures.detail, true)}`;
  const budget = notification.budgetRemaining === null ? "" : `, ${formatPercent(notification.budgetRemaining)} of the error budget left`;
  return `${head}: burn rate ${formatBurn(lead.burnRates[lead.rule.long])} over ${lead.rule.long} (threshold ${lead.rule.factor}×)${budget}`;
}

type Figures = { kind: "anycast"; detail: AnycastAlertDetail } | { kind: "routing"; detail: RoutingAlertDetail };

/** The figures to tell by the alert's kind, or null when the alert (an SLO's) is told in burn rates. */
function figuresOf(
  alert: string,
  figures: { anycast?: AnycastAlertDetail | undefined; routing?: RoutingAlertDetail | undefined },
): Figures | null {
  switch (alertSubject(alert).kind) {
    case "slo":
      return null;
    case "anycast":
      return figures.anycast === undefined ? null : { kind: "anycast", detail: figures.anycast };
    case "routing":
      return figures.routing === undefined ? null : { kind: "routing", detail: figures.routing };
  }
}

export function slackMessage(notification: Notification): SlackMessage {
  const shown = notification.scopes.slice(0, SLACK_SCOPES_SHOWN).map((entry) => slackScopeLine(notification.slo, entry));
  const hidden = notification.scopes.length - shown.length;
  if (hidden > 0) shown.push(`…and ${hidden} more`);
  return {
    text: summaryLine(notification),
    blocks: [
      {
        type: "header",
        text: {
          type: "plain_text",
          text: truncate(`${VERB[notification.kind]}: ${notification.slo} (${notification.severity})`, SLACK_HEADER_LIMIT),
        },
      },
      { type: "section", text: { type: "mrkdwn", text: truncate(shown.join("\n"), SLACK_SECTION_LIMIT) } },
      {
        type: "context",
        elements: [
          {
            type: "mrkdwn",
            text: truncate(
              `\`${slackEscape(notification.command)}\` · ${notification.at} · ${slackEscape(notification.notificationId)}`,
              SLACK_SECTION_LIMIT,
            ),
          },
        ],
      },
    ],
  };
}

function slackScopeLine(alert: string, entry: AlertScopeEntry): string {
  const name = `*${slackEscape(entry.scope)}*`;
  const figures = figuresOf(alert, entry);
  if (figures?.kind === "routing") {
    const holds = entry.change !== "resolved";
    const when = holds ? `since ${entry.startedAt}` : `at ${entry.resolvedAt ?? "?"} (firing since ${entry.startedAt})`;
    return `${slackEscape(describeRouting(figures.detail, holds))}, ${when}`;
  }
  if (entry.change === "resolved") return `${name} resolved at ${entry.resolvedAt ?? "?"} (firing since ${entry.startedAt})`;
  if (figures?.kind === "anycast") return `${name} ${slackEscape(describeAnycast(figures.detail, entry.rule))}, since ${entry.startedAt}`;
  const short = entry.burnRates[entry.rule.short];
  const budget = entry.budgetRemaining === null ? "" : `, budget ${formatPercent(entry.budgetRemaining)} left`;
  return `${name} burn ${formatBurn(entry.burnRates[entry.rule.long])} over ${entry.rule.long} (${entry.rule.short}: ${formatBurn(short)}, threshold ${entry.rule.factor}×)${budget}, since ${entry.startedAt}`;
}

export function pagerDutyEvent(notification: Notification, routingKey: string): PagerDutyEvent {
  return {
    routing_key: routingKey,
    event_action: notification.kind === "resolved" && notification.active.length === 0 ? "resolve" : "trigger",
    dedup_key: pagerDutyDedupKey(notification),
    payload: {
      summary: truncate(summaryLine(notification), PAGERDUTY_SUMMARY_LIMIT),
      source: "popwatch",
      severity: notification.severity === "page" ? "critical" : "warning",
      timestamp: notification.at,
      component: notification.slo,
      custom_details: notification,
    },
  };
}

/** One incident per SLO and severity: regions join and leave it. */
export function pagerDutyDedupKey(notification: Pick<Notification, "slo" | "severity">): string {
  return `popwatch/${notification.slo}/${notification.severity}`;
}

/** What an anycast alert saw, in PoPs, changes and kilometres. */
export function describeAnycast(detail: AnycastAlertDetail, rule: Pick<AlertRule, "long" | "short">): string {
  switch (detail.condition) {
    case "catchment-shift":
      return (
        `dominant PoP ${detail.before ?? "none"} → ${detail.after ?? "none"} ` +
        `(${formatShare(detail.afterShare)} of ${detail.recentEvents} answers over ${rule.long}; ${formatShare(detail.beforeShare)} of ${detail.baselineEvents} over the 24 h before)`
      );
    case "flapping":
      return (
        `answering PoP changed ${detail.changesPerHour} times over ${rule.long}${detail.kind === null ? "" : ` (${detail.kind})`} ` +
        `(threshold ${detail.threshold}; ${detail.shortWindowChanges} over ${rule.short})`
      );
    case "detour":
      if (detail.pop === null || detail.excessKm === null || detail.distanceKm === null)
        return `serving PoP ${detail.pop ?? "unknown"} not located (threshold ${detail.detourKm} km)`;
      return `served by ${detail.pop} ${formatKm(detail.distanceKm)} away, ${formatKm(detail.excessKm)} further than ${detail.nearestPop ?? "?"} (threshold ${detail.detourKm} km)`;
    case "pop-change":
      return (
        `answering PoP ${detail.from ?? "unknown"} → ${detail.to ?? "undetermined"}` +
        `${detail.changedAt === null ? "" : ` since the round of ${detail.changedAt}`} ` +
        `(${detail.stableRounds} of ${detail.stableSamples} rounds stable; round ${detail.slotAt}, detected ${detail.detectedAt})`
      );
    case "outage":
      return (
        `${detail.failed} of ${detail.probes} probes failed${detail.failures.length === 0 ? "" : ` (${detail.failures.join(", ")})`}; ` +
        `last answer ${detail.lastOkAt ?? "not within the rounds kept"} (round ${detail.slotAt}, detected ${detail.detectedAt})`
      );
  }
}

/**
 * What a routing alert saw, with the AS numbers and prefixes involved: while
 * it holds (`holds`), what is wrong; once resolved, what recovered.
 */
export function describeRouting(detail: RoutingAlertDetail, holds: boolean): string {
  const seenBy = `seen by ${detail.peers} ${detail.peers === 1 ? "peer" : "peers"}`;
  const visible = `${detail.peersSeeing} of ${detail.peersReporting} peers (${formatShare(detail.visibility)}, threshold ${formatPercent(detail.minVisibility)})`;
  const upstreams = detail.upstreamsSeen.length === 0 ? "none" : asList(detail.upstreamsSeen);
  switch (detail.condition) {
    case "origin-hijack":
      return holds
        ? `origin hijack: ${asList(detail.asns)} ${detail.asns.length === 1 ? "originates" : "originate"} ${list(detail.prefixes)} (expected ${asList(detail.expected)}), ${seenBy}`
        : `origin restored: ${detail.prefix} originated by ${detail.originsSeen.length === 0 ? "no peer's route" : asList(detail.originsSeen)} (expected ${asList(detail.expected)})`;
    case "sub-prefix-hijack":
      return holds
        ? `sub-prefix hijack: ${list(detail.prefixes)} inside ${detail.prefix} (longer than /${detail.maxLength ?? "?"}) announced by ${asList(detail.asns)}, ${seenBy}`
        : `more-specific withdrawn: nothing longer than /${detail.maxLength ?? "?"} inside ${detail.prefix}`;
    case "low-visibility":
      return holds ? `${detail.prefix} visible to only ${visible}` : `visible again: ${detail.prefix} seen by ${visible}`;
    case "unexpected-upstream":
      return holds
        ? `unexpected upstream: ${asList(detail.asns)} next to the origin of ${list(detail.prefixes)} (expected ${asList(detail.expected)}), ${seenBy}`
        : `upstream as expected: ${upstreams} next to the origin of ${detail.prefix} (expected ${asList(detail.expected)})`;
    case "rpki-invalid":
      return holds
        ? `RPKI invalid: ${list(detail.prefixes)} originated by ${asList(detail.asns)}, ${seenBy}`
        : `RPKI valid again: no invalid announcement inside ${detail.prefix}`;
  }
}

function asList(asns: readonly number[]): string {
  return list(asns.map((asn) => `AS${asn}`));
}

function list(items: readonly string[]): string {
  if (items.length === 0) return "none";
  const shown = items.slice(0, ROUTING_LIST_SHOWN).join(", ");
  return items.length > ROUTING_LIST_SHOWN ? `${shown} and ${items.length - ROUTING_LIST_SHOWN} more` : shown;
}

function formatShare(share: number | null): string {
  return share === null ? "n/a" : formatPercent(share);
}

function formatKm(km: number): string {
  return `${Math.round(km)} km`;
}

function formatBurn(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? "n/a" : `${Number(rate.toPrecision(3))}×`;
}

function formatPercent(fraction: number): string {
  return `${Number((fraction * 100).toPrecision(3))}%`;
}

/** At most `limit` UTF-16 units, never cutting a surrogate pair (an emoji in a PoP or target name) in half. */
export function truncate(text: string, limit: number): string {
  if (text.length <= limit) return text;
  let end = limit - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

// Slack mrkdwn treats these three as control characters.
function slackEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
