import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type FailureCode,
  PROBE_KINDS,
  type ProbeKind,
  type ProbeResult,
  type Rollup,
  canonicalRollup,
  completeRollup,
  isRollup,
  mergeRollups,
  quantile,
  rollupMinute,
  rollupResults,
  sketchCount,
} from "../src/index";

interface ResultSpec {
  startedAt: string;
  kind?: ProbeKind;
  name?: string | null;
  target?: string;
  ok?: boolean;
  totalMs?: number;
  pop?: string | null;
  failure?: FailureCode;
  /** DNS: TC=1 seen; tcpFallback: retried over TCP. */
  truncated?: boolean;
  tcpFallback?: boolean;
}

function result(spec: ResultSpec): ProbeResult {
  const ok = spec.ok ?? true;
  return {
    kind: spec.kind ?? "dns",
    target: spec.target ?? "192.0.2.1:53",
    address: "192.0.2.1",
    port: 53,
    name: spec.name === undefined ? "resolver" : spec.name,
    ok,
    startedAt: spec.startedAt,
    timings: { totalMs: spec.totalMs ?? 10 },
    pop: spec.pop ? { id: spec.pop, source: "nsid", raw: spec.pop, iata: null } : null,
    failure: ok ? null : { code: spec.failure ?? "timeout", message: "x" },
    ...(spec.truncated === undefined ? {} : { truncated: spec.truncated, tcpFallback: spec.tcpFallback ?? false }),
  } as ProbeResult;
}

