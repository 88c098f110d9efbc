// How often the answering PoP changed, per series and hour, and which hours
// count as flapping. A route that flaps (a health check toggling the
// announcement, dampening not configured) shows as many changes in an hour;
// one failover and its failback are two.

import { compareStrings } from "../compare";
import { PopwatchCoreError } from "../errors";
import { PERIOD_MS, periodKey, periodStartMs } from "../rollup/period";
import { type HourRollup, type Rollup, type SeriesKey, mergeRollups, rollupPeriod } from "../rollup/rollup";
import {
  type AnalyticsWindow,
  type RegionalResult,
  compareSamples,
  groupBy,
  isRollupInput,
  resolveWindow,
  seriesKeyOf,
  toSamples,
} from "./input";

/** PoP changes of one series in one UTC hour. */
export interface HourlyPopChanges extends SeriesKey {
  /** `YYYY-MM-DDTHH`, UTC. */
  hour: string;
  /** Changes of the answering PoP between consecutive results that identified one; counted in the hour of the result with the new PoP. */
  changes: number;
}

export interface FlapFinding extends HourlyPopChanges {
  /** The threshold it reached (flapChangesPerHour). */
  threshold: number;
}

/**
 * PoP changes per series and hour, for every hour with data, sorted by
 * target, kind, region, hour. From raw results, or from minute or hour
 * rollups: both give the same counts, because a change across a rollup
 * boundary (last PoP of one hour, first of the next) is added to the later
 * hour, where the raw results place it. Results without a PoP neither count
 * nor break the chain. A series must come as results or as rollups, not both;
 * day rollups are too coarse (PopwatchCoreError `analytics_input_invalid`).
 */
export function popChangesPerHour(
  input: readonly (Rollup | RegionalResult)[],
  options: { window?: AnalyticsWindow } = {},
): HourlyPopChanges[] {
  const { fromMs, toMs } = resolveWindow(options.window);
  const rollups: Rollup[] = [];
  const results: RegionalResult[] = [];
  for (const item of input) {
    if (isRollupInput(item)) rollups.push(item);
    else results.push(item);
  }

  const out: HourlyPopChanges[] = [];
  const fromRollups = groupBy(
    rollups.filter((r) => {
      const startMs = periodStartMs(r.granularity, rollupPeriod(r));
      return startMs !== null && startMs + PERIOD_MS[r.granularity] > fromMs && startMs < toMs;
    }),
    seriesKeyOf,
  );
  for (const series of fromRollups.values()) out.push(...changesFromRollups(series));

  const fromResults = groupBy(
    toSamples(results).filter((s) => s.ms >= fromMs && s.ms < toMs),
    seriesKeyOf,
  );
  for (const [key, samples] of fromResults) {
    if (fromRollups.has(key)) {
      const { target, kind, region } = samples[0]!;
      throw new PopwatchCoreError("analytics_input_invalid", `series ${target}/${kind}/${region} given as both rollups and results`);
    }
    samples.sort(compareSamples);
    const { target, kind, region } = samples[0]!;
    const hours = new Map<string, number>();
    let last: string | null = null;
    for (const sample of samples) {
      const hour = periodKey("hour", sample.ms)!;
      let changes = hours.get(hour) ?? 0;
      if (sample.pop !== null) {
        if (last !== null && last !== sample.pop) changes++;
        last = sample.pop;
      }
      hours.set(hour, changes);
    }
    for (const [hour, changes] of hours) out.push({ target, kind, region, hour, changes });
  }

  return out.sort(
    (a, b) =>
      compareStrings(a.target, b.target) ||
      compareStrings(a.kind, b.kind) ||
      compareStrings(a.region, b.region) ||
      compareStrings(a.hour, b.hour),
  );
}

function changesFromRollups(series: Rollup[]): HourlyPopChanges[] {
  const minutes = series.filter((r) => r.granularity === "minute");
  const hours = series.filter((r): r is HourRollup => r.granularity === "hour");
  const day = series.find((r) => r.granularity === "day");
  if (day !== undefined) {
    throw new PopwatchCoreError(
      "analytics_input_invalid",
      `day rollup ${day.day} of ${day.target}/${day.kind}/${day.region} is too coarse for changes per hour; pass minute or hour rollups`,
    );
  }
  let merged: HourRollup[];
  try {
    merged = mergeRollups(minutes, "hour");
  } catch (err) {
    throw new PopwatchCoreError("analytics_input_invalid", (err as Error).message, { cause: err });
  }
  const byHour = new Map<string, HourRollup>();
  for (const rollup of [...merged, ...hours]) {
    if (byHour.has(rollup.hour)) {
      throw new PopwatchCoreError(
        "analytics_input_invalid",
        `hour ${rollup.hour} of ${rollup.target}/${rollup.kind}/${rollup.region} given twice (as minute and hour rollups, or repeated)`,
      );
    }
    byHour.set(rollup.hour, rollup);
  }
  const out: HourlyPopChanges[] = [];
  let last: string | null = null;
  for (const hour of [...byHour.keys()].sort(compareStrings)) {
    const rollup = byHour.get(hour)!;
    let changes = rollup.popChanges;
    if (rollup.firstPop !== null) {
      if (last !== null && last !== rollup.firstPop) changes++;
      last = rollup.lastPop;
    }
    out.push({ target: rollup.target, kind: rollup.kind, region: rollup.region, hour, changes });
  }
  return out;
}

/**
 * Hours that flapped: those with at least `changesPerHour` PoP changes. At the
 * threshold fires (6 with the default 6 is flapping, 5 is not), so the
 * configured number reads as "this many changes an hour is flapping".
 */
export function detectFlapping(changes: readonly HourlyPopChanges[], options: { changesPerHour: number }): FlapFinding[] {
  const threshold = options.changesPerHour;
  if (!Number.isInteger(threshold) || threshold < 1) {
    throw new PopwatchCoreError("analytics_input_invalid", `changesPerHour: expected a positive integer, got ${threshold}`);
  }
  return changes.filter((c) => c.changes >= threshold).map((c) => ({ ...c, threshold }));
}
