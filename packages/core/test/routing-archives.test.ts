import { describe, expect, it } from "vitest";
import {
  ARCHIVE_PLAN_DEFAULTS,
  archiveFileUrl,
  archiveFilesToFetch,
  mayGiveUpArchiveFile,
  newestPublishedFileMs,
} from "../src/routing/archives";
import { DEFAULT_ARCHIVES } from "../src/routing/config";

const at = (iso: string) => Date.parse(iso);
const RIS = [{ name: "rrc00", archive: "ris" as const }];
const RV = [
  { name: "route-views2", archive: "routeviews" as const },
  { name: "route-views.linx", archive: "routeviews" as const },
];

describe("archive file URLs", () => {
  it("follow the RIS and RouteViews layouts (route-views2 at the archive root)", () => {
    const t = at("2026-01-05T09:35:00Z");
    expect(archiveFileUrl(DEFAULT_ARCHIVES.ris, "ris", "rrc00", t)).toBe(
      "https://data.ris.ripe.net/rrc00/2026.01/updates.20260105.0935.gz",
    );
    expect(archiveFileUrl(DEFAULT_ARCHIVES.routeviews, "routeviews", "route-views2", at("2026-01-05T09:30:00Z"))).toBe(
      "https://archive.routeviews.org/bgpdata/2026.01/UPDATES/updates.20260105.0930.bz2",
    );
    expect(archiveFileUrl("http://127.0.0.1:8080/mirror/", "routeviews", "route-views.linx", at("2026-12-31T23:45:00Z"))).toBe(
      "http://127.0.0.1:8080/mirror/route-views.linx/bgpdata/2026.12/UPDATES/updates.20261231.2345.bz2",
    );
  });
});

describe("archiveFilesToFetch", () => {
  it("without a cursor asks for the newest file whose interval ended the publish delay ago", () => {
    // RIS: 5-minute files, published 5 minutes after their interval. At 10:17 the 10:05–10:10 file is due (ended 10:10 ≤ 10:12).
    expect(archiveFilesToFetch(RIS, DEFAULT_ARCHIVES, { nowMs: at("2026-01-05T10:17:00Z") })).toEqual([
      {
        collector: "rrc00",
        archive: "ris",
        fileTimeMs: at("2026-01-05T10:05:00Z"),
        url: "https://data.ris.ripe.net/rrc00/2026.01/updates.20260105.1005.gz",
      },
    ]);
    // At 10:14:59 the 10:05 file is not yet due.
    expect(newestPublishedFileMs("ris", at("2026-01-05T10:14:59Z"))).toBe(at("2026-01-05T10:00:00Z"));
    expect(newestPublishedFileMs("ris", at("2026-01-05T10:15:00Z"))).toBe(at("2026-01-05T10:05:00Z"));
    // RouteViews: 15-minute files, 10 minutes of delay.
    expect(newestPublishedFileMs("routeviews", at("2026-01-05T10:24:59Z"))).toBe(at("2026-01-05T09:45:00Z"));
    expect(newestPublishedFileMs("routeviews", at("2026-01-05T10:25:00Z"))).toBe(at("2026-01-05T10:00:00Z"));
  });

  it("follows each cursor file by file, oldest first, at most maxFiles per collector", () => {
    const plan = archiveFilesToFetch([...RIS, ...RV], DEFAULT_ARCHIVES, {
      nowMs: at("2026-01-05T11:00:00Z"),
      lastFetched: { rrc00: at("2026-01-05T10:20:00Z"), "route-views2": at("2026-01-05T10:00:00Z") },
      maxFiles: 3,
    });
    const times = (name: string) => plan.filter((f) => f.collector === name).map((f) => new Date(f.fileTimeMs).toISOString().slice(11, 16));
    expect(times("rrc00")).toEqual(["10:25", "10:30", "10:35"]);
    expect(times("route-views2")).toEqual(["10:15", "10:30"]);
    expect(times("route-views.linx")).toEqual(["10:30"]); // no cursor: the newest only
  });

  it("asks for nothing when the cursor is at the newest file, and never repeats a file behind it", () => {
    const nowMs = at("2026-01-05T11:00:00Z");
    const newest = newestPublishedFileMs("ris", nowMs);
    expect(archiveFilesToFetch(RIS, DEFAULT_ARCHIVES, { nowMs, lastFetched: { rrc00: newest } })).toEqual([]);
    expect(archiveFilesToFetch(RIS, DEFAULT_ARCHIVES, { nowMs, lastFetched: { rrc00: newest + 3_600_000 } })).toEqual([]);
  });

  it("bounds the catch-up after missed runs: a stale cursor restarts maxCatchUpMs back", () => {
    const nowMs = at("2026-01-05T12:00:00Z");
    const plan = archiveFilesToFetch(RIS, DEFAULT_ARCHIVES, {
      nowMs,
      lastFetched: { rrc00: at("2026-01-01T00:00:00Z") },
      maxFiles: 1000,
      maxCatchUpMs: 3_600_000,
    });
    expect(plan.length).toBe(12);
    expect(plan[0]!.fileTimeMs).toBeGreaterThan(newestPublishedFileMs("ris", nowMs) - 3_600_000);
    expect(plan.at(-1)!.fileTimeMs).toBe(newestPublishedFileMs("ris", nowMs));
    expect(ARCHIVE_PLAN_DEFAULTS.maxCatchUpMs).toBeGreaterThan(ARCHIVE_PLAN_DEFAULTS.giveUpAfterMs);
  });

  it("gives up on a missing or corrupt file only after giveUpAfterMs past its publication", () => {
    const file = { archive: "ris" as const, fileTimeMs: at("2026-01-05T10:00:00Z") };
    // Published at 10:10 (interval end 10:05 + 5 min delay).
    expect(mayGiveUpArchiveFile(file, at("2026-01-05T11:09:59Z"))).toBe(false);
    expect(mayGiveUpArchiveFile(file, at("2026-01-05T11:10:00Z"))).toBe(true);
    expect(mayGiveUpArchiveFile(file, at("2026-01-05T10:20:00Z"), 10 * 60_000)).toBe(true);
  });
});
