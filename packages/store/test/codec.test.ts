// Pure parts of the store: the payload codec and the key layout (v3).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_DECODED_BYTES, decodePayload, dictionaryDigest, encodePayloadText } from "../src/codec";
import { StoreError } from "../src/errors";
import {
  RAW_SHARDS,
  bucketOfKey,
  bucketPartitionKey,
  bucketSortKey,
  bucketSortKeyRange,
  minuteAndWriterOfKey,
  minuteSortKeyRange,
  pendingOfSortKey,
  pendingSortKey,
  rawPartitionKey,
  rawSortKey,
  vantageOfWriterKey,
  writerKey,
  writerShard,
} from "../src/keys";
import { resultSeries } from "./support/store-fixtures";

// SHA-256 of the d1 dictionary as first released. Never update it: add a codec instead.
const D1_DIGEST = "a45b9732939f7ba581f6935dee41542cb60e9192a343e7a157609b32eab8a740";

describe("payload codec d1", () => {
  it("keeps its dictionary: items written with d1 must stay readable", () => {
    expect(dictionaryDigest("d1")).toBe(D1_DIGEST);
  });

  it("round-trips any JSON value, deterministically, and smaller than the text for a round of results", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const json = JSON.stringify(value) ?? "null";
        const encoded = encodePayloadText(json);
        expect(encodePayloadText(json)).toEqual(encoded);
        expect(JSON.stringify(decodePayload("d1", encoded, "x"))).toBe(json);
      }),
    );
    const round = JSON.stringify(resultSeries("2025-03-02T10:00:00.000Z", 40, 250));
    expect(encodePayloadText(round).length).toBeLessThan(round.length / 10);
  });

  it("reports what does not decode as store_corrupt, never as a zlib error", () => {
    const good = encodePayloadText("[1,2,3]");
    const corrupt = (codec: unknown, data: unknown) => {
      try {
        decodePayload(codec, data, "item X");
      } catch (err) {
        return err instanceof StoreError && err.code === "store_corrupt" && err.message.startsWith("item X") ? "store_corrupt" : err;
      }
      return "decoded";
    };
    expect(corrupt("d1", good)).toBe("decoded");
    expect(corrupt("d2", good)).toBe("store_corrupt");
    expect(corrupt(undefined, good)).toBe("store_corrupt");
    expect(corrupt("d1", undefined)).toBe("store_corrupt");
    expect(corrupt("d1", good.subarray(0, good.length - 2))).toBe("store_corrupt");
    expect(corrupt("d1", new Uint8Array([0xde, 0xad, 0xbe, 0xef]))).toBe("store_corrupt");
    expect(corrupt("d1", encodePayloadText("[1,2"))).toBe("store_corrupt");
    // A tiny item that would inflate past any honest payload.
    const bomb = encodePayloadText(`"${"a".repeat(MAX_DECODED_BYTES + 1)}"`);
    expect(bomb.length).toBeLessThan(200_000);
    expect(corrupt("d1", bomb)).toBe("store_corrupt");
  });
});

describe("keys", () => {
  it("files raw items under the hour and the writer's shard, minute then writer first in the sort key", () => {
    const agent = writerKey({ region: "eu-central-1" });
    const pk = rawPartitionKey("2025-03-02T10", writerShard(agent));
    const sk = rawSortKey("2025-03-02T10:07", agent, "2025-03-02T10:07:10.000Z", "eu#1", 2);
    expect(sk).toBe("07#eu-central-1#2025-03-02T10:07:10.000Z#eu%231#002");
    expect(minuteAndWriterOfKey(pk, sk)).toEqual({ minute: "2025-03-02T10:07", writer: "eu-central-1" });
    const { low, high } = minuteSortKeyRange("2025-03-02T10:07", "2025-03-02T10:07");
    expect(low <= sk && sk <= high).toBe(true);
    expect(sk < minuteSortKeyRange("2025-03-02T10:08", "2025-03-02T10:09").low).toBe(true);
  });

  it("keeps import batches apart from vantages, and shards writers stably", () => {
    const batch = writerKey({ importBatch: "eu-central-1" });
    expect(batch).toBe("+eu-central-1");
    expect(vantageOfWriterKey(batch)).toBeNull();
    expect(vantageOfWriterKey("atlas-1")).toBe("atlas-1");
    expect(writerKey({ importBatch: "a#b" })).toBe("+a%23b");
    // FNV-1a of the UTF-8 bytes: fixed values, so every process and version files a writer in the same shard.
    expect(["eu-central-1", "us-east-1", "atlas-6001", "+batch"].map(writerShard)).toEqual([5, 7, 2, 6]);
    fc.assert(fc.property(fc.string(), (w) => Number.isInteger(writerShard(w)) && writerShard(w) >= 0 && writerShard(w) < RAW_SHARDS));
    const shards = new Set(Array.from({ length: 200 }, (_, i) => writerShard(`atlas-${i}`)));
    expect(shards.size).toBe(RAW_SHARDS);
  });

  it("splits buckets into a partition and part keys and back", () => {
    expect(bucketPartitionKey("hour", "2025-03-02T10")).toBe("H#2025-03-02");
    expect(bucketSortKey("hour", "2025-03-02T10", 3)).toBe("10#003");
    expect(bucketPartitionKey("day", "2025-03-02")).toBe("D#2025-03");
    expect(bucketSortKey("day", "2025-03-02", 0)).toBe("02#000");
    expect(bucketOfKey("hour", "H#2025-03-02", "10#003")).toEqual({ period: "2025-03-02T10", part: 3 });
    expect(bucketOfKey("day", "D#2025-03", "02#000")).toEqual({ period: "2025-03-02", part: 0 });
    const { low, high } = bucketSortKeyRange("hour", "2025-03-02T10", "2025-03-02T11");
    expect([low <= "10#000", "11#999" <= high, "12#000" > high, "09#999" < low]).toEqual([true, true, true, true]);
    expect(pendingOfSortKey(pendingSortKey("hour", "2025-03-02T10", 5))).toEqual({ granularity: "hour", period: "2025-03-02T10" });
    expect(pendingOfSortKey(pendingSortKey("day", "2025-03-02"))).toEqual({ granularity: "day", period: "2025-03-02" });
    expect(pendingOfSortKey("X#nonsense")).toBeNull();
  });
});
