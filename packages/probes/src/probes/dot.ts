// The DoT probe (RFC 7858): TCP connect, TLS handshake with SNI, the peer
// judged exactly as the tls probe judges it, then the DNS query and its
// CHAOS identity queries pipelined on the TLS session with RFC 7766 framing
// (dns/tcp.ts), recorded and judged by dns/response.ts like every DNS
// transport.
//
// Verdict order, first that applies wins:
//   1. transport and handshake: refused, unreachable, reset, a handshake
//      error (tls_handshake), or the timeout; these reject and the runner
//      classifies them. A stall mid-handshake is the timeout, with connectMs
//      recorded and tlsMs absent.
//   2. certificate trust: chain and name (or pin) as the tls probe judges
//      them, tls_cert_invalid / tls_cert_expired. The query is never sent to
//      a server that has not proved who it is: a DNS answer from it would be
//      reported as if it were the service's. facts.tls is recorded either way.
//   3. the DNS exchange: a message that does not decode, or a connection
//      closed inside one (dns_malformed), closed before answering (closed),
//      TC=1 (dns_truncated: TCP framing has no larger size to retry with),
//      then rcode, answer and DNSSEC expectations (judgeDnsResponse).
//   4. certMinDays: tls_cert_expiring naming the first certificate of the
//      chain to expire, only once the DNS answer is good, so an outage is
//      never reported as a certificate warning. The chain is in facts.tls
//      whatever the verdict.
//
// ALPN offers "dot" (the IANA registration for DNS over TLS, what kdig and
// stub resolvers send); servers that do not speak ALPN ignore it, and the
// negotiated value is recorded in facts.tls.alpn.

import type tls from "node:tls";
import type { Failure } from "@popwatch/core";
import { chaosGraceMs } from "../dns/chaos-grace";
import type { DnsQuery } from "../dns/query";
import { judgeDnsResponse, recordChaosIdentity, recordDnsQuery, recordDnsResponse } from "../dns/response";
import { type CompiledDnsSpec, type CompiledQuery, compileDnsSpec } from "../dns/spec";
import { DnsTcpExchange } from "../dns/tcp";
import type { DnsMessage } from "../dns/wire";
import { ProbeFailureError } from "../errors";
import { openConnection, sniFor } from "../tls/connect";
import { certificateExpiryFailure, tlsSessionFacts } from "../tls/session";
import { handshakeTrustOptions, judgePeer, readPeerLeaf, trustPlan } from "../tls/trust";
import type { ChaosIdentity, ProbeContext, ProbeFn } from "../types";

const DOT_ALPN = ["dot"] as const;
const NS_PER_MS = 1e6;

export const dotProbe: ProbeFn<"dot"> = async (spec, ctx) => {
  const startNs = ctx.now();
  const facts = ctx.facts;
  facts.qname = spec.qname;
  facts.qclass = spec.qclass;
  const plan = compileDnsSpec(spec);
  const trust = trustPlan(spec);
  recordDnsQuery(plan, facts);
  facts.tls = null;

  const sni = sniFor(spec.sni);
  const socket = (await openConnection(
    plan.address,
    plan.port,
    { servername: sni, alpn: DOT_ALPN, trust: handshakeTrustOptions(trust) },
    ctx,
  )) as tls.TLSSocket;
  try {
    const leaf = readPeerLeaf(socket);
    // An IP-literal SNI is not sent but is still the identity asked for.
    const verdict = judgePeer(socket, leaf, trust, spec.sni || spec.address);
    const session = tlsSessionFacts(socket, sni, leaf, trust, verdict);
    facts.tls = session;
    if (session.certificate) ctx.evidence.tlsFingerprint = session.certificate.fingerprint256;
    if (verdict.failure) return verdict.failure;

    const dnsFailure = await new Promise<Failure | null>((resolve, reject) =>
      new DotExchange(plan, ctx, startNs, resolve, reject).start(socket),
    );
    return dnsFailure ?? certificateExpiryFailure(session.chain, spec.certMinDays);
  } finally {
    socket.destroy();
  }
};

