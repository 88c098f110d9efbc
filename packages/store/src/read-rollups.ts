// Runs a rollup read plan against the store: each of the plan's ranges read
// once for every region (queryPeriodRollups: the cost of the time range, not
// of the regions), then the fallback reads the first round showed are needed
// (minutes of trailing hours not compacted yet, hours of such days), merged
// across regions into one read per range. What to read is decided by core's
// read model; this only sends the queries and files the items.
import {
  type PeriodRange,
  type RollupNeeds,
  RollupView,
  fallbackReads,
  mergePeriodReads,
  periodInRanges,
  periodStartMs,
  planRollupReads,
} from "@popwatch/core";
import type { ResultStore } from "./types";

/** Days fall back to hours, hours to minutes. */
const MAX_FALLBACK_ROUNDS = 2;

export interface RollupRead {
  view: RollupView;
  /** DynamoDB items read (the store's readStats over this call). */
  itemsRead: number;
  /** DynamoDB Query requests sent (the store's readStats over this call). */
  queries: number;
}

export async function readRollups(
  store: Pick<ResultStore, "queryPeriodRollups" | "readStats">,
  regions: readonly string[],
  needs: RollupNeeds,
): Promise<RollupRead> {
  const plan = planRollupReads(needs);
  const view = new RollupView();
  const wanted = [...new Set(regions)];
  const before = store.readStats();
  for (const region of wanted) view.addRegion(region);
  if (wanted.length > 0) {
    // One read per range for every region; each region files only the items of the ranges it asked for.
    const send = async (range: PeriodRange, askers: ReadonlyMap<string, readonly PeriodRange[]>) => {
      const items = await store.queryPeriodRollups({
        granularity: range.granularity,
        from: range.fromMs,
        to: range.toMs,
        regions: [...askers.keys()],
      });
      for (const item of items) {
        const startMs = periodStartMs(range.granularity, item.period);
        const own = askers.get(item.region);
        if (startMs === null || own === undefined || !periodInRanges(range.granularity, startMs, own)) continue;
        view.add(item.region, range.granularity, startMs, item.rollups);
      }
    };
    const everyone = new Map(wanted.map((region) => [region, plan.reads] as const));
    for (const region of wanted) for (const range of plan.reads) view.markRead(region, range);
    await Promise.all(plan.reads.map((range) => send(range, everyone)));
    for (let round = 0; round < MAX_FALLBACK_ROUNDS; round++) {
      const perRegion = new Map<string, PeriodRange[]>();
      for (const region of wanted) {
        const more = fallbackReads(plan, view, region);
        if (more.length > 0) perRegion.set(region, more);
      }
      if (perRegion.size === 0) break;
      for (const [region, more] of perRegion) for (const range of more) view.markRead(region, range);
      const union = mergePeriodReads([...perRegion.values()].flat());
      await Promise.all(
        union.map((range) => {
          const askers = new Map([...perRegion].filter(([, more]) => more.some((own) => overlaps(own, range))));
          return send(range, askers);
        }),
      );
    }
  }
  const after = store.readStats();
  return { view, itemsRead: after.itemsRead - before.itemsRead, queries: after.queries - before.queries };
}

function overlaps(a: PeriodRange, b: PeriodRange): boolean {
  return a.granularity === b.granularity && a.fromMs < b.toMs && b.fromMs < a.toMs;
}
