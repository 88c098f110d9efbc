// Region rollup items: every series' rollup of one region and period in one
// compressed item. This file reads and writes them; which periods a rollUp
// rebuilds is decided by @popwatch/core's planRollUp, and how long items live
// by its retention functions.

import {
  PERIOD_MS,
  PROBE_KINDS,
  type RetentionDays,
  type Rollup,
  type RollupGranularity,
  type RollupOf,
  type SeriesKey,
  buildsUnbuiltHoursFirst,
  canonicalRollup,
  compareStrings,
  completeRollup,
  earliestRetainedMs,
  expiresAtSeconds,
  finerGranularity,
  isRollup,
  mergeRollups,
  periodKey,
  periodStartMs,
  periodsOverlapping,
  periodsToRebuild,
  planRollUp,
  rollupMinute,
  rollupPeriod,
  unbuiltHours,
} from "@popwatch/core";
import { WRITE_CODEC, encodePayloadText } from "./codec";
import { mapSettledWithConcurrency, mapWithConcurrency } from "./concurrency";
import { StoreError } from "./errors";
import {
  type Item,
  type ItemTable,
  MAX_PAYLOAD_BYTES,
  asChunkFailure,
  checkKeySizes,
  corrupt,
  instantMs,
  invalid,
  payloadOf,
  sortKeyRangeQuery,
  validGranularity,
  validRegion,
} from "./items";
import { PARTITION_KEY, SORT_KEY, periodOfRollupKey, rollupItemKey, rollupPartitionKey } from "./keys";
import type { ResultItems } from "./results";
import type { RebuildReport, RegionRollupQuery, RegionRollups, RollUpRequest, RollupQuery } from "./types";

/** Region rollup items on one table; minutes are computed from the raw results `results` reads. */
export class RollupItems {
  constructor(
    private readonly table: ItemTable,
    private readonly retention: Readonly<RetentionDays>,
    private readonly results: Pick<ResultItems, "readRegion">,
  ) {}

  async querySeries<G extends RollupGranularity>(query: RollupQuery<G>): Promise<RollupOf<G>[]> {
    const series = validSeries(query);
    const periods = await this.queryRegion({ region: series.region, granularity: query.granularity, from: query.from, to: query.to });
    return periods.flatMap(({ rollups }) => rollups.filter((r) => r.target === series.target && r.kind === series.kind));
  }

  async queryRegion<G extends RollupGranularity>(query: RegionRollupQuery<G>): Promise<RegionRollups<G>[]> {
    const region = validRegion(query.region);
    const granularity = validGranularity(query.granularity);
    const toMs = instantMs(query.to, "to");
    const fromMs = Math.max(instantMs(query.from, "from"), earliestRetainedMs(this.retention, granularity, toMs));
    if (toMs <= fromMs) return [];
    const first = periodKey(granularity, fromMs);
    const last = periodKey(granularity, toMs - 1);
    if (first === null || last === null) throw invalid("from/to out of range");
    return this.readPeriods(region, granularity, first, last, false);
  }

  async rollUp(request: RollUpRequest): Promise<RebuildReport> {
    const region = validRegion(request.region);
    const granularity = validGranularity(request.granularity);
    const fromMs = instantMs(request.from, "from");
    const toMs = instantMs(request.to, "to");
    const report: RebuildReport = { written: [], kept: [], items: { written: 0, kept: 0 } };
    const plan = planRollUp(granularity, fromMs, toMs, request.cascade === true);
    if (plan.periods.length === 0 && plan.cascade.length === 0) return report;
    // Which still-open coarser periods are stored already is asked alongside
    // the first level, not after it: one round trip less for the agent. Both
    // settle before a failure is thrown, so no request outlives the call.
    const [built, stored] = await Promise.allSettled([
      this.rollUpPeriods(region, granularity, plan.periods, report),
      Promise.all(plan.cascade.map((level) => this.storedPeriods(region, level.level, level.open))),
    ]);
    if (built.status === "rejected") throw built.reason;
    if (stored.status === "rejected") throw stored.reason;
    const storedOpen = stored.value;
    for (const [index, level] of plan.cascade.entries()) {
      const targets = periodsToRebuild(level, storedOpen[index]!);
      if (targets.length > 0 && buildsUnbuiltHoursFirst(granularity, level.level)) {
        await this.rollUpPeriods(region, "hour", unbuiltHours(targets, await this.storedHours(region, targets)), report);
      }
      await this.rollUpPeriods(region, level.level, targets, report);
    }
    return report;
  }

