// The v2 table fixture (test/fixtures/README.md): its items loaded into a
// table with BatchWriteItem, as they were, and what the v2 store's reads
// returned for them.
import { readFile } from "node:fs/promises";
import { type AttributeValue, BatchWriteItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { RollupGranularity } from "@popwatch/core";
import type { RegionRollups, StoredResultRecord } from "../../src/types";

const FIXTURES = new URL("../fixtures/", import.meta.url);

export interface V2Expected {
  /** The instant v2's reads were made at. */
  now: string;
  regions: string[];
  results: StoredResultRecord[];
  /** Per region, per granularity: queryRegionRollups over every retained period. */
  rollups: Record<string, Record<RollupGranularity, RegionRollups[]>>;
}

export type FixtureItem = Record<string, AttributeValue>;

export async function v2FixtureItems(): Promise<FixtureItem[]> {
  const json = jsonLines(await readFile(new URL("v2-items.jsonl", FIXTURES), "utf8")) as Record<string, Record<string, unknown>>[];
  return json.map((item) =>
    Object.fromEntries(
      Object.entries(item).map(([name, value]) => [
        name,
        (typeof value.B === "string" ? { B: Buffer.from(value.B, "base64") } : value) as unknown as AttributeValue,
      ]),
    ),
  );
}

export async function v2Expected(): Promise<V2Expected> {
  const [header, ...records] = jsonLines(await readFile(new URL("v2-expected.jsonl", FIXTURES), "utf8")) as [
    Pick<V2Expected, "now" | "regions">,
    ...({ result: StoredResultRecord } | { rollups: RegionRollups & { region: string; granularity: RollupGranularity } })[],
  ];
  const expected: V2Expected = { now: header.now, regions: header.regions, results: [], rollups: {} };
  for (const region of header.regions) expected.rollups[region] = { minute: [], hour: [], day: [] };
  for (const record of records) {
    if ("result" in record) expected.results.push(record.result);
    else {
      const { region, granularity, period, rollups } = record.rollups;
      expected.rollups[region]![granularity].push({ period, rollups });
    }
  }
  return expected;
}

function jsonLines(text: string): unknown[] {
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as unknown);
}

/** Writes the fixture's items into `tableName` (BatchWriteItem, 25 at a time, unprocessed ones again). */
export async function loadV2Fixture(client: DynamoDBClient, tableName: string, items?: readonly FixtureItem[]): Promise<FixtureItem[]> {
  const all = items ?? (await v2FixtureItems());
  for (let i = 0; i < all.length; i += 25) {
    let pending = all.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    while (pending.length > 0) {
      const output = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }));
      pending = (output.UnprocessedItems?.[tableName] ?? []) as typeof pending;
    }
  }
  return [...all];
}

/** A v2 item: `R#`, `M#`, `H#` or `D#`, then a region and a period (v3's time buckets never have a region in them). */
export function isV2Item(item: FixtureItem, regions: readonly string[]): boolean {
  const parts = (item.pk?.S ?? "").split("#");
  return parts.length === 3 && ["R", "M", "H", "D"].includes(parts[0]!) && regions.includes(parts[1]!);
}
