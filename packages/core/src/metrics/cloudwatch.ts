// What popwatch publishes to CloudWatch through Embedded Metric Format, as
// data: the namespace, metric names, units and dimension sets, the pure
// functions that turn a round's results and an evaluation into EMF records,
// and the dashboard's widgets over the same table. The Lambda handlers emit
// from it (packages/agent/src/cloudwatch-emf.ts), the stacks draw the
// dashboard from it (stacks/dashboard.ts), so both agree on one spelling.
//
// Cardinality: every dimension value comes from the config (regions, target
// names, kinds, SLO names, windows, severities) or from a closed union
// (failure codes, alert statuses), except Pop, which is bounded by the PoPs
// that actually answer a region (its catchment, a handful). Anything else
// (endpoints, raw PoP evidence) is a property: searchable in Logs Insights,
// never a custom metric.

import type { AlertPlan } from "../alerts/lifecycle";
import type { RegionalResult } from "../analytics/input";
import { formatEndpoint } from "../result";
import { resultTime } from "../rollup/rollup";
import type { SloEvaluation } from "../slo/evaluate";

export const CLOUDWATCH_NAMESPACE = "popwatch";

/** Dimension names, CloudWatch style (PascalCase). */
export const CLOUDWATCH_DIMENSIONS = {
  region: "Region",
  target: "Target",
  kind: "Kind",
  failureCode: "FailureCode",
  pop: "Pop",
  slo: "Slo",
  scope: "Scope",
  window: "Window",
  severity: "Severity",
  status: "Status",
} as const;

const D = CLOUDWATCH_DIMENSIONS;

/** CloudWatch's own limits on one EMF document (AWS "Specification: Embedded metric format"). */
export const EMF_LIMITS = { metricsPerDocument: 100, dimensionsPerSet: 30, valuesPerMetric: 100 } as const;

export type CloudWatchUnit = "Count" | "Milliseconds" | "None";

export interface CloudWatchMetricSpec {
  readonly name: string;
  readonly unit: CloudWatchUnit;
  /**
   * The dimension sets the metric is published under, the first being the
   * full one; the others are roll-ups CloudWatch aggregates for us (one
   * custom metric each), so the dashboard needs no metric math for them.
   */
  readonly dimensionSets: readonly (readonly string[])[];
  /** The statistic that reads it right. */
  readonly statistic: string;
  readonly help: string;
}

/**
 * Per probe result, in the probing region. Success is 0/1 per probe rather
 * than a ratio per round: CloudWatch then aggregates it correctly across
 * rounds, endpoints and dimension roll-ups (Average = availability weighted by
 * probes, Sum = good probes, SampleCount = probes), where averaging per-round
 * ratios would weight a round of one probe like a round of ten. Latency is one
 * value per successful probe (a failed probe's time is its timeout), so the
 * percentiles (p95) are over probes.
 */
export const PROBE_CLOUDWATCH_METRICS = {
  success: {
    name: "ProbeSuccess",
    unit: "None",
    dimensionSets: [[D.region, D.target, D.kind], [D.region]],
    statistic: "Average",
    help: "1 per successful probe, 0 per failed one: Average is availability",
  },
  latency: {
    name: "ProbeLatency",
    unit: "Milliseconds",
    dimensionSets: [
      [D.region, D.target, D.kind],
      [D.region, D.kind],
    ],
    statistic: "p95",
    help: "Wall time of each successful probe",
  },
  popChange: {
    name: "PopChange",
    unit: "Count",
    dimensionSets: [[D.region, D.target, D.kind], [D.region]],
    statistic: "Sum",
    help: "1 when the answering PoP differs from the previous round's for the same endpoint, else 0 (absent when the previous round is unknown)",
  },
  failures: {
    name: "ProbeFailures",
    unit: "Count",
    dimensionSets: [[D.region, D.target, D.kind, D.failureCode]],
    statistic: "Sum",
    help: "Failed probes by failure code",
  },
  popAnswers: {
    name: "PopAnswers",
    unit: "Count",
    dimensionSets: [[D.region, D.target, D.kind, D.pop]],
    statistic: "Sum",
    help: "Answers by the PoP that gave them",
  },
  truncated: {
    name: "ProbeTruncated",
    unit: "Count",
    dimensionSets: [[D.region, D.target, D.kind]],
    statistic: "Sum",
    help: "DNS probes (dns, dot, doh) whose answer had TC=1, retried over TCP or not; absent in a round without any, as ProbeFailures",
  },
} as const satisfies Record<string, CloudWatchMetricSpec>;

