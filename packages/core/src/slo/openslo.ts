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
//
// A file holds one or more documents (parseOpenSloDocuments): `kind: SLO`
// documents, and `kind: SLI` documents that an SLO names in
// `spec.indicatorRef`. Paths in a file's errors start with the document's
// place, `slo/dns.yaml#1(dns-latency).spec.budgetingMethod` (documents counted
// from 0, the SLO's name in brackets when it has one).

import { ConfigError } from "../errors";
import { type SloConfig, sloSchema } from "./model";
import { divide, parseDecimal, rational, toNumber } from "./rational";
import type { SloPeriod } from "./rules";

type Issue = { path: string; message: string };
type Json = Record<string, unknown>;
type Problem = (path: string, message: string) => void;

const DOCUMENT_KEYS = ["apiVersion", "kind", "metadata", "spec"];
const SPEC_KEYS = ["description", "service", "indicator", "indicatorRef", "timeWindow", "budgetingMethod", "objectives", "alertPolicies"];
const METADATA_KEYS = ["name", "displayName", "labels", "annotations"];
const INDICATOR_KEYS = ["metadata", "spec"];
const SLI_SPEC_KEYS = ["description", "ratioMetric", "thresholdMetric"];
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
 * A lone document has no SLI documents beside it, so `spec.indicatorRef` is
 * refused; parseOpenSloFiles resolves it.
 */
export function parseOpenSlo(doc: unknown): SloConfig {
  return mapSlo(doc, null).slo;
}

/** One OpenSLO file: the path as the config names it, and its documents (an empty YAML document as null). */
export interface OpenSloFile {
  path: string;
  documents: readonly unknown[];
}

/** An SLO read from an OpenSLO file, with where it came from. */
export interface OpenSloEntry {
  slo: SloConfig;
  /** `file#index`, e.g. `slo/dns.yaml#1`. */
  from: string;
  /** Full paths (document place included) of the fields the config's cross-checks name. */
  paths: { name: string; target: string; kinds: string };
}

/**
 * Maps every document of the given files: `kind: SLO` documents become SLOs,
 * `kind: SLI` documents are indicators an SLO may name in `spec.indicatorRef`
 * (by metadata.name, across all the files). Empty documents are skipped.
 * Throws ConfigError naming each problem as `file#index(name).field.path`.
 */
