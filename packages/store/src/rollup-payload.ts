// The payload of every rollup item (minute items, hour and day bucket parts):
// the canonical rollups as compressed JSON, sorted by vantage, target, kind,
// and checked the same way when read back.

import {
  type Rollup,
  type RollupGranularity,
  type RollupOf,
  canonicalRollup,
  compareStrings,
  completeRollup,
  isRollup,
  rollupPeriod,
} from "@popwatch/core";
import { encodePayloadText } from "./codec";
import { type Item, corrupt, payloadOf } from "./items";

/** Vantage, then target, then kind: the order items hold rollups in. */
export function compareRollupOrder(a: Rollup, b: Rollup): number {
  return compareStrings(a.region, b.region) || compareStrings(a.target, b.target) || compareStrings(a.kind, b.kind);
}

/** Canonical rollups (already in item order) as one compressed payload, with the attributes that let a reader check it. */
export function encodeRollups(rollups: readonly Rollup[]): { data: Buffer; total: number; series: number } {
  const canonical = rollups.map((rollup) => canonicalRollup(rollup));
  return {
    data: encodePayloadText(JSON.stringify(canonical)),
    total: canonical.reduce((sum, rollup) => sum + rollup.total, 0),
    series: canonical.length,
  };
}

/**
 * The rollups of an item: each valid, of `granularity` and `period`, of
 * `vantage` when the item belongs to one, in item order without repeats, and
 * summing to the item's `total` and `series` attributes.
 */
export function decodeRollups<G extends RollupGranularity>(
  item: Item,
  granularity: G,
  period: string,
  vantage: string | null,
): RollupOf<G>[] {
  const payload = payloadOf(item);
  if (!Array.isArray(payload)) throw corrupt(item, `does not hold a list of ${granularity} rollups`);
  let total = 0;
  let previous: Rollup | undefined;
  for (const rollup of payload as unknown[]) {
    if (
      !isRollup(rollup) ||
      rollup.granularity !== granularity ||
      rollupPeriod(rollup) !== period ||
      (vantage !== null && rollup.region !== vantage)
    ) {
      throw corrupt(item, `does not hold valid ${granularity} rollups${vantage === null ? "" : ` of ${vantage}`} for ${period}`);
    }
    // One rollup per series, in order: what writers write, and what merging needs to not double-count.
    if (previous !== undefined) {
      const order = compareRollupOrder(previous, rollup);
      if (order >= 0)
        throw corrupt(item, order === 0 ? `repeats series ${rollup.region}/${rollup.target}/${rollup.kind}` : "lists series out of order");
    }
    total += rollup.total;
    previous = rollup;
  }
  if (item.total?.N !== String(total) || item.series?.N !== String(payload.length)) {
    throw corrupt(item, "has total or series attributes that do not match its rollups");
  }
  // Items written before a counter existed (truncated, tcpFallback) read as having counted none.
  return (payload as RollupOf<G>[]).map((rollup) => completeRollup(rollup));
}

/** Rollups (or results) grouped by vantage, in input order. */
export function byVantage<R extends { region: string }>(rollups: readonly R[]): Map<string, R[]> {
  const groups = new Map<string, R[]>();
  for (const rollup of rollups) {
    const group = groups.get(rollup.region);
    if (group === undefined) groups.set(rollup.region, [rollup]);
    else group.push(rollup);
  }
  return groups;
}
