import { describe, expect, it } from "vitest";
import { ANALYTICS_DEFAULTS } from "../src/analytics/config";
import { detectFlapping, popChangesPerHour } from "../src/analytics/pop-changes";
import { PopwatchCoreError } from "../src/errors";
import { ConfigError, catchment, parseConfig } from "../src/index";
import { ROUND_MS, T0, result, rollupsOf, stream, times } from "./analytics-fixtures";

const HOUR = 3_600_000;

function coreError(fn: () => unknown): PopwatchCoreError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PopwatchCoreError);
    expect((err as PopwatchCoreError).code).toBe("analytics_input_invalid");
    return err as PopwatchCoreError;
  }
  throw new Error("expected a PopwatchCoreError");
}

describe("catchment", () => {
  // eu-central-1: hour 10 mostly fra, hour 11 mostly ams. us-east-1: iad only, one timeout.
  const results = [
    ...stream(`${times(8, "fra")} ams x ?`, { startMs: T0 }),
    ...stream(`${times(7, "ams")} fra fra`, { startMs: T0 + HOUR }),
    ...stream("iad iad x iad", { region: "us-east-1" }),
  ];

  it("counts shares of identified answers, the dominant PoP and the changes of the hourly dominant PoP", () => {
    expect(catchment(results)).toEqual([
      {
        target: "anycast",
        region: "eu-central-1",
        counts: { ams: 8, fra: 10 },
        shares: { ams: 8 / 18, fra: 10 / 18 },
        dominant: "fra",
        total: 18,
        unidentified: 2,
        changes: [{ at: new Date(T0 + HOUR).toISOString(), from: "fra", to: "ams" }],
      },
      {
        target: "anycast",
        region: "us-east-1",
        counts: { iad: 3 },
        shares: { iad: 1 },
        dominant: "iad",
        total: 3,
        unidentified: 1,
        changes: [],
      },
    ]);
  });

  it("gives the same answer from minute or hour rollups as from raw results", () => {
    const expected = catchment(results);
    expect(catchment(rollupsOf(results, "minute"))).toEqual(expected);
    expect(catchment(rollupsOf(results, "hour"))).toEqual(expected);
    // Finer buckets need finer rollups.
    expect(catchment(rollupsOf(results, "minute"), { bucket: "minute" })).toEqual(catchment(results, { bucket: "minute" }));
  });

  it("keeps the previous dominant PoP on a tie, and breaks a tie without history by the smallest id", () => {
    const tied = [
      ...stream("lhr lhr ams ams"),
      ...stream("ams ams lhr lhr", { startMs: T0 + HOUR }),
      ...stream("ams ams ams", { startMs: T0 + 2 * HOUR }),
    ];
    const [entry] = catchment(tied);
    expect(entry!.dominant).toBe("ams");
    // Hour 10 ties ams/lhr (no history: ams), hour 11 ties again (ams stays), hour 12 is ams.
    expect(entry!.changes).toEqual([]);
    const flip = catchment([...stream("lhr lhr lhr"), ...stream("ams ams lhr lhr", { startMs: T0 + HOUR })]);
    expect(flip[0]!.changes).toEqual([]);
    expect(flip[0]!.dominant).toBe("lhr");
  });

  it("skips buckets without an identified answer: they neither change the dominant PoP nor break the chain", () => {
    const gappy = [
      ...stream("fra fra"),
      ...stream("x x ?", { startMs: T0 + HOUR }),
      ...stream("fra", { startMs: T0 + 2 * HOUR }),
      ...stream("ams", { startMs: T0 + 3 * HOUR }),
    ];
    const [entry] = catchment(gappy);
    expect(entry!.changes).toEqual([{ at: new Date(T0 + 3 * HOUR).toISOString(), from: "fra", to: "ams" }]);
    expect(entry!.unidentified).toBe(3);
  });

  it("reports a region where nothing was identified with empty shares and no dominant PoP", () => {
    expect(catchment(stream("x ? x"))).toEqual([
      { target: "anycast", region: "eu-central-1", counts: {}, shares: {}, dominant: null, total: 0, unidentified: 3, changes: [] },
    ]);
  });

  it("filters by window and kind", () => {
    const mixed = [...stream("fra fra fra"), ...stream("ams ams", { kind: "http", startMs: T0 + 5 * ROUND_MS })];
    expect(catchment(mixed, { kind: "http" })[0]!.counts).toEqual({ ams: 2 });
    expect(catchment(mixed)[0]!.counts).toEqual({ ams: 2, fra: 3 });
    const window = { from: T0 + ROUND_MS, to: T0 + 6 * ROUND_MS };
    expect(catchment(mixed, { window })[0]!.counts).toEqual({ ams: 1, fra: 2 });
    // Rollups overlapping the window count whole.
    expect(catchment(rollupsOf(mixed, "minute"), { window })[0]!.counts).toEqual({ ams: 1, fra: 3 });
    expect(catchment(mixed, { window: { from: T0 + HOUR, to: T0 + 2 * HOUR } })).toEqual([]);
  });

  it("treats PoP ids that look like prototype members as data", () => {
    const [entry] = catchment(stream("__proto__ constructor constructor"));
    expect(Object.keys(entry!.shares)).toEqual(["__proto__", "constructor"]);
    expect(entry!.dominant).toBe("constructor");
  });

  it("refuses rollups coarser than the bucket, overlapping rollups and an empty window", () => {
    expect(coreError(() => catchment(rollupsOf(results, "hour"), { bucket: "minute" })).message).toMatch(
      /hour rollup .* cannot be split into minute buckets/,
    );
    expect(coreError(() => catchment([...rollupsOf(results, "hour"), ...rollupsOf(results, "minute")])).message).toMatch(/overlap/);
    coreError(() => catchment(results, { window: { from: T0, to: T0 } }));
    coreError(() => catchment(results, { window: { from: "yesterday", to: T0 } }));
  });
});

