import { createHash } from "node:crypto";
import { type AttributeValue, DeleteItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { PROBE_KINDS, type SeriesKey, mergeRollups, rollupMinute, rollupResults } from "@popwatch/core";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodePayload } from "../src/codec";
import { DynamoResultStore, type EmbeddedStore, StoreError, type StoredResult, encodePayloadText, startEmbeddedStore } from "../src/index";
import { MAX_PAYLOAD_BYTES } from "../src/items";
import {
  FAST_RETRY,
  itemsWithPrefix,
  makeTempDir,
  partitionItems,
  regionMinuteKey,
  regionRawPartition,
  resultSeries,
  storedResult,
} from "./support/store-fixtures";

const REGION = "eu-central-1";
const SERIES: SeriesKey = { target: "anycast-dns", kind: "dns", region: REGION };
const NOW = Date.parse("2025-03-02T12:00:00Z");

let dir: { path: string; remove(): Promise<void> };
let embedded: EmbeddedStore;

beforeEach(async () => {
  dir = await makeTempDir();
  embedded = await startEmbeddedStore({ dataDir: dir.path, retry: FAST_RETRY, clock: () => NOW });
});

afterEach(async () => {
  await embedded.close();
  await dir.remove();
});

function withoutInvocation(records: (StoredResult & { invocationId: string })[]): StoredResult[] {
  return records.map(({ invocationId: _invocationId, ...result }) => result as StoredResult);
}

/** Every raw, rollup and series item, all attributes: what "nothing changed" is checked against. */
async function tableSnapshot(): Promise<Record<string, AttributeValue>[][]> {
  return Promise.all(["R#", "M#", "H#", "D#", "S"].map((prefix) => itemsWithPrefix(embedded.client, "popwatch", prefix)));
}

const rollupRange = (from: string, to: string) => ({ region: REGION, granularity: "minute" as const, from, to });