/** Per evaluation, in the home region. */
export const EVALUATION_CLOUDWATCH_METRICS = {
  burnRate: {
    name: "BurnRate",
    unit: "None",
    dimensionSets: [[D.slo, D.scope, D.window]],
    statistic: "Maximum",
    help: "Burn rate over the window (1 spends the budget exactly over the period)",
  },
  budgetRemaining: {
    name: "ErrorBudgetRemaining",
    unit: "None",
    dimensionSets: [[D.slo, D.scope]],
    statistic: "Minimum",
    help: "Share of the period's error budget left (negative once overspent)",
  },
  alertFiring: {
    name: "AlertFiring",
    unit: "None",
    dimensionSets: [[D.slo, D.scope, D.severity]],
    statistic: "Maximum",
    help: "1 while the alert fires, 0 otherwise (every alert the evaluator knows)",
  },
  alertTransitions: {
    name: "AlertTransitions",
    unit: "Count",
    dimensionSets: [[D.slo, D.scope, D.severity, D.status], [D.status]],
    statistic: "Sum",
    help: "Alert status changes, by the status entered (firing: an incident opened)",
  },
} as const satisfies Record<string, CloudWatchMetricSpec>;

/** One EMF document: one set of dimension values, the metrics sharing it, and properties. */
export interface CloudWatchRecord {
  timestampMs: number;
  /** The values of every dimension the record's metrics use (the first set's names). */
  dimensions: Record<string, string>;
  /** Its metrics, all with the same dimension sets (`sets`). */
  sets: readonly (readonly string[])[];
  metrics: { name: string; unit: CloudWatchUnit; values: number[] }[];
  /** High-cardinality context: searchable in the logs, never a dimension. */
  properties: Record<string, string | number>;
}

/** Where the answering PoP of each endpoint was last seen, kept between rounds. */
export type PopMemory = ReadonlyMap<string, { pop: string; slotMs: number }>;

export interface ProbeRecordsOptions {
  /** A round's spacing: a PoP is compared only with the round just before (see probeRoundRecords). */
  roundIntervalMs: number;
}

/**
 * The records of one round (or any batch of results) and the PoP memory after
 * it. PopChange compares each endpoint's PoP with the one it had exactly one
 * round interval earlier, as remembered by the caller (the warm Lambda
 * container: the previous round of the same invocation or of the previous
 * invocation it ran). Without that round (a cold start, a round another
 * container ran under queued dispatch) no value is published: an unknown is
 * not a 0, and comparing with an older round could count one change twice.
 */
export function probeRoundRecords(
  results: readonly RegionalResult[],
  memory: PopMemory,
  options: ProbeRecordsOptions,
): { records: CloudWatchRecord[]; memory: Map<string, { pop: string; slotMs: number }> } {
  const next = new Map(memory);
  const groups = new Map<string, RegionalResult[]>();
  for (const result of results) {
    const key = JSON.stringify([result.region, targetName(result), result.kind]);
    const group = groups.get(key);
    if (group) group.push(result);
    else groups.set(key, [result]);
  }
  const records: CloudWatchRecord[] = [];
  for (const group of groups.values()) {
    const first = group[0]!;
    const base = { [D.region]: first.region, [D.target]: targetName(first), [D.kind]: first.kind };
    const timestampMs = Math.min(...group.map(slotMs));
    const success: number[] = [];
    const latency: number[] = [];
    const popChange: number[] = [];
    const failures = new Map<string, number>();
    const pops = new Map<string, number>();
    let truncated = 0;
    for (const result of group) {
      success.push(result.ok ? 1 : 0);
      if ((result as { truncated?: unknown }).truncated === true) truncated++;
      if (result.ok) latency.push(result.timings.totalMs);
      if (result.failure) failures.set(result.failure.code, (failures.get(result.failure.code) ?? 0) + 1);
      if (result.pop === null) continue;
      pops.set(result.pop.id, (pops.get(result.pop.id) ?? 0) + 1);
      const endpointKey = JSON.stringify([result.region, targetName(result), result.kind, result.target]);
      const previous = memory.get(endpointKey);
      const at = slotMs(result);
      if (previous !== undefined && at - previous.slotMs === options.roundIntervalMs)
        popChange.push(previous.pop === result.pop.id ? 0 : 1);
      const kept = next.get(endpointKey);
      if (kept === undefined || kept.slotMs <= at) next.set(endpointKey, { pop: result.pop.id, slotMs: at });
    }
    const probe = PROBE_CLOUDWATCH_METRICS;
    const metrics = [
      { spec: probe.success, values: success },
      { spec: probe.latency, values: latency },
      { spec: probe.popChange, values: popChange },
    ];
    const endpoints = [...new Set(group.map((r) => formatEndpoint(r.address, r.port)))].join(" ");
    const popList = [...pops.keys()].sort().join(" ");
    // ProbeLatency has a different roll-up set than ProbeSuccess, so each metric is its own record.
    for (const { spec, values } of metrics) {
      if (values.length > 0) records.push(record(timestampMs, base, spec, values, { endpoints, pops: popList }));
    }
    for (const [code, count] of [...failures].sort(([a], [b]) => (a < b ? -1 : 1))) {
      records.push(record(timestampMs, { ...base, [D.failureCode]: code }, probe.failures, [count], { endpoints }));
    }
    for (const [pop, count] of [...pops].sort(([a], [b]) => (a < b ? -1 : 1))) {
      records.push(record(timestampMs, { ...base, [D.pop]: pop }, probe.popAnswers, [count], { endpoints }));
    }
    if (truncated > 0) records.push(record(timestampMs, base, probe.truncated, [truncated], { endpoints }));
  }
  return { records, memory: next };
}

