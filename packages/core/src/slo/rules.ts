// Alert windows and the multiwindow, multi-burn-rate rules, as data. Rules are
// written as "this share of the period's budget spent within the long window"
// (Sloth's form) so one table serves every period; the burn-rate factor
// follows from it exactly.

import type { AlertSeverity } from "../severity";
import { DAY_MS, HOUR_MS, MINUTE_MS } from "../time";
import { type Rational, divide, multiply, rational } from "./rational";

/** Windows alert rules look at, shortest first. */
export const ALERT_WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"] as const;
export type AlertWindow = (typeof ALERT_WINDOWS)[number];

/** Budgeting periods (rolling). */
export const SLO_PERIODS = ["7d", "28d", "30d"] as const;
export type SloPeriod = (typeof SLO_PERIODS)[number];

/** Any window counts can be given for: the alert windows and the period (whose counts give the budget). */
export type WindowName = AlertWindow | SloPeriod;
export const WINDOW_NAMES: readonly WindowName[] = [...ALERT_WINDOWS, ...SLO_PERIODS];

export const WINDOW_MS: Readonly<Record<WindowName, number>> = {
  "5m": 5 * MINUTE_MS,
  "30m": 30 * MINUTE_MS,
  "1h": HOUR_MS,
  "2h": 2 * HOUR_MS,
  "6h": 6 * HOUR_MS,
  "1d": DAY_MS,
  "3d": 3 * DAY_MS,
  "7d": 7 * DAY_MS,
  "28d": 28 * DAY_MS,
  "30d": 30 * DAY_MS,
};

export function isWindowName(value: string): value is WindowName {
  return (WINDOW_NAMES as readonly string[]).includes(value);
}

export function isSloPeriod(value: string): value is SloPeriod {
  return (SLO_PERIODS as readonly string[]).includes(value);
}

export interface MultiwindowRuleSpec {
  severity: AlertSeverity;
  long: AlertWindow;
  short: AlertWindow;
  /** Share of the period's error budget spent within the long window. */
  budgetConsumed: Rational;
}

export interface MultiwindowRule extends MultiwindowRuleSpec {
  /** Burn rate both windows must exceed (strictly). */
  factor: Rational;
}

// Google SRE Workbook, "Alerting on SLOs", multiwindow multi-burn-rate alerts (2%/1h, 5%/6h, 10%/1d, 10%/3d; short window = long/12), as in Sloth's google-30d.yaml.
export const MULTIWINDOW_RULES: readonly MultiwindowRuleSpec[] = [
  { severity: "page", long: "1h", short: "5m", budgetConsumed: rational(2, 100) },
  { severity: "page", long: "6h", short: "30m", budgetConsumed: rational(5, 100) },
  { severity: "ticket", long: "1d", short: "2h", budgetConsumed: rational(10, 100) },
  { severity: "ticket", long: "3d", short: "6h", budgetConsumed: rational(10, 100) },
];

// Budget spent in window W at burn b is b × W / period, so factor = share × period / W (SRE Workbook ch. 5; Sloth internal/alert/window.go).
export function burnRateFactor(budgetConsumed: Rational, period: SloPeriod, long: AlertWindow): Rational {
  return divide(multiply(budgetConsumed, rational(WINDOW_MS[period])), rational(WINDOW_MS[long]));
}

/** The workbook's four rules for a period, each with its exact factor: 30d gives 14.4, 6, 3, 1. */
export function alertRulesFor(period: SloPeriod): MultiwindowRule[] {
  return MULTIWINDOW_RULES.map((spec) => ({ ...spec, factor: burnRateFactor(spec.budgetConsumed, period, spec.long) }));
}
