// The EMF publisher (Powertools Metrics' serializer) and the Powertools-backed
// Logger, on their real output: EMF lines checked against the specification,
// log lines against jsonLinesLogger's shape.
import { type CloudWatchRecord, PROBE_CLOUDWATCH_METRICS, type RegionalResult, parseConfig, probeRoundRecords } from "@popwatch/core";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { emfSeries, parseEmf } from "../../../test/support/emf";
import {
  type LogEntry,
  type RoundReport,
  jsonLinesLogger,
  powertoolsEmfPublisher,
  powertoolsLogger,
  roundMetricsPublisher,
} from "../src/index";

const T0 = Date.now() - 60_000;

function dnsResult(over: Partial<RegionalResult> & { ok: boolean }): RegionalResult {
  return {
    kind: "dns",
    target: "198.51.100.53:53",
    address: "198.51.100.53",
    port: 53,
    name: "anycast",
    startedAt: new Date(T0).toISOString(),
    slotAt: new Date(T0).toISOString(),
    timings: { totalMs: 12 },
    pop: { id: "fra", source: "nsid", raw: "fra1", iata: "fra" },
    failure: over.ok ? null : { code: "timeout", message: "no answer" },
    region: "eu-west-1",
    ...over,
  } as RegionalResult;
}

describe("powertoolsEmfPublisher", () => {
  it("writes one valid EMF document per record, with the roll-up dimension sets over the same values", () => {
    const lines: string[] = [];
    const { records } = probeRoundRecords(
      [dnsResult({ ok: true }), dnsResult({ ok: false, pop: null }), dnsResult({ ok: true, timings: { totalMs: 30 } })],
      new Map(),
      { roundIntervalMs: 60_000 },
    );
    powertoolsEmfPublisher({ write: (l) => lines.push(l) }).publish(records);
    expect(lines.every((l) => l.endsWith("\n"))).toBe(true);
    const docs = parseEmf(lines.join(""));
    expect(docs).toHaveLength(records.length);
    const series = emfSeries(docs);
    const success = series.filter((s) => s.name === PROBE_CLOUDWATCH_METRICS.success.name);
    expect(success.map((s) => s.dimensions)).toEqual([{ Region: "eu-west-1", Target: "anycast", Kind: "dns" }, { Region: "eu-west-1" }]);
    expect(success[0]!.values).toEqual([1, 0, 1]);
    expect(series.find((s) => s.name === "ProbeLatency")).toMatchObject({ unit: "Milliseconds", values: [12, 30] });
    expect(docs[0]!.timestampMs).toBe(T0);
    // Properties ride along as top-level keys, outside every dimension set.
    expect(docs[0]!.body.endpoints).toBe("198.51.100.53:53");
    // No `service` dimension sneaks in from POWERTOOLS_SERVICE_NAME.
    for (const d of docs) for (const set of d.directives[0]!.dimensionSets) expect(set).not.toContain("service");
  });

  it("splits a metric of more than 99 values over several documents, every value kept", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 400 }), (values) => {
        const lines: string[] = [];
        const record: CloudWatchRecord = {
          timestampMs: T0,
          dimensions: { Region: "eu-west-1" },
          sets: [["Region"]],
          metrics: [{ name: "ProbeLatency", unit: "Milliseconds", values }],
          properties: {},
        };
        powertoolsEmfPublisher({ write: (l) => lines.push(l) }).publish([record]);
        const docs = parseEmf(lines.join(""));
        expect(docs).toHaveLength(Math.ceil(values.length / 99));
        expect(emfSeries(docs).flatMap((s) => s.values)).toEqual(values);
      }),
      { numRuns: 30 },
    );
  });

  it("any dimension values and finite numbers: every line is valid EMF and every value comes back under its dimensions", () => {
    const arbRecord = fc
      .record({
        region: fc.string({ minLength: 1, maxLength: 40 }),
        target: fc.string({ minLength: 1, maxLength: 60 }),
        values: fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 150 }),
        endpoint: fc.string(),
      })
      .map(
        (r): CloudWatchRecord => ({
          timestampMs: T0,
          dimensions: { Region: r.region, Target: r.target, Kind: "dns" },
          sets: PROBE_CLOUDWATCH_METRICS.success.dimensionSets,
          metrics: [{ name: "ProbeSuccess", unit: "None", values: r.values }],
          properties: { endpoints: r.endpoint },
        }),
      );
    fc.assert(
      fc.property(fc.array(arbRecord, { maxLength: 5 }), (records) => {
        const lines: string[] = [];
        const logs: LogEntry[] = [];
        powertoolsEmfPublisher({ write: (l) => lines.push(l), logger: (e) => logs.push(e) }).publish(records);
        const series = emfSeries(parseEmf(lines.join(""))).filter((s) => Object.keys(s.dimensions).length === 3);
        const published = records.filter((r) => Object.values(r.dimensions).every((v) => v.trim() !== ""));
        expect(logs.filter((l) => l.msg === "cloudwatch record skipped")).toHaveLength(records.length - published.length);
        // A record with a dimension value Powertools refuses (blank) is logged and skipped; the rest comes back exactly.
        expect(series.map((s) => [s.dimensions, s.values])).toEqual(
          published.flatMap((r) => {
            // As JSON carries them: -0 is written as 0.
            const values = r.metrics[0]!.values.map((v) => v + 0);
            const parts: [Record<string, string>, number[]][] = [];
            for (let i = 0; i < values.length; i += 99) parts.push([r.dimensions, values.slice(i, i + 99)]);
            return parts;
          }),
        );
      }),
      { numRuns: 200 },
    );
  });

  it("skips a record without a dimension value, logs it, and keeps publishing", () => {
    const lines: string[] = [];
    const logs: LogEntry[] = [];
    const good: CloudWatchRecord = {
      timestampMs: T0,
      dimensions: { Region: "eu-west-1" },
      sets: [["Region"]],
      metrics: [{ name: "ProbeSuccess", unit: "None", values: [1] }],
      properties: {},
    };
    const bad = { ...good, dimensions: { Region: "" } };
    powertoolsEmfPublisher({ write: (l) => lines.push(l), logger: (e) => logs.push(e) }).publish([bad, good]);
    expect(parseEmf(lines.join(""))).toHaveLength(1);
    expect(logs).toEqual([
      expect.objectContaining({ level: "error", msg: "cloudwatch record skipped", error: expect.stringMatching(/Region/) }),
    ]);
  });

  it("passes Powertools' warning about a timestamp CloudWatch would refuse to the logger", () => {
    const logs: LogEntry[] = [];
    const old = { timestampMs: Date.parse("2020-01-01T00:00:00Z"), dimensions: { Region: "r" }, sets: [["Region"]], properties: {} };
    powertoolsEmfPublisher({ write: () => {}, logger: (e) => logs.push(e) }).publish([
      { ...old, metrics: [{ name: "ProbeSuccess", unit: "None", values: [1] }] },
    ]);
    expect(logs).toEqual([expect.objectContaining({ level: "warn", detail: expect.stringMatching(/14 days/) })]);
  });
});