export interface EvaluationRecordsInput {
  /** The evaluation's end: the instant its figures describe. */
  endMs: number;
  scopes: readonly { slo: string; scope: string; evaluation: Pick<SloEvaluation, "burnRates" | "budgetRemaining"> }[];
  /** The alert plan of the evaluation: every alert's state after it, and the transitions it made. */
  plan: Pick<AlertPlan, "next" | "transitions">;
}

/** The evaluator's records: burn rate per SLO, scope and window; budget left; alerts firing; transitions. */
export function evaluationRecords(input: EvaluationRecordsInput): CloudWatchRecord[] {
  const e = EVALUATION_CLOUDWATCH_METRICS;
  const at = input.endMs;
  const records: CloudWatchRecord[] = [];
  for (const { slo, scope, evaluation } of input.scopes) {
    for (const [window, rate] of Object.entries(evaluation.burnRates)) {
      if (rate !== null && Number.isFinite(rate))
        records.push(record(at, { [D.slo]: slo, [D.scope]: scope, [D.window]: window }, e.burnRate, [rate]));
    }
    if (evaluation.budgetRemaining !== null && Number.isFinite(evaluation.budgetRemaining)) {
      records.push(record(at, { [D.slo]: slo, [D.scope]: scope }, e.budgetRemaining, [evaluation.budgetRemaining]));
    }
  }
  for (const state of input.plan.next) {
    const dims = { [D.slo]: state.slo, [D.scope]: state.scope, [D.severity]: state.severity };
    records.push(
      record(at, dims, e.alertFiring, [state.status === "firing" ? 1 : 0], state.startedAt ? { startedAt: state.startedAt } : {}),
    );
  }
  for (const t of input.plan.transitions) {
    const dims = { [D.slo]: t.slo, [D.scope]: t.scope, [D.severity]: t.severity, [D.status]: t.to };
    const properties: Record<string, string> = { from: t.from, at: t.at, transitionId: t.id };
    if (t.suppressedBy !== null) properties.suppressedBy = t.suppressedBy;
    records.push(record(at, dims, e.alertTransitions, [1], properties));
  }
  return records;
}

function record(
  timestampMs: number,
  dimensions: Record<string, string>,
  spec: CloudWatchMetricSpec,
  values: number[],
  properties: Record<string, string | number> = {},
): CloudWatchRecord {
  return { timestampMs, dimensions, sets: spec.dimensionSets, metrics: [{ name: spec.name, unit: spec.unit, values }], properties };
}

/** EMF takes at most 100 values per metric in one document: longer lists go into several records. */
export function splitRecordValues(r: CloudWatchRecord, maxValues: number = EMF_LIMITS.valuesPerMetric): CloudWatchRecord[] {
  if (!Number.isInteger(maxValues) || maxValues < 1) throw new RangeError(`maxValues must be a positive integer, got ${maxValues}`);
  const longest = Math.max(0, ...r.metrics.map((m) => m.values.length));
  if (longest <= maxValues) return [r];
  const parts: CloudWatchRecord[] = [];
  for (let from = 0; from < longest; from += maxValues) {
    const metrics = r.metrics.map((m) => ({ ...m, values: m.values.slice(from, from + maxValues) })).filter((m) => m.values.length > 0);
    parts.push({ ...r, metrics });
  }
  return parts;
}

function targetName(result: RegionalResult): string {
  return result.name ?? result.target;
}

function slotMs(result: RegionalResult): number {
  return Date.parse(resultTime(result));
}