describe("raw results", () => {
  it("packs a round into one item and reads it back unchanged, in time order", async () => {
    const results = resultSeries("2025-03-02T10:00:00.000Z", 30, 2_000);
    const report = await embedded.store.putResults({ region: REGION, invocationId: "inv-1", results: [...results].reverse() });
    expect(report.items).toBe(31); // 30 results + 1 series index item
    const items = await partitionItems(embedded.client, "popwatch", regionRawPartition(REGION, "2025-03-02T10"));
    expect(items).toHaveLength(1);
    expect(items[0]!.sk!.S).toBe("00#eu-central-1#2025-03-02T10:00:00.000Z#inv-1#000");
    expect(items[0]).toMatchObject({ count: { N: "30" }, codec: { S: "d1" }, invocationId: { S: "inv-1" } });
    expect(decodePayload("d1", items[0]!.data!.B, "test")).toEqual(results);

    const read = await embedded.store.queryResults({ since: "2025-03-02T10:00:00Z", until: "2025-03-02T11:00:00Z" });
    expect(read.map((r) => r.invocationId)).toEqual(Array(30).fill("inv-1"));
    expect(withoutInvocation(read)).toEqual(results);
  });

  it("writes one item per minute, and one per round of an invocation within a minute", async () => {
    const round = (slotAt: string, seqBase: number) =>
      ["dns", "tcp", "http"].map((kind, i) => ({ ...storedResult({ startedAt: slotAt, seq: seqBase + i }), kind, slotAt }) as StoredResult);
    await embedded.store.putResults({ region: REGION, invocationId: "inv", results: round("2025-03-02T10:00:00.000Z", 0) });
    await embedded.store.putResults({ region: REGION, invocationId: "inv", results: round("2025-03-02T10:00:20.000Z", 3) });
    // One batch spanning two minutes is split by minute.
    await embedded.store.putResults({
      region: REGION,
      invocationId: "other",
      results: [...round("2025-03-02T10:00:40.000Z", 0), ...round("2025-03-02T10:01:00.000Z", 3)],
    });
    const items = await partitionItems(embedded.client, "popwatch", regionRawPartition(REGION, "2025-03-02T10"));
    expect(items.map((item) => [item.sk!.S, item.count!.N])).toEqual([
      ["00#eu-central-1#2025-03-02T10:00:00.000Z#inv#000", "3"],
      ["00#eu-central-1#2025-03-02T10:00:20.000Z#inv#000", "3"],
      ["00#eu-central-1#2025-03-02T10:00:40.000Z#other#000", "3"],
      ["01#eu-central-1#2025-03-02T10:01:00.000Z#other#000", "3"],
    ]);
    const read = await embedded.store.queryResults({ since: "2025-03-02T10:00:20Z", until: "2025-03-02T10:01:00Z" });
    expect(read.map((r) => `${r.slotAt} ${r.kind}`)).toEqual([
      "2025-03-02T10:00:20.000Z dns",
      "2025-03-02T10:00:20.000Z tcp",
      "2025-03-02T10:00:20.000Z http",
      "2025-03-02T10:00:40.000Z dns",
      "2025-03-02T10:00:40.000Z tcp",
      "2025-03-02T10:00:40.000Z http",
    ]);
  });

  it("queries time ranges across hour and day boundaries, since inclusive and until exclusive", async () => {
    const results = resultSeries("2025-03-01T23:58:00.000Z", 48, 5_000); // 23:58:00 … 00:01:55
    await embedded.store.putResults({ region: REGION, invocationId: "inv", results });
    const at = (i: number): string => results[i]!.startedAt;

    const all = await embedded.store.queryResults({ since: "2025-03-01T23:00:00Z", until: "2025-03-02T01:00:00Z", ...SERIES });
    expect(all.map((r) => r.startedAt)).toEqual(results.map((r) => r.startedAt));

    // 23:59:30 (i = 18) up to, not including, 00:00:30 (i = 30): spans both hour partitions and days.
    const window = await embedded.store.queryResults({ since: at(18), until: at(30), ...SERIES });
    expect(window.map((r) => r.seq)).toEqual(Array.from({ length: 12 }, (_, i) => 18 + i));
    expect(new Set(window.map((r) => r.startedAt.slice(0, 10)))).toEqual(new Set(["2025-03-01", "2025-03-02"]));

    const limited = await embedded.store.queryResults({ since: at(20), until: at(40), limit: 7 });
    expect(limited.map((r) => r.seq)).toEqual([20, 21, 22, 23, 24, 25, 26]);
    const acrossPartitions = await embedded.store.queryResults({ since: at(20), until: at(40), limit: 15 });
    expect(acrossPartitions.map((r) => r.seq)).toEqual(Array.from({ length: 15 }, (_, i) => 20 + i));

    expect(await embedded.store.queryResults({ since: "2025-03-02T00:05:00Z", until: "2025-03-02T03:00:00Z" })).toEqual([]);
  });

  it("fans out over the regions of the series index and filters by target and kind", async () => {
    const start = "2025-03-02T09:00:00.000Z";
    await embedded.store.putResults({ region: REGION, invocationId: "a", results: resultSeries(start, 5, 1_000) });
    await embedded.store.putResults({
      region: "us-east-1",
      invocationId: "b",
      results: resultSeries(start, 5, 1_000, { region: "us-east-1" }),
    });
    await embedded.store.putResults({
      region: "us-east-1",
      invocationId: "c",
      results: resultSeries(start, 5, 1_000, { region: "us-east-1", kind: "tcp", name: "edge#1 %23" }),
    });

    expect(await embedded.store.listSeries()).toEqual([
      { target: "anycast-dns", kind: "dns", region: REGION },
      { target: "anycast-dns", kind: "dns", region: "us-east-1" },
      { target: "edge#1 %23", kind: "tcp", region: "us-east-1" },
    ]);
    expect(await embedded.store.listRegions()).toEqual([REGION, "us-east-1"]);
    const since = start;
    const until = "2025-03-02T10:00:00Z";
    expect(await embedded.store.queryResults({ since, until })).toHaveLength(15);
    expect(await embedded.store.queryResults({ since, until, region: "us-east-1" })).toHaveLength(10);
    expect(await embedded.store.queryResults({ since, until, target: "anycast-dns" })).toHaveLength(10);
    const odd = await embedded.store.queryResults({ since, until, target: "edge#1 %23" });
    expect(odd.map((r) => r.name)).toEqual(Array(5).fill("edge#1 %23"));
    expect(await embedded.store.queryResults({ since, until, kind: "http" })).toEqual([]);
    // Merged across regions in time order, ties broken by invocation, seq and region.
    const merged = await embedded.store.queryResults({ since, until });
    const times = merged.map((r) => r.startedAt);
    expect(times).toEqual([...times].sort());
    expect(merged.slice(0, 3).map((r) => r.invocationId)).toEqual(["a", "b", "c"]);
  });

  it("defaults until to the store's clock", async () => {
    await embedded.store.putResults({
      region: REGION,
      invocationId: "x",
      results: [
        storedResult({ startedAt: new Date(NOW - 1_000).toISOString(), seq: 0 }),
        storedResult({ startedAt: new Date(NOW + 1_000).toISOString(), seq: 1 }),
      ],
    });
    expect((await embedded.store.queryResults({ since: NOW - 60_000 })).map((r) => r.seq)).toEqual([0]);
  });

  it("refuses a batch it cannot key, writing nothing of it", async () => {
    const good = storedResult({ startedAt: "2025-03-02T10:00:00Z", seq: 0 });
    const cases: { results: StoredResult[]; region?: string; invocationId?: string }[] = [
      { results: [good, { ...good, seq: 1, startedAt: "yesterday-ish" }] },
      { results: [good, { ...good, seq: -1 }] },
      { results: [good, { ...good, seq: 1.5 }] },
      { results: [good, { ...good }] },
      { results: [good, { ...good, seq: 1, region: "elsewhere" }] },
      { results: [good, { ...good, seq: 1, kind: "smtp" } as unknown as StoredResult] },
      { results: [good, { ...good, seq: 1, body: "x".repeat(400 * 1024) } as unknown as StoredResult] },
      { results: [good], invocationId: "" },
      { results: [good], invocationId: "i".repeat(1100) },
    ];
    for (const { results, region, invocationId } of cases) {
      const attempt = embedded.store.putResults({ region: region ?? REGION, invocationId: invocationId ?? "i", results });
      await expect(attempt).rejects.toSatisfy((err) => err instanceof StoreError && err.code === "store_invalid");
    }
    expect((await tableSnapshot()).flat()).toEqual([]);
  });

  it("splits a minute bigger than one item into chunks that read back whole, the same way on every write", async () => {
    // Incompressible header values (hashes, base64): 40 results of 24 KB each need more than one 350 KB item.
    const noise = (label: string, length: number) => {
      let text = "";
      for (let i = 0; text.length < length; i++) text += createHash("sha256").update(`${label}:${i}`).digest("base64");
      return text.slice(0, length);
    };
    const results = resultSeries("2025-03-02T10:00:00.000Z", 40, 1_000).map(
      (r) => ({ ...r, headers: { "x-trace": noise(String(r.seq), 24 * 1024) } }) as StoredResult,
    );
    const batch = { region: REGION, invocationId: "big", results };
    await embedded.store.putResults(batch);
    const items = await partitionItems(embedded.client, "popwatch", regionRawPartition(REGION, "2025-03-02T10"));
    expect(items.length).toBeGreaterThan(1);
    expect(items.map((item) => item.sk!.S!.slice(-4))).toEqual(items.map((_, i) => `#${String(i).padStart(3, "0")}`));
    for (const item of items) expect(item.data!.B!.length).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    expect(items.reduce((sum, item) => sum + Number(item.count!.N), 0)).toBe(40);
    expect(withoutInvocation(await embedded.store.queryResults({ since: "2025-03-02T10:00Z", until: "2025-03-02T10:01Z" }))).toEqual(
      results,
    );

    const before = await tableSnapshot();
    await new DynamoResultStore({ client: embedded.client, tableName: "popwatch" }).putResults({
      ...batch,
      results: [...results].reverse(),
    });
    expect(await tableSnapshot()).toEqual(before);
  });

  it("any batch of valid results round-trips, and writing it again changes nothing", async () => {
    const text = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("#", "%23", "a#b%c", "__proto__", "💥", ""));
    const resultArb = fc.record({
      kind: fc.constantFrom(...PROBE_KINDS),
      name: fc.oneof(text, fc.constant(null)),
      ok: fc.boolean(),
      offsetMs: fc.integer({ min: 0, max: 3 * 3_600_000 - 1 }),
      slotted: fc.boolean(),
      totalMs: fc.integer({ min: 0, max: 10_000_000 }).map((n) => n / 1000),
      pop: fc.oneof(fc.constant(null), text),
      detail: fc.dictionary(
        fc.string({ maxLength: 8 }).filter((k) => k !== "__proto__"),
        fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null)),
        {
          maxKeys: 3,
        },
      ),
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(resultArb, { maxLength: 40, selector: (r) => r.offsetMs }), async (specs) => {
        const region = `prop-${run++}`;
        const base = Date.parse("2025-03-02T09:00:00.000Z");
        const results = specs.map((spec, seq) => {
          const at = new Date(base + spec.offsetMs).toISOString();
          return {
            kind: spec.kind,
            target: "198.51.100.7:443",
            address: "198.51.100.7",
            port: 443,
            name: spec.name,
            ok: spec.ok,
            startedAt: spec.slotted ? new Date(base + spec.offsetMs + 37).toISOString() : at,
            ...(spec.slotted ? { slotAt: at } : {}),
            timings: { totalMs: spec.totalMs },
            pop: spec.pop === null ? null : { id: spec.pop, source: "nsid", raw: spec.pop, iata: null },
            failure: spec.ok ? null : { code: "timeout", message: "no answer" },
            detail: spec.detail,
            region,
            seq,
          } as unknown as StoredResult;
        });
        const batch = { region, invocationId: `inv#${region}`, results };
        await embedded.store.putResults(batch);
        const window = { since: base, until: base + 3 * 3_600_000, region };
        const read = await embedded.store.queryResults(window);
        const timeOf = (r: StoredResult) => r.slotAt ?? r.startedAt;
        const byTime = (a: StoredResult, b: StoredResult) => (timeOf(a) < timeOf(b) ? -1 : timeOf(a) > timeOf(b) ? 1 : a.seq - b.seq);
        expect(withoutInvocation(read)).toEqual([...results].sort(byTime));

        const before = await itemsWithPrefix(embedded.client, "popwatch", "R#");
        const fresh = new DynamoResultStore({ client: embedded.client, tableName: "popwatch" });
        await fresh.putResults({ ...batch, results: [...results].reverse() });
        expect(await itemsWithPrefix(embedded.client, "popwatch", "R#")).toEqual(before);
        expect(await embedded.store.queryResults(window)).toEqual(read);
      }),
      { numRuns: 25 },
    );
  });
});