type Outcome = { failure: Failure | null } | { error: unknown };

/** One query of the exchange, as dns/tcp.ts sees it. */
class DotQuery implements DnsQuery {
  readonly nameWire: Uint8Array;
  readonly qtype: number;
  readonly qclass: number;
  readonly template: Buffer;
  id = 0;
  sentNs = 0n;
  slot: object | null = null;

  constructor(
    readonly owner: DotExchange,
    compiled: CompiledQuery,
    /** Null for the main query. */
    readonly identity: ChaosIdentity | null,
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
    this.owner.onAnswer(this, message, receivedNs);
  }
  malformed(reason: string, size: number): void {
    this.owner.onBroken(this, new ProbeFailureError("dns_malformed", `malformed DoT response: ${reason}`), size);
  }
  ignored(): void {
    this.owner.ctx.facts.ignoredPackets = (this.owner.ctx.facts.ignoredPackets ?? 0) + 1;
  }
  failed(err: Error): void {
    this.owner.onBroken(this, err, null);
  }
}

/** The DNS part of a DoT probe: every query on the verified session, the main one deciding, CHAOS ones given a grace period. */
class DotExchange {
  private exchange: DnsTcpExchange | null = null;
  private chaosOpen: number;
  private outcome: Outcome | null = null;
  private finished = false;
  private graceTimer: NodeJS.Timeout | null = null;
  private removeAbortListener: (() => void) | null = null;

  constructor(
    private readonly plan: CompiledDnsSpec,
    readonly ctx: ProbeContext<"dot">,
    private readonly startNs: bigint,
    private readonly resolve: (failure: Failure | null) => void,
    private readonly reject: (err: unknown) => void,
  ) {
    this.chaosOpen = plan.chaos.length;
  }

  start(socket: tls.TLSSocket): void {
    this.removeAbortListener = this.ctx.onAbort((reason) => this.abort(reason));
    if (this.finished) return;
    const queries = [new DotQuery(this, this.plan.main, null), ...this.plan.chaos.map((q) => new DotQuery(this, q, q.identity))];
    this.exchange = DnsTcpExchange.overOpenSocket(socket, queries, { now: () => this.ctx.now() }, "TLS");
  }

  onAnswer(query: DotQuery, message: DnsMessage, receivedNs: bigint): void {
    if (this.finished) return;
    if (query.identity !== null) {
      recordChaosIdentity(this.ctx.facts, this.ctx.evidence, query.identity, message);
      this.chaosSettled();
      return;
    }
    this.ctx.timings.rttMs = Number(receivedNs - query.sentNs) / NS_PER_MS;
    recordDnsResponse(this.plan, this.ctx.facts, this.ctx.evidence, message);
    if (message.flags.tc) {
      this.settleMain({ error: new ProbeFailureError("dns_truncated", "truncated response: TC=1 over TLS") });
      return;
    }
    this.settleMain({ failure: judgeDnsResponse(this.plan, message) });
  }

  /** A malformed answer, or the stream failing under the query. */
  onBroken(query: DotQuery, err: unknown, size: number | null): void {
    if (this.finished) return;
    if (query.identity !== null) {
      this.chaosSettled();
      return;
    }
    if (size !== null) this.ctx.facts.responseBytes = size;
    this.settleMain({ error: err });
  }

  private settleMain(outcome: Outcome): void {
    if (this.finished || this.outcome) return;
    this.outcome = outcome;
    if (this.chaosOpen === 0) this.finish();
    else this.graceTimer = setTimeout(() => this.finish(), chaosGraceMs(this.ctx.msSince(this.startNs)));
  }

  private chaosSettled(): void {
    this.chaosOpen--;
    if (this.chaosOpen === 0 && this.outcome) this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.cleanup();
    const outcome = this.outcome!;
    if ("error" in outcome) this.reject(outcome.error);
    else this.resolve(outcome.failure);
  }

  private abort(reason: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.cleanup();
    this.reject(reason);
  }

  private cleanup(): void {
    this.removeAbortListener?.();
    this.removeAbortListener = null;
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = null;
    this.exchange?.close();
  }
}
