// Hour and day buckets: every vantage's rollups of one hour (or day) in as few
// items ("parts") as fit under the item size limit, built by compact. Part
// 000 carries how many parts the bucket has, the bucket's total and a build
// id (a digest of the content) that every part repeats: a reader takes a
// bucket only when it finds every part of part 000's build, so parts left
// over from an older, larger build, or overwritten by a racing builder, are
// never mixed in (the period then reads as not built, and readers fall back
// to the finer level).

import { createHash } from "node:crypto";
import {
  PERIOD_MS,
  type RetentionDays,
  type Rollup,
  type RollupOf,
  expiresAtSeconds,
  periodKey,
  periodStartMs,
  periodsOverlapping,
} from "@popwatch/core";
import { WRITE_CODEC } from "./codec";
import { type Item, type ItemTable, MAX_PAYLOAD_BYTES, checkKeySizes, corrupt, invalid, sortKeyRangeQuery } from "./items";
import {
  type BucketGranularity,
  MAX_CHUNK,
  PARTITION_KEY,
  SORT_KEY,
  bucketOfKey,
  bucketPartitionKey,
  bucketSortKey,
  bucketSortKeyRange,
} from "./keys";
import { byVantage, compareRollupOrder, decodeRollups, encodeRollups } from "./rollup-payload";
import type { VantagePeriodRollups } from "./types";

/** JSON bytes a part starts from before compression decides; ~10:1 compression keeps most parts near the 350 KB limit. */
const PART_JSON_BUDGET = 2 * 1024 * 1024;

export type BucketWrite = "written" | "kept" | "raced";

interface Part {
  data: Buffer;
  total: number;
  series: number;
}

export class BucketItems {
  constructor(
    private readonly table: ItemTable,
    private readonly retention: Readonly<RetentionDays>,
  ) {}

  /**
   * Writes a bucket unless the stored one counts more results (never fewer):
   * "kept" then. Parts 001… go first, part 000 last under the condition
   * `bucketTotal <= :total`; "raced" when a concurrent builder's bigger
   * bucket won in between (its part 000 now points at parts this call
   * overwrote, so the period reads as not built until compact builds it again).
   */
  async put(granularity: BucketGranularity, period: string, rollups: readonly Rollup[]): Promise<BucketWrite> {
    const ordered = [...rollups].sort(compareRollupOrder);
    const parts = splitParts(ordered, `${granularity} ${period}`);
    const total = parts.reduce((sum, part) => sum + part.total, 0);
    const build = createHash("sha256");
    for (const part of parts) build.update(part.data);
    const buildId = build.digest("hex").slice(0, 16);
    const stored = await this.storedHead(granularity, period);
    if (stored !== null && stored.total > total) return "kept";

    const pk = bucketPartitionKey(granularity, period);
    const expiresAt = expiresAtSeconds(this.retention, granularity, periodStartMs(granularity, period)!);
    const items = parts.map((part, index): Item => {
      const sk = bucketSortKey(granularity, period, index);
      checkKeySizes(pk, sk, `${granularity} bucket ${period}`);
      return {
        [PARTITION_KEY]: { S: pk },
        [SORT_KEY]: { S: sk },
        build: { S: buildId },
        total: { N: String(part.total) },
        series: { N: String(part.series) },
        codec: { S: WRITE_CODEC },
        data: { B: part.data },
        expiresAt: { N: String(expiresAt) },
        ...(index === 0 ? { parts: { N: String(parts.length) }, bucketTotal: { N: String(total) } } : {}),
      };
    });
    await this.table.writeRequests(items.slice(1).map((Item) => ({ request: { PutRequest: { Item } }, weight: 1 })));
    const head = items[0]!;
    const won = await this.table.putUnless(`${granularity} bucket ${period}`, {
      Item: head,
      ConditionExpression: "attribute_not_exists(#pk) OR #bucketTotal <= :total",
      ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#bucketTotal": "bucketTotal" },
      ExpressionAttributeValues: { ":total": { N: String(total) } },
    });
    if (!won) return "raced";
    // Parts past the new count belong to an older, larger build: readers ignore them; remove them.
    if (stored !== null && stored.parts > parts.length) {
      const stale = [];
      for (let index = parts.length; index < stored.parts; index++) {
        stale.push({
          request: { DeleteRequest: { Key: { [PARTITION_KEY]: { S: pk }, [SORT_KEY]: { S: bucketSortKey(granularity, period, index) } } } },
          weight: 1,
        });
      }
      await this.table.writeRequests(stale);
    }
    return "written";
  }

  /** Buckets of the periods overlapping [fromMs, toMs) that are complete, earliest first, one entry per vantage. */
  async read<G extends BucketGranularity>(
    granularity: G,
    fromMs: number,
    toMs: number,
    consistent: boolean,
  ): Promise<VantagePeriodRollups<G>[]> {
    const periods = periodsOverlapping(granularity, fromMs, toMs);
    if (periods.length === 0) return [];
    // One Query per partition (a day of hours, a month of days) the range touches.
    const byPartition = new Map<string, string[]>();
    for (const period of periods) {
      const pk = bucketPartitionKey(granularity, period);
      const list = byPartition.get(pk);
      if (list === undefined) byPartition.set(pk, [period]);
      else list.push(period);
    }
    const found: VantagePeriodRollups<G>[] = [];
    for (const [pk, inPartition] of byPartition) {
      const { low, high } = bucketSortKeyRange(granularity, inPartition[0]!, inPartition[inPartition.length - 1]!);
      const items = await this.table.queryAll(sortKeyRangeQuery(pk, low, high), { consistent });
      for (const [period, parts] of groupParts(granularity, items)) {
        const rollups = completeBucket(granularity, period, parts);
        if (rollups === null) continue;
        for (const [region, own] of byVantage(rollups)) found.push({ region, period, rollups: own });
      }
    }
    return found;
  }

