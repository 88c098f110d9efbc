// Pending markers (pk `P`): the hours (per shard) and days whose buckets
// compact must build or rebuild. Each marker carries a fresh `stamp` on every
// write, so compact deletes it only if nobody marked it again while it built
// (a conditional delete on the stamp it read).

import { randomUUID } from "node:crypto";
import { type RetentionDays, expiresAtSeconds, marksPending, periodOpen, periodStartMs } from "@popwatch/core";
import { mapWithConcurrency } from "./concurrency";
import { type Item, type ItemTable, partitionQuery } from "./items";
import { type BucketGranularity, PARTITION_KEY, PENDING_PARTITION, SORT_KEY, pendingOfSortKey, pendingSortKey } from "./keys";

export interface PendingMarker {
  granularity: BucketGranularity;
  period: string;
  sk: string;
  stamp: string;
}

export class PendingMarkers {
  // Hours (`<hour>#<shard>`) this process marked while they were open: marked once, until they end.
  private readonly markedOpen = new Set<string>();

  constructor(
    private readonly table: ItemTable,
    private readonly retention: Readonly<RetentionDays>,
    private readonly clock: () => number,
  ) {}

  /** Marks the hours a writer of `shard` adds minute rollups to: before those are written, so no minute can miss its hour. */
  async markHours(hours: readonly string[], shard: number): Promise<void> {
    const nowMs = this.clock();
    for (const key of this.markedOpen) if (!periodOpen("hour", key.slice(0, 13), nowMs)) this.markedOpen.delete(key);
    const due = [...new Set(hours)].filter((hour) => marksPending(hour, nowMs, this.markedOpen.has(`${hour}#${shard}`)));
    await mapWithConcurrency(due, this.table.concurrency, async (hour) => {
      await this.mark("hour", hour, shard);
      if (periodOpen("hour", hour, nowMs)) this.markedOpen.add(`${hour}#${shard}`);
    });
  }

  /** Marks one period (an hour of `shard`, or a day) as pending, with a fresh stamp. */
  async mark(granularity: BucketGranularity, period: string, shard?: number): Promise<void> {
    const item: Item = {
      [PARTITION_KEY]: { S: PENDING_PARTITION },
      [SORT_KEY]: { S: pendingSortKey(granularity, period, shard) },
      stamp: { S: randomUUID() },
      // A marker outliving its minutes has nothing left to build.
      expiresAt: { N: String(expiresAtSeconds(this.retention, "minute", periodStartMs(granularity, period)!)) },
    };
    await this.table.putUnless(`pending ${granularity} ${period}`, { Item: item });
  }

  /** Every marker (one consistent Query; pages past 1 MB). */
  async list(): Promise<PendingMarker[]> {
    const items = await this.table.queryAll(partitionQuery(PENDING_PARTITION), { consistent: true });
    return items.flatMap((item) => {
      const sk = item[SORT_KEY]?.S ?? "";
      const parsed = pendingOfSortKey(sk);
      const stamp = item.stamp?.S;
      // An unreadable marker cannot be judged; it expires like any other.
      return parsed === null || stamp === undefined ? [] : [{ ...parsed, sk, stamp }];
    });
  }

  /** Deletes a marker unless it was marked again since `marker` was read; false when it was. */
  clear(marker: PendingMarker): Promise<boolean> {
    return this.table.deleteIfUnchanged(
      `pending ${marker.granularity} ${marker.period}`,
      { [PARTITION_KEY]: { S: PENDING_PARTITION }, [SORT_KEY]: { S: marker.sk } },
      "stamp",
      { S: marker.stamp },
    );
  }
}
