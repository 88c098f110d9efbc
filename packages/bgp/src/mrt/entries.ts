// What one MRT record decodes to. The reader yields these in batches; the
// event and text formatters turn them into core's events or bgpdump lines.
import type { BgpDecodeErrorCode } from "../errors";
import type { BgpUpdate, PathAttributes } from "../wire/types";

/** Where and when an MRT record says its BGP data came from. */
export interface MrtOrigin {
  /** Unix seconds of the MRT header. */
  seconds: number;
  /** Microseconds of a *_ET record (0 otherwise). */
  microseconds: number;
  /** The record had an extended timestamp (BGP4MP_ET). */
  extendedTime: boolean;
  peer: string;
  peerAs: number;
}

/** A BGP4MP(_ET) MESSAGE* record holding an UPDATE. */
export interface MrtUpdateEntry extends MrtOrigin {
  kind: "update";
  addPath: boolean;
  update: BgpUpdate;
}

/** One route of a TABLE_DUMP_V2 RIB record (one prefix, one peer). */
export interface MrtRibEntry extends MrtOrigin {
  kind: "rib";
  addPath: boolean;
  prefix: string;
  /** The ADD-PATH path identifier (RIB_*_ADDPATH subtypes), else null. */
  pathId: number | null;
  attributes: PathAttributes;
}

/** A BGP4MP(_ET) STATE_CHANGE(_AS4) record; states are RFC 6396 §4.4.1's numbers (1 Idle … 6 Established). */
export interface MrtStateEntry extends MrtOrigin {
  kind: "state";
  oldState: number;
  newState: number;
}

/**
 * A record whose framing was sound but whose body was not (a malformed
 * UPDATE, a RIB entry naming an unknown peer): it is skipped, as bgpdump
 * skips it, and reading goes on. `offset` is the byte in the decompressed
 * stream where the bad field starts.
 */
export interface MrtWarning {
  kind: "warning";
  code: BgpDecodeErrorCode;
  offset: number;
  message: string;
}

export type MrtEntry = MrtUpdateEntry | MrtRibEntry | MrtStateEntry | MrtWarning;

/** Counts a reader fills in as it goes (pass one in to read them after the stream ends or fails). */
export interface MrtStats {
  /** Whole records framed. */
  records: number;
  /** Records of types or subtypes popwatch does not read (TABLE_DUMP v1, *_LOCAL messages, multicast RIBs...), skipped. */
  unsupported: number;
  /** BGP4MP messages that are not UPDATEs (OPEN, KEEPALIVE, NOTIFICATION). */
  otherMessages: number;
  /** Records skipped with an MrtWarning. */
  warnings: number;
}

export function newMrtStats(): MrtStats {
  return { records: 0, unsupported: 0, otherMessages: 0, warnings: 0 };
}
