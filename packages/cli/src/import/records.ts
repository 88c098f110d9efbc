// The records of an import file, read as a stream in bounded memory: one per
// line, or (Atlas's API format) one per element of a top-level JSON array.
// Each record carries the line it starts on, for FILE:LINE messages; a record
// longer than the cap is reported by its length and skipped without being
// held, so one huge line or element costs no more memory than the cap.

/** A record's text, or why it could not be read whole. */
export type ImportRecord = { line: number; text: string } | { line: number; problem: string };

export interface RecordOptions {
  /** Longest record kept, in bytes; longer ones become a problem record. */
  maxBytes: number;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/** Collects the bytes of one record up to a cap; past it only counts. */
class RecordBytes {
  private parts: Buffer[] = [];
  private kept = 0;
  /** Every byte of the record, kept or not. */
  length = 0;

  constructor(private readonly maxBytes: number) {}

  add(chunk: Buffer, from: number, to: number): void {
    if (to <= from) return;
    this.length += to - from;
    if (this.length > this.maxBytes) {
      this.parts = [];
      this.kept = 0;
      return;
    }
    // A view, not a copy: the chunk stays alive only until the record ends.
    this.parts.push(chunk.subarray(from, to));
    this.kept += to - from;
  }

  get overflowed(): boolean {
    return this.length > this.maxBytes;
  }

  take(): string {
    const text = this.parts.length === 1 ? this.parts[0]!.toString("utf8") : Buffer.concat(this.parts, this.kept).toString("utf8");
    this.parts = [];
    this.kept = 0;
    this.length = 0;
    return text;
  }

  reset(): void {
    this.parts = [];
    this.kept = 0;
    this.length = 0;
  }
}

function tooLong(bytes: number, maxBytes: number, what: string): string {
  return `${what} is ${bytes} bytes, over the ${maxBytes}-byte limit of one record`;
}

/**
 * One record per line (`\n` or `\r\n`), blank lines skipped. Lines are
 * counted from 1.
 */
export async function* lineRecords(source: AsyncIterable<Buffer | string>, options: RecordOptions): AsyncGenerator<ImportRecord> {
  const bytes = new RecordBytes(options.maxBytes + 1);
  let line = 1;
  const finish = (): ImportRecord | null => {
    const length = bytes.length;
    if (bytes.overflowed) {
      bytes.reset();
      return { line, problem: tooLong(length, options.maxBytes, "the line") };
    }
    const text = bytes.take().trim();
    if (text === "") return null;
    // The cap allowed one byte more for a `\r`: anything else over it is too long.
    if (length > options.maxBytes && Buffer.byteLength(text) > options.maxBytes) {
      return { line, problem: tooLong(length, options.maxBytes, "the line") };
    }
    return { line, text };
  };
  for await (const raw of source) {
    const chunk = typeof raw === "string" ? Buffer.from(raw) : raw;
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE, start); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      bytes.add(chunk, start, end);
      const record = finish();
      if (record !== null) yield record;
      line++;
      start = end + 1;
    }
    bytes.add(chunk, start, chunk.length);
  }
  const last = finish();
  if (last !== null) yield last;
}

const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === NEWLINE || byte === CARRIAGE_RETURN;
}

type ArrayState = "before-array" | "before-element" | "in-element" | "after-element" | "after-array";

/**
 * One record per element of a top-level JSON array (`[ {...}, {...} ]`),
 * split by tracking strings, escapes and nesting depth only: each element is
 * parsed later on its own, so a bad element is one bad record. Bytes outside
 * the array's grammar (garbage between elements, text after `]`, a missing
 * `]`) end the file with a problem record at their line; the elements before
 * them stay good. UTF-8 is split safely: every byte the splitter looks at is
 * ASCII, and multi-byte sequences never contain ASCII bytes.
 */
