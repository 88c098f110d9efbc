// The v2 item decoding of migrate-v2.ts on hostile input: whatever bytes,
// codec, counts or JSON a v2 item holds, decoding returns the item's results
// or rollups, or a `v2_corrupt` skip naming the item, and never throws.
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { periodKey, resultTime } from "@popwatch/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodePayloadText } from "../src/codec";
import { type Decoded, decodeV2Results, decodeV2Rollups } from "../src/migrate-v2";
import { v2FixtureItems } from "./support/v2-fixture";

type Item = Record<string, AttributeValue>;

const fixture = await v2FixtureItems();
const rawItem = fixture.find((item) => item.pk!.S === "R#eu-central-1#2026-12-04T23")!;
const minuteItem = fixture.find((item) => item.pk!.S === "M#eu-central-1#2026-12-04")!;

function expectSkipOrValid<T>(decoded: Decoded<T>, item: Item, valid: (value: T) => void): void {
  if (decoded.ok) valid(decoded.value);
  else {
    expect(decoded.skip.code).toBe("v2_corrupt");
    expect(decoded.skip.pk).toBe(item.pk?.S ?? "?");
    expect(decoded.skip.message.length).toBeGreaterThan(0);
  }
}

const validResults = (sk: string) => (value: { results: { region: string; startedAt: string; slotAt?: string }[] }) => {
  for (const result of value.results) {
    expect(result.region).toBe("eu-central-1");
    expect(periodKey("minute", resultTime(result))).toBe(sk.slice(0, 16));
  }
};

describe("v2 raw items on hostile input", () => {
  it("the fixture's items decode", () => {
    const decoded = decodeV2Results(rawItem, "eu-central-1");
    expect(decoded.ok && decoded.value.results.length).toBe(Number(rawItem.count!.N));
  });

  it("arbitrary bytes, codecs and counts: a v2_corrupt skip, never a throw", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2048 }),
        fc.oneof(fc.constant("d1"), fc.string({ maxLength: 4 })),
        fc.oneof(fc.constant(rawItem.count!.N!), fc.nat().map(String), fc.string({ maxLength: 4 })),
        fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
        (bytes, codec, count, invocationId) => {
          const item: Item = {
            ...rawItem,
            data: { B: bytes },
            codec: { S: codec },
            count: { N: count },
            ...(invocationId === undefined ? {} : { invocationId: { S: invocationId } }),
          };
          if (invocationId === undefined) delete item.invocationId;
          expectSkipOrValid(decodeV2Results(item, "eu-central-1"), item, validResults(item.sk!.S!));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a real item cut at any byte offset, or with any byte flipped: a skip, or results of its region and minute", () => {
    const data = rawItem.data!.B!;
    fc.assert(
      fc.property(fc.nat({ max: data.length - 1 }), fc.integer({ min: 1, max: 255 }), fc.boolean(), (offset, xor, cut) => {
        const bytes = cut ? data.slice(0, offset) : Uint8Array.from(data, (b, i) => (i === offset ? b ^ xor : b));
        const item: Item = { ...rawItem, data: { B: bytes } };
        const decoded = decodeV2Results(item, "eu-central-1");
        if (cut) expect(decoded.ok).toBe(false);
        expectSkipOrValid(decoded, item, validResults(item.sk!.S!));
      }),
      { numRuns: 300 },
    );
  });

  it("well-compressed JSON of any shape: a skip unless it is results of the item's region and minute", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        const text = JSON.stringify(value);
        const item: Item = {
          ...rawItem,
          data: { B: encodePayloadText(text) },
          count: { N: String(Array.isArray(value) ? value.length : 1) },
        };
        expectSkipOrValid(decodeV2Results(item, "eu-central-1"), item, validResults(item.sk!.S!));
      }),
      { numRuns: 300 },
    );
  });
});

describe("v2 rollup items on hostile input", () => {
  it("the fixture's minute item decodes to its period", () => {
    const decoded = decodeV2Rollups(minuteItem, "minute", "eu-central-1");
    expect(decoded.ok && decoded.value.period).toBe(`2026-12-04T${minuteItem.sk!.S}`);
  });

  it("arbitrary bytes, JSON, totals and series counts: a skip, or rollups of the item's granularity, region and period", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 1024 }).map((bytes) => ({ bytes, json: false })),
          fc.jsonValue({ maxDepth: 4 }).map((value) => ({ bytes: encodePayloadText(JSON.stringify(value)), json: true })),
          fc.nat({ max: minuteItem.data!.B!.length - 1 }).map((offset) => ({ bytes: minuteItem.data!.B!.slice(0, offset), json: false })),
        ),
        fc.oneof(fc.constant(minuteItem.total!.N!), fc.nat().map(String)),
        fc.oneof(fc.constant(minuteItem.series!.N!), fc.nat().map(String)),
        ({ bytes }, total, series) => {
          const item: Item = { ...minuteItem, data: { B: bytes }, total: { N: total }, series: { N: series } };
          expectSkipOrValid(decodeV2Rollups(item, "minute", "eu-central-1"), item, (value) => {
            expect(value.period).toBe(`2026-12-04T${minuteItem.sk!.S}`);
            for (const rollup of value.rollups) expect([rollup.region, rollup.granularity]).toEqual(["eu-central-1", "minute"]);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it("an item of another region or granularity than its keys say is a skip", () => {
    expect(decodeV2Rollups(minuteItem, "minute", "us-east-1").ok).toBe(false);
    const asHour = decodeV2Rollups({ ...minuteItem, pk: { S: "H#eu-central-1#2026-12" }, sk: { S: "04T23" } }, "hour", "eu-central-1");
    expect(asHour.ok).toBe(false);
  });
});
