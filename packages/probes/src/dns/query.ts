import { randomFillSync } from "node:crypto";
import type { DnsMessage, ExpectedQuestion } from "./wire";

// Query IDs are the only secret between a probe and its server (RFC 5452):
// drawn from the CSPRNG, a batch at a time to keep it off the hot path.
let randomIds = new Uint16Array(0);
let randomIndex = 0;
export function randomId(): number {
  if (randomIndex >= randomIds.length) {
    randomIds = randomFillSync(new Uint16Array(2048));
    randomIndex = 0;
  }
  return randomIds[randomIndex++]!;
}

/**
 * One DNS query in flight, as the transports (udp.ts, tcp.ts) see it. A
 * transport calls exactly one of `answered`, `malformed` or `failed`, and
 * `ignored` any number of times before that; after it has called one, or
 * after the query was cancelled, it calls nothing more.
 */
export interface DnsQuery extends ExpectedQuestion {
  /** The probe the query belongs to: a stray packet counts once per owner, however many of its queries share a socket. */
  readonly owner: object;
  /** The encoded query with ID 0. */
  readonly template: Buffer;
  /** The probe's monotonic clock, in ns. */
  now(): bigint;
  /** Set by the transport: the ID on the wire, and the clock reading just before the query was written. */
  id: number;
  sentNs: bigint;
  /** Transport bookkeeping (the pooled socket carrying it); null when not in flight there. */
  slot: object | null;
  /** A well-formed answer (maybe TC=1); `receivedNs` was read before decoding. */
  answered(message: DnsMessage, receivedNs: bigint): void;
  /** The server's answer to this query, or the stream carrying it, cannot be decoded. */
  malformed(reason: string, size: number): void;
  /** A packet arrived that did not belong to this query (or to any query on its socket). */
  ignored(): void;
  /** A transport error (its `code` classifies it). */
  failed(err: Error): void;
}

/** Tells each owner once that a packet nobody claims arrived where its queries were waiting. */
export function ignoredByEachOwner(queries: Iterable<DnsQuery>): void {
  const told = new Set<object>();
  for (const query of queries) {
    if (told.has(query.owner)) continue;
    told.add(query.owner);
    query.ignored();
  }
}