describe("PoP changes per hour and flapping", () => {
  // 6 changes in hour 10, 5 in hour 11, and one change across the boundary (counted in hour 11).
  const flappy = [
    ...stream("fra ams fra ams fra ams fra x ?"),
    ...stream("lhr lhr ams lhr ams ams lhr", { startMs: T0 + HOUR }),
    ...stream("x ? x", { startMs: T0 + 2 * HOUR }),
  ];

  it("counts changes per series and hour; results without a PoP neither count nor break the chain", () => {
    expect(popChangesPerHour(flappy)).toEqual([
      { target: "anycast", kind: "dns", region: "eu-central-1", hour: "2025-03-02T10", changes: 6 },
      { target: "anycast", kind: "dns", region: "eu-central-1", hour: "2025-03-02T11", changes: 5 },
      { target: "anycast", kind: "dns", region: "eu-central-1", hour: "2025-03-02T12", changes: 0 },
    ]);
  });

  it("gives the same counts from minute or hour rollups, including the change across the hour boundary", () => {
    const expected = popChangesPerHour(flappy);
    expect(popChangesPerHour(rollupsOf(flappy, "minute"))).toEqual(expected);
    expect(popChangesPerHour(rollupsOf(flappy, "hour"))).toEqual(expected);
  });

  it("flags an hour at the threshold and above, not below it", () => {
    const changes = popChangesPerHour(flappy);
    expect(detectFlapping(changes, { changesPerHour: 6 }).map((f) => [f.hour, f.changes, f.threshold])).toEqual([["2025-03-02T10", 6, 6]]);
    expect(detectFlapping(changes, { changesPerHour: 5 }).map((f) => f.hour)).toEqual(["2025-03-02T10", "2025-03-02T11"]);
    expect(detectFlapping(changes, { changesPerHour: 7 })).toEqual([]);
    expect(ANALYTICS_DEFAULTS.flapChangesPerHour).toBe(6);
    coreError(() => detectFlapping(changes, { changesPerHour: 0 }));
  });

  it("refuses day rollups, a series given twice, and hours given twice", () => {
    expect(coreError(() => popChangesPerHour(rollupsOf(flappy, "day"))).message).toMatch(/too coarse/);
    expect(coreError(() => popChangesPerHour([...flappy, ...rollupsOf(flappy, "minute")])).message).toMatch(/both rollups and results/);
    expect(coreError(() => popChangesPerHour([...rollupsOf(flappy, "minute"), ...rollupsOf(flappy, "hour")])).message).toMatch(
      /given twice/,
    );
    // Rollups for one series and results for another mix fine.
    const other = stream("fra ams", { region: "us-east-1" });
    expect(popChangesPerHour([...rollupsOf(flappy, "minute"), ...other]).map((c) => c.region)).toEqual([
      "eu-central-1",
      "eu-central-1",
      "eu-central-1",
      "us-east-1",
    ]);
  });

  it("keeps series apart by kind", () => {
    const both = [
      ...stream("fra ams"),
      ...stream("ams ams", { kind: "http" }),
      result({ ms: T0 + HOUR, ok: true, pop: "lhr", kind: "http" }),
    ];
    expect(popChangesPerHour(both).map((c) => [c.kind, c.hour, c.changes])).toEqual([
      ["dns", "2025-03-02T10", 1],
      ["http", "2025-03-02T10", 0],
      ["http", "2025-03-02T11", 1],
    ]);
  });
});

describe("analytics config", () => {
  const minimal = { targets: [{ name: "k-root", address: "193.0.14.129", probes: { dns: {} } }] };

  it("fills defaults", () => {
    expect(parseConfig(minimal).analytics).toEqual({
      flapChangesPerHour: 6,
      failoverMinStableSamples: 2,
      convergenceSloMs: 30_000,
      detourKm: 1000,
      alerts: { catchmentShift: true, flapping: "page", detour: true, popChange: "ticket", outage: "page", minEvents: 30 },
    });
    expect(parseConfig({ ...minimal, analytics: { detourRttMs: 20 } }).analytics).toEqual({ ...ANALYTICS_DEFAULTS, detourRttMs: 20 });
  });

  it("rejects unknown keys and bad values, naming the field", () => {
    const issues = (analytics: unknown) => {
      try {
        parseConfig({ ...minimal, analytics });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
      }
      return [];
    };
    expect(issues({ flapChangesPerHr: 3 })).toEqual([expect.stringMatching(/^analytics\.flapChangesPerHr: unknown key/)]);
    expect(issues({ flapChangesPerHour: 0 })).toEqual([expect.stringMatching(/^analytics\.flapChangesPerHour: /)]);
    expect(issues({ failoverMinStableSamples: 1.5 })).toEqual([expect.stringMatching(/^analytics\.failoverMinStableSamples: /)]);
    expect(issues({ detourKm: -1 })).toEqual([expect.stringMatching(/^analytics\.detourKm: /)]);
    expect(issues({ detourRttMs: 0 })).toEqual([expect.stringMatching(/^analytics\.detourRttMs: /)]);
  });
});
