// Cuts a BMP byte stream into whole messages by the common header's length.
// The caller pulls messages one at a time, so it can stop mid-chunk when its
// consumer is behind; what stays buffered is at most the socket's last chunk
// plus one message (bounded by `maxMessageBytes`). A header
// that cannot be right (version, length) ends framing, since nothing after
// it can be trusted to start a message.

import { BMP_COMMON_HEADER_LENGTH, BMP_VERSION, type BmpError } from "./decode";

/** Large enough for a Route Monitoring with an RFC 8654 extended (64 KiB) UPDATE and its headers. */
export const DEFAULT_MAX_BMP_MESSAGE_BYTES = 128 * 1024;

export interface FramedMessage {
  bytes: Uint8Array;
  /** Where the message starts in the connection's stream. */
  offset: number;
}

export class BmpFramer {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Stream offset of the first buffered byte. */
  private offset = 0;
  private failed: BmpError | null = null;

  constructor(private readonly maxMessageBytes = DEFAULT_MAX_BMP_MESSAGE_BYTES) {}

  /** Bytes held that do not yet form a whole message. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** Adds bytes from the connection; take the messages they complete with next(). */
  push(chunk: Buffer): void {
    if (this.failed) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /**
   * The next whole message, null when more bytes are needed (or framing has
   * failed), or an error when a header is impossible: then the caller closes
   * the connection, and every later call returns null.
   */
  next(): FramedMessage | BmpError | null {
    if (this.failed || this.buffered < BMP_COMMON_HEADER_LENGTH) return null;
    const head = this.peek(BMP_COMMON_HEADER_LENGTH);
    if (head[0] !== BMP_VERSION) return this.fail("bad_version", `BMP version ${head[0]}, expected ${BMP_VERSION}`);
    const length = head.readUInt32BE(1);
    if (length < BMP_COMMON_HEADER_LENGTH || length > this.maxMessageBytes)
      return this.fail("bad_length", `BMP message length ${length} (allowed ${BMP_COMMON_HEADER_LENGTH}..${this.maxMessageBytes})`);
    if (this.buffered < length) return null;
    return { bytes: this.take(length), offset: this.offset - length };
  }

  /** The connection ended: an error when it ended inside a message. */
  finish(): BmpError | null {
    if (this.failed || this.buffered === 0) return null;
    return { code: "truncated_stream", message: `connection closed ${this.buffered} bytes into a message`, offset: this.offset };
  }

  private fail(code: "bad_version" | "bad_length", message: string): BmpError {
    this.failed = { code, message, offset: this.offset };
    this.chunks = [];
    this.buffered = 0;
    return this.failed;
  }

  private peek(count: number): Buffer {
    if ((this.chunks[0] as Buffer).length < count) this.chunks = [Buffer.concat(this.chunks)];
    return (this.chunks[0] as Buffer).subarray(0, count);
  }

  private take(count: number): Uint8Array {
    let first = this.chunks[0] as Buffer;
    if (first.length < count) {
      first = Buffer.concat(this.chunks);
      this.chunks = [first];
    }
    const message = first.subarray(0, count);
    if (first.length === count) this.chunks.shift();
    else this.chunks[0] = first.subarray(count);
    this.buffered -= count;
    this.offset += count;
    return message;
  }
}
