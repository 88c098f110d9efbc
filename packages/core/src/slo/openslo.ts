// Reads an OpenSLO v1 `kind: SLO` document (already parsed from YAML or JSON)
// into popwatch's SLO model. Only what popwatch can evaluate faithfully is
// accepted; anything else is refused with its path in the document, because a
// silently dropped field would change what the SLO means.
//
// popwatch convention for the indicator: an inline `ratioMetric` whose `good`
// and `total` both use a metric source of type `popwatch`:
//
//   good:  { metricSource: { type: popwatch, spec: { target, kinds?, sli: availability | latency, thresholdMs? } } }
//   total: { metricSource: { type: popwatch, spec: { target, kinds? } } }
//
// `total` must name the same target and kinds as `good`. The popwatch-only
// settings (scopes, minEvents, exhaustionRule) take their defaults; set them
// in the popwatch config when they should differ.

import { ConfigError } from "../errors";
import { type SloConfig, sloSchema } from "./model";
import { divide, parseDecimal, rational, toNumber } from "./rational";
import type { SloPeriod } from "./rules";

type Issue = { path: string; message: string };
type Json = Record<string, unknown>;

const SPEC_KEYS = ["description", "service", "indicator", "indicatorRef", "timeWindow", "budgetingMethod", "objectives", "alertPolicies"];
const METADATA_KEYS = ["name", "displayName", "labels", "annotations"];
/** OpenSLO duration shorthands that are one of popwatch's periods. */
const PERIOD_DURATIONS: Readonly<Record<string, SloPeriod>> = { "7d": "7d", "1w": "7d", "28d": "28d", "4w": "28d", "30d": "30d" };

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  return value === undefined ? "nothing" : JSON.stringify(value);
}

/**
 * Maps an OpenSLO v1 SLO document onto SloConfig. Throws ConfigError listing
 * every problem by its dotted path in the document (e.g.
 * `spec.budgetingMethod`, `spec.indicator.spec.ratioMetric.good.metricSource.spec.target`).
 */
export function parseOpenSlo(doc: unknown): SloConfig {
  const issues: Issue[] = [];
  const problem = (path: string, message: string) => issues.push({ path, message });
  const unknownKeys = (object: Json, known: readonly string[], path: string) => {
    for (const key of Object.keys(object)) if (!known.includes(key)) problem(`${path}.${key}`, "unknown key");
  };
  const objectAt = (value: unknown, path: string): Json | null => {
    if (isObject(value)) return value;
    problem(path, `expected an object, got ${describe(value)}`);
    return null;
  };

  if (!isObject(doc)) throw new ConfigError([{ path: "", message: `expected an OpenSLO document (an object), got ${describe(doc)}` }]);
  if (doc.apiVersion !== "openslo/v1") problem("apiVersion", `expected "openslo/v1", got ${describe(doc.apiVersion)}`);
  if (doc.kind !== "SLO") problem("kind", `expected "SLO", got ${describe(doc.kind)}`);

  const metadata = objectAt(doc.metadata, "metadata");
  if (metadata !== null) unknownKeys(metadata, METADATA_KEYS, "metadata");
  const spec = objectAt(doc.spec, "spec");
  if (spec === null) throw new ConfigError(issues);
  unknownKeys(spec, SPEC_KEYS, "spec");

  const period = readPeriod(spec.timeWindow, problem);

  if (spec.budgetingMethod !== "Occurrences") {
    problem(
      "spec.budgetingMethod",
      spec.budgetingMethod === "Timeslices" || spec.budgetingMethod === "RatioTimeslices"
        ? `${spec.budgetingMethod} cannot be mapped: popwatch budgets by event counts (Occurrences)`
        : `expected "Occurrences", got ${describe(spec.budgetingMethod)}`,
    );
  }
  if (spec.alertPolicies !== undefined && !(Array.isArray(spec.alertPolicies) && spec.alertPolicies.length === 0)) {
    problem("spec.alertPolicies", "cannot be mapped: popwatch alerts with its own multiwindow burn-rate rules; remove alertPolicies");
  }
  if (spec.indicatorRef !== undefined) {
    problem("spec.indicatorRef", "cannot be mapped: popwatch reads the SLI inline; write it under spec.indicator");
  }

  const objective = readObjective(spec.objectives, problem);
  const objectivePath = isObjectiveList(spec.objectives) && spec.objectives[0].targetPercent !== undefined ? "targetPercent" : "target";
  const indicator = spec.indicator === undefined && spec.indicatorRef !== undefined ? null : objectAt(spec.indicator, "spec.indicator");
  const series = indicator === null ? null : readIndicator(indicator, problem, objectAt);

  if (issues.length > 0 || series === null) throw new ConfigError(issues);

  const candidate = {
    name: metadata?.name,
    target: series.target,
    ...(series.kinds === undefined ? {} : { kinds: series.kinds }),
    sli: series.sli,
    objective,
    ...(period === undefined ? {} : { period }),
  };
  const parsed = sloSchema.safeParse(candidate);
  if (parsed.success) return parsed.data;
  // Report the schema's findings at the document paths they came from.
  const where: Record<string, string> = {
    name: "metadata.name",
    target: `${series.goodPath}.target`,
    kinds: `${series.goodPath}.kinds`,
    sli: series.goodPath,
    objective: `spec.objectives.0.${objectivePath}`,
    period: "spec.timeWindow.0.duration",
  };
  throw new ConfigError(
    parsed.error.issues.map((issue) => {
      const [first, ...rest] = issue.path.map(String);
      const base = first === undefined ? "" : (where[first] ?? first);
      const tail = first === "sli" && rest[0] === "thresholdMs" ? ["thresholdMs"] : first === "sli" ? [] : rest;
      return { path: [base, ...tail].filter((p) => p !== "").join("."), message: issue.message };
    }),
  );
}

