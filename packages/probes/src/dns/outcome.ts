// How the queries of one DNS probe (dns, dot, …) settle into its outcome:
// the main query decides, CHAOS identity queries never do. Once the main
// query has settled, CHAOS queries still open get a grace period of twice
// the time the probe has spent so far, at most 1 s and at least 25 ms over
// UDP or 100 ms over a stream (TCP, TLS): a server that drops CH queries
// costs a little latency, not a timeout, and a slow path still gets time to
// answer. The stream floor is for servers that write each answer without
// TCP_NODELAY (Unbound over TLS): every answer after the first waits in
// their kernel for the client's delayed ACK, 40 ms on Linux. An abort
// (timeout, run deadline) ends the probe at once.
// Each transport's probe keeps its own sockets and hands this module the
// answers; what an answer means is dns/response.ts's business.

import type { DnsDetails, Failure, PopEvidence } from "@popwatch/core";
import { ProbeFailureError } from "../errors";
import type { ChaosIdentity, ProbeContext } from "../types";
import type { DnsQuery } from "./query";
import { recordChaosIdentity } from "./response";
import type { CompiledQuery } from "./spec";
import type { DnsMessage } from "./wire";

const CHAOS_GRACE_MIN_MS = { datagram: 25, stream: 100 } as const;
const CHAOS_GRACE_MAX_MS = 1000;

/** How the CHAOS queries travel: UDP, or a TCP / TLS stream. */
export type ChaosCarrier = keyof typeof CHAOS_GRACE_MIN_MS;

function chaosGraceMs(elapsedMs: number, carrier: ChaosCarrier): number {
  return Math.min(CHAOS_GRACE_MAX_MS, Math.max(CHAOS_GRACE_MIN_MS[carrier], 2 * elapsedMs));
}

/** What the main query came to: a verdict (null: good), or an error the runner classifies. */
export type Outcome = { failure: Failure | null } | { error: unknown };

/** The probe a query reports to. */
export interface QueryOwner {
  readonly ctx: { now(): bigint; readonly facts: Partial<DnsDetails> };
  onAnswer(query: OwnedQuery, message: DnsMessage, receivedNs: bigint): void;
  /** A malformed answer (`size` its length) or a transport error (`size` null). */
  onBroken(query: OwnedQuery, err: unknown, size: number | null): void;
}

/** One query of a probe, as the transports (udp.ts, tcp.ts) see it, reporting to its owner. */
export class OwnedQuery implements DnsQuery {
  readonly nameWire: Uint8Array;
  readonly qtype: number;
  readonly qclass: number;
  readonly template: Buffer;
  id = 0;
  sentNs = 0n;
  slot: object | null = null;
  settled = false;

  constructor(
    readonly owner: QueryOwner,
    compiled: CompiledQuery,
    /** Null for the main query. */
    readonly identity: ChaosIdentity | null,
    /** Names the transport in failure messages ("UDP", "TCP", "DoT"). */
    public transportLabel: string,
  ) {
    this.nameWire = compiled.nameWire;
    this.qtype = compiled.qtype;
    this.qclass = compiled.qclass;
    this.template = compiled.template;
  }

  now(): bigint {
    return this.owner.ctx.now();
  }
  answered(message: DnsMessage, receivedNs: bigint): void {
    this.settled = true;
    this.owner.onAnswer(this, message, receivedNs);
  }
  malformed(reason: string, size: number): void {
    this.settled = true;
    this.owner.onBroken(this, new ProbeFailureError("dns_malformed", `malformed ${this.transportLabel} response: ${reason}`), size);
  }
  ignored(): void {
    const facts = this.owner.ctx.facts;
    facts.ignoredPackets = (facts.ignoredPackets ?? 0) + 1;
  }
  failed(err: Error): void {
    this.settled = true;
    this.owner.onBroken(this, err, null);
  }
}

/**
 * Settles a probe once: with the main query's outcome when every CHAOS query
 * has settled or the grace period ends, or with the abort reason. `cleanup`
 * runs exactly once, before the promise settles (`closeNow` on an abort).
 */
export class ProbeOutcome {
  private outcome: Outcome | null = null;
  private done = false;
  private graceTimer: NodeJS.Timeout | null = null;
  private removeAbortListener: (() => void) | null = null;

  constructor(
    private readonly ctx: Pick<ProbeContext, "onAbort" | "msSince">,
    /** When the probe started: the grace period grows with the time spent. */
    private readonly startNs: bigint,
    private chaosOpen: number,
    private readonly chaosCarrier: ChaosCarrier,
    private readonly resolve: (failure: Failure | null) => void,
    private readonly reject: (err: unknown) => void,
    private readonly cleanup: (closeNow: boolean) => void,
  ) {}

  /** Listens for the abort; false when the probe is already aborted (and settled). */
  watchAbort(): boolean {
    this.removeAbortListener = this.ctx.onAbort((reason) => this.abort(reason));
    return !this.done;
  }

  /** True once the probe has settled: nothing more is recorded. */
  get finished(): boolean {
    return this.done;
  }

  /** Whether the main query has an outcome (the probe may still be waiting for CHAOS answers). */
  get mainSettled(): boolean {
    return this.outcome !== null;
  }

  settleMain(outcome: Outcome): void {
    if (this.done || this.outcome) return;
    this.outcome = outcome;
    if (this.chaosOpen === 0) this.finish();
    else this.graceTimer = setTimeout(() => this.finish(), chaosGraceMs(this.ctx.msSince(this.startNs), this.chaosCarrier));
  }

  chaosSettled(): void {
    this.chaosOpen--;
    if (this.chaosOpen === 0 && this.outcome) this.finish();
  }

  /** A CHAOS identity answer: recorded as evidence (it never decides the outcome) and no longer waited for. */
  chaosAnswered(identity: ChaosIdentity, message: DnsMessage, facts: Partial<DnsDetails>, evidence: PopEvidence): void {
    if (this.done) return;
    recordChaosIdentity(facts, evidence, identity, message);
    this.chaosSettled();
  }

  /**
   * A malformed answer (its size known) or a transport error for `query`: a
   * CHAOS query only stops waiting, the main query settles with the error.
   */
  queryBroken(query: OwnedQuery, err: unknown, size: number | null, facts: Partial<DnsDetails>): void {
    if (this.done) return;
    if (query.identity !== null) {
      this.chaosSettled();
      return;
    }
    if (size !== null) facts.responseBytes = size;
    this.settleMain({ error: err });
  }

  private finish(): void {
    if (this.done) return;
    this.end(false);
    const outcome = this.outcome!;
    if ("error" in outcome) this.reject(outcome.error);
    else this.resolve(outcome.failure);
  }

  private abort(reason: Error): void {
    if (this.done) return;
    this.end(true);
    this.reject(reason);
  }

  private end(closeNow: boolean): void {
    this.done = true;
    this.removeAbortListener?.();
    this.removeAbortListener = null;
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = null;
    this.cleanup(closeNow);
  }
}
