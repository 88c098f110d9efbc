import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AlertState,
  type AlertTransition,
  CLOUDWATCH_NAMESPACE,
  type CloudWatchRecord,
  EMF_LIMITS,
  EVALUATION_CLOUDWATCH_METRICS,
  PROBE_CLOUDWATCH_METRICS,
  PROBE_KINDS,
  type PopMemory,
  type ProbeKind,
  type RegionalResult,
  cloudWatchDashboardLayout,
  evaluationRecords,
  probeRoundRecords,
  searchExpression,
  splitRecordValues,
} from "../src/index";
import { T0, result } from "./analytics-fixtures";

const ROUND = 60_000;
const round = (records: CloudWatchRecord[], name: string) => records.filter((r) => r.metrics.some((m) => m.name === name));
const valuesOf = (records: CloudWatchRecord[], name: string) => round(records, name).flatMap((r) => r.metrics.flatMap((m) => m.values));

function failed(ms: number, code: "timeout" | "refused", pop: string | null = null): RegionalResult {
  return { ...result({ ms, ok: false, pop }), failure: { code, message: code } } as RegionalResult;
}

describe("probeRoundRecords", () => {
  it("success is 0/1 per probe, latency per successful probe, failures counted by code, answers by PoP", () => {
    const results = [
      result({ ms: T0, ok: true, pop: "fra", timings: { totalMs: 20 } }),
      { ...result({ ms: T0, ok: true, pop: "ams", timings: { totalMs: 30 } }), target: "[2001:db8::53]:53", address: "2001:db8::53" },
      failed(T0, "timeout"),
      failed(T0, "timeout"),
      failed(T0, "refused", "fra"),
    ] as RegionalResult[];
    const { records } = probeRoundRecords(results, new Map(), { roundIntervalMs: ROUND });
    expect(valuesOf(records, "ProbeSuccess")).toEqual([1, 1, 0, 0, 0]);
    expect(valuesOf(records, "ProbeLatency")).toEqual([20, 30]);
    expect(round(records, "PopChange")).toEqual([]); // nothing remembered: unknown, not 0
    expect(round(records, "ProbeFailures").map((r) => [r.dimensions.FailureCode, r.metrics[0]!.values])).toEqual([
      ["refused", [1]],
      ["timeout", [2]],
    ]);
    expect(round(records, "PopAnswers").map((r) => [r.dimensions.Pop, r.metrics[0]!.values])).toEqual([
      ["ams", [1]],
      ["fra", [2]],
    ]);
    const success = round(records, "ProbeSuccess")[0]!;
    expect(success.dimensions).toEqual({ Region: "eu-central-1", Target: "anycast", Kind: "dns" });
    expect(success.sets).toEqual(PROBE_CLOUDWATCH_METRICS.success.dimensionSets);
    expect(success.timestampMs).toBe(T0);
    // Endpoints and PoP lists are properties (high cardinality), never dimensions.
    expect(success.properties).toEqual({ endpoints: "198.51.100.53:53 [2001:db8::53]:53", pops: "ams fra" });
  });

  it("ProbeTruncated counts the round's TC=1 answers per series, and is absent without any", () => {
    const truncated = (retried: boolean) => ({ ...result({ ms: T0, ok: true, pop: "fra" }), truncated: true, tcpFallback: retried });
    const results = [
      truncated(true),
      truncated(false),
      { ...result({ ms: T0, ok: true, pop: "fra" }), truncated: false },
    ] as RegionalResult[];
    const { records } = probeRoundRecords(results, new Map(), { roundIntervalMs: ROUND });
    const [record, ...rest] = round(records, "ProbeTruncated");
    expect(rest).toEqual([]);
    expect(record!.metrics).toEqual([{ name: "ProbeTruncated", unit: "Count", values: [2] }]);
    expect(record!.dimensions).toEqual({ Region: "eu-central-1", Target: "anycast", Kind: "dns" });
    expect(record!.sets).toEqual(PROBE_CLOUDWATCH_METRICS.truncated.dimensionSets);
    const none = probeRoundRecords([result({ ms: T0, ok: true, pop: "fra" })], new Map(), { roundIntervalMs: ROUND });
    expect(round(none.records, "ProbeTruncated")).toEqual([]);
  });

  it("a PoP change is judged against the round exactly one interval before, per endpoint", () => {
    let memory: PopMemory = new Map();
    const step = (ms: number, pop: string) => {
      const out = probeRoundRecords([result({ ms, ok: true, pop })], memory, { roundIntervalMs: ROUND });
      memory = out.memory;
      return valuesOf(out.records, "PopChange");
    };
    expect(step(T0, "fra")).toEqual([]);
    expect(step(T0 + ROUND, "fra")).toEqual([0]);
    expect(step(T0 + 2 * ROUND, "ams")).toEqual([1]);
    // A gap (a round another container ran): no value rather than a change counted twice.
    expect(step(T0 + 4 * ROUND, "fra")).toEqual([]);
    expect(step(T0 + 5 * ROUND, "fra")).toEqual([0]);
    // A round seen late does not move the memory backwards.
    expect(step(T0 + 3 * ROUND, "ams")).toEqual([]);
    expect(step(T0 + 6 * ROUND, "fra")).toEqual([0]);
  });

  it("any batch: records carry a value for every dimension they are published under, and count every probe once", () => {
    const arbResult = fc
      .record({
        region: fc.constantFrom("eu-west-1", "us-east-1"),
        target: fc.constantFrom("a", "b"),
        kind: fc.constantFrom(...PROBE_KINDS),
        ok: fc.boolean(),
        pop: fc.option(fc.constantFrom("fra", "ams", "sin"), { nil: null }),
        round: fc.integer({ min: 0, max: 3 }),
        totalMs: fc.double({ min: 0, max: 10_000, noNaN: true }),
        truncated: fc.option(fc.boolean(), { nil: undefined }),
      })
      .map((r) => ({
        ...result({ ms: T0 + r.round * ROUND, ok: r.ok, pop: r.pop, region: r.region, target: r.target, kind: r.kind as ProbeKind }),
        timings: { totalMs: r.totalMs },
        ...(r.truncated === undefined ? {} : { truncated: r.truncated }),
      })) as fc.Arbitrary<RegionalResult>;
    fc.assert(
      fc.property(fc.array(arbResult, { maxLength: 200 }), (results) => {
        const { records } = probeRoundRecords(results, new Map(), { roundIntervalMs: ROUND });
        for (const r of records) {
          for (const set of r.sets) {
            expect(set.length).toBeLessThanOrEqual(EMF_LIMITS.dimensionsPerSet);
            for (const name of set) expect(r.dimensions[name]).toMatch(/.+/);
          }
          expect(Object.keys(r.dimensions).sort()).toEqual([...r.sets[0]!].sort());
          for (const m of r.metrics) for (const v of m.values) expect(Number.isFinite(v)).toBe(true);
        }
        expect(valuesOf(records, "ProbeSuccess")).toHaveLength(results.length);
        expect(valuesOf(records, "ProbeSuccess").reduce((a, b) => a + b, 0)).toBe(results.filter((r) => r.ok).length);
        expect(valuesOf(records, "ProbeFailures").reduce((a, b) => a + b, 0)).toBe(results.filter((r) => !r.ok).length);
        expect(valuesOf(records, "PopAnswers").reduce((a, b) => a + b, 0)).toBe(results.filter((r) => r.pop !== null).length);
        const truncated = results.filter((r) => (r as { truncated?: boolean }).truncated === true).length;
        expect(valuesOf(records, "ProbeTruncated").reduce((a, b) => a + b, 0)).toBe(truncated);
        expect(valuesOf(records, "ProbeTruncated").every((v) => v > 0)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe("splitRecordValues", () => {
  it("keeps every value, at most the limit per document", () => {
    fc.assert(
      fc.property(fc.array(fc.integer(), { maxLength: 450 }), fc.integer({ min: 1, max: 120 }), (values, max) => {
        const whole: CloudWatchRecord = {
          timestampMs: T0,
          dimensions: { Region: "r" },
          sets: [["Region"]],
          metrics: [{ name: "M", unit: "Count", values }],
          properties: {},
        };
        const parts = splitRecordValues(whole, max);
        expect(parts.flatMap((p) => p.metrics.flatMap((m) => m.values))).toEqual(values);
        for (const p of parts) for (const m of p.metrics) expect(m.values.length).toBeLessThanOrEqual(max);
      }),
    );
    expect(() => splitRecordValues({ timestampMs: 0, dimensions: {}, sets: [], metrics: [], properties: {} }, 0)).toThrow(
      /positive integer/,
    );
  });
});

describe("evaluationRecords", () => {
  const state = (over: Partial<AlertState>): AlertState =>
    ({
      slo: "dns-availability",
      severity: "page",
      scope: "eu-west-1",
      status: "inactive",
      startedAt: null,
      resolvedAt: null,
      announced: false,
      lastNotifiedAt: null,
      held: null,
      report: null,
      ...over,
    }) as AlertState;

  it("burn rate per window that has one, budget left, every alert's firing state, each transition", () => {
    const records = evaluationRecords({
      endMs: T0,
      scopes: [
        {
          slo: "dns-availability",
          scope: "pooled",
          evaluation: { burnRates: { "5m": 14.4, "1h": 2, "6h": null } as never, budgetRemaining: 0.5 },
        },
      ],
      plan: {
        next: [state({ status: "firing", startedAt: "2025-03-02T09:55:00.000Z" }), state({ severity: "ticket" })],
        transitions: [
          {
            id: "t1",
            slo: "dns-availability",
            severity: "page",
            scope: "eu-west-1",
            from: "inactive",
            to: "firing",
            at: "2025-03-02T10:00:00.000Z",
            notificationId: null,
            suppressedBy: null,
          } as unknown as AlertTransition,
        ],
      },
    });
    const burn = round(records, EVALUATION_CLOUDWATCH_METRICS.burnRate.name);
    expect(burn.map((r) => [r.dimensions.Window, r.metrics[0]!.values[0]])).toEqual([
      ["5m", 14.4],
      ["1h", 2],
    ]);
    expect(valuesOf(records, "ErrorBudgetRemaining")).toEqual([0.5]);
    expect(round(records, "AlertFiring").map((r) => [r.dimensions.Severity, r.metrics[0]!.values[0]])).toEqual([
      ["page", 1],
      ["ticket", 0],
    ]);
    const [transition] = round(records, "AlertTransitions");
    expect(transition!.dimensions).toEqual({ Slo: "dns-availability", Scope: "eu-west-1", Severity: "page", Status: "firing" });
    expect(transition!.sets).toEqual([["Slo", "Scope", "Severity", "Status"], ["Status"]]);
    expect(transition!.properties).toMatchObject({ from: "inactive", transitionId: "t1" });
    for (const r of records) expect(r.timestampMs).toBe(T0);
  });
});

describe("cloudWatchDashboardLayout", () => {
  const layout = cloudWatchDashboardLayout({
    homeRegion: "eu-west-1",
    regions: ["eu-west-1", "us-east-1"],
    kinds: ["dns", "http"],
    periodSeconds: 300,
  });
  const series = layout.sections.flatMap((s) => s.widgets.flatMap((w) => w.series));

  it("has the executive and on-call views, each series on one of its metric's dimension sets", () => {
    expect(layout.sections.map((s) => s.title)).toEqual(["Executive", "On-call"]);
    expect(layout.sections[0]!.widgets.map((w) => w.title)).toEqual([
      "Availability by region",
      "Latency p95 by region and kind (ms)",
      "SLO burn rate (1h, 6h)",
      "Incidents opened",
    ]);
    expect(layout.sections[1]!.widgets.map((w) => w.title)).toContain("Answers per PoP");
    for (const s of series) {
      const names = s.kind === "metric" ? Object.keys(s.dimensions) : s.dimensionSet;
      expect(s.metric.dimensionSets.map((set) => [...set].sort().join())).toContain([...names].sort().join());
      if (s.kind === "search") for (const f of Object.keys(s.filter)) expect(s.dimensionSet).toContain(f);
    }
    // Probe metrics are read where they were published; the evaluator's in the home region.
    const latency = series.filter((s) => s.metric === PROBE_CLOUDWATCH_METRICS.latency);
    expect(latency.map((s) => s.kind === "metric" && [s.region, s.dimensions.Kind])).toEqual([
      ["eu-west-1", "dns"],
      ["us-east-1", "dns"],
      ["eu-west-1", "http"],
      ["us-east-1", "http"],
    ]);
  });

  it("writes SEARCH over the exact dimension set", () => {
    expect(
      searchExpression(PROBE_CLOUDWATCH_METRICS.popAnswers, ["Region", "Target", "Kind", "Pop"], { Region: "us-east-1" }, "Sum", 300),
    ).toBe(`SEARCH('{${CLOUDWATCH_NAMESPACE},Region,Target,Kind,Pop} MetricName="PopAnswers" Region="us-east-1"', 'Sum', 300)`);
  });
});
