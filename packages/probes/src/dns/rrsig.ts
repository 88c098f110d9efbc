// RRSIG RDATA (RFC 4034 §3.1): its fixed fields, the signer's name, and the
// signature times as instants. Total like the rest of the decoder: RDATA that
// cannot be an RRSIG yields null, never a throw.
//
// A broken RRSIG is not a signature. The message still decodes (the record
// shows in its RFC 3597 generic form, as any unreadable RDATA does), the
// signature is left out of the facts and counted, and a probe that expects
// RRSIGs fails with dnssec_unsigned saying how many could not be read. A
// single bad signature does not make the whole response dns_malformed, just
// as a bad A record does not.

import { nameOut, readName } from "./names";

export const TYPE_RRSIG = 46;

/** Fixed part of the RDATA: type covered (2), algorithm, labels, original TTL (4), expiration (4), inception (4), key tag (2). */
const FIXED_LENGTH = 18;

export interface RrsigRdata {
  typeCovered: number;
  algorithm: number;
  labels: number;
  originalTtl: number;
  /** Seconds as a 32-bit serial number (RFC 4034 §3.1.5): an instant only relative to a clock, see signatureTimeMs. */
  expiration: number;
  inception: number;
  keyTag: number;
  /** Presentation form without the trailing dot, as every decoded name (`.` for the root). */
  signer: string;
  /** Offset of the signature bytes, which run to the end of the RDATA. */
  signatureStart: number;
}

/**
 * The RRSIG in `buf[start, end)`, or null when it is not one: shorter than
 * its fixed fields, a signer name that is invalid, compressed (RFC 4034
 * §3.1.7 forbids it) or overruns the RDATA, or no signature bytes after it.
 */
export function decodeRrsig(buf: Buffer, start: number, end: number): RrsigRdata | null {
  if (start < 0 || end > buf.length || end - start < FIXED_LENGTH + 1) return null;
  const signerStart = start + FIXED_LENGTH;
  const signerEnd = uncompressedNameEnd(buf, signerStart, end);
  if (signerEnd < 0 || signerEnd >= end) return null;
  if (readName(buf, signerStart) !== signerEnd) return null;
  return {
    typeCovered: buf.readUInt16BE(start),
    algorithm: buf[start + 2]!,
    labels: buf[start + 3]!,
    originalTtl: buf.readUInt32BE(start + 4),
    expiration: buf.readUInt32BE(start + 8),
    inception: buf.readUInt32BE(start + 12),
    keyTag: buf.readUInt16BE(start + 16),
    signer: nameOut.value,
    signatureStart: signerEnd,
  };
}

/** Offset after an uncompressed name that ends before `end`, or -1. */
function uncompressedNameEnd(buf: Buffer, off: number, end: number): number {
  let pos = off;
  while (pos < end) {
    const len = buf[pos]!;
    if (len === 0) return pos + 1;
    if ((len & 0xc0) !== 0) return -1; // a pointer, or a reserved label type
    pos += len + 1;
  }
  return -1;
}

const TWO_32 = 2 ** 32;
const TWO_31 = 2 ** 31;

/**
 * The instant (ms since the epoch) a 32-bit signature time stands for, read
 * relative to `nowMs` as RFC 4034 §3.1.5 asks (RFC 1982 serial arithmetic):
 * of all the instants with those low 32 bits, the one within 2^31 seconds of
 * now. A value exactly 2^31 seconds away, which RFC 1982 leaves undefined, is
 * taken as the past: a signature whose time cannot be told is not current.
 * Sub-second parts of `nowMs` are dropped (signature times are whole seconds).
 */
export function signatureTimeMs(serial: number, nowMs: number): number {
  const nowSeconds = Math.floor(nowMs / 1000);
  const nowSerial = ((nowSeconds % TWO_32) + TWO_32) % TWO_32;
  let delta = ((((serial >>> 0) - nowSerial) % TWO_32) + TWO_32) % TWO_32;
  if (delta >= TWO_31) delta -= TWO_32;
  return (nowSeconds + delta) * 1000;
}
