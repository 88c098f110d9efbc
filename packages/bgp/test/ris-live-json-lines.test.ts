// readRisLiveLines: RIS Live frames saved one per line, read back with the
// live client's conversion; bad lines are classified items with their line
// and byte offset, and nothing a file holds makes it throw.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { prefixOf } from "@popwatch/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type RisLiveLineItem, readRisLiveLines } from "../src/ris-live/json-lines";
import { parseRisFrame } from "../src/ris-live/messages";

async function collect(input: AsyncIterable<Uint8Array | string> | string[], options = {}): Promise<RisLiveLineItem[]> {
  const items: RisLiveLineItem[] = [];
  const source = Array.isArray(input) ? fromArray(input) : input;
  for await (const item of readRisLiveLines(source, options)) items.push(item);
  return items;
}

async function* fromArray(texts: string[]): AsyncGenerator<string> {
  yield* texts;
}

async function* chunks(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

const EVERYTHING = [prefixOf("0.0.0.0/0"), prefixOf("::/0")];
const RECORDED = join(import.meta.dirname, "fixtures/ris-live-messages.jsonl");

describe("readRisLiveLines", () => {
  it("yields per line what the live client makes of the same frame, in any chunking", async () => {
    const text = await readFile(RECORDED, "utf8");
    const lines = text.split("\n");
    const expected = lines
      .map((line, index) => ({ line, index }))
      .filter(({ line }) => line.trim() !== "")
      .map(({ line, index }) => ({ index, frame: parseRisFrame(line, EVERYTHING) }));
    const bytes = new TextEncoder().encode(text);
    for (const size of [1, 7, 64, bytes.length]) {
      const items = await collect(chunks(bytes, size));
      expect(items.map((item) => item.line)).toEqual(expected.map(({ index }) => index + 1));
      items.forEach((item, i) => {
        const { frame } = expected[i]!;
        if (frame.kind === "routes") expect(item).toMatchObject({ kind: "events", events: frame.events });
        else if (frame.kind === "error") expect(item).toMatchObject({ kind: "error", code: frame.error.code });
        else expect(item).toMatchObject({ kind: "events", events: [] });
      });
    }
  });

  it("names the line and the byte offset of a bad line and goes on", async () => {
    const good = JSON.stringify({
      type: "ris_message",
      data: {
        type: "UPDATE",
        timestamp: 1_700_000_000,
        host: "rrc00",
        peer: "198.51.100.1",
        peer_asn: "64500",
        path: [64500],
        announcements: [{ next_hop: "198.51.100.1", prefixes: ["203.0.113.0/24"] }],
      },
    });
    const text = `${good}\n\n{"type":\n${good}\r\n`;
    const items = await collect([text]);
    expect(items).toMatchObject([
      { kind: "events", line: 1, offset: 0, events: [{ type: "A", prefix: "203.0.113.0/24", origin: 64500, timeMs: 1_700_000_000_000 }] },
      { kind: "error", code: "invalid_json", line: 3, offset: good.length + 2 },
      { kind: "events", line: 4, offset: good.length + 2 + '{"type":\n'.length },
    ]);
  });

  it("reads a saved data object as its frame, and filters to the watched prefixes", async () => {
    const data = {
      type: "UPDATE",
      timestamp: 1_700_000_001.25,
      host: "rrc21.ripe.net",
      peer: "2001:DB8::1",
      peer_asn: "64501",
      path: [64501, 64500],
      announcements: [{ next_hop: "2001:db8::1", prefixes: ["2001:db8:100::/48", "2001:db9::/32"] }],
    };
    const items = await collect([`${JSON.stringify(data)}\n`], { watched: [prefixOf("2001:db8::/32")] });
    expect(items).toEqual([
      {
        kind: "events",
        line: 1,
        offset: 0,
        events: [
          expect.objectContaining({
            type: "A",
            source: "rrc21",
            peer: "2001:db8::1",
            prefix: "2001:db8:100::/48",
            asPath: [64501, 64500],
            timeMs: 1_700_000_001_250,
          }),
        ],
      },
    ]);
  });

  it("a line past the cap is one error item, and the next line is read", async () => {
    const long = `{"type":"ris_message","data":{"pad":"${"x".repeat(200)}"}}`;
    const items = await collect([`${long}\n{"type":"pong"}\n`], { maxLineBytes: 100 });
    expect(items).toEqual([
      { kind: "error", code: "line_too_long", message: "line longer than 100 bytes", line: 1, offset: 0 },
      { kind: "events", events: [], line: 2, offset: long.length + 1 },
    ]);
  });

  it("never throws on arbitrary bytes, and every item's offset starts its line", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 1, max: 50 }), async (bytes, size) => {
        const items = await collect(chunks(bytes, size), { maxLineBytes: 64 });
        for (const item of items) {
          expect(item.offset === 0 || bytes[item.offset - 1] === 0x0a).toBe(true);
          let newlines = 0;
          for (let i = 0; i < item.offset; i++) if (bytes[i] === 0x0a) newlines++;
          expect(item.line).toBe(newlines + 1);
        }
      }),
      { numRuns: 200 },
    );
  });
});
