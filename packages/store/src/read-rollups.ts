// Runs a rollup read plan against the store: the plan's reads once per
// region, then the fallback reads the first round showed are needed (minutes
// of trailing hours not rolled up yet, hours of such days). What to read is decided by core's
// read model; this only sends the queries and files the items.
import { type PeriodRange, type RollupNeeds, RollupView, fallbackReads, periodStartMs, planRollupReads } from "@popwatch/core";
import type { ResultStore } from "./types";

/** Days fall back to hours, hours to minutes. */
const MAX_FALLBACK_ROUNDS = 2;

export interface RollupRead {
  view: RollupView;
  /** Items read: every item at most once. */
  itemsRead: number;
  /** Store queries sent. */
  queries: number;
}

export async function readRollups(
  store: Pick<ResultStore, "queryRegionRollups">,
  regions: readonly string[],
  needs: RollupNeeds,
): Promise<RollupRead> {
  const plan = planRollupReads(needs);
  const view = new RollupView();
  const read: RollupRead = { view, itemsRead: 0, queries: 0 };
  const send = async (region: string, range: PeriodRange) => {
    read.queries++;
    view.markRead(region, range);
    const items = await store.queryRegionRollups({ region, granularity: range.granularity, from: range.fromMs, to: range.toMs });
    for (const item of items) {
      const startMs = periodStartMs(range.granularity, item.period);
      if (startMs === null) continue;
      view.add(region, range.granularity, startMs, item.rollups);
      read.itemsRead++;
    }
  };
  await Promise.all(
    [...new Set(regions)].map(async (region) => {
      view.addRegion(region);
      for (const range of plan.reads) await send(region, range);
      // Trailing hours and days not rolled up yet: their finer items, one granularity per round.
      for (let round = 0; round < MAX_FALLBACK_ROUNDS; round++) {
        const more = fallbackReads(plan, view, region);
        if (more.length === 0) break;
        for (const range of more) await send(region, range);
      }
    }),
  );
  return read;
}
