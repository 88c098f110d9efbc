// RFC 6396 record framing over a byte stream, with bounded memory: whole
// records are decoded in place from each chunk; only a record that straddles
// chunks is copied, into a buffer of exactly its size.
import { BgpWireError, MrtDecodeError } from "../errors";
import { u16At, u32At } from "../wire/reader";
import { type MrtEntry, type MrtStats, newMrtStats } from "./entries";
import { MRT_HEADER_LENGTH, type MrtReaderState, type RecordBody, decodeRecord } from "./record";

/** Records longer than this are taken for garbage (RIB records of full tables stay far below). */
export const MAX_MRT_RECORD_LENGTH = 16 * 1024 * 1024;

export interface ReadMrtOptions {
  /** Filled in while reading: records framed, skipped, warned about. */
  stats?: MrtStats;
}

/**
 * Reads MRT records from `input` (decompressed bytes) and yields their
 * entries, one batch per input chunk, in file order. Malformed record bodies
 * are yielded as warning entries and skipped. When the framing breaks (a
 * record runs past the end of the stream, an impossible length, a corrupt
 * compressed stream), every entry before the bad record has been yielded and
 * the generator throws an MrtDecodeError naming the offset of the bad record.
 */
export async function* readMrtEntries(input: AsyncIterable<Uint8Array>, options: ReadMrtOptions = {}): AsyncGenerator<MrtEntry[]> {
  const stats = options.stats ?? newMrtStats();
  const state: MrtReaderState = { peers: null };
  const header = new Uint8Array(MRT_HEADER_LENGTH);
  let straddling: Uint8Array | null = null; // the record being assembled across chunks
  let filled = 0; // bytes of the straddling record (or of `header`) held so far
  let recordOffset = 0; // stream offset of the next (or straddling) record

  const fail = (code: "truncated" | "bad-length" | "compression", message: string, cause?: unknown): never => {
    throw new MrtDecodeError(code, recordOffset, stats.records, message, cause === undefined ? undefined : { cause });
  };
  const recordLength = (bytes: Uint8Array, at: number): number => {
    const length = u32At(bytes, at + 8);
    if (length > MAX_MRT_RECORD_LENGTH) fail("bad-length", `MRT record of ${length} bytes exceeds ${MAX_MRT_RECORD_LENGTH}`);
    return MRT_HEADER_LENGTH + length;
  };
  // One record description, refilled for each record (it does not outlive decodeRecord).
  const body: RecordBody = { bytes: header, start: 0, end: 0, fileOffset: 0, seconds: 0, type: 0, subtype: 0 };
  const decode = (bytes: Uint8Array, at: number, end: number, out: MrtEntry[]): void => {
    stats.records++;
    body.bytes = bytes;
    body.start = at + MRT_HEADER_LENGTH;
    body.end = end;
    body.fileOffset = recordOffset + MRT_HEADER_LENGTH;
    body.seconds = u32At(bytes, at);
    body.type = u16At(bytes, at + 4);
    body.subtype = u16At(bytes, at + 6);
    decodeRecord(body, state, out, stats);
    recordOffset += end - at;
  };

  const iterator = input[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<Uint8Array>;
    try {
      next = await iterator.next();
    } catch (err) {
      if (err instanceof BgpWireError) fail(err.code === "compression" ? "compression" : "truncated", err.detail, err);
      throw err;
    }
    if (next.done) break;
    const chunk = next.value;
    const out: MrtEntry[] = [];
    let p = 0;
    // Finish a record begun in an earlier chunk.
    if (filled > 0 || straddling) {
      if (!straddling) {
        const take = Math.min(MRT_HEADER_LENGTH - filled, chunk.length);
        header.set(chunk.subarray(0, take), filled);
        filled += take;
        p = take;
        if (filled < MRT_HEADER_LENGTH) continue;
        straddling = new Uint8Array(recordLength(header, 0));
        straddling.set(header, 0);
      }
      const take = Math.min(straddling.length - filled, chunk.length - p);
      straddling.set(chunk.subarray(p, p + take), filled);
      filled += take;
      p += take;
      if (filled < straddling.length) continue;
      decode(straddling, 0, straddling.length, out);
      straddling = null;
      filled = 0;
    }
    // Whole records in place.
    while (chunk.length - p >= MRT_HEADER_LENGTH) {
      const end = p + recordLength(chunk, p);
      if (end > chunk.length) break;
      decode(chunk, p, end, out);
      p = end;
    }
    // Keep the start of the next record.
    if (p < chunk.length) {
      if (chunk.length - p >= MRT_HEADER_LENGTH) {
        straddling = new Uint8Array(recordLength(chunk, p));
        straddling.set(chunk.subarray(p), 0);
      } else {
        header.set(chunk.subarray(p), 0);
      }
      filled = chunk.length - p;
    }
    if (out.length > 0) yield out;
  }
  if (filled > 0) {
    fail("truncated", straddling ? `MRT record of ${straddling.length} bytes cut after ${filled}` : `MRT header cut after ${filled} bytes`);
  }
}