export function parseOpenSloFiles(files: readonly OpenSloFile[]): OpenSloEntry[] {
  const issues: Issue[] = [];
  const slis = new Map<string, SliEntry>();
  const documents = files.flatMap((file) =>
    file.documents.flatMap((doc, index) =>
      doc === null ? [] : [{ doc, from: `${file.path}#${index}`, place: placeOf(file.path, index, doc) }],
    ),
  );
  for (const { doc, from, place } of documents) {
    if (!isObject(doc) || doc.kind !== "SLI") continue;
    const found: Issue[] = [];
    const sli = readSliDocument(doc, (path, message) => found.push({ path, message }));
    issues.push(...found.map((issue) => ({ path: joinPath(place, issue.path), message: issue.message })));
    if (sli === null) continue;
    const earlier = slis.get(sli.name);
    if (earlier !== undefined) {
      issues.push({ path: `${place}.metadata.name`, message: `duplicate SLI name "${sli.name}" (also ${earlier.from})` });
      continue;
    }
    slis.set(sli.name, { from, place, series: found.length === 0 ? sli.series : null });
  }
  const entries: OpenSloEntry[] = [];
  for (const { doc, from, place } of documents) {
    if (isObject(doc) && doc.kind === "SLI") continue;
    try {
      const { slo, series } = mapSlo(doc, slis);
      // An inline indicator's place is this document's; an indicatorRef's is the SLI's.
      const good = joinPath(series.place === "" ? place : series.place, series.goodPath);
      entries.push({ slo, from, paths: { name: `${place}.metadata.name`, target: `${good}.target`, kinds: `${good}.kinds` } });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      issues.push(...err.issues.map((issue) => ({ path: joinPath(place, issue.path), message: issue.message })));
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return entries;
}

interface SliEntry {
  from: string;
  place: string;
  /** null when the SLI document has errors (reported at the SLI). */
  series: Series | null;
}

/** `file#index`, with the document's metadata.name in brackets when it is a plain name. */
function placeOf(file: string, index: number, doc: unknown): string {
  const name = isObject(doc) && isObject(doc.metadata) ? doc.metadata.name : undefined;
  return typeof name === "string" && /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name) ? `${file}#${index}(${name})` : `${file}#${index}`;
}

function joinPath(place: string, path: string): string {
  return place === "" || path === "" ? place + path : `${place}.${path}`;
}

function unknownKeys(object: Json, known: readonly string[], path: string, problem: Problem): void {
  for (const key of Object.keys(object)) if (!known.includes(key)) problem(joinPath(path, key), "unknown key");
}

function objectAtFor(problem: Problem) {
  return (value: unknown, path: string): Json | null => {
    if (isObject(value)) return value;
    problem(path, `expected an object, got ${describe(value)}`);
    return null;
  };
}

/** An SLI document's name and series; problems at paths inside the document. */
function readSliDocument(doc: Json, problem: Problem): { name: string; series: Series | null } | null {
  if (doc.apiVersion !== "openslo/v1") problem("apiVersion", `expected "openslo/v1", got ${describe(doc.apiVersion)}`);
  unknownKeys(doc, DOCUMENT_KEYS, "", problem);
  const objectAt = objectAtFor(problem);
  const metadata = objectAt(doc.metadata, "metadata");
  if (metadata === null) return null;
  if (typeof metadata.name !== "string" || metadata.name === "") {
    problem("metadata.name", `an SLI needs a name for indicatorRef to name it, got ${describe(metadata.name)}`);
    return null;
  }
  const series = readIndicator(doc, "", problem, objectAt);
  if (series !== null) {
    // The series' own fields are checked here, once, at the SLI's paths.
    const candidate = { name: "sli", target: series.target, kinds: series.kinds, sli: series.sli, objective: 0.5 };
    const parsed = sloSchema.safeParse(candidate);
    if (!parsed.success) {
      for (const issue of schemaIssues(parsed.error.issues, series, "")) if (issue.first !== "name") problem(issue.path, issue.message);
    }
  }
  return { name: metadata.name, series };
}

/** Maps one SLO document; `slis` resolves indicatorRef (null: a lone document, where indicatorRef is refused). */
function mapSlo(doc: unknown, slis: ReadonlyMap<string, SliEntry> | null): { slo: SloConfig; series: Series & { place: string } } {
  const issues: Issue[] = [];
  const problem: Problem = (path, message) => issues.push({ path, message });
  const objectAt = objectAtFor(problem);

  if (!isObject(doc)) throw new ConfigError([{ path: "", message: `expected an OpenSLO document (an object), got ${describe(doc)}` }]);
  if (doc.apiVersion !== "openslo/v1") problem("apiVersion", `expected "openslo/v1", got ${describe(doc.apiVersion)}`);
  if (doc.kind !== "SLO") {
    problem("kind", slis === null ? `expected "SLO", got ${describe(doc.kind)}` : `expected "SLO" or "SLI", got ${describe(doc.kind)}`);
  }
  unknownKeys(doc, DOCUMENT_KEYS, "", problem);

  const metadata = objectAt(doc.metadata, "metadata");
  if (metadata !== null) unknownKeys(metadata, METADATA_KEYS, "metadata", problem);
  const spec = objectAt(doc.spec, "spec");
  if (spec === null) throw new ConfigError(issues);
  unknownKeys(spec, SPEC_KEYS, "spec", problem);

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

  const objective = readObjective(spec.objectives, problem);
  const objectivePath = isObjectiveList(spec.objectives) && spec.objectives[0].targetPercent !== undefined ? "targetPercent" : "target";
  let series: (Series & { place: string }) | null = null;
  if (spec.indicatorRef !== undefined) {
    if (spec.indicator !== undefined) problem("spec.indicatorRef", "expected one of indicator and indicatorRef, not both");
    else series = resolveIndicatorRef(spec.indicatorRef, slis, problem);
  } else {
    const indicator = objectAt(spec.indicator, "spec.indicator");
    const inline = indicator === null ? null : readIndicator(indicator, "spec.indicator", problem, objectAt);
    series = inline === null ? null : { ...inline, place: "" };
  }

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
  if (parsed.success) return { slo: parsed.data, series };
  // Report the schema's findings at the document paths they came from.
  const where: Record<string, string> = {
    name: "metadata.name",
    objective: `spec.objectives.0.${objectivePath}`,
    period: "spec.timeWindow.0.duration",
  };
  throw new ConfigError(
    schemaIssues(parsed.error.issues, series, series.place).map(({ first, path, message }) => ({
      path: first !== undefined && where[first] !== undefined ? [where[first], ...path.split(".").slice(1)].join(".") : path,
      message,
    })),
  );
}

function resolveIndicatorRef(
  ref: unknown,
  slis: ReadonlyMap<string, SliEntry> | null,
  problem: Problem,
): (Series & { place: string }) | null {
  if (slis === null) {
    problem("spec.indicatorRef", "cannot be mapped: popwatch reads the SLI inline; write it under spec.indicator");
    return null;
  }
  if (typeof ref !== "string") {
    problem("spec.indicatorRef", `expected the name of an SLI document, got ${describe(ref)}`);
    return null;
  }
  const sli = slis.get(ref);
  if (sli === undefined) {
    const known = [...slis.keys()];
    problem(
      "spec.indicatorRef",
      `no SLI document named "${ref}" in the openslo files (${known.length === 0 ? "they hold none" : `SLIs: ${known.join(", ")}`})`,
    );
    return null;
  }
  if (sli.series === null) {
    problem("spec.indicatorRef", `the SLI it names (${sli.from}) has errors, listed at its own paths`);
    return null;
  }
  return { ...sli.series, place: sli.place };
}

/**
 * The schema's findings on a candidate SLO, with the series' fields (target,
 * kinds, sli) at their paths in the document that wrote them: `place` prefixes
 * them when that is another document (an SLI named by indicatorRef).
 */
function schemaIssues(
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
  series: Series,
  place: string,
): { first: string | undefined; path: string; message: string }[] {
  return issues.map((issue) => {
    const [first, ...rest] = issue.path.map(String);
    const seriesField = first === "target" || first === "kinds" || first === "sli";
    const base = first === undefined ? "" : seriesField ? `${series.goodPath}.${first === "sli" ? "" : first}`.replace(/\.$/, "") : first;
    const tail = first === "sli" && rest[0] === "thresholdMs" ? ["thresholdMs"] : first === "sli" ? [] : rest;
    const path = [base, ...tail].filter((p) => p !== "").join(".");
    return { first, path: seriesField && place !== "" ? `${place}.${path}` : path, message: issue.message };
  });
}

function readPeriod(timeWindow: unknown, problem: Problem): SloPeriod | undefined {
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

function readObjective(objectives: unknown, problem: Problem): number | undefined {
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

/**
 * The series an indicator counts. `at` is the indicator's path: `spec.indicator`
 * inline in an SLO, "" for an SLI document (whose own keys its reader checks).
 */
function readIndicator(
  indicator: Json,
  at: string,
  problem: Problem,
  objectAt: (value: unknown, path: string) => Json | null,
): Series | null {
  if (at !== "") unknownKeys(indicator, INDICATOR_KEYS, at, problem);
  if (isObject(indicator.metadata)) unknownKeys(indicator.metadata, METADATA_KEYS, joinPath(at, "metadata"), problem);
  const base = joinPath(at, "spec");
  const spec = objectAt(indicator.spec, base);
  if (spec === null) return null;
  unknownKeys(spec, SLI_SPEC_KEYS, base, problem);
  if (spec.thresholdMetric !== undefined) {
    problem(`${base}.thresholdMetric`, "cannot be mapped: popwatch counts good and total events; use ratioMetric");
    return null;
  }
  const ratio = objectAt(spec.ratioMetric, `${base}.ratioMetric`);
  if (ratio === null) return null;
  const ratioPath = `${base}.ratioMetric`;
  for (const key of Object.keys(ratio)) {
    if (key === "good" || key === "total") continue;
    if (key === "counter") {
      if (ratio.counter !== true)
        problem(`${ratioPath}.counter`, `popwatch counts events, so only counter: true maps, got ${describe(ratio.counter)}`);
      continue;
    }
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
  problem: Problem,
  objectAt: (value: unknown, path: string) => Json | null,
): { spec: Json; path: string } | null {
  const side = objectAt(value, path);
  if (side === null) return null;
  const refused = (key: string) =>
    key === "metricSourceRef"
      ? "cannot be mapped: popwatch evaluates only its own probe results; write metricSource with type popwatch inline"
      : "unknown key";
  for (const key of Object.keys(side)) if (key !== "metricSource") problem(`${path}.${key}`, refused(key));
  const source = objectAt(side.metricSource, `${path}.metricSource`);
  if (source === null) return null;
  for (const key of Object.keys(source)) if (key !== "type" && key !== "spec") problem(`${path}.metricSource.${key}`, refused(key));
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
