// Classified decode failures of @popwatch/bgp. Callers branch on `code`, never
// on message text. Both carry a byte offset so a bad file can be inspected.

/** Why bytes could not be decoded (a closed set). */
export type BgpDecodeErrorCode =
  /** The bytes end before a length field says they should. */
  | "truncated"
  /** A length field is impossible (shorter than its header, longer than its container, past a cap). */
  | "bad-length"
  /** The 16-byte BGP marker is not all ones. */
  | "bad-marker"
  /** A BGP message type outside 1..5. */
  | "bad-message-type"
  /** A path attribute whose value does not fit its type (ORIGIN 7, NEXT_HOP of 3 bytes, an AS_PATH segment type 9). */
  | "bad-attribute"
  /** An address family (AFI) other than IPv4 and IPv6 where an address must follow. */
  | "bad-address-family"
  /** An NLRI prefix longer than its address family allows. */
  | "bad-prefix"
  /** A TABLE_DUMP_V2 RIB entry naming a peer the PEER_INDEX_TABLE does not have (or no table yet). */
  | "bad-peer-index"
  /** A gzip or bzip2 stream that is corrupt or ends early. */
  | "compression";

/** One BGP message (or MRT record body) could not be decoded; `offset` counts from the start of the bytes given. */
export class BgpWireError extends Error {
  override readonly name = "BgpWireError";
  readonly code: BgpDecodeErrorCode;
  readonly offset: number;
  /** What was wrong, without the code and offset. */
  readonly detail: string;

  constructor(code: BgpDecodeErrorCode, offset: number, detail: string) {
    super(`${code} at byte ${offset}: ${detail}`);
    this.code = code;
    this.offset = offset;
    this.detail = detail;
  }
}

/**
 * An MRT stream stopped being decodable. Every record before `offset` (the
 * byte offset of the bad record in the decompressed stream) was already
 * yielded; `recordsRead` says how many.
 */
export class MrtDecodeError extends Error {
  override readonly name = "MrtDecodeError";
  readonly code: BgpDecodeErrorCode;
  readonly offset: number;
  readonly recordsRead: number;
  readonly detail: string;

  constructor(code: BgpDecodeErrorCode, offset: number, recordsRead: number, detail: string, options?: { cause?: unknown }) {
    super(`${code} at byte ${offset} (after ${recordsRead} records): ${detail}`, options);
    this.code = code;
    this.offset = offset;
    this.recordsRead = recordsRead;
    this.detail = detail;
  }
}

// ---- Live feeds (RIS Live, BMP; branch feeds) ----------------------------------
// Thrown only for options a feed cannot start with; bad frames and bytes on a
// live connection are data ({ code, message } items), never thrown.

/** Options a live feed cannot start with (no prefixes, a prefix that does not parse, a bad port); names the field. */
export class LiveFeedConfigError extends Error {
  override readonly name = "LiveFeedConfigError";
  readonly code = "live_feed_config_invalid" as const;
  readonly field: string;

  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(`${field}: ${message}`, options);
    this.field = field;
  }
}