  /** DynamoResultStore.putRegionRollups: rollups computed elsewhere, checked like rollUp's; false when the stored item was kept. */
  async put(granularity: RollupGranularity, region: string, period: string, rollups: readonly Rollup[]): Promise<boolean> {
    if (rollups.length === 0) throw invalid(`${granularity} ${period} of ${region}: no rollups to write`);
    for (const rollup of rollups) {
      if (!isRollup(rollup) || rollup.granularity !== granularity || rollupPeriod(rollup) !== period || rollup.region !== region) {
        throw invalid(`${granularity} ${period} of ${region}: a rollup of another period, region or granularity, or not a rollup`);
      }
    }
    // Readers accept one rollup per series in series order (decodeRollupItem), as rollUp writes them.
    const ordered = [...rollups].sort((a, b) => compareStrings(a.target, b.target) || compareStrings(a.kind, b.kind));
    for (let i = 1; i < ordered.length; i++) {
      if (ordered[i - 1]!.target === ordered[i]!.target && ordered[i - 1]!.kind === ordered[i]!.kind) {
        throw invalid(`${granularity} ${period} of ${region}: two rollups of series ${ordered[i]!.target}/${ordered[i]!.kind}`);
      }
    }
    return this.putUnlessMoreComplete(granularity, region, period, ordered);
  }

  /** Recomputes the given periods (those with data) of one level and writes them, adding the outcome to `report`. */
  private async rollUpPeriods(region: string, level: RollupGranularity, periods: readonly string[], report: RebuildReport): Promise<void> {
    if (periods.length === 0) return;
    const computed = [...(await this.computePeriods(region, level, periods))].sort(([a], [b]) => compareStrings(a, b));
    const outcomes = await mapSettledWithConcurrency(computed, this.table.concurrency, ([period, rollups]) =>
      this.putUnlessMoreComplete(level, region, period, rollups),
    );
    const failures: StoreError[] = [];
    outcomes.forEach((outcome, index) => {
      const rollups = computed[index]![1];
      if (outcome.status === "rejected") failures.push(asChunkFailure(outcome.reason, 1));
      else if (outcome.value) {
        report.written.push(...rollups);
        report.items.written++;
      } else {
        report.kept.push(...rollups);
        report.items.kept++;
      }
    });
    const [first] = failures;
    if (first !== undefined) {
      // A coarser level built on a failed finer one would be incomplete, so stop here.
      throw new StoreError(first.code, `${failures.length} of ${computed.length} ${level} rollup items not written: ${first.message}`, {
        cause: first.cause,
        unwrittenItems: failures.length,
        totalItems: computed.length,
        attempts: first.attempts,
      });
    }
  }

  /** Every series' rollup of each period (sorted ascending) that has data at the next finer level. */
  private async computePeriods(region: string, level: RollupGranularity, periods: readonly string[]): Promise<Map<string, Rollup[]>> {
    const wanted = new Set(periods);
    const startMs = periodStartMs(level, periods[0]!)!;
    const endMs = periodStartMs(level, periods[periods.length - 1]!)! + PERIOD_MS[level];
    let rollups: Rollup[];
    if (level === "minute") {
      const records = await this.results.readRegion(region, startMs, endMs, { consistent: true });
      rollups = rollupMinute(
        records.map((entry) => entry.record),
        { region },
      );
    } else {
      const finer = finerGranularity(level);
      const children = await this.readPeriods(region, finer, periodKey(finer, startMs)!, periodKey(finer, endMs - 1)!, true);
      rollups = mergeRollups(
        children.flatMap((child) => child.rollups),
        level,
      );
    }
    // rollupResults and mergeRollups sort by series, then period: each period's list stays in series order.
    const byPeriod = new Map<string, Rollup[]>();
    for (const rollup of rollups) {
      const period = rollupPeriod(rollup);
      if (!wanted.has(period)) continue;
      const list = byPeriod.get(period);
      if (list === undefined) byPeriod.set(period, [rollup]);
      else list.push(rollup);
    }
    return byPeriod;
  }

  /** The periods among `periods` whose region item exists (consistent reads, keys only). */
  private async storedPeriods(region: string, granularity: RollupGranularity, periods: readonly string[]): Promise<string[]> {
    const found = await mapWithConcurrency(periods, this.table.concurrency, async (period) => {
      const { pk, sk } = rollupItemKey(granularity, region, period);
      const items = await this.table.queryAll(
        {
          KeyConditionExpression: "#pk = :pk AND #sk = :sk",
          ProjectionExpression: "#pk",
          ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#sk": SORT_KEY },
          ExpressionAttributeValues: { ":pk": { S: pk }, ":sk": { S: sk } },
        },
        { consistent: true },
      );
      return items.length > 0 ? [period] : [];
    });
    return found.flat();
  }

  /** The hours of these days that have an hour item (consistent reads, keys only). */
  private async storedHours(region: string, days: readonly string[]): Promise<Set<string>> {
    const stored = new Set<string>();
    for (const day of days) {
      const first = rollupItemKey("hour", region, `${day}T00`);
      const last = rollupItemKey("hour", region, `${day}T23`);
      const items = await this.table.queryAll(
        { ...sortKeyRangeQuery(first.pk, first.sk, last.sk), ProjectionExpression: "#pk, #sk" },
        { consistent: true },
      );
      for (const item of items) stored.add(periodOfRollupKey("hour", first.pk, item[SORT_KEY]?.S ?? ""));
    }
    return stored;
  }

