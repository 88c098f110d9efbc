// The MRT reader's framing and failure contract: any bytes give entries or a
// classified MrtDecodeError; a cut file gives exactly the records before the
// cut and the offset of the cut record; any chunking gives the same entries.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_MRT_RECORD_LENGTH, MrtDecodeError, bgpdumpLines, newMrtStats, readMrtEntries, readMrtEvents } from "../src/index";
import { MRT_FIXTURES } from "./mrt-oracle-support";
import { asPath, attribute, prefix, u16, u32, update } from "./wire-build";

async function* chunks(bytes: Uint8Array, sizes: number[] = [bytes.length]): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const size = Math.max(1, sizes[i % sizes.length] as number);
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

interface Outcome {
  text: string;
  warnings: string[];
  records: number;
  error: MrtDecodeError | null;
}

async function decode(source: AsyncIterable<Uint8Array>): Promise<Outcome> {
  const stats = newMrtStats();
  let text = "";
  const warnings: string[] = [];
  let error: MrtDecodeError | null = null;
  try {
    for await (const batch of readMrtEntries(source, { stats })) {
      for (const entry of batch) {
        if (entry.kind === "warning") warnings.push(`${entry.code}@${entry.offset}`);
        else text += bgpdumpLines(entry);
      }
    }
  } catch (err) {
    if (!(err instanceof MrtDecodeError)) throw err;
    error = err;
  }
  return { text, warnings, records: stats.records, error };
}

/** Record start offsets, read from the headers' length fields (independently of the reader). */
function recordStarts(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const starts: number[] = [];
  for (let at = 0; at < bytes.length; at += 12 + view.getUint32(at + 8)) starts.push(at);
  return starts;
}

/** An MRT record (BGP4MP MESSAGE_AS4, IPv4 peer) around one BGP message. */
function bgp4mpRecord(seconds: number, message: Uint8Array): Uint8Array {
  const body = [...u32(64500), ...u32(64501), ...u16(0), ...u16(1), 198, 51, 100, 1, 198, 51, 100, 2, ...message];
  return Uint8Array.from([...u32(seconds), ...u16(16), ...u16(4), ...u32(body.length), ...body]);
}

const updates = gunzipSync(readFileSync(join(MRT_FIXTURES, "updates.20020722.2238.gz")));
const starts = recordStarts(updates);
const wholeText = (async () => (await decode(chunks(updates))).text)();

describe("readMrtEntries", () => {
  it("yields the same entries however the stream is chunked", async () => {
    const whole = await wholeText;
    expect(whole.split("\n").length).toBeGreaterThan(3000);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 8 }), async (sizes) => {
        const outcome = await decode(chunks(updates, sizes));
        expect(outcome.error).toBeNull();
        expect(outcome.records).toBe(starts.length);
        expect(outcome.text).toBe(whole);
      }),
      { numRuns: 25 },
    );
  });

  it("cut at any offset: exactly the records before the cut, then a truncated error at the cut record", async () => {
    // What the records before each boundary print, from the whole file's decode of each prefix of records.
    const textBefore = async (records: number) => (await decode(chunks(updates.subarray(0, starts[records] ?? updates.length)))).text;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: updates.length - 1 }), fc.integer({ min: 1, max: 70_000 }), async (cut, chunk) => {
        const outcome = await decode(chunks(updates.subarray(0, cut), [chunk]));
        const whole = starts.filter((start) => start < cut).length - (starts.includes(cut) ? 0 : 1);
        expect(outcome.records).toBe(whole);
        expect(outcome.text).toBe(await textBefore(whole));
        if (starts.includes(cut)) {
          expect(outcome.error).toBeNull();
        } else {
          expect(outcome.error?.code).toBe("truncated");
          expect(outcome.error?.offset).toBe(starts[whole]);
          expect(outcome.error?.recordsRead).toBe(whole);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("throws nothing but a classified MrtDecodeError on arbitrary bytes, naming an offset inside them", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 1, max: 64 }), async (bytes, chunk) => {
        const outcome = await decode(chunks(bytes, [chunk]));
        if (outcome.error) {
          expect(["truncated", "bad-length"]).toContain(outcome.error.code);
          expect(outcome.error.offset).toBeGreaterThanOrEqual(0);
          expect(outcome.error.offset).toBeLessThan(bytes.length);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("decodes records of arbitrary BGP bodies to entries or warnings, never an exception", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 200 }),
        fc.constantFrom(0, 1, 4, 5, 8, 9),
        fc.constantFrom(16, 17, 13),
        async (body, subtype, type) => {
          const record = Uint8Array.from([...u32(1), ...u16(type), ...u16(subtype), ...u32(body.length), ...body]);
          const outcome = await decode(chunks(record));
          expect(outcome.error).toBeNull();
          expect(outcome.records).toBe(1);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("skips a record with a malformed UPDATE with a warning at its offset and reads on", async () => {
    const good = update(
      [],
      [...attribute(1, [0]), ...attribute(2, asPath([[2, [64501]]], 4)), ...attribute(3, [198, 51, 100, 2])],
      prefix([203, 0, 113, 0], 24),
    );
    const bad = update([], attribute(1, [7]), []);
    const records = [bgp4mpRecord(10, good), bgp4mpRecord(11, bad), bgp4mpRecord(12, good)];
    const stats = newMrtStats();
    const warnings: string[] = [];
    const events = [];
    const bytes = Uint8Array.from(records.flatMap((record) => [...record]));
    for await (const event of readMrtEvents(chunks(bytes), {
      source: "rrc00",
      stats,
      onWarning: (w) => warnings.push(`${w.code}@${w.offset}`),
    }))
      events.push(event);
    expect(events.map((e) => [e.type, e.timeMs, e.source, "prefix" in e ? e.prefix : null])).toEqual([
      ["A", 10_000, "rrc00", "203.0.113.0/24"],
      ["A", 12_000, "rrc00", "203.0.113.0/24"],
    ]);
    // The ORIGIN attribute of the second record: its record start + MRT header 12 + BGP4MP header 20 + BGP header 19 + lengths 4.
    expect(warnings).toEqual([`bad-attribute@${(records[0] as Uint8Array).length + 12 + 20 + 19 + 4}`]);
    expect(stats).toEqual({ records: 3, unsupported: 0, otherMessages: 0, warnings: 1 });
  });

  it("rejects a record length past the cap as bad-length at that record, after the records before it", async () => {
    const good = bgp4mpRecord(10, update([], [], []));
    const huge = Uint8Array.from([...u32(11), ...u16(16), ...u16(4), ...u32(MAX_MRT_RECORD_LENGTH + 1)]);
    const outcome = await decode(chunks(Uint8Array.from([...good, ...huge])));
    expect(outcome.records).toBe(1);
    expect(outcome.error?.code).toBe("bad-length");
    expect(outcome.error?.offset).toBe(good.length);
  });

  it("counts record types it does not read instead of failing on them", async () => {
    const tableDumpV1 = Uint8Array.from([...u32(1), ...u16(12), ...u16(1), ...u32(3), 1, 2, 3]);
    const local = Uint8Array.from([...u32(1), ...u16(16), ...u16(7), ...u32(0)]);
    const stats = newMrtStats();
    for await (const _ of readMrtEntries(chunks(Uint8Array.from([...tableDumpV1, ...local])), { stats })) expect.unreachable();
    expect(stats).toEqual({ records: 2, unsupported: 2, otherMessages: 0, warnings: 0 });
  });
});