  /** Part 000 of a stored bucket: its part count and total (consistent). */
  private async storedHead(granularity: BucketGranularity, period: string): Promise<{ parts: number; total: number } | null> {
    const sk = bucketSortKey(granularity, period, 0);
    const [head] = await this.table.queryAll(sortKeyRangeQuery(bucketPartitionKey(granularity, period), sk, sk), { consistent: true });
    if (head === undefined) return null;
    const parts = Number(head.parts?.N);
    const total = Number(head.bucketTotal?.N);
    if (!(Number.isSafeInteger(parts) && parts >= 1 && Number.isSafeInteger(total) && total >= 0)) {
      throw corrupt(head, "is a bucket head without a valid parts count and bucketTotal");
    }
    return { parts, total };
  }
}

/** The hour or day buckets a day or month partition holds, keyed by period, parts by index. */
function groupParts(granularity: BucketGranularity, items: readonly Item[]): Map<string, Map<number, Item>> {
  const periods = new Map<string, Map<number, Item>>();
  for (const item of items) {
    const { period, part } = bucketOfKey(granularity, item[PARTITION_KEY]?.S ?? "", item[SORT_KEY]?.S ?? "");
    if (part < 0 || periodKey(granularity, `${period}${granularity === "hour" ? ":00Z" : "T00:00Z"}`) !== period) {
      throw corrupt(item, `is not a ${granularity} bucket part`);
    }
    let parts = periods.get(period);
    if (parts === undefined) {
      parts = new Map();
      periods.set(period, parts);
    }
    parts.set(part, item);
  }
  return periods;
}

/** A bucket's rollups when part 000 and every part of its build are present; null when the bucket is incomplete. */
function completeBucket<G extends BucketGranularity>(granularity: G, period: string, parts: Map<number, Item>): RollupOf<G>[] | null {
  const head = parts.get(0);
  if (head === undefined) return null;
  const count = Number(head.parts?.N);
  const build = head.build?.S;
  if (!(Number.isSafeInteger(count) && count >= 1 && count <= MAX_CHUNK + 1) || build === undefined) {
    throw corrupt(head, "is a bucket head without a valid parts count and build");
  }
  const rollups: RollupOf<G>[] = [];
  for (let index = 0; index < count; index++) {
    const part = parts.get(index);
    if (part === undefined || part.build?.S !== build) return null;
    rollups.push(...decodeRollups(part, granularity, period, null));
  }
  if (head.bucketTotal?.N !== String((rollups as Rollup[]).reduce((sum, rollup) => sum + rollup.total, 0))) {
    throw corrupt(head, "has a bucketTotal its parts do not add up to");
  }
  for (let i = 1; i < rollups.length; i++) {
    if (compareRollupOrder(rollups[i - 1]!, rollups[i]!) >= 0) throw corrupt(head, "has parts out of order");
  }
  return rollups;
}

/** Whole vantages per part, each under MAX_PAYLOAD_BYTES compressed; deterministic for the same rollups. */
function splitParts(ordered: readonly Rollup[], what: string): Part[] {
  if (ordered.length === 0) throw invalid(`${what}: no rollups to write`);
  const vantages = [...byVantage(ordered).values()].map((rollups) => ({ rollups, bytes: JSON.stringify(rollups).length }));
  const groups: (typeof vantages)[] = [];
  let current: typeof vantages = [];
  let bytes = 0;
  for (const vantage of vantages) {
    if (current.length > 0 && bytes + vantage.bytes > PART_JSON_BUDGET) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(vantage);
    bytes += vantage.bytes;
  }
  groups.push(current);
  const parts: Part[] = [];
  const encode = (group: typeof vantages): void => {
    const part = encodeRollups(group.flatMap((vantage) => vantage.rollups));
    if (part.data.length <= MAX_PAYLOAD_BYTES) {
      parts.push(part);
      return;
    }
    if (group.length === 1)
      throw invalid(`${what}: vantage ${group[0]!.rollups[0]!.region} alone is over ${MAX_PAYLOAD_BYTES} bytes compressed`);
    const half = Math.ceil(group.length / 2);
    encode(group.slice(0, half));
    encode(group.slice(half));
  };
  for (const group of groups) encode(group);
  if (parts.length > MAX_CHUNK + 1) throw invalid(`${what}: needs more than ${MAX_CHUNK + 1} parts`);
  return parts;
}

export function bucketRange(granularity: BucketGranularity, period: string): { fromMs: number; toMs: number } {
  const fromMs = periodStartMs(granularity, period)!;
  return { fromMs, toMs: fromMs + PERIOD_MS[granularity] };
}
