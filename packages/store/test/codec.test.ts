// Pure parts of store v2: the payload codec and the key layout.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_DECODED_BYTES, decodePayload, dictionaryDigest, encodePayloadText } from "../src/codec";
import { StoreError } from "../src/errors";
import { periodOfRollupKey, rawSortKey, rollupItemKey } from "../src/keys";
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
  it("splits a period into partition and sort key and back", () => {
    expect(rollupItemKey("minute", "eu-central-1", "2025-03-02T10:07")).toEqual({ pk: "M#eu-central-1#2025-03-02", sk: "10:07" });
    expect(rollupItemKey("hour", "eu-central-1", "2025-03-02T10")).toEqual({ pk: "H#eu-central-1#2025-03", sk: "02T10" });
    expect(rollupItemKey("day", "a#b", "2025-03-02")).toEqual({ pk: "D#a%23b#2025", sk: "03-02" });
    for (const [granularity, period] of [
      ["minute", "2025-12-31T23:59"],
      ["hour", "2025-12-31T23"],
      ["day", "2025-12-31"],
    ] as const) {
      const { pk, sk } = rollupItemKey(granularity, "r", period);
      expect(periodOfRollupKey(granularity, pk, sk)).toBe(period);
    }
    expect(rawSortKey("2025-03-02T10:07", "2025-03-02T10:07:10.000Z", "eu#1", 2)).toBe(
      "2025-03-02T10:07#2025-03-02T10:07:10.000Z#eu%231#002",
    );
  });
});