describe("corrupt items", () => {
  const minuteKey = "00#eu-central-1#2025-03-02T10:00:00.000Z#inv#000";

  async function putRaw(attributes: Record<string, AttributeValue>): Promise<void> {
    await embedded.store.putResults({ region: REGION, invocationId: "seed", results: resultSeries("2025-03-02T09:00:00.000Z", 1, 1_000) });
    await embedded.client.send(
      new PutItemCommand({
        TableName: "popwatch",
        Item: { pk: { S: regionRawPartition(REGION, "2025-03-02T10") }, sk: { S: minuteKey }, invocationId: { S: "inv" }, ...attributes },
      }),
    );
  }

  const goodPayload = () => encodePayloadText(JSON.stringify(resultSeries("2025-03-02T10:00:00.000Z", 2, 1_000)));
  const cases: [string, () => Record<string, AttributeValue>][] = [
    ["bytes that do not inflate", () => ({ codec: { S: "d1" }, count: { N: "2" }, data: { B: new Uint8Array([1, 2, 3, 4, 5, 250]) } })],
    ["an unknown codec", () => ({ codec: { S: "zz" }, count: { N: "2" }, data: { B: goodPayload() } })],
    ["no codec", () => ({ count: { N: "2" }, data: { B: goodPayload() } })],
    ["a count that does not match", () => ({ codec: { S: "d1" }, count: { N: "3" }, data: { B: goodPayload() } })],
    ["JSON that is not a list", () => ({ codec: { S: "d1" }, count: { N: "1" }, data: { B: encodePayloadText('{"kind":"dns"}') } })],
    ["text that is not JSON", () => ({ codec: { S: "d1" }, count: { N: "1" }, data: { B: encodePayloadText("[{") } })],
    [
      "a result of another minute",
      () => ({
        codec: { S: "d1" },
        count: { N: "1" },
        data: { B: encodePayloadText(JSON.stringify(resultSeries("2025-03-02T10:05:00.000Z", 1, 1))) },
      }),
    ],
  ];
  for (const [what, attributes] of cases) {
    it(`a raw item holding ${what} is a store_corrupt StoreError`, async () => {
      await putRaw(attributes());
      await expect(embedded.store.queryResults({ since: "2025-03-02T10:00Z", until: "2025-03-02T11:00Z" })).rejects.toSatisfy(
        (err) => err instanceof StoreError && err.code === "store_corrupt" && /R#2025-03-02T10#\d/.test(err.message),
      );
      await expect(embedded.store.rollUp(rollupRange("2025-03-02T10:00Z", "2025-03-02T10:01Z"))).rejects.toMatchObject({
        code: "store_corrupt",
      });
    });
  }

  it("a rollup item that does not decode to its period's rollups is a store_corrupt StoreError", async () => {
    await embedded.store.putResults({ region: REGION, invocationId: "i", results: resultSeries("2025-03-02T10:00:00.000Z", 6, 5_000) });
    await embedded.store.rollUp(rollupRange("2025-03-02T10:00Z", "2025-03-02T10:01Z"));
    const { pk, sk } = regionMinuteKey(REGION, "2025-03-02T10:00");
    const [stored] = await partitionItems(embedded.client, "popwatch", pk);
    const [rollup] = rollupMinute(resultSeries("2025-03-02T10:00:00.000Z", 6, 5_000), { region: REGION });
    const variants: Record<string, AttributeValue>[] = [
      { data: { B: new Uint8Array([0xff, 0x00]) } },
      { codec: { S: "d0" } },
      { data: { B: encodePayloadText(JSON.stringify([{ ...rollup, minute: "2025-03-02T10:01" }])) } },
      { data: { B: encodePayloadText(JSON.stringify([rollup, rollup])) }, total: { N: "12" }, series: { N: "2" } },
      { total: { N: "7" } },
    ];
    for (const variant of variants) {
      await embedded.client.send(
        new PutItemCommand({ TableName: "popwatch", Item: { ...stored!, pk: { S: pk }, sk: { S: sk }, ...variant } }),
      );
      await expect(
        embedded.store.queryRollups({ ...SERIES, granularity: "minute", from: "2025-03-02T10:00Z", to: "2025-03-02T10:01Z" }),
      ).rejects.toMatchObject({ name: "StoreError", code: "store_corrupt" });
      // compact reads it to build the hour.
      await expect(embedded.store.compact({ now: "2025-03-02T12:00Z" })).rejects.toMatchObject({ code: "store_corrupt" });
    }
  });
});

