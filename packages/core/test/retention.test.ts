import { describe, expect, it } from "vitest";
import { DEFAULT_RETENTION_DAYS, TTL_LAG_DAYS, earliestRetainedMs, expiresAtSeconds, resolveRetentionDays } from "../src/retention";
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
});
