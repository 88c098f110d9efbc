// When compaction builds hour and day buckets, and how same-period rollups of two writers merge: decided without a store.
import { describe, expect, it } from "vitest";
import { type ProbeResult, mergeSamePeriodRollups, rollupMinute } from "../src/index";
import { DEFAULT_COMPACTION_GRACE_MS, dayOfHour, duePeriods, marksPending, periodOpen } from "../src/rollup/compaction";

const ms = (iso: string) => Date.parse(iso);

describe("compaction decisions", () => {
  it("a writer marks an open hour once per process, an ended hour on every write", () => {
    expect(marksPending("2025-03-02T10", ms("2025-03-02T10:30:00Z"), false)).toBe(true);
    expect(marksPending("2025-03-02T10", ms("2025-03-02T10:30:00Z"), true)).toBe(false);
    expect(marksPending("2025-03-02T10", ms("2025-03-02T11:00:00Z"), true)).toBe(true);
    expect(periodOpen("hour", "2025-03-02T10", ms("2025-03-02T10:59:59.999Z"))).toBe(true);
    expect(periodOpen("day", "2025-03-02", ms("2025-03-03T00:00:00Z"))).toBe(false);
  });

  it("builds pending periods that ended a grace ago, each once, earliest first", () => {
    const pending = ["2025-03-02T11", "2025-03-02T10", "2025-03-02T10", "2025-03-02T12", "nonsense"];
    expect(duePeriods("hour", pending, ms("2025-03-02T12:01:59Z"), DEFAULT_COMPACTION_GRACE_MS)).toEqual(["2025-03-02T10"]);
    expect(duePeriods("hour", pending, ms("2025-03-02T12:02:00Z"), DEFAULT_COMPACTION_GRACE_MS)).toEqual([
      "2025-03-02T10",
      "2025-03-02T11",
    ]);
    expect(duePeriods("hour", pending, ms("2025-03-02T13:00:00Z"), 0)).toEqual(["2025-03-02T10", "2025-03-02T11", "2025-03-02T12"]);
    expect(duePeriods("day", ["2025-03-02"], ms("2025-03-03T00:01:00Z"), DEFAULT_COMPACTION_GRACE_MS)).toEqual([]);
    expect(duePeriods("day", ["2025-03-02"], ms("2025-03-03T00:02:00Z"), DEFAULT_COMPACTION_GRACE_MS)).toEqual(["2025-03-02"]);
    expect(dayOfHour("2025-03-02T23")).toBe("2025-03-02");
  });
});

describe("mergeSamePeriodRollups", () => {
  const result = (second: number, pop: string, ok = true) =>
    ({
      kind: "dns",
      target: "198.51.100.1:53",
      name: "edge",
      ok,
      startedAt: `2025-03-02T10:00:${String(second).padStart(2, "0")}.000Z`,
      timings: { totalMs: 10 + second },
      pop: { id: pop },
      failure: ok ? null : { code: "timeout" },
    }) as unknown as ProbeResult;

  it("adds the counts of two writers' rollups of one series and minute, exactly as rolling up all results", () => {
    const agent = [result(0, "fra"), result(10, "fra"), result(20, "ams", false)];
    const imported = [result(30, "ams"), result(40, "ams")];
    const [a] = rollupMinute(agent, { region: "atlas-1" });
    const [b] = rollupMinute(imported, { region: "atlas-1" });
    const [direct] = rollupMinute([...agent, ...imported], { region: "atlas-1" });
    const [merged] = mergeSamePeriodRollups([b!, a!]);
    const counts = ({ total, good, failures, latency, pops }: typeof direct & object) => ({ total, good, failures, latency, pops });
    expect(counts(merged!)).toEqual(counts(direct!));
    expect(mergeSamePeriodRollups([a!, b!])).toEqual(mergeSamePeriodRollups([b!, a!]));
    // Other vantages and minutes stay apart; a single rollup is returned as it is.
    const [other] = rollupMinute(imported, { region: "atlas-2" });
    expect(mergeSamePeriodRollups([a!, other!]).map((r) => r.region)).toEqual(["atlas-1", "atlas-2"]);
    expect(mergeSamePeriodRollups([a!])[0]).toBe(a);
  });
});