describe("rollups", () => {
  // Two days, crossing hour and day boundaries, every 20 s: 20:00 day 1 to 04:00 day 2, two targets × two kinds.
  const from = "2025-03-01T20:00:00Z";
  const to = "2025-03-02T04:00:00Z";
  const resultsOf = (name: string, kind: "dns" | "tcp") =>
    resultSeries("2025-03-01T20:00:00.000Z", 8 * 180, 20_000, { name, kind, totalMs: name === "b" ? 30 : 12 });
  const everything = [...resultsOf("a", "dns"), ...resultsOf("a", "tcp"), ...resultsOf("b", "dns")];

  async function writeAll(): Promise<void> {
    let seq = 0;
    const withSeq = everything.map((r) => ({ ...r, seq: seq++ }));
    for (let i = 0; i < withSeq.length; i += 300) {
      await embedded.store.putResults({ region: REGION, invocationId: `inv-${i}`, results: withSeq.slice(i, i + 300) });
    }
  }

  it("rolls up a region's minutes, hours and days, each equal to rolling up the results directly", async () => {
    await writeAll();
    const report = await embedded.store.rollUp(rollupRange(from, to));
    expect(report.kept).toEqual([]);
    expect(report.items).toEqual({ written: 8 * 60, kept: 0 });
    expect(report.written).toHaveLength(3 * 8 * 60);
    // Eight hours of three series, and day 1 (day 2 has not ended by 04:00).
    expect(await embedded.store.compact({ now: to, graceMs: 0 })).toEqual({ hours: 8, days: 1, rollups: 8 * 3 + 3 });

    for (const series of [
      { target: "a", kind: "dns" as const, region: REGION },
      { target: "a", kind: "tcp" as const, region: REGION },
      { target: "b", kind: "dns" as const, region: REGION },
    ]) {
      const results = resultsOf(series.target, series.kind);
      const minutes = await embedded.store.queryRollups({ ...series, granularity: "minute", from, to });
      const hours = await embedded.store.queryRollups({ ...series, granularity: "hour", from, to });
      const days = await embedded.store.queryRollups({ ...series, granularity: "day", from, to });
      expect(minutes).toEqual(rollupMinute(results, { region: REGION }));
      expect(hours).toHaveLength(8);
      expect(hours).toEqual(rollupResults(results, { region: REGION, granularity: "hour" }));
      expect(hours).toEqual(mergeRollups(minutes, "hour"));
      expect(days).toEqual(rollupResults(results, { region: REGION, granularity: "day" }).slice(0, 1));
    }

    const regionHours = await embedded.store.queryRegionRollups({
      region: REGION,
      granularity: "hour",
      from: "2025-03-01T23:30Z",
      to: "2025-03-02T01:00Z",
    });
    expect(regionHours.map((p) => [p.period, p.rollups.map((r) => `${r.target}/${r.kind}`)])).toEqual([
      ["2025-03-01T23", ["a/dns", "a/tcp", "b/dns"]],
      ["2025-03-02T00", ["a/dns", "a/tcp", "b/dns"]],
    ]);
    expect(regionHours.flatMap((p) => p.rollups)).toEqual(
      rollupResults(everything, { region: REGION, granularity: "hour" })
        .filter((r) => r.hour === "2025-03-01T23" || r.hour === "2025-03-02T00")
        .sort((x, y) => x.hour.localeCompare(y.hour)),
    );

    // Compacting again builds nothing; hours marked again (rollUp "hour") are rebuilt to the same bytes.
    const before = await tableSnapshot();
    expect(await embedded.store.compact({ now: to, graceMs: 0 })).toEqual({ hours: 0, days: 0, rollups: 0 });
    await embedded.store.rollUp({ region: REGION, granularity: "hour", from, to });
    expect(await embedded.store.compact({ now: to, graceMs: 0 })).toEqual({ hours: 8, days: 1, rollups: 8 * 3 + 3 });
    expect(await tableSnapshot()).toEqual(before);
  });

  it("leaves out series that have no data in a period", async () => {
    await embedded.store.putResults({ region: REGION, invocationId: "a", results: resultSeries("2025-03-02T10:00:00.000Z", 3, 1_000) });
    await embedded.store.putResults({
      region: REGION,
      invocationId: "b",
      results: resultSeries("2025-03-02T10:01:00.000Z", 3, 1_000, { name: "other" }),
    });
    await embedded.store.rollUp(rollupRange("2025-03-02T10:00Z", "2025-03-02T10:02Z"));
    const minutes = await embedded.store.queryRollups({
      ...SERIES,
      granularity: "minute",
      from: "2025-03-02T10:00Z",
      to: "2025-03-02T10:02Z",
    });
    expect(minutes.map((r) => r.minute)).toEqual(["2025-03-02T10:00"]);
    const region = await embedded.store.queryRegionRollups({
      region: REGION,
      granularity: "minute",
      from: "2025-03-02T10:00Z",
      to: "2025-03-02T10:05Z",
    });
    expect(region.map((p) => [p.period, p.rollups.map((r) => r.target)])).toEqual([
      ["2025-03-02T10:00", ["anycast-dns"]],
      ["2025-03-02T10:01", ["other"]],
    ]);
    expect(await embedded.store.queryRollups({ ...SERIES, granularity: "hour", from: NOW - 86_400_000, to: NOW })).toEqual([]);
  });

  it("compact builds each ended hour once, rebuilds it (and its day) for late data, and builds hours nobody closed", async () => {
    let clock = Date.parse("2025-03-02T22:00:30Z");
    const store = new DynamoResultStore({ client: embedded.client, tableName: "popwatch", retry: FAST_RETRY, clock: () => clock });
    const write = async (start: string, invocationId: string) => {
      await store.putResults({ region: REGION, invocationId, results: resultSeries(start, 3, 10_000) });
      await store.rollUp(rollupRange(start, new Date(Date.parse(start) + 60_000).toISOString()));
    };
    const compactAt = (now: string) => {
      clock = Date.parse(now);
      return store.compact({ now });
    };
    const hourTotal = async (hour: string) =>
      (await store.queryRollups({ ...SERIES, granularity: "hour", from: `${hour}:00Z`, to: `${hour}:59Z` }))[0]?.total;
    const none = { hours: 0, days: 0, rollups: 0 };

    await write("2025-03-02T22:00:00.000Z", "22:00");
    expect(await compactAt("2025-03-02T22:30:00Z")).toEqual(none); // the hour is open
    expect(await itemsWithPrefix(embedded.client, "popwatch", "H#")).toEqual([]);
    await write("2025-03-02T22:59:00.000Z", "22:59");
    expect(await compactAt("2025-03-02T23:01:00Z")).toEqual(none); // inside the grace for late rounds
    expect(await compactAt("2025-03-02T23:02:00Z")).toEqual({ hours: 1, days: 0, rollups: 1 });
    expect(await hourTotal("2025-03-02T22")).toBe(6);
    expect(await compactAt("2025-03-02T23:05:00Z")).toEqual(none); // built once

    // A retried 22:30 invocation after the hour was built: the ended hour is marked again and rebuilt.
    await write("2025-03-02T22:30:00.000Z", "22:30");
    expect(await compactAt("2025-03-02T23:10:00Z")).toEqual({ hours: 1, days: 0, rollups: 1 });
    expect(await hourTotal("2025-03-02T22")).toBe(9);

    // Hour 05 gets one late minute and no closing invocation; 23:59 closes the day: both hours and the day are built.
    await write("2025-03-02T05:10:00.000Z", "05:10");
    await write("2025-03-02T23:59:00.000Z", "23:59");
    expect(await compactAt("2025-03-03T00:02:00Z")).toEqual({ hours: 2, days: 1, rollups: 3 });
    const day = async () =>
      (await store.queryRollups({ ...SERIES, granularity: "day", from: "2025-03-02T00:00Z", to: "2025-03-03T00:00Z" }))[0];
    const everything = () => store.queryResults({ since: "2025-03-02T00:00Z", until: "2025-03-03T00:00Z" });
    expect(await day()).toEqual(rollupResults(await everything(), { region: REGION, granularity: "day" })[0]);
    expect((await day())?.total).toBe(15);

    // Late data for a built day: its hour, then the day, are rebuilt.
    await write("2025-03-02T12:00:00.000Z", "12:00");
    expect(await compactAt("2025-03-03T01:00:00Z")).toEqual({ hours: 1, days: 1, rollups: 2 });
    expect(await day()).toEqual(rollupResults(await everything(), { region: REGION, granularity: "day" })[0]);
    expect((await day())?.total).toBe(18);
    expect(await compactAt("2025-03-03T02:00:00Z")).toEqual(none);
  });

  it("keeps a stored item that counts more results than a rebuild sees", async () => {
    const results = resultSeries("2025-03-02T10:00:00.000Z", 12, 5_000);
    await embedded.store.putResults({ region: REGION, invocationId: "first", results: results.slice(0, 6) });
    await embedded.store.putResults({ region: REGION, invocationId: "second", results: results.slice(6) });
    const range = rollupRange("2025-03-02T10:00Z", "2025-03-02T10:01Z");
    await embedded.store.rollUp(range);
    const [complete] = await embedded.store.queryRollups({
      ...SERIES,
      granularity: "minute",
      from: "2025-03-02T10:00Z",
      to: "2025-03-02T10:01Z",
    });
    expect(complete).toEqual(rollupMinute(results, { region: REGION })[0]);

    // Half the raw results vanish (as when TTL removed some): the rebuild must not shrink the rollup.
    const [firstItem] = await partitionItems(embedded.client, "popwatch", regionRawPartition(REGION, "2025-03-02T10"));
    await embedded.client.send(new DeleteItemCommand({ TableName: "popwatch", Key: { pk: firstItem!.pk!, sk: firstItem!.sk! } }));
    const report = await embedded.store.rollUp(range);
    expect(report.written).toEqual([]);
    expect(report.kept.map((r) => r.total)).toEqual([6]);
    expect(report.items).toEqual({ written: 0, kept: 1 });
    const [stored] = await embedded.store.queryRollups({
      ...SERIES,
      granularity: "minute",
      from: "2025-03-02T10:00Z",
      to: "2025-03-02T10:01Z",
    });
    expect(stored).toEqual(complete);
  });

  it("refuses requests it cannot serve", async () => {
    const bad: (() => Promise<unknown>)[] = [
      () => embedded.store.rollUp({ region: "", granularity: "minute", from: 0, to: 1 }),
      () => embedded.store.rollUp({ region: REGION, writer: "batch-1", granularity: "minute", from: 0, to: 1 }),
      () => embedded.store.rollUp({ granularity: "minute", from: 0, to: 1 }),
      () => embedded.store.rollUp({ writer: "+not-a-batch", granularity: "minute", from: 0, to: 1 }),
      () => embedded.store.compact({ now: "never" }),
      () => embedded.store.compact({ now: 0, graceMs: -1 }),
      () => embedded.store.rollUp({ region: REGION, granularity: "week" as "day", from: 0, to: 1 }),
      () => embedded.store.rollUp({ region: REGION, granularity: "minute", from: "soon", to: 1 }),
      () => embedded.store.queryRegionRollups({ region: REGION, granularity: "hour", from: 0, to: "later" }),
      () => embedded.store.queryRollups({ ...SERIES, kind: "smtp" as "dns", granularity: "hour", from: 0, to: 1 }),
    ];
    for (const attempt of bad) await expect(attempt()).rejects.toMatchObject({ code: "store_invalid" });
    expect(await embedded.store.rollUp({ region: REGION, granularity: "minute", from: 10, to: 10 })).toEqual({
      written: [],
      kept: [],
      items: { written: 0, kept: 0 },
    });
  });
});