describe("roundMetricsPublisher", () => {
  const config = parseConfig({
    regions: ["eu-west-1"],
    schedule: { rateMinutes: 1, roundsPerInvocation: 1 },
    targets: [{ name: "anycast", address: "198.51.100.53", probes: { dns: {} } }],
  });
  const roundAt = (ms: number, pop: string): RoundReport => {
    const at = new Date(ms).toISOString();
    const result = dnsResult({ ok: true, startedAt: at, slotAt: at, pop: { id: pop, source: "nsid", raw: pop, iata: null } });
    return {
      round: 0,
      slotAt: at,
      results: [{ ...result, seq: 0 }],
      ok: 1,
      failed: 0,
      written: 1,
      probeMs: 1,
      writeMs: 1,
      problem: null,
    } as RoundReport;
  };

  it("keeps the PoP memory between rounds and invocations of one container", () => {
    const lines: string[] = [];
    const hook = roundMetricsPublisher(powertoolsEmfPublisher({ write: (l) => lines.push(l) }), () => {})(config);
    const popChanges = () =>
      emfSeries(parseEmf(lines.splice(0).join(""))).filter((s) => s.name === "PopChange" && "Target" in s.dimensions);
    hook(roundAt(T0, "fra"));
    expect(popChanges()).toEqual([]);
    hook(roundAt(T0 + 60_000, "ams"));
    expect(popChanges().map((s) => s.values)).toEqual([[1]]);
  });

  it("a publisher that fails is logged, never thrown into the round", () => {
    const logs: LogEntry[] = [];
    const broken = {
      publish: () => {
        throw new Error("stdout closed");
      },
    };
    expect(() => roundMetricsPublisher(broken, (e) => logs.push(e))(config)(roundAt(T0, "fra"))).not.toThrow();
    expect(logs).toEqual([expect.objectContaining({ level: "error", msg: "cloudwatch metrics failed", error: "stdout closed" })]);
  });
});

describe("powertoolsLogger", () => {
  afterEach(() => vi.restoreAllMocks());

  it("prints the same fields as jsonLinesLogger, nulls included, warnings and errors on stderr", () => {
    const out: string[] = [];
    const err: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
      err.push(String(chunk));
      return true;
    });
    const entry: LogEntry = { level: "info", msg: "round", region: "eu-west-1", requestId: null, counts: { ok: 2 } };
    powertoolsLogger()(entry);
    powertoolsLogger()({ level: "error", msg: "round message dropped", code: "bad_json" });
    powertoolsLogger()({ level: "debug", msg: "detail" });
    const reference: string[] = [];
    jsonLinesLogger((l) => reference.push(l))(entry);
    vi.restoreAllMocks();

    const [printed, debug] = out.map((l) => JSON.parse(l) as Record<string, unknown>);
    const expected = JSON.parse(reference[0]!) as Record<string, unknown>;
    expect(Object.keys(printed!).sort()).toEqual(Object.keys(expected).sort());
    expect({ ...printed, time: "" }).toEqual({ ...expected, time: "" });
    expect(Date.parse(printed!.time as string)).not.toBeNaN();
    expect(debug).toMatchObject({ level: "debug", msg: "detail" });
    expect(err.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ level: "error", msg: "round message dropped", code: "bad_json" }),
    ]);
  });
});
