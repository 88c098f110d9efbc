// Prometheus recording and alerting rules for the configured SLOs, in Sloth's
// shape (error-ratio recording rules per window, page and ticket multiwindow
// alerts), over the exporter's probe_slo_good. The windows and factors are
// popwatch's own rule tables, so Prometheus fires when popwatch's evaluator
// does. A plain object: the CLI serialises it.

import { PROBE_SLO_GOOD, SCRAPE_LABELS } from "../metrics/exporter-metrics";
import type { AlertSeverity } from "../severity";
import type { SloConfig, SloScope } from "./model";
import { type Rational, fromNumber, multiply, rational, subtract, toDecimalString } from "./rational";
import { type AlertWindow, type MultiwindowRule, WINDOW_MS, alertRulesFor } from "./rules";

export interface PrometheusRecordingRule {
  record: string;
  expr: string;
  labels: Record<string, string>;
}

export interface PrometheusAlertingRule {
  alert: string;
  expr: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface PrometheusRuleGroup {
  name: string;
  rules: (PrometheusRecordingRule | PrometheusAlertingRule)[];
}

export interface PrometheusRules {
  /** A Prometheus rule file's content (`groups:`). */
  groups: PrometheusRuleGroup[];
  /** What the rules leave out and why, for a comment at the top of the file. */
  notes: string[];
}

export interface PrometheusRulesOptions {
  /** Put as `runbook_url` on every alert. */
  runbookUrl?: string;
}

/** The alert every generated alerting rule raises; `severity`, `slo` and `scope` (and `vantage`) tell them apart. */
export const SLO_ALERT_NAME = "PopwatchSloErrorBudgetBurn";

/** Recording rule names per window, Sloth's spelling for the error ratio. */
export function errorRatioRecord(window: AlertWindow): string {
  return `slo:sli_error:ratio_rate${window}`;
}

export function eventCountRecord(window: AlertWindow): string {
  return `slo:sli_events:count${window}`;
}

type RulesSlo = Pick<SloConfig, "name" | "objective" | "period" | "scopes" | "minEvents" | "exhaustionRule">;

function quoted(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

/** `sum(...)` for the pooled scope, `sum by (vantage) (...)` per region. */
function aggregate(scope: SloScope, inner: string): string {
  return scope === "pooled" ? `sum(${inner})` : `sum by (${SCRAPE_LABELS.vantage}) (${inner})`;
}

/** The rule windows of a period, shortest first. */
function windowsOf(rules: readonly MultiwindowRule[]): AlertWindow[] {
  return [...new Set(rules.flatMap((r) => [r.long, r.short]))].sort((a, b) => WINDOW_MS[a] - WINDOW_MS[b]);
}

/** factor × (1 − objective) as the exact decimal: the error ratio both windows must exceed. */
export function errorRatioThreshold(factor: Rational, objective: number | Rational): string {
  const exact = typeof objective === "number" ? fromNumber(objective) : objective;
  return toDecimalString(multiply(factor, subtract(rational(1), exact)));
}

function recordingRules(slo: RulesSlo, windows: readonly AlertWindow[]): PrometheusRecordingRule[] {
  const selector = `${PROBE_SLO_GOOD.name}{slo=${quoted(slo.name)}}`;
  const rules: PrometheusRecordingRule[] = [];
  for (const scope of slo.scopes) {
    for (const window of windows) {
      const labels = () => ({ slo: slo.name, scope });
      const total = aggregate(scope, `count_over_time(${selector}[${window}])`);
      const good = aggregate(scope, `sum_over_time(${selector}[${window}])`);
      // Bad events over events, not 1 − good/total: bad/total is one correctly
      // rounded division, so a ratio exactly at a threshold compares equal to
      // the threshold's own rounding and does not fire, as in popwatch's exact
      // arithmetic (1 − 986/1000 is 0.014000000000000012 in floating point).
      rules.push({ record: errorRatioRecord(window), expr: `(${total} - ${good})\n/\n${total}`, labels: labels() });
      rules.push({ record: eventCountRecord(window), expr: total, labels: labels() });
    }
  }
  return rules;
}

function pairCondition(slo: RulesSlo, scope: SloScope, rule: MultiwindowRule): string {
  const matchers = `{slo=${quoted(slo.name)}, scope=${quoted(scope)}}`;
  const threshold = errorRatioThreshold(rule.factor, slo.objective);
  const parts = [
    `(${errorRatioRecord(rule.short)}${matchers} > ${threshold})`,
    `(${errorRatioRecord(rule.long)}${matchers} > ${threshold})`,
  ];
  // popwatch's low-traffic guard: the long window must hold minEvents events.
  if (slo.minEvents > 0) parts.push(`(${eventCountRecord(rule.long)}${matchers} >= ${slo.minEvents})`);
  return `(\n  ${parts.join("\n  and\n  ")}\n)`;
}

function alertRule(
  slo: RulesSlo,
  scope: SloScope,
  severity: AlertSeverity,
  rules: readonly MultiwindowRule[],
  options: PrometheusRulesOptions,
) {
  const pairs = rules.map(
    (r) => `${r.long} and ${r.short} above ${errorRatioThreshold(r.factor, slo.objective)} (${toDecimalString(r.factor)}×)`,
  );
  const where = scope === "pooled" ? "pooled over all vantage regions" : `per vantage region, label ${SCRAPE_LABELS.vantage}`;
  const annotations: Record<string, string> = {
    summary: `SLO ${slo.name} (${where}) is burning its error budget too fast (${severity})`,
    description:
      `Objective ${slo.objective} over ${slo.period}. Fires when the error ratios of both windows of a pair exceed factor × (1 − objective): ` +
      `${pairs.join(", or ")}` +
      (slo.minEvents > 0 ? `, with at least ${slo.minEvents} events in the long window.` : "."),
    runbook: `popwatch README, "SLOs and burn-rate alerts"; check the counts with: popwatch slo check --objective ${slo.objective} --period ${slo.period} --min-events ${slo.minEvents} --counts WINDOW=BAD/TOTAL,...`,
  };
  if (options.runbookUrl !== undefined) annotations.runbook_url = options.runbookUrl;
  return {
    alert: SLO_ALERT_NAME,
    expr: rules.map((r) => pairCondition(slo, scope, r)).join("\nor\n"),
    // slo and scope repeat the series' own labels, so each rule of the group has a distinct label set (promtool's lint).
    labels: { severity, slo: slo.name, scope },
    annotations,
  } satisfies PrometheusAlertingRule;
}

/**
 * Per SLO one group: recording rules (error ratio and event count per rule
 * window and configured scope), then alerts (page and ticket per scope, each
 * the `or` of its multiwindow pairs). The exhaustion rule is left out (see notes).
 */
export function prometheusRules(slos: readonly RulesSlo[], options: PrometheusRulesOptions = {}): PrometheusRules {
  const groups: PrometheusRuleGroup[] = [];
  const notes: string[] = [];
  for (const slo of slos) {
    const rules = alertRulesFor(slo.period);
    const alerts: PrometheusAlertingRule[] = [];
    for (const scope of slo.scopes) {
      for (const severity of ["page", "ticket"] as const) {
        const ofSeverity = rules.filter((r) => r.severity === severity);
        if (ofSeverity.length > 0) alerts.push(alertRule(slo, scope, severity, ofSeverity, options));
      }
    }
    // One group, recordings first: Prometheus runs a group's rules in order at one timestamp, but groups
    // independently, so alerts in a group of their own could read the recordings of an evaluation before.
    groups.push({ name: `popwatch-slo-${slo.name}`, rules: [...recordingRules(slo, windowsOf(rules)), ...alerts] });
    if (slo.exhaustionRule) {
      // It needs the period's error ratio from raw samples (a 30d range that Prometheus's default 15d retention
      // silently cuts short) and a float product compared with ≤, where popwatch compares exact rationals.
      notes.push(
        `SLO ${slo.name}: exhaustionRule (page when the 1h burn rate is at least 3 and the budget runs out within 24 h) is not generated: it needs the ${slo.period} error ratio from raw samples, which Prometheus's retention may cut short; popwatch evaluates it.`,
      );
    }
  }
  return { groups, notes };
}
