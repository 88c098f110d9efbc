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
import { OwnedQuery, ProbeOutcome, type QueryOwner } from "../dns/outcome";
import { judgeDnsResponse, recordDnsQuery, recordDnsResponse } from "../dns/response";
import { type CompiledDnsSpec, compileDnsSpec } from "../dns/spec";
import { DnsTcpExchange } from "../dns/tcp";
import type { DnsMessage } from "../dns/wire";
import { ProbeFailureError } from "../errors";
import { openConnection, sniFor } from "../tls/connect";
import { certificateExpiryFailure, tlsSessionFacts } from "../tls/session";
import { handshakeTrustOptions, judgePeer, readPeerLeaf, trustPlan } from "../tls/trust";
import type { ProbeContext, ProbeFn } from "../types";

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

/** The DNS part of a DoT probe: every query on the verified session, the main one deciding. */
class DotExchange implements QueryOwner {
  private readonly outcome: ProbeOutcome;
  private exchange: DnsTcpExchange | null = null;

  constructor(
    private readonly plan: CompiledDnsSpec,
    readonly ctx: ProbeContext<"dot">,
    startNs: bigint,
    resolve: (failure: Failure | null) => void,
    reject: (err: unknown) => void,
  ) {
    this.outcome = new ProbeOutcome(ctx, startNs, plan.chaos.length, "stream", resolve, reject, () => this.exchange?.close());
  }

  start(socket: tls.TLSSocket): void {
    if (!this.outcome.watchAbort()) return;
    const queries = [
      new OwnedQuery(this, this.plan.main, null, "DoT"),
      ...this.plan.chaos.map((query) => new OwnedQuery(this, query, query.identity, "DoT")),
    ];
    this.exchange = DnsTcpExchange.overOpenSocket(socket, queries, { now: () => this.ctx.now() }, "TLS");
  }

  onAnswer(query: OwnedQuery, message: DnsMessage, receivedNs: bigint): void {
    if (this.outcome.finished) return;
    if (query.identity !== null) {
      this.outcome.chaosAnswered(query.identity, message, this.ctx.facts, this.ctx.evidence);
      return;
    }
    this.ctx.timings.rttMs = Number(receivedNs - query.sentNs) / NS_PER_MS;
    recordDnsResponse(this.plan, this.ctx.facts, this.ctx.evidence, message);
    if (message.flags.tc) {
      this.outcome.settleMain({ error: new ProbeFailureError("dns_truncated", "truncated response: TC=1 over TLS") });
      return;
    }
    this.outcome.settleMain({ failure: judgeDnsResponse(this.plan, message) });
  }

  onBroken(query: OwnedQuery, err: unknown, size: number | null): void {
    this.outcome.queryBroken(query, err, size, this.ctx.facts);
  }
}
