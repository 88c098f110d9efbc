// Alert windows and the multiwindow, multi-burn-rate rules, as data: one
// table per budgeting period, each row a severity, a long and a short window
// and the burn-rate factor both windows must exceed.

import type { AlertSeverity } from "../severity";
import { DAY_MS, HOUR_MS, MINUTE_MS } from "../time";
import { type Rational, divide, multiply, parseDecimal, rational } from "./rational";

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

export interface MultiwindowRule {
  severity: AlertSeverity;
  long: AlertWindow;
  short: AlertWindow;
  /** Burn rate both windows must exceed (strictly), as the exact decimal the table writes. */
  factor: Rational;
}

/** A row of a period's table: the factor as the decimal its source publishes. */
type RuleRow = readonly [severity: AlertSeverity, long: AlertWindow, short: AlertWindow, factor: string];

// Each period has its own table instead of one table scaled to the period:
// scaling the workbook's 30d shares to 7d gave factors 3.36 / 1.4 / 0.7 / 0.233,
// tickets at a burn rate of 0.3 with most of the budget left. Invariant (tested
// for every row): factor ≥ 1 and the comparison strict, so a burn rate ≤ 1,
// which spends at most the whole budget by the period's end, never fires. The
// only factor-1 rows are the slow tickets (3d/6h in every period): "more than
// the whole budget by the end of the period, sustained over 3 days", the
// workbook's own 30d rule, and Pyrra's slow warning (factor 1).
const RULE_TABLES: Readonly<Record<SloPeriod, readonly RuleRow[]>> = {
  // Google SRE Workbook, "Alerting on SLOs", recommended parameters (2 %/1h, 5 %/6h, 10 %/1d, 10 %/3d), as in Sloth's internal/alert/windows/google-30d.yaml.
  "30d": [
    ["page", "1h", "5m", "14.4"],
    ["page", "6h", "30m", "6"],
    ["ticket", "1d", "2h", "3"],
    ["ticket", "3d", "6h", "1"],
  ],
  // Sloth internal/alert/windows/google-28d.yaml (2 %/1h, 5 %/6h, 10 %/1d → 13.44, 5.6, 2.8); its 10 %/3d gives 0.9333 (fires below burn 1), so the slow ticket is Pyrra's factor 1 (slo/rules.go Windows(): 14, 7, 2, 1 on a 28d base) over Sloth's 3d/6h.
  "28d": [
    ["page", "1h", "5m", "13.44"],
    ["page", "6h", "30m", "5.6"],
    ["ticket", "1d", "2h", "2.8"],
    ["ticket", "3d", "6h", "1"],
  ],
  // Sloth's published 7d windows (test/integration/prometheus/windows/7d.yaml, the custom-windows example: 8 %/1h, 12.5 %/6h, 20 %/1d → 13.44, 3.5, 1.4); its 42 %/3d gives 0.98 (fires below burn 1), so the slow ticket is Pyrra's factor 1 (slo/rules.go Windows()) over Sloth's 3d/6h.
  "7d": [
    ["page", "1h", "5m", "13.44"],
    ["page", "6h", "30m", "3.5"],
    ["ticket", "1d", "2h", "1.4"],
    ["ticket", "3d", "6h", "1"],
  ],
};

function ruleOf([severity, long, short, factorText]: RuleRow): MultiwindowRule {
  const factor = parseDecimal(factorText);
  if (factor === null) throw new RangeError(`rule table: bad factor ${factorText}`);
  return { severity, long, short, factor };
}

const RULES: Readonly<Record<SloPeriod, readonly MultiwindowRule[]>> = {
  "30d": RULE_TABLES["30d"].map(ruleOf),
  "28d": RULE_TABLES["28d"].map(ruleOf),
  "7d": RULE_TABLES["7d"].map(ruleOf),
};

/** The period's multiwindow rules, fastest first, each with its exact factor (30d: 14.4, 6, 3, 1). */
export function alertRulesFor(period: SloPeriod): MultiwindowRule[] {
  return RULES[period].map((rule) => ({ ...rule }));
}

/** Share of the period's budget a rule's long window has spent when its burn rate equals the factor: factor × long / period. */
export function budgetConsumed(rule: Pick<MultiwindowRule, "factor" | "long">, period: SloPeriod): Rational {
  // Budget spent in window W at burn b is b × W / period (SRE Workbook, "Alerting on SLOs"; Sloth internal/alert/window.go).
  return divide(multiply(rule.factor, rational(WINDOW_MS[rule.long])), rational(WINDOW_MS[period]));
}