export async function* arrayRecords(source: AsyncIterable<Buffer | string>, options: RecordOptions): AsyncGenerator<ImportRecord> {
  const bytes = new RecordBytes(options.maxBytes);
  let state = "before-array" as ArrayState;
  let line = 1;
  let elementLine = 1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  const element = (): ImportRecord => {
    const length = bytes.length;
    if (bytes.overflowed) {
      bytes.reset();
      return { line: elementLine, problem: tooLong(length, options.maxBytes, "the array element") };
    }
    return { line: elementLine, text: bytes.take() };
  };
  const unexpected = (byte: number, expected: string): ImportRecord => ({
    line,
    problem: `not a JSON array of results: expected ${expected}, got ${JSON.stringify(String.fromCharCode(byte))}`,
  });

  for await (const raw of source) {
    const chunk = typeof raw === "string" ? Buffer.from(raw) : raw;
    let elementStart = state === "in-element" ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (state === "in-element") {
        if (inString) {
          if (escaped) escaped = false;
          else if (byte === BACKSLASH) escaped = true;
          else if (byte === QUOTE) inString = false;
          else if (byte === NEWLINE) line++;
          continue;
        }
        if (byte === QUOTE) inString = true;
        else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) depth++;
        else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
          if (depth > 0) depth--;
          else {
            // The array's own `]` ends a scalar element (`[1, 2]`).
            bytes.add(chunk, elementStart, i);
            yield element();
            state = "after-array";
            continue;
          }
          if (depth === 0) {
            bytes.add(chunk, elementStart, i + 1);
            yield element();
            state = "after-element";
          }
        } else if (depth === 0 && byte === COMMA) {
          bytes.add(chunk, elementStart, i);
          yield element();
          state = "before-element";
        } else if (byte === NEWLINE) line++;
        continue;
      }
      if (byte === NEWLINE) {
        line++;
        continue;
      }
      if (isSpace(byte)) continue;
      switch (state) {
        case "before-array":
          if (byte !== OPEN_BRACKET) {
            yield unexpected(byte, '"["');
            return;
          }
          state = "before-element";
          break;
        case "before-element":
        case "after-element":
          if (byte === CLOSE_BRACKET) state = "after-array";
          else if (state === "after-element" && byte === COMMA) state = "before-element";
          else if (state === "after-element") {
            yield unexpected(byte, '"," or "]"');
            return;
          } else {
            state = "in-element";
            elementLine = line;
            elementStart = i;
            depth = byte === OPEN_BRACE || byte === OPEN_BRACKET ? 1 : 0;
            inString = byte === QUOTE;
            escaped = false;
          }
          break;
        case "after-array":
          yield unexpected(byte, "the end of the file after the array");
          return;
      }
    }
    if (state === "in-element") bytes.add(chunk, elementStart, chunk.length);
  }
  if (state === "in-element") {
    bytes.reset();
    yield { line: elementLine, problem: "not a JSON array of results: the file ends inside this element" };
  } else if (state !== "after-array") {
    yield { line, problem: 'not a JSON array of results: the file ends before its closing "]"' };
  }
}

/**
 * Records of a file in either form, by its first non-space byte: `[` starts
 * a JSON array, anything else is one record per line.
 */
export async function* autoRecords(source: AsyncIterable<Buffer | string>, options: RecordOptions): AsyncGenerator<ImportRecord> {
  const iterator = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let isArray: boolean | null = null;
  while (isArray === null) {
    const next = await iterator.next();
    if (next.done) break;
    const chunk = typeof next.value === "string" ? Buffer.from(next.value) : next.value;
    head.push(chunk);
    for (const byte of chunk) {
      if (isSpace(byte)) continue;
      isArray = byte === OPEN_BRACKET;
      break;
    }
  }
  async function* replay(): AsyncGenerator<Buffer> {
    yield* head;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      yield typeof next.value === "string" ? Buffer.from(next.value) : next.value;
    }
  }
  yield* isArray ? arrayRecords(replay(), options) : lineRecords(replay(), options);
}