function readPeriod(timeWindow: unknown, problem: (path: string, message: string) => void): SloPeriod | undefined {
  if (timeWindow === undefined) return undefined;
  if (!Array.isArray(timeWindow) || timeWindow.length !== 1) {
    problem("spec.timeWindow", `expected a list with exactly one time window, got ${describe(timeWindow)}`);
    return undefined;
  }
  const window: unknown = timeWindow[0];
  if (!isObject(window)) {
    problem("spec.timeWindow.0", `expected an object, got ${describe(window)}`);
    return undefined;
  }
  if (window.calendar !== undefined || window.isRolling !== true) {
    problem(
      "spec.timeWindow.0.isRolling",
      "calendar-aligned windows cannot be mapped: popwatch budgets over a rolling window (isRolling: true)",
    );
  }
  for (const key of Object.keys(window)) {
    if (!["duration", "isRolling", "calendar"].includes(key)) problem(`spec.timeWindow.0.${key}`, "unknown key");
  }
  const period = typeof window.duration === "string" ? PERIOD_DURATIONS[window.duration] : undefined;
  if (period === undefined) {
    problem("spec.timeWindow.0.duration", `expected 7d, 28d or 30d (1w and 4w also do), got ${describe(window.duration)}`);
  }
  return period;
}

function isObjectiveList(value: unknown): value is [Json] {
  return Array.isArray(value) && value.length === 1 && isObject(value[0]);
}

function readObjective(objectives: unknown, problem: (path: string, message: string) => void): number | undefined {
  if (!Array.isArray(objectives) || objectives.length !== 1) {
    problem("spec.objectives", `expected a list with exactly one objective (composite SLOs cannot be mapped), got ${describe(objectives)}`);
    return undefined;
  }
  const objective: unknown = objectives[0];
  const path = "spec.objectives.0";
  if (!isObject(objective)) {
    problem(path, `expected an object, got ${describe(objective)}`);
    return undefined;
  }
  for (const key of Object.keys(objective)) {
    if (key === "displayName" || key === "target" || key === "targetPercent") continue;
    if (["op", "value"].includes(key))
      problem(`${path}.${key}`, "cannot be mapped: threshold objectives need a thresholdMetric; popwatch uses ratioMetric");
    else if (["timeSliceTarget", "timeSliceWindow"].includes(key))
      problem(`${path}.${key}`, "cannot be mapped: popwatch budgets by occurrences, not time slices");
    else if (["indicator", "indicatorRef", "compositeWeight"].includes(key))
      problem(`${path}.${key}`, "cannot be mapped: composite SLOs are not supported");
    else problem(`${path}.${key}`, "unknown key");
  }
  const { target, targetPercent } = objective;
  if ((target === undefined) === (targetPercent === undefined)) {
    problem(path, "expected exactly one of target and targetPercent");
    return undefined;
  }
  if (target !== undefined) {
    if (typeof target !== "number") problem(`${path}.target`, `expected a number, got ${describe(target)}`);
    return typeof target === "number" ? target : undefined;
  }
  const percent = typeof targetPercent === "number" && Number.isFinite(targetPercent) ? parseDecimal(String(targetPercent)) : null;
  if (percent === null) {
    problem(`${path}.targetPercent`, `expected a number, got ${describe(targetPercent)}`);
    return undefined;
  }
  // Exact division, so targetPercent 99.95 is the same double as target 0.9995.
  return toNumber(divide(percent, rational(100)));
}