describe("idempotency", () => {
  it("writing the same invocation twice leaves identical items and identical rollups", async () => {
    const results = resultSeries("2025-03-01T23:59:00.000Z", 40, 3_000);
    const batch = { region: REGION, invocationId: "sched-2025-03-01T23:59", results };
    const range = rollupRange("2025-03-01T23:59Z", "2025-03-02T00:01Z");

    await embedded.store.putResults(batch);
    await embedded.store.rollUp(range);
    await embedded.store.compact({ now: NOW });
    const first = await tableSnapshot();

    // A fresh store instance (a retried Lambda) writes everything again, series index included.
    const retried = new DynamoResultStore({ client: embedded.client, tableName: "popwatch", retry: FAST_RETRY });
    await retried.putResults({ ...batch, results: [...results].reverse() });
    await retried.rollUp(range);
    await retried.compact({ now: NOW });
    const second = await tableSnapshot();

    expect(second).toEqual(first);
    const [raw, minutes, hours, days, series] = second;
    expect(raw!.map((item) => item.count!.N)).toEqual(["20", "20"]);
    // Minutes 23:59 and 00:00, hours 23 and 00 (one bucket each), day 03-01 (03-02 has not ended), one series.
    expect([minutes!.length, hours!.length, days!.length, series!.length]).toEqual([2, 2, 1, 1]);
    expect(await embedded.store.queryResults({ since: "2025-03-01T00:00:00Z", until: "2025-03-02T03:00:00Z" })).toHaveLength(40);
  });

  it("a retried invocation whose probes started later overwrites its own slots instead of adding results", async () => {
    const slots = resultSeries("2025-03-01T12:00:00.000Z", 12, 5_000);
    const attempt = (lateMs: number) =>
      slots.map((r) => ({ ...r, slotAt: r.startedAt, startedAt: new Date(Date.parse(r.startedAt) + lateMs).toISOString() }));
    const range = rollupRange("2025-03-01T12:00Z", "2025-03-01T12:01Z");
    const invocationId = "eu-central-1#2025-03-01T12:00:00Z";

    await embedded.store.putResults({ region: REGION, invocationId, results: attempt(120) });
    await embedded.store.rollUp(range);
    // The retry runs 3 s later: every probe starts later, some in a later second.
    await embedded.store.putResults({ region: REGION, invocationId, results: attempt(3_120) });
    await embedded.store.rollUp(range);

    const stored = await embedded.store.queryResults({ since: "2025-03-01T12:00:00Z", until: "2025-03-01T12:01:00Z" });
    expect(stored).toHaveLength(12);
    expect(new Set(stored.map((r) => r.startedAt.slice(17, 19)))).toContain("03");
    const [minute] = await embedded.store.queryRollups({
      ...SERIES,
      granularity: "minute",
      from: "2025-03-01T12:00Z",
      to: "2025-03-01T12:01Z",
    });
    expect(minute?.total).toBe(12);
  });
});

