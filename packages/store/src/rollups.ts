// Minute rollup items (one per writer and minute, filed under the hour and
// the writer's shard), the rollUp that builds them from that writer's raw
// items only, and the time-range reads of every granularity: minutes from the
// hour's shards, hours and days from compact's buckets (buckets.ts). Readers
// merge minute items of one vantage and minute from several writers.

import {
  HOUR_MS,
  PROBE_KINDS,
  type RetentionDays,
  type Rollup,
  type RollupGranularity,
  type RollupOf,
  type SeriesKey,
  compareStrings,
  earliestRetainedMs,
  expiresAtSeconds,
  isRollup,
  mergeSamePeriodRollups,
  periodKey,
  periodStartMs,
  periodsOverlapping,
  rollupMinute,
  rollupPeriod,
} from "@popwatch/core";
import type { BucketItems } from "./buckets";
import { WRITE_CODEC } from "./codec";
import { mapSettledWithConcurrency, mapWithConcurrency } from "./concurrency";
import { StoreError } from "./errors";
import {
  type Item,
  type ItemTable,
  MAX_PAYLOAD_BYTES,
  asChunkFailure,
  checkKeySizes,
  instantMs,
  invalid,
  sortKeyRangeQuery,
  validGranularity,
} from "./items";
import {
  PARTITION_KEY,
  SORT_KEY,
  minuteAndWriterOfKey,
  minutePartitionKey,
  minuteSortKey,
  minuteSortKeyRange,
  vantageOfWriterKey,
} from "./keys";
import type { PendingMarkers } from "./pending";
import { type ResultItems, type Writer, shardNumbers, writerOf } from "./results";
import { byVantage, compareRollupOrder, decodeRollups, encodeRollups } from "./rollup-payload";
import type {
  PeriodRollupQuery,
  RebuildReport,
  RegionRollupQuery,
  RegionRollups,
  RollUpRequest,
  RollupQuery,
  VantagePeriodRollups,
} from "./types";

/** Minute rollup items and the time-range reads of every granularity, on one table. */
export class RollupItems {
  constructor(
    private readonly table: ItemTable,
    private readonly retention: Readonly<RetentionDays>,
    private readonly results: Pick<ResultItems, "readWriterMinute">,
    private readonly buckets: BucketItems,
    private readonly pending: PendingMarkers,
  ) {}

  async queryPeriods<G extends RollupGranularity>(query: PeriodRollupQuery<G>): Promise<VantagePeriodRollups<G>[]> {
    const granularity = validGranularity(query.granularity);
    const toMs = instantMs(query.to, "to");
    const fromMs = Math.max(instantMs(query.from, "from"), earliestRetainedMs(this.retention, granularity, toMs));
    if (query.regions !== undefined && !Array.isArray(query.regions)) throw invalid("regions must be an array of vantage names");
    if (toMs <= fromMs) return [];
    if (periodKey(granularity, fromMs) === null || periodKey(granularity, toMs - 1) === null) throw invalid("from/to out of range");
    const found =
      granularity === "minute"
        ? ((await this.readMinutes(fromMs, toMs, false)) as unknown as VantagePeriodRollups<G>[])
        : ((await this.buckets.read(granularity, fromMs, toMs, false)) as unknown as VantagePeriodRollups<G>[]);
    const wanted = query.regions === undefined ? null : new Set(query.regions);
    return found
      .filter((entry) => wanted === null || wanted.has(entry.region))
      .sort((a, b) => compareStrings(a.period, b.period) || compareStrings(a.region, b.region));
  }

  async queryRegion<G extends RollupGranularity>(query: RegionRollupQuery<G>): Promise<RegionRollups<G>[]> {
    if (typeof query.region !== "string" || query.region === "") throw invalid("region must be a non-empty string");
    const periods = await this.queryPeriods({ granularity: query.granularity, from: query.from, to: query.to, regions: [query.region] });
    return periods.map(({ period, rollups }) => ({ period, rollups }));
  }