interface Series {
  target: unknown;
  kinds: unknown;
  sli: unknown;
  goodPath: string;
}

function readIndicator(
  indicator: Json,
  problem: (path: string, message: string) => void,
  objectAt: (value: unknown, path: string) => Json | null,
): Series | null {
  const spec = objectAt(indicator.spec, "spec.indicator.spec");
  if (spec === null) return null;
  const base = "spec.indicator.spec";
  if (spec.thresholdMetric !== undefined) {
    problem(`${base}.thresholdMetric`, "cannot be mapped: popwatch counts good and total events; use ratioMetric");
    return null;
  }
  const ratio = objectAt(spec.ratioMetric, `${base}.ratioMetric`);
  if (ratio === null) return null;
  const ratioPath = `${base}.ratioMetric`;
  for (const key of Object.keys(ratio)) {
    if (key === "good" || key === "total" || key === "counter") continue;
    if (key === "bad" || key === "raw" || key === "rawType")
      problem(`${ratioPath}.${key}`, "cannot be mapped: popwatch's convention is good over total");
    else problem(`${ratioPath}.${key}`, "unknown key");
  }
  const good = readSource(ratio.good, `${ratioPath}.good`, problem, objectAt);
  const total = readSource(ratio.total, `${ratioPath}.total`, problem, objectAt);
  if (good === null || total === null) return null;

  for (const key of Object.keys(good.spec)) {
    if (!["target", "kinds", "sli", "thresholdMs"].includes(key)) problem(`${good.path}.${key}`, "unknown key");
  }
  for (const key of Object.keys(total.spec)) {
    if (!["target", "kinds"].includes(key))
      problem(`${total.path}.${key}`, "unknown key (total counts every event of the target and kinds)");
  }
  if (JSON.stringify(total.spec.target) !== JSON.stringify(good.spec.target)) {
    problem(
      `${total.path}.target`,
      `must name the same target as good (${describe(good.spec.target)}), got ${describe(total.spec.target)}`,
    );
  }
  if (JSON.stringify(total.spec.kinds) !== JSON.stringify(good.spec.kinds)) {
    problem(`${total.path}.kinds`, `must list the same kinds as good (${describe(good.spec.kinds)}), got ${describe(total.spec.kinds)}`);
  }
  let sli: unknown;
  if (good.spec.sli === "availability") {
    if (good.spec.thresholdMs !== undefined) problem(`${good.path}.thresholdMs`, "only a latency SLI has a threshold");
    sli = { type: "availability" };
  } else if (good.spec.sli === "latency") {
    sli = { type: "latency", thresholdMs: good.spec.thresholdMs };
  } else {
    problem(`${good.path}.sli`, `expected "availability" or "latency", got ${describe(good.spec.sli)}`);
  }
  return { target: good.spec.target, kinds: good.spec.kinds, sli, goodPath: good.path };
}

function readSource(
  value: unknown,
  path: string,
  problem: (path: string, message: string) => void,
  objectAt: (value: unknown, path: string) => Json | null,
): { spec: Json; path: string } | null {
  const side = objectAt(value, path);
  if (side === null) return null;
  const source = objectAt(side.metricSource, `${path}.metricSource`);
  if (source === null) return null;
  if (source.type !== "popwatch") {
    problem(
      `${path}.metricSource.type`,
      `expected "popwatch" (popwatch evaluates only its own probe results), got ${describe(source.type)}`,
    );
    return null;
  }
  const spec = objectAt(source.spec, `${path}.metricSource.spec`);
  return spec === null ? null : { spec, path: `${path}.metricSource.spec` };
}