describe("rollupMinute", () => {
  it("counts, classifies and chains PoPs within a minute", () => {
    const results = [
      result({ startedAt: "2025-03-01T10:00:05.000Z", pop: "fra", totalMs: 12 }),
      result({ startedAt: "2025-03-01T10:00:50.000Z", pop: "ams", totalMs: 30 }),
      result({ startedAt: "2025-03-01T10:00:10.000Z", ok: false, failure: "timeout" }),
      result({ startedAt: "2025-03-01T10:00:15.000Z", pop: "fra", totalMs: 14 }),
      result({ startedAt: "2025-03-01T10:00:20.000Z", ok: false, failure: "refused", pop: null }),
      result({ startedAt: "2025-03-01T10:00:30.000Z", ok: false, failure: "http_status", pop: "ams" }),
    ];
    const [rollup, ...rest] = rollupMinute(results, { region: "eu-west-1", previousPop: "cdg" });
    expect(rest).toEqual([]);
    expect(rollup).toMatchObject({
      target: "resolver",
      kind: "dns",
      region: "eu-west-1",
      granularity: "minute",
      minute: "2025-03-01T10:00",
      total: 6,
      good: 3,
      failures: { http_status: 1, refused: 1, timeout: 1 },
      pops: { ams: 2, fra: 2 },
      // cdg→fra (previousPop), fra→fra, fra→ams (10:00:30), ams→ams: the timeout and refused in between don't break the chain.
      popChanges: 2,
      firstPop: "fra",
      lastPop: "ams",
    });
    expect(sketchCount(rollup!.latency)).toBe(3);
    expect(quantile(rollup!.latency, 0.5)).toBeCloseTo(14, 0);
  });

  it("files results by name, else address:port, and by kind and minute", () => {
    const results = [
      result({ startedAt: "2025-03-01T10:00:59.999Z", name: null, target: "192.0.2.9:53" }),
      result({ startedAt: "2025-03-01T10:01:00.000Z" }),
      result({ startedAt: "2025-03-01T10:00:00.000Z" }),
      result({ startedAt: "2025-03-01T10:00:01.000Z", kind: "tcp" }),
      result({ startedAt: "2025-03-01T12:00:00.500+02:00" }),
    ];
    const rollups = rollupMinute(results, { region: "r" });
    expect(rollups.map((r) => [r.target, r.kind, r.minute, r.total])).toEqual([
      ["192.0.2.9:53", "dns", "2025-03-01T10:00", 1],
      ["resolver", "dns", "2025-03-01T10:00", 2],
      ["resolver", "dns", "2025-03-01T10:01", 1],
      ["resolver", "tcp", "2025-03-01T10:00", 1],
    ]);
  });

  it("counts a failed result without a code as unknown", () => {
    const broken = { ...result({ startedAt: "2025-03-01T10:00:00Z", ok: false }), failure: null } as ProbeResult;
    expect(rollupMinute([broken], { region: "r" })[0]!.failures).toEqual({ unknown: 1 });
  });

  it("keeps failure codes and PoP ids such as __proto__ as data", () => {
    const odd = [
      { ...result({ startedAt: "2025-03-01T10:00:00Z", ok: false }), failure: { code: "__proto__", message: "" } },
      result({ startedAt: "2025-03-01T10:00:01Z", pop: "__proto__" }),
    ] as ProbeResult[];
    const [rollup] = rollupMinute(odd, { region: "r" });
    expect(Object.keys(rollup!.failures)).toEqual(["__proto__"]);
    expect(Object.keys(rollup!.pops)).toEqual(["__proto__"]);
    expect(JSON.parse(JSON.stringify(rollup))).toEqual(rollup);
    expect(isRollup(JSON.parse(JSON.stringify(rollup)))).toBe(true);
  });

  it("gives deep-equal, byte-identical rollups whatever the input order", () => {
    fc.assert(
      fc.property(resultsArb(), fc.integer(), (results, seed) => {
        const shuffled = shuffle(results, seed);
        const a = rollupMinute(results, { region: "r" });
        const b = rollupMinute(shuffled, { region: "r" });
        expect(b).toEqual(a);
        expect(JSON.stringify(b)).toBe(JSON.stringify(a));
      }),
    );
  });

  it("never throws on arbitrary result-like input, and total = good + Σ failures", () => {
    const oddString = fc.oneof(fc.string(), fc.constantFrom("", "#", "%23", "__proto__", "constructor", "toString", "💥", "a#b%c"));
    const oddNumber = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(Number.NaN, -0, Number.MAX_VALUE, -1));
    const oddValue = fc.oneof(oddString, oddNumber, fc.constant(null), fc.constant(undefined), fc.boolean(), fc.object());
    const oddResult = fc.record(
      {
        kind: fc.oneof(fc.constantFrom(...PROBE_KINDS), oddValue),
        target: fc.oneof(oddString, oddValue),
        name: fc.oneof(oddString, fc.constant(null), oddValue),
        ok: fc.oneof(fc.boolean(), oddValue),
        startedAt: fc.oneof(
          fc.date({ min: new Date("1960-01-01"), max: new Date("2100-01-01"), noInvalidDate: true }).map((d) => d.toISOString()),
          oddString,
          oddValue,
        ),
        timings: fc.oneof(fc.record({ totalMs: oddNumber }), oddValue),
        pop: fc.oneof(fc.constant(null), fc.record({ id: fc.oneof(oddString, oddValue) }), oddValue),
        failure: fc.oneof(fc.constant(null), fc.record({ code: fc.oneof(oddString, oddValue), message: oddString }), oddValue),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.array(oddResult, { maxLength: 40 }), fc.option(oddString, { nil: undefined }), (results, previousPop) => {
        const rollups = rollupMinute(results as unknown as ProbeResult[], { region: "r", previousPop });
        for (const rollup of rollups) {
          const failed = Object.values(rollup.failures).reduce((a, b) => a + b, 0);
          expect(rollup.total).toBe(rollup.good + failed);
          expect(rollup.total).toBeGreaterThan(0);
          expect(isRollup(JSON.parse(JSON.stringify(rollup)))).toBe(true);
        }
        expect(mergeRollups(rollups, "hour").every((r) => isRollup(r))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe("truncation counters", () => {
  it("count the results that saw TC=1 and those retried over TCP", () => {
    const at = (s: number) => `2025-03-01T10:00:${String(s).padStart(2, "0")}Z`;
    const results = [
      result({ startedAt: at(0), truncated: true, tcpFallback: true }),
      result({ startedAt: at(1), truncated: true, tcpFallback: false, ok: false, failure: "dns_truncated" }),
      result({ startedAt: at(2), truncated: false }),
      result({ startedAt: at(3) }), // a result from before the fields existed
      result({ startedAt: at(4), kind: "dot", truncated: true, tcpFallback: false }),
    ];
    const rollups = rollupMinute(results, { region: "r" });
    expect(rollups.map((r) => [r.kind, r.total, r.truncated, r.tcpFallback])).toEqual([
      ["dns", 4, 2, 1],
      ["dot", 1, 1, 0],
    ]);
    // Last in the canonical key order, so older stored rollups are a prefix of the current shape.
    expect(Object.keys(rollups[0]!).slice(-3)).toEqual(["lastPop", "truncated", "tcpFallback"]);
  });

  it("merge exactly: a merged rollup counts the sum of its children, in any grouping", () => {
    fc.assert(
      fc.property(resultsArb(), fc.integer(), (results, seed) => {
        const minutes = rollupMinute(results, { region: "r" });
        const hours = mergeRollups(shuffle(minutes, seed), "hour");
        const sum = (rs: readonly Rollup[], key: "truncated" | "tcpFallback", target: string, kind: string) =>
          rs.filter((r) => r.target === target && r.kind === kind).reduce((n, r) => n + r[key], 0);
        for (const hour of hours) {
          const children = minutes.filter((m) => m.minute.startsWith(hour.hour));
          expect(hour.truncated).toBe(sum(children, "truncated", hour.target, hour.kind));
          expect(hour.tcpFallback).toBe(sum(children, "tcpFallback", hour.target, hour.kind));
          expect(hour.tcpFallback).toBeLessThanOrEqual(hour.truncated);
        }
        // (minutes → hours) → days = minutes → days = results → days.
        const days = mergeRollups(hours, "day");
        expect(days).toEqual(mergeRollups(minutes, "day"));
        expect(days).toEqual(rollupResults(results, { region: "r", granularity: "day" }));
        const expected = (key: "truncated" | "tcpFallback") =>
          results.filter((r) => (r as unknown as Record<string, unknown>)[key] === true).length;
        expect(days.reduce((n, d) => n + d.truncated, 0)).toBe(expected("truncated"));
        expect(days.reduce((n, d) => n + d.tcpFallback, 0)).toBe(expected("tcpFallback"));
      }),
      { numRuns: 200 },
    );
  });

  it("read as 0 from a rollup stored before they existed, and merge with current ones", () => {
    fc.assert(
      fc.property(resultsArb(), fc.integer(), (results, seed) => {
        const minutes = rollupMinute(results, { region: "r" });
        // Some children as an older writer stored them: without the counters.
        const mixed = minutes.map((m, i) => {
          if ((i + seed) % 2 === 0) return m;
          const { truncated: _t, tcpFallback: _f, ...older } = JSON.parse(JSON.stringify(m)) as Rollup;
          expect(isRollup(older)).toBe(true);
          const completed = completeRollup(older as Rollup);
          expect(completed).toEqual({ ...m, truncated: 0, tcpFallback: 0 });
          expect(JSON.stringify(completed)).toBe(JSON.stringify(canonicalRollup({ ...m, truncated: 0, tcpFallback: 0 })));
          return older as Rollup;
        });
        const merged = mergeRollups(mixed, "hour");
        const kept = minutes.filter((_, i) => (i + seed) % 2 === 0);
        expect(merged.reduce((n, h) => n + h.truncated, 0)).toBe(kept.reduce((n, m) => n + m.truncated, 0));
        expect(merged.reduce((n, h) => n + h.tcpFallback, 0)).toBe(kept.reduce((n, m) => n + m.tcpFallback, 0));
        expect(merged.every((h) => isRollup(h))).toBe(true);
      }),
      { numRuns: 100 },
    );
    const [current] = rollupMinute([result({ startedAt: "2025-03-01T10:00:00Z" })], { region: "r" });
    expect(completeRollup(current!)).toBe(current);
  });

  it("refuse a stored counter that is not a count or exceeds the total", () => {
    const [minute] = rollupMinute([result({ startedAt: "2025-03-01T10:00:00Z", truncated: true })], { region: "r" });
    expect(isRollup(minute)).toBe(true);
    for (const bad of [2, -1, 0.5, "1", null, Number.NaN]) {
      expect(isRollup({ ...minute!, truncated: bad })).toBe(false);
      expect(isRollup({ ...minute!, tcpFallback: bad })).toBe(false);
    }
  });
});

describe("mergeRollups", () => {
  it("builds the same hour and day rollups from minutes as from the results directly", () => {
    fc.assert(
      fc.property(resultsArb(), (results) => {
        const minutes = rollupMinute(results, { region: "r" });
        const hoursFromMinutes = mergeRollups(minutes, "hour");
        expect(hoursFromMinutes).toEqual(rollupResults(results, { region: "r", granularity: "hour" }));
        const daysDirect = rollupResults(results, { region: "r", granularity: "day" });
        expect(mergeRollups(hoursFromMinutes, "day")).toEqual(daysDirect);
        expect(mergeRollups(minutes, "day")).toEqual(daysDirect);
      }),
      { numRuns: 300 },
    );
  });

  it("carries previousPop through: a standalone hour equals its merged minutes", () => {
    fc.assert(
      fc.property(resultsArb(), fc.constantFrom("fra", "ams", "zzz"), (results, previousPop) => {
        const oneSeries = results.filter((r) => r.kind === "dns" && r.name === "a");
        const minutes = rollupMinute(oneSeries, { region: "r", previousPop });
        expect(mergeRollups(minutes, "hour")).toEqual(rollupResults(oneSeries, { region: "r", granularity: "hour", previousPop }));
      }),
    );
  });

  it("does not depend on the order of its children", () => {
    fc.assert(
      fc.property(resultsArb(), fc.integer(), (results, seed) => {
        const minutes = rollupMinute(results, { region: "r" });
        expect(mergeRollups(shuffle(minutes, seed), "hour")).toEqual(mergeRollups(minutes, "hour"));
      }),
    );
  });

  it("counts a PoP change across a boundary, skipping children without a PoP", () => {
    const results = [
      result({ startedAt: "2025-03-01T10:00:00Z", pop: "fra" }),
      result({ startedAt: "2025-03-01T10:01:00Z", ok: false }),
      result({ startedAt: "2025-03-01T10:02:00Z", pop: "ams" }),
      result({ startedAt: "2025-03-01T10:03:00Z", pop: "ams" }),
    ];
    const [hour] = mergeRollups(rollupMinute(results, { region: "r" }), "hour");
    expect(hour).toMatchObject({ hour: "2025-03-01T10", total: 4, popChanges: 1, firstPop: "fra", lastPop: "ams" });
  });

  it("refuses input that would double-count", () => {
    const minutes = rollupMinute([result({ startedAt: "2025-03-01T10:00:00Z" })], { region: "r" });
    const hours = mergeRollups(minutes, "hour");
    expect(() => mergeRollups([...minutes, ...minutes], "hour")).toThrow(RangeError);
    expect(() => mergeRollups([...minutes, ...hours], "day")).toThrow(RangeError);
    expect(() => mergeRollups(hours, "hour")).toThrow(RangeError);
    expect(mergeRollups([], "day")).toEqual([]);
  });

  it("keeps separate series and periods apart", () => {
    const results = [
      result({ startedAt: "2025-03-01T10:00:00Z", name: "a" }),
      result({ startedAt: "2025-03-01T11:00:00Z", name: "a" }),
      result({ startedAt: "2025-03-01T10:00:00Z", name: "b" }),
    ];
    const hours = mergeRollups(rollupMinute(results, { region: "r" }), "hour");
    expect(hours.map((h) => [h.target, h.hour, h.total])).toEqual([
      ["a", "2025-03-01T10", 1],
      ["a", "2025-03-01T11", 1],
      ["b", "2025-03-01T10", 1],
    ]);
  });

  it("canonicalRollup reorders keys without changing content", () => {
    const [minute] = rollupMinute(
      [
        result({ startedAt: "2025-03-01T10:00:00Z", ok: false, failure: "timeout" }),
        result({ startedAt: "2025-03-01T10:00:01Z", ok: false, failure: "refused" }),
      ],
      { region: "r" },
    );
    const scrambled: Rollup = { ...minute!, failures: { timeout: 1, refused: 1 } };
    expect(JSON.stringify(canonicalRollup(scrambled))).toBe(JSON.stringify(minute));
  });
});

/** Results for a few series over two days, minute-dense enough to hit boundaries. */
function resultsArb(): fc.Arbitrary<ProbeResult[]> {
  const base = Date.parse("2025-03-01T22:50:00Z");
  const one = fc
    .record({
      offsetSeconds: fc.integer({ min: 0, max: 2 * 3600 }),
      millis: fc.constantFrom(0, 0, 500),
      name: fc.constantFrom("a", "b"),
      kind: fc.constantFrom<ProbeKind>("dns", "http"),
      ok: fc.boolean(),
      totalMs: fc.double({ min: 0, max: 5000, noNaN: true }),
      pop: fc.constantFrom(null, "fra", "ams", "cdg"),
      failure: fc.constantFrom<FailureCode>("timeout", "refused", "dns_rcode"),
      tc: fc.constantFrom<[boolean, boolean] | null>(null, [false, false], [true, true], [true, false]),
    })
    .map((r) =>
      result({
        startedAt: new Date(base + r.offsetSeconds * 1000 + r.millis).toISOString(),
        name: r.name,
        kind: r.kind,
        ok: r.ok,
        totalMs: r.totalMs,
        pop: r.pop,
        failure: r.failure,
        ...(r.tc === null ? {} : { truncated: r.tc[0], tcpFallback: r.tc[1] }),
      }),
    );
  return fc.array(one, { maxLength: 80 });
}

function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1_103_515_245 + 12_345) >>> 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