  async querySeries<G extends RollupGranularity>(query: RollupQuery<G>): Promise<RollupOf<G>[]> {
    const series = validSeries(query);
    const periods = await this.queryRegion({ region: series.region, granularity: query.granularity, from: query.from, to: query.to });
    return periods.flatMap(({ rollups }) => rollups.filter((r) => r.target === series.target && r.kind === series.kind));
  }

  /**
   * Minute: recomputes the writer's minute items overlapping [from, to) from
   * its own raw items (one Query per minute) after marking their hours
   * pending. Hour or day: marks those periods pending, for compact to rebuild.
   */
  async rollUp(request: RollUpRequest): Promise<RebuildReport> {
    const writer = writerOf(request);
    const granularity = validGranularity(request.granularity);
    const fromMs = instantMs(request.from, "from");
    const toMs = instantMs(request.to, "to");
    const report: RebuildReport = { written: [], kept: [], items: { written: 0, kept: 0 } };
    if (granularity === "hour") {
      for (const hour of periodsOverlapping("hour", fromMs, toMs)) await this.pending.mark("hour", hour, writer.shard);
      return report;
    }
    if (granularity === "day") {
      for (const day of periodsOverlapping("day", fromMs, toMs)) await this.pending.mark("day", day);
      return report;
    }
    const minutes = periodsOverlapping("minute", fromMs, toMs);
    const computed = (
      await mapWithConcurrency(minutes, this.table.concurrency, async (minute) => {
        const records = await this.results.readWriterMinute(writer, minute);
        const rollups = [...byVantage(records)].flatMap(([region, own]) => rollupMinute(own, { region }));
        return rollups.length === 0 ? [] : [{ minute, rollups: rollups.sort(compareRollupOrder) }];
      })
    ).flat();
    await this.writeMinutes(writer, computed, report);
    return report;
  }

  /** DynamoResultStore.putPeriodRollups: rollups computed elsewhere; false when a stored item counting more was kept. */
  async putPeriod(granularity: RollupGranularity, period: string, rollups: readonly Rollup[]): Promise<boolean> {
    validGranularity(granularity);
    if (rollups.length === 0) throw invalid(`${granularity} ${period}: no rollups to write`);
    for (const rollup of rollups) {
      if (!isRollup(rollup) || rollup.granularity !== granularity || rollupPeriod(rollup) !== period) {
        throw invalid(`${granularity} ${period}: a rollup of another period or granularity, or not a rollup`);
      }
    }
    // Items hold one rollup per series in order (decodeRollups), as rollUp and compact write them.
    const ordered = [...rollups].sort(compareRollupOrder);
    for (let i = 1; i < ordered.length; i++) {
      if (compareRollupOrder(ordered[i - 1]!, ordered[i]!) === 0) {
        const { region, target, kind } = ordered[i]!;
        throw invalid(`${granularity} ${period}: two rollups of series ${region}/${target}/${kind}`);
      }
    }
    if (granularity !== "minute") return (await this.buckets.put(granularity, period, ordered)) === "written";
    const report: RebuildReport = { written: [], kept: [], items: { written: 0, kept: 0 } };
    for (const [region, own] of byVantage(ordered))
      await this.writeMinutes(writerOf({ region }), [{ minute: period, rollups: own }], report);
    return report.items.kept === 0;
  }