  /** Region items of the periods first..last (inclusive), earliest first, walking their partitions in order. */
  private async readPeriods<G extends RollupGranularity>(
    region: string,
    granularity: G,
    first: string,
    last: string,
    consistent: boolean,
  ): Promise<RegionRollups<G>[]> {
    const startMs = periodStartMs(granularity, first)!;
    const endMs = periodStartMs(granularity, last)! + PERIOD_MS[granularity];
    const firstKey = rollupItemKey(granularity, region, first);
    const lastKey = rollupItemKey(granularity, region, last);
    // Partitions hold a day of minutes, a month of hours, a year of days: walking days finds them all.
    const partitions = [...new Set(periodsOverlapping("day", startMs, endMs).map((day) => rollupPartitionKey(granularity, region, day)))];
    const found: RegionRollups<G>[] = [];
    for (const pk of partitions) {
      const low = pk === firstKey.pk ? firstKey.sk : undefined;
      const high = pk === lastKey.pk ? lastKey.sk : undefined;
      const items = await this.table.queryAll(sortKeyRangeQuery(pk, low, high), { consistent });
      for (const item of items) found.push(decodeRollupItem(item, granularity, region));
    }
    return found;
  }

  /**
   * PutItem that only replaces a stored region item counting no more results
   * than this one. Rollups only ever grow while their inputs exist, so this
   * stops a slower concurrent rollUp, or one running after TTL removed part of
   * the inputs, from replacing a more complete item. Resolves to false when
   * the stored one was kept.
   */
  private putUnlessMoreComplete(
    granularity: RollupGranularity,
    region: string,
    period: string,
    rollups: readonly Rollup[],
  ): Promise<boolean> {
    const item = this.rollupItem(granularity, region, period, rollups);
    return this.table.putUnless(`${granularity} rollup ${period}`, {
      Item: item,
      ConditionExpression: "attribute_not_exists(#pk) OR #total <= :total",
      ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#total": "total" },
      ExpressionAttributeValues: { ":total": item.total! },
    });
  }

  private rollupItem(granularity: RollupGranularity, region: string, period: string, rollups: readonly Rollup[]): Item {
    const canonical = rollups.map((rollup) => canonicalRollup(rollup));
    const data = encodePayloadText(JSON.stringify(canonical));
    if (data.length > MAX_PAYLOAD_BYTES) {
      const size = `${canonical.length} series do not fit in one item (${data.length} bytes compressed)`;
      throw invalid(`${granularity} ${period} of ${region}: ${size}`);
    }
    const { pk, sk } = rollupItemKey(granularity, region, period);
    checkKeySizes(pk, sk, `${granularity} rollup ${period}`);
    return {
      [PARTITION_KEY]: { S: pk },
      [SORT_KEY]: { S: sk },
      total: { N: String(canonical.reduce((sum, rollup) => sum + rollup.total, 0)) },
      series: { N: String(canonical.length) },
      codec: { S: WRITE_CODEC },
      data: { B: data },
      expiresAt: { N: String(expiresAtSeconds(this.retention, granularity, periodStartMs(granularity, period)!)) },
    };
  }
}

function validSeries(series: SeriesKey): SeriesKey {
  if (typeof series.target !== "string" || typeof series.region !== "string") throw invalid("target and region must be strings");
  if (!(PROBE_KINDS as readonly string[]).includes(series.kind)) throw invalid(`unknown kind ${String(series.kind)}`);
  return { target: series.target, kind: series.kind, region: series.region };
}

function decodeRollupItem<G extends RollupGranularity>(item: Item, granularity: G, region: string): RegionRollups<G> {
  const period = periodOfRollupKey(granularity, item[PARTITION_KEY]?.S ?? "", item[SORT_KEY]?.S ?? "");
  const payload = payloadOf(item);
  if (!Array.isArray(payload)) throw corrupt(item, `does not hold a list of ${granularity} rollups`);
  let total = 0;
  let previous: Rollup | undefined;
  for (const rollup of payload as unknown[]) {
    if (!isRollup(rollup) || rollup.granularity !== granularity || rollup.region !== region || rollupPeriod(rollup) !== period) {
      throw corrupt(item, `does not hold valid ${granularity} rollups of ${region} for ${period}`);
    }
    // One rollup per series, in series order: what rollUp writes, and what mergeRollups needs to not double-count.
    if (previous !== undefined) {
      const order = compareStrings(previous.target, rollup.target) || compareStrings(previous.kind, rollup.kind);
      if (order >= 0) throw corrupt(item, order === 0 ? `repeats series ${rollup.target}/${rollup.kind}` : "lists series out of order");
    }
    total += rollup.total;
    previous = rollup;
  }
  if (item.total?.N !== String(total) || item.series?.N !== String(payload.length)) {
    throw corrupt(item, "has total or series attributes that do not match its rollups");
  }
  // Items written before a counter existed (truncated, tcpFallback) read as having counted none.
  return { period, rollups: (payload as RollupOf<G>[]).map((rollup) => completeRollup(rollup)) };
}
