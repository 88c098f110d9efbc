// Evaluates an SLO's alert rules from event counts per window. Pure: the
// caller has already counted each window (ending now) and passes the counts.
// A rule that lacks data does not fire and says why; it never throws for it.

import { PopwatchCoreError } from "../errors";
import type { AlertSeverity } from "../severity";
import { DAY_MS } from "../time";
import {
  type EventCounts,
  budgetRemainingExact,
  burnRateExact,
  checkEventCounts,
  objectiveRational,
  timeToExhaustionExact,
} from "./budget";
import { type Rational, compare, errorRatioExceeds, rational, toNumber } from "./rational";
import { ALERT_WINDOWS, type AlertWindow, type SloPeriod, WINDOW_MS, type WindowName, alertRulesFor, isSloPeriod } from "./rules";

export interface EvaluateSloInput {
  objective: number | Rational;
  period: SloPeriod;
  /** Counts per window ending now; the period's own entry (e.g. `30d`) gives the budget. */
  counts: Partial<Record<WindowName, EventCounts>>;
  /** A rule fires only when its long window holds at least this many events (0: no guard). */
  minEvents: number;
  /** Adds the seed's page: 1h burn ≥ 3 and the budget exhausted within 24 h at that rate. */
  exhaustionRule?: boolean;
}

/**
 * - `firing`: the rule's condition holds.
 * - `quiet`: it has data and does not hold.
 * - `held_back`: it would fire, but the long window has fewer than minEvents events.
 * - `no_data`: a window it needs has no counts or no events, so it cannot fire.
 */
export type RuleStatus = "firing" | "quiet" | "held_back" | "no_data";

export interface RuleEvaluation {
  /** `multiwindow`: a pair of the period's rule table (alertRulesFor). `exhaustion`: the optional 24 h exhaustion page. */
  rule: "multiwindow" | "exhaustion";
  severity: AlertSeverity;
  /** The window whose events the minEvents guard counts. */
  long: AlertWindow;
  /** The reset window of a multiwindow pair; null for the exhaustion rule. */
  short: AlertWindow | null;
  /** Burn rate threshold: strictly exceeded by both windows (multiwindow), reached by the 1h window (exhaustion). */
  factor: number;
  status: RuleStatus;
  firing: boolean;
  heldBack: boolean;
  /** Windows the rule needs that have no counts or zero events. */
  missing: WindowName[];
  longBurnRate: number | null;
  shortBurnRate: number | null;
  /** The short window has zero bad events: errors have stopped, the alert will clear. Null without short-window data. */
  shortWindowClean: boolean | null;
  longEvents: number | null;
}

export interface FiringAlert {
  severity: AlertSeverity;
  long: AlertWindow;
  short: AlertWindow | null;
  factor: number;
}

export interface SloEvaluation {
  period: SloPeriod;
  /** Every alert window and the period; null where there are no counts or no events. */
  burnRates: Record<AlertWindow | SloPeriod, number | null>;
  /** From the period's counts, unclamped (negative once overspent); null without them. */
  budgetRemaining: number | null;
  /**
   * When the remaining budget runs out at the 1h burn rate: 0 when already
   * spent, null when the 1h burn is 0 or either input is missing.
   */
  timeToExhaustionMs: number | null;
  rules: RuleEvaluation[];
  firing: FiringAlert[];
}

/** Burn rate the exhaustion rule requires of the 1h window (seed 001: "crosses 3x baseline"). */
export const EXHAUSTION_BURN_RATE = 3;
/** How soon the budget must run out for the exhaustion rule to page. */
export const EXHAUSTION_HORIZON_MS = DAY_MS;
/**
 * The window whose burn rate stands for "now" in time-to-exhaustion: the long
 * window of the fastest page pair, short enough to follow an incident within
 * minutes, long enough (12 × 5m) that a couple of failed probes in a quiet
 * moment do not project an imminent exhaustion.
 */
export const EXHAUSTION_BURN_WINDOW: AlertWindow = "1h";

function invalid(message: string): PopwatchCoreError {
  return new PopwatchCoreError("slo_input_invalid", message);
}

/**
 * Burn rates per window, remaining budget and the period's multiwindow,
 * multi-burn-rate rules (plus the exhaustion rule when enabled). Throws
 * PopwatchCoreError (slo_input_invalid) for an objective outside (0, 1),
 * counts that are not integers with bad ≤ total, a negative minEvents, or
 * counts for a period other than the SLO's.
 */