  /** Every writer's minute items of [fromMs, toMs), merged per vantage and minute: one Query per hour and shard. */
  async readMinutes(fromMs: number, toMs: number, consistent: boolean): Promise<VantagePeriodRollups<"minute">[]> {
    const found: VantagePeriodRollups<"minute">[] = [];
    for (let hourStart = Math.floor(fromMs / HOUR_MS) * HOUR_MS; hourStart < toMs; hourStart += HOUR_MS) {
      const hour = periodKey("hour", hourStart)!;
      const { low, high } = minuteSortKeyRange(
        periodKey("minute", Math.max(fromMs, hourStart))!,
        periodKey("minute", Math.min(toMs, hourStart + HOUR_MS) - 1)!,
      );
      const shards = await mapWithConcurrency(shardNumbers(), this.table.concurrency, (shard) =>
        this.table.queryAll(sortKeyRangeQuery(minutePartitionKey(hour, shard), low, high), { consistent }),
      );
      const byMinute = new Map<string, RollupOf<"minute">[]>();
      for (const item of shards.flat()) {
        const { minute, writer } = minuteAndWriterOfKey(item[PARTITION_KEY]?.S ?? "", item[SORT_KEY]?.S ?? "");
        const rollups = decodeRollups(item, "minute", minute, vantageOfWriterKey(writer));
        const list = byMinute.get(minute);
        if (list === undefined) byMinute.set(minute, [...rollups]);
        else list.push(...rollups);
      }
      for (const [minute, rollups] of byMinute) {
        for (const [region, own] of byVantage(mergeSamePeriodRollups(rollups).sort(compareRollupOrder))) {
          found.push({ region, period: minute, rollups: own });
        }
      }
    }
    return found;
  }

  /** Marks the hours, then writes each minute item never-fewer, adding the outcome to `report`. */
  private async writeMinutes(
    writer: Writer,
    computed: readonly { minute: string; rollups: Rollup[] }[],
    report: RebuildReport,
  ): Promise<void> {
    if (computed.length === 0) return;
    const items = computed.map(({ minute, rollups }) => this.minuteItem(writer, minute, rollups));
    await this.pending.markHours(
      computed.map(({ minute }) => minute.slice(0, 13)),
      writer.shard,
    );
    const outcomes = await mapSettledWithConcurrency(items, this.table.concurrency, (item, index) =>
      this.table.putUnless(`minute rollup ${computed[index]!.minute}`, {
        Item: item,
        ConditionExpression: "attribute_not_exists(#pk) OR #total <= :total",
        ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#total": "total" },
        ExpressionAttributeValues: { ":total": item.total! },
      }),
    );
    const failures: StoreError[] = [];
    outcomes.forEach((outcome, index) => {
      const { rollups } = computed[index]!;
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
      throw new StoreError(first.code, `${failures.length} of ${computed.length} minute rollup items not written: ${first.message}`, {
        cause: first.cause,
        unwrittenItems: failures.length,
        totalItems: computed.length,
        attempts: first.attempts,
      });
    }
  }

  private minuteItem(writer: Writer, minute: string, rollups: readonly Rollup[]): Item {
    const { data, total, series } = encodeRollups(rollups);
    if (data.length > MAX_PAYLOAD_BYTES) {
      throw invalid(`minute ${minute} of writer ${writer.key}: ${series} series do not fit in one item (${data.length} bytes compressed)`);
    }
    const pk = minutePartitionKey(minute.slice(0, 13), writer.shard);
    const sk = minuteSortKey(minute, writer.key);
    checkKeySizes(pk, sk, `minute rollup ${minute}`);
    return {
      [PARTITION_KEY]: { S: pk },
      [SORT_KEY]: { S: sk },
      total: { N: String(total) },
      series: { N: String(series) },
      codec: { S: WRITE_CODEC },
      data: { B: data },
      expiresAt: { N: String(expiresAtSeconds(this.retention, "minute", periodStartMs("minute", minute)!)) },
    };
  }
}

function validSeries(series: SeriesKey): SeriesKey {
  if (typeof series.target !== "string" || typeof series.region !== "string") throw invalid("target and region must be strings");
  if (!(PROBE_KINDS as readonly string[]).includes(series.kind)) throw invalid(`unknown kind ${String(series.kind)}`);
  return { target: series.target, kind: series.kind, region: series.region };
}
