// The import's record readers: lines and elements of a top-level JSON array,
// whatever the chunking, with the line each record starts on; records over
// the cap and broken arrays as problem records, everything before them kept.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ImportRecord, arrayRecords, autoRecords, lineRecords } from "../src/import/records";

async function* chunked(text: string, sizes: readonly number[]): AsyncGenerator<Buffer> {
  const bytes = Buffer.from(text);
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const size = sizes.length === 0 ? bytes.length : Math.max(1, sizes[i % sizes.length]!);
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

async function collect(records: AsyncIterable<ImportRecord>): Promise<ImportRecord[]> {
  const all: ImportRecord[] = [];
  for await (const record of records) all.push(record);
  return all;
}

const MAX = { maxBytes: 1000 };

describe("lineRecords", () => {
  it("gives each non-blank line with its number, CRLF or LF", async () => {
    const records = await collect(lineRecords(chunked('{"a":1}\r\n\n  \n{"b":"é"}\n{"c":3}', [3]), MAX));
    expect(records).toEqual([
      { line: 1, text: '{"a":1}' },
      { line: 4, text: '{"b":"é"}' },
      { line: 5, text: '{"c":3}' },
    ]);
  });

  it("reports a line over the cap by its length and keeps reading", async () => {
    const long = `{"x":"${"y".repeat(2000)}"}`;
    const records = await collect(lineRecords(chunked(`{"a":1}\n${long}\n{"b":2}\n`, [64]), MAX));
    expect(records).toEqual([
      { line: 1, text: '{"a":1}' },
      { line: 2, problem: `the line is ${long.length} bytes, over the 1000-byte limit of one record` },
      { line: 3, text: '{"b":2}' },
    ]);
  });

  it("splits any text the same way whatever the chunk sizes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: "binary", maxLength: 30 }), { maxLength: 20 }),
        fc.array(fc.nat(40)),
        async (lines, sizes) => {
          const text = lines.map((l) => l.replaceAll("\n", " ")).join("\n");
          const whole = await collect(lineRecords(chunked(text, []), MAX));
          expect(await collect(lineRecords(chunked(text, sizes), MAX))).toEqual(whole);
          const expected = lines.map((l, i) => ({ line: i + 1, text: l.replaceAll("\n", " ").trim() })).filter((r) => r.text !== "");
          expect(whole).toEqual(expected);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe("arrayRecords", () => {
  it("gives each element of the array with the line it starts on, strings with brackets and escapes included", async () => {
    const text = '[\n  {"a": "x]}\\"{"},\n  {"b": [1, {"c": 2}]}, 3,\n  "s,]" ,[4]\n]\n';
    for (const sizes of [[], [1], [5, 2]]) {
      const records = await collect(arrayRecords(chunked(text, sizes), MAX));
      expect(records.map((r) => ("text" in r ? { line: r.line, value: JSON.parse(r.text) } : r))).toEqual([
        { line: 2, value: { a: 'x]}"{' } },
        { line: 3, value: { b: [1, { c: 2 }] } },
        { line: 3, value: 3 },
        { line: 4, value: "s,]" },
        { line: 4, value: [4] },
      ]);
    }
  });

  it("an empty array has no records", async () => {
    expect(await collect(arrayRecords(chunked(" [ ] \n", [1]), MAX))).toEqual([]);
  });

  it("refuses an element over the cap as a problem record and goes on", async () => {
    const big = `{"x":"${"y".repeat(5000)}"}`;
    const records = await collect(arrayRecords(chunked(`[{"a":1},\n${big},\n{"b":2}]`, [100]), MAX));
    expect(records).toEqual([
      { line: 1, text: '{"a":1}' },
      { line: 2, problem: `the array element is ${big.length} bytes, over the 1000-byte limit of one record` },
      { line: 3, text: '{"b":2}' },
    ]);
  });

  it("keeps the elements before bytes outside the grammar, and says where they are", async () => {
    expect(await collect(arrayRecords(chunked('[{"a":1}\n x {"b":2}]', []), MAX))).toEqual([
      { line: 1, text: '{"a":1}' },
      { line: 2, problem: 'not a JSON array of results: expected "," or "]", got "x"' },
    ]);
    expect(await collect(arrayRecords(chunked('[{"a":1}, {"b":', [3]), MAX))).toEqual([
      { line: 1, text: '{"a":1}' },
      { line: 1, problem: "not a JSON array of results: the file ends inside this element" },
    ]);
    expect(await collect(arrayRecords(chunked('[{"a":1}', []), MAX))).toEqual([
      { line: 1, text: '{"a":1}' },
      { line: 1, problem: 'not a JSON array of results: the file ends before its closing "]"' },
    ]);
    expect(await collect(arrayRecords(chunked("[1] 2", []), MAX))).toEqual([
      { line: 1, text: "1" },
      { line: 1, problem: 'not a JSON array of results: expected the end of the file after the array, got "2"' },
    ]);
  });

  it("splits any JSON array into its elements, whatever the chunk sizes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 8 }), fc.array(fc.nat(30)), async (values, sizes) => {
        const text = JSON.stringify(values, null, values.length % 2 === 0 ? 2 : undefined);
        const records = await collect(arrayRecords(chunked(text, sizes), { maxBytes: 1_000_000 }));
        expect(records.map((r) => ("text" in r ? JSON.parse(r.text) : r))).toEqual(JSON.parse(text));
      }),
    );
  });

  it("never throws on arbitrary bytes: every record is text or a problem", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(20)), async (bytes, sizes) => {
        const text = `[${Buffer.from(bytes).toString("latin1")}`;
        const records = await collect(arrayRecords(chunked(text, sizes), { maxBytes: 50 }));
        for (const record of records) expect("text" in record || "problem" in record).toBe(true);
      }),
    );
  });
});

describe("autoRecords", () => {
  it("reads an array when the file starts with [ and lines otherwise", async () => {
    expect(await collect(autoRecords(chunked('  \n [{"a":1},{"b":2}]', [1]), MAX))).toEqual([
      { line: 2, text: '{"a":1}' },
      { line: 2, text: '{"b":2}' },
    ]);
    expect(await collect(autoRecords(chunked('{"a":1}\n{"b":2}\n', [1]), MAX))).toEqual([
      { line: 1, text: '{"a":1}' },
      { line: 2, text: '{"b":2}' },
    ]);
    expect(await collect(autoRecords(chunked("", []), MAX))).toEqual([]);
  });
});
