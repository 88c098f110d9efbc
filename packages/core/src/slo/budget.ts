// Error budget arithmetic for one SLI over one window, exact until the final
// conversion to a number. No events means nothing is known: those values are
// null, never NaN or a made-up 100 %.

import { PopwatchCoreError } from "../errors";
import { type Rational, compare, fromNumber, multiply, rational, subtract, toNumber } from "./rational";

/** Events in a window: `bad` of them failed the SLI. */
export interface EventCounts {
  bad: number;
  total: number;
}

export interface ErrorBudget {
  /** bad / total. */
  errorRatio: number | null;
  /** Error ratio / (1 − objective): 1 spends exactly the whole budget over the period. */
  burnRate: number | null;
  /** Share of the budget left when these are the period's counts; negative once overspent. */
  remaining: number | null;
  /** 1 − remaining. */
  consumed: number | null;
}

function invalid(message: string): PopwatchCoreError {
  return new PopwatchCoreError("slo_input_invalid", message);
}

/** The objective as an exact rational; throws PopwatchCoreError (slo_input_invalid) unless 0 < objective < 1. */
export function objectiveRational(objective: number | Rational): Rational {
  if (typeof objective === "number" && !Number.isFinite(objective)) throw invalid(`objective must be a finite number, got ${objective}`);
  const exact = typeof objective === "number" ? fromNumber(objective) : objective;
  if (compare(exact, rational(0)) <= 0 || compare(exact, rational(1)) >= 0) {
    throw invalid(`objective must be between 0 and 1 (exclusive), got ${toNumber(exact)}`);
  }
  return exact;
}

/** Throws PopwatchCoreError (slo_input_invalid) unless bad and total are counts with bad ≤ total. */
export function checkEventCounts(counts: EventCounts, label = "counts"): void {
  const { bad, total } = counts;
  if (!Number.isSafeInteger(bad) || bad < 0) throw invalid(`${label}: bad must be a non-negative integer, got ${bad}`);
  if (!Number.isSafeInteger(total) || total < 0) throw invalid(`${label}: total must be a non-negative integer, got ${total}`);
  if (bad > total) throw invalid(`${label}: bad (${bad}) exceeds total (${total})`);
}

// Burn rate = error ratio / (1 − SLO) (Google SRE Workbook, "Alerting on SLOs").
/** Exact burn rate, or null when the window has no events. */
export function burnRateExact(counts: EventCounts, objective: Rational): Rational | null {
  checkEventCounts(counts);
  if (counts.total === 0) return null;
  // (bad/total) / ((o_d − o_n)/o_d) = bad·o_d / (total·(o_d − o_n))
  return rational(BigInt(counts.bad) * objective.den, BigInt(counts.total) * (objective.den - objective.num));
}

/** Burn rate of a window's counts, or null when it has no events. */
export function burnRate(counts: EventCounts, objective: number | Rational): number | null {
  const exact = burnRateExact(counts, objectiveRational(objective));
  return exact === null ? null : toNumber(exact);
}

/** Exact remaining budget from the period's counts, or null without events. Not clamped. */
export function budgetRemainingExact(periodCounts: EventCounts, objective: Rational): Rational | null {
  const burn = burnRateExact(periodCounts, objective);
  // Sloth's error_budget_remaining: 1 − ratio_period / (1 − objective), left unclamped so overspending shows.
  return burn === null ? null : subtract(rational(1), burn);
}

/** Error ratio, burn rate, remaining and consumed budget for the period's counts. */
export function errorBudget(periodCounts: EventCounts, objective: number | Rational): ErrorBudget {
  const exactObjective = objectiveRational(objective);
  const burn = burnRateExact(periodCounts, exactObjective);
  if (burn === null) return { errorRatio: null, burnRate: null, remaining: null, consumed: null };
  return {
    errorRatio: toNumber(rational(periodCounts.bad, periodCounts.total)),
    burnRate: toNumber(burn),
    remaining: toNumber(subtract(rational(1), burn)),
    // Over the whole period the share of budget consumed is the period's burn rate.
    consumed: toNumber(burn),
  };
}

/**
 * Milliseconds until the remaining budget is spent at a constant burn rate:
 * remaining × period / burn (a burn of 1 spends the whole budget in one
 * period). 0 when the budget is already gone; null when the burn rate is 0
 * (never) or either input is unknown.
 */
export function timeToExhaustionMs(remaining: number | Rational | null, burn: number | Rational | null, periodMs: number): number | null {
  const exact = timeToExhaustionExact(
    remaining === null ? null : typeof remaining === "number" ? fromNumber(remaining) : remaining,
    burn === null ? null : typeof burn === "number" ? fromNumber(burn) : burn,
    periodMs,
  );
  return exact === null ? null : toNumber(exact);
}

/** timeToExhaustionMs in exact arithmetic. */
export function timeToExhaustionExact(remaining: Rational | null, burn: Rational | null, periodMs: number): Rational | null {
  if (remaining === null || burn === null) return null;
  if (remaining.num <= 0n) return rational(0);
  if (burn.num <= 0n) return null;
  return multiply(multiply(remaining, rational(periodMs)), rational(burn.den, burn.num));
}
