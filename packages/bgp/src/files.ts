// MRT archives come plain, gzip'd (RIPE RIS) or bzip2'd (RouteViews). The
// compression is recognised by its magic bytes, not the file name, and
// undone as a stream so a file never sits in memory whole.
import { createReadStream } from "node:fs";
import { PassThrough, Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import unbzip2 from "unbzip2-stream";
import { BgpWireError } from "./errors";

export type MrtCompression = "none" | "gzip" | "bzip2";

/** The compression of a stream from its first bytes (gzip 1f 8b, bzip2 "BZh"). */
export function detectCompression(first: Uint8Array): MrtCompression {
  if (first[0] === 0x1f && first[1] === 0x8b) return "gzip";
  if (first[0] === 0x42 && first[1] === 0x5a && first[2] === 0x68) return "bzip2";
  return "none";
}

const READ_CHUNK = 64 * 1024;

/**
 * The decompressed bytes of `raw`. A corrupt or cut compressed stream throws
 * a BgpWireError with code `compression` (after every byte before the fault);
 * the MRT reader turns it into an MrtDecodeError at the record it broke.
 */
export async function* decompressedBytes(raw: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const iterator = raw[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return;
  const compression = detectCompression(first.value);
  async function* all(): AsyncGenerator<Uint8Array> {
    yield first.value as Uint8Array;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  }
  if (compression === "none") {
    yield* all();
    return;
  }
  const source = Readable.from(all(), { objectMode: false });
  // unbzip2-stream is a classic (through) stream: a PassThrough gives it backpressure and async iteration.
  const inflater = compression === "gzip" ? createGunzip({ chunkSize: 256 * 1024 }) : unbzip2();
  const output =
    compression === "gzip" ? (inflater as NodeJS.ReadWriteStream) : inflater.pipe(new PassThrough({ highWaterMark: READ_CHUNK }));
  // Errors of the inflater are the compressed stream's fault; the source's (disk) are not.
  let inflaterFailure: Error | null = null;
  inflater.on("error", (err: Error) => {
    inflaterFailure ??= err;
    (output as PassThrough).destroy(err);
  });
  source.on("error", (err: Error) => (output as PassThrough).destroy(err));
  source.pipe(inflater as NodeJS.WritableStream);
  try {
    for await (const chunk of output as AsyncIterable<Uint8Array>) yield chunk;
  } catch (err) {
    const failure = inflaterFailure as Error | null;
    if (failure) throw new BgpWireError("compression", 0, `${compression} stream: ${failure.message}`);
    throw err;
  } finally {
    source.destroy();
  }
}

/** The decompressed bytes of an MRT file on disk. */
export function readMrtFile(path: string): AsyncGenerator<Uint8Array> {
  return decompressedBytes(createReadStream(path, { highWaterMark: READ_CHUNK }));
}
