import { describe, expect, it } from "vitest";
import {
  DEFAULT_RETENTION_DAYS,
  TTL_LAG_DAYS,
  earliestRetainedMs,
  expiresAtSeconds,
  resolveRetentionDays,
  retainedRange,
} from "../src/retention";
import { DAY_MS } from "../src/time";

describe("retention", () => {
  it("overlays the defaults with the days given, keeping a default for a day left undefined", () => {
    expect(resolveRetentionDays()).toEqual({ raw: 7, minute: 14, hour: 90, day: 400 });
    expect(resolveRetentionDays({ raw: 3, hour: undefined })).toEqual({ ...DEFAULT_RETENTION_DAYS, raw: 3 });
  });

  it("refuses a retention that is not a positive number of days, naming the kind", () => {
    expect(() => resolveRetentionDays({ minute: 0 })).toThrow("retentionDays.minute must be a positive number of days");
    expect(() => resolveRetentionDays({ day: Number.POSITIVE_INFINITY })).toThrow("retentionDays.day");
    expect(() => resolveRetentionDays({ raw: Number.NaN })).toThrow("retentionDays.raw");
  });

  it("expires an item its retention after its own start, in epoch seconds", () => {
    const retention = resolveRetentionDays({ raw: 1.5 });
    const start = Date.parse("2025-03-02T10:07:00.000Z");
    expect(expiresAtSeconds(retention, "raw", start)).toBe(start / 1000 + 1.5 * 86_400);
    expect(expiresAtSeconds(retention, "day", start + 999)).toBe(start / 1000 + 400 * 86_400);
  });

  it("lets a read reach back the retention plus TTL's deletion lag, and no further", () => {
    const until = Date.parse("2025-03-02T10:07:00.000Z");
    expect(TTL_LAG_DAYS).toBe(2);
    expect(earliestRetainedMs(DEFAULT_RETENTION_DAYS, "raw", until)).toBe(until - 9 * DAY_MS);
    expect(earliestRetainedMs(DEFAULT_RETENTION_DAYS, "hour", until)).toBe(until - 92 * DAY_MS);
  });

  describe("the range a read covers", () => {
    const now = Date.parse("2026-12-06T12:00:00.000Z");
    const cases = [
      { name: "inside retention: as asked", kind: "raw", from: now - DAY_MS, to: now, read: [now - DAY_MS, now], narrowed: false },
      {
        name: "past raw retention: cut to 7 d + lag",
        kind: "raw",
        from: now - 30 * DAY_MS,
        to: now,
        read: [now - 9 * DAY_MS, now],
        narrowed: true,
      },
      { name: "hour rollups keep 30 d", kind: "hour", from: now - 30 * DAY_MS, to: now, read: [now - 30 * DAY_MS, now], narrowed: false },
      {
        name: "an end in the future neither cuts the start nor reaches past now",
        kind: "raw",
        from: now - 8 * DAY_MS,
        to: now + 30 * DAY_MS,
        read: [now - 8 * DAY_MS, now],
        narrowed: false,
      },
      {
        name: "a range wholly expired reads nothing: retention counts from now, not from its end",
        kind: "raw",
        from: now - 12 * DAY_MS,
        to: now - 10 * DAY_MS,
        read: [now - 10 * DAY_MS, now - 10 * DAY_MS],
        narrowed: true,
      },
    ] as const;
    it.each(cases)("$name", ({ kind, from, to, read, narrowed }) => {
      const range = retainedRange(DEFAULT_RETENTION_DAYS, kind, { fromMs: from, toMs: to }, now);
      expect([range.fromMs, range.toMs]).toEqual(read);
      expect(range.narrowed).toBe(narrowed);
      expect(range.retentionDays).toBe(DEFAULT_RETENTION_DAYS[kind]);
    });
  });
});
