// compact: builds the cross-vantage hour buckets from every shard's minute
// items, and day buckets from the hour buckets, for the pending periods that
// have ended. Which periods are due is core's decision (duePeriods); this
// file reads the markers, builds, writes, and clears the markers it built.

import { DEFAULT_COMPACTION_GRACE_MS, type Rollup, type RollupOf, dayOfHour, duePeriods, mergeRollups } from "@popwatch/core";
import { type BucketItems, bucketRange } from "./buckets";
import { instantMs, invalid } from "./items";
import type { PendingMarker, PendingMarkers } from "./pending";
import type { RollupItems } from "./rollups";
import type { CompactReport, CompactRequest } from "./types";

export class Compactor {
  constructor(
    private readonly rollups: Pick<RollupItems, "readMinutes">,
    private readonly buckets: BucketItems,
    private readonly pending: PendingMarkers,
  ) {}

  /**
   * Hours first (each: one consistent paged Query per shard of its minute
   * items), each built hour marking its day, then the due days (one Query of
   * the day's hour buckets). A marker is cleared only if nobody marked it
   * again meanwhile, so late data always gets its rebuild. A failure stops
   * the call with the markers of what was not built still in place.
   */
  async compact(request: CompactRequest): Promise<CompactReport> {
    const nowMs = instantMs(request.now, "now");
    const graceMs = request.graceMs ?? DEFAULT_COMPACTION_GRACE_MS;
    if (!(Number.isFinite(graceMs) && graceMs >= 0)) throw invalid("graceMs must be a non-negative number");
    const report: CompactReport = { hours: 0, days: 0, rollups: 0 };

    const markers = await this.pending.list();
    const hourMarkers = markers.filter((marker) => marker.granularity === "hour");
    for (const hour of duePeriods(
      "hour",
      hourMarkers.map((marker) => marker.period),
      nowMs,
      graceMs,
    )) {
      const { fromMs, toMs } = bucketRange("hour", hour);
      const minutes = (await this.rollups.readMinutes(fromMs, toMs, true)).flatMap((entry) => entry.rollups);
      // readMinutes merged every writer's items of a vantage and minute already: one rollup per series and minute.
      const built = await this.build("hour", hour, mergeRollups(minutes, "hour"), report);
      if (minutes.length > 0) await this.pending.mark("day", dayOfHour(hour));
      if (built) await this.clear(hourMarkers.filter((marker) => marker.period === hour));
    }

    const dayMarkers = (await this.pending.list()).filter((marker) => marker.granularity === "day");
    for (const day of duePeriods(
      "day",
      dayMarkers.map((marker) => marker.period),
      nowMs,
      graceMs,
    )) {
      const { fromMs, toMs } = bucketRange("day", day);
      const hours = (await this.buckets.read("hour", fromMs, toMs, true)).flatMap((entry) => entry.rollups);
      const built = await this.build("day", day, mergeRollups(hours, "day"), report);
      if (built) await this.clear(dayMarkers.filter((marker) => marker.period === day));
    }
    return report;
  }

  /** Writes one bucket; false when a racing builder won (the marker stays, so a later compact builds it again). */
  private async build<G extends "hour" | "day">(
    granularity: G,
    period: string,
    rollups: RollupOf<G>[],
    report: CompactReport,
  ): Promise<boolean> {
    if (rollups.length === 0) return true;
    const outcome = await this.buckets.put(granularity, period, rollups as Rollup[]);
    if (outcome === "written") {
      if (granularity === "hour") report.hours++;
      else report.days++;
      report.rollups += rollups.length;
    }
    return outcome !== "raced";
  }

  private async clear(markers: readonly PendingMarker[]): Promise<void> {
    for (const marker of markers) await this.pending.clear(marker);
  }
}