export function evaluateSlo(input: EvaluateSloInput): SloEvaluation {
  const objective = objectiveRational(input.objective);
  const { period, counts } = input;
  if (!isSloPeriod(period)) throw invalid(`period must be 7d, 28d or 30d, got ${String(period)}`);
  if (!Number.isSafeInteger(input.minEvents) || input.minEvents < 0)
    throw invalid(`minEvents must be a non-negative integer, got ${input.minEvents}`);
  for (const [window, windowCounts] of Object.entries(counts) as [WindowName, EventCounts | undefined][]) {
    if (windowCounts === undefined) continue;
    if (isSloPeriod(window) && window !== period) throw invalid(`counts for ${window} do not belong to a ${period} SLO`);
    if (!(ALERT_WINDOWS as readonly string[]).includes(window) && window !== period) throw invalid(`unknown window ${String(window)}`);
    checkEventCounts(windowCounts, `counts.${window}`);
  }

  const exactBurn = (window: WindowName): Rational | null => {
    const c = counts[window];
    return c === undefined ? null : burnRateExact(c, objective);
  };
  const burnNumber = (window: WindowName): number | null => {
    const burn = exactBurn(window);
    return burn === null ? null : toNumber(burn);
  };
  const hasEvents = (window: WindowName) => (counts[window]?.total ?? 0) > 0;

  const burnRates = Object.fromEntries([...ALERT_WINDOWS, period].map((w) => [w, burnNumber(w)])) as Record<
    AlertWindow | SloPeriod,
    number | null
  >;

  const rules: RuleEvaluation[] = alertRulesFor(period).map((rule) => {
    const missing = [rule.long, rule.short].filter((w) => !hasEvents(w));
    const long = counts[rule.long];
    const short = counts[rule.short];
    const exceeds = (c: EventCounts | undefined) => c !== undefined && errorRatioExceeds(c.bad, c.total, rule.factor, objective);
    const conditionHolds = missing.length === 0 && exceeds(long) && exceeds(short);
    const enoughEvents = (long?.total ?? 0) >= input.minEvents;
    return {
      rule: "multiwindow",
      severity: rule.severity,
      long: rule.long,
      short: rule.short,
      factor: toNumber(rule.factor),
      ...statusOf(missing, conditionHolds, enoughEvents),
      missing,
      longBurnRate: burnNumber(rule.long),
      shortBurnRate: burnNumber(rule.short),
      shortWindowClean: short === undefined || short.total === 0 ? null : short.bad === 0,
      longEvents: long?.total ?? null,
    };
  });

  const remaining = (() => {
    const c = counts[period];
    return c === undefined ? null : budgetRemainingExact(c, objective);
  })();
  const exhaustionBurn = exactBurn(EXHAUSTION_BURN_WINDOW);
  const timeToExhaustion = timeToExhaustionExact(remaining, exhaustionBurn, WINDOW_MS[period]);

  if (input.exhaustionRule === true) {
    const missing = [EXHAUSTION_BURN_WINDOW, period].filter((w) => !hasEvents(w));
    const burnHolds = exhaustionBurn !== null && compare(exhaustionBurn, rational(EXHAUSTION_BURN_RATE)) >= 0;
    const soonEnough = timeToExhaustion !== null && compare(timeToExhaustion, rational(EXHAUSTION_HORIZON_MS)) <= 0;
    const burnWindow = counts[EXHAUSTION_BURN_WINDOW];
    rules.push({
      rule: "exhaustion",
      severity: "page",
      long: EXHAUSTION_BURN_WINDOW,
      short: null,
      factor: EXHAUSTION_BURN_RATE,
      ...statusOf(missing, missing.length === 0 && burnHolds && soonEnough, (burnWindow?.total ?? 0) >= input.minEvents),
      missing,
      longBurnRate: burnNumber(EXHAUSTION_BURN_WINDOW),
      shortBurnRate: null,
      shortWindowClean: null,
      longEvents: burnWindow?.total ?? null,
    });
  }

  return {
    period,
    burnRates,
    budgetRemaining: remaining === null ? null : toNumber(remaining),
    timeToExhaustionMs: timeToExhaustion === null ? null : toNumber(timeToExhaustion),
    rules,
    firing: rules.filter((r) => r.firing).map(({ severity, long, short, factor }) => ({ severity, long, short, factor })),
  };
}

function statusOf(
  missing: readonly WindowName[],
  conditionHolds: boolean,
  enoughEvents: boolean,
): Pick<RuleEvaluation, "status" | "firing" | "heldBack"> {
  if (missing.length > 0) return { status: "no_data", firing: false, heldBack: false };
  if (!conditionHolds) return { status: "quiet", firing: false, heldBack: false };
  if (!enoughEvents) return { status: "held_back", firing: false, heldBack: true };
  return { status: "firing", firing: true, heldBack: false };
}

/** Pooled scope: every region's events against one budget (an event-weighted sum, not a mean of ratios). */
export function poolCounts(perRegion: readonly EventCounts[]): EventCounts {
  let bad = 0;
  let total = 0;
  perRegion.forEach((counts, index) => {
    checkEventCounts(counts, `perRegion.${index}`);
    bad += counts.bad;
    total += counts.total;
  });
  if (!Number.isSafeInteger(total)) throw invalid(`pooled total ${total} exceeds the safe integer range`);
  return { bad, total };
}