describe("deleteExpired", () => {
  it("removes only items whose expiry has passed", async () => {
    const day = 86_400_000;
    const store = embedded.store;
    const old = resultSeries(new Date(NOW - 10 * day).toISOString(), 10, 1_000); // raw kept 7 days: expired
    const recent = resultSeries(new Date(NOW - 1 * day).toISOString(), 10, 1_000, { name: "recent" });
    const ancient = resultSeries(new Date(NOW - 20 * day).toISOString(), 3, 1_000, { name: "ancient" });
    for (const [invocationId, results] of [
      ["old", old],
      ["recent", recent],
      ["ancient", ancient],
    ] as const) {
      await store.putResults({ region: REGION, invocationId, results });
      const start = Date.parse(results[0]!.startedAt);
      await store.rollUp({ region: REGION, granularity: "minute", from: start, to: start + 60_000 });
    }

    // Raw items live 7 days, minute items 14: old loses its raw item, ancient its raw and minute items and its hour's pending marker.
    const report = await store.deleteExpired(NOW);
    expect(report.deleted).toBe(1 + 2 + 1);

    const remaining = await store.queryResults({ since: NOW - 2 * day, until: NOW });
    expect(remaining.map((r) => r.name)).toEqual(Array(10).fill("recent"));
    expect(await store.queryResults({ since: NOW - 21 * day, until: NOW - 9 * day })).toEqual([]);
    const minutes = (target: string, daysAgo: number) =>
      store.queryRollups({ ...SERIES, target, granularity: "minute", from: NOW - daysAgo * day, to: NOW - daysAgo * day + 60_000 });
    expect((await minutes("anycast-dns", 10)).map((r) => r.total)).toEqual([10]);
    expect(await minutes("ancient", 20)).toEqual([]);
    expect(await minutes("recent", 1)).toHaveLength(1);
    expect((await store.listSeries()).map((s) => s.target).sort()).toEqual(["ancient", "anycast-dns", "recent"]);
    expect((await store.deleteExpired(NOW)).deleted).toBe(0);
  });
});
