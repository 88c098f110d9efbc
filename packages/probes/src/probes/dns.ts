// The DNS probe: one query (qname/qtype/qclass, EDNS0, optional NSID and DO)
// over UDP or TCP, plus CHAOS TXT identity queries beside it, recording what
// it learns as it goes.
//
// Behaviour worth knowing:
// - Over UDP, a datagram that cannot be tied to the query (unknown ID, wrong
//   question, wrong source, too short to read) is ignored and counted in
//   `ignoredPackets`; the probe keeps waiting, and if nothing valid comes it
//   ends in `timeout` with the count visible. A spoofer or a broken middlebox
//   must not be able to end a probe. A datagram that does prove itself the
//   answer (ID, QR, opcode and question all match, from the server's address
//   and port) but is broken beyond the question fails with `dns_malformed`:
//   forging that is no easier than forging a valid answer, and it is how a
//   buggy server shows.
// - Over TCP the stream is the server's, so any undecodable message fails
//   with `dns_malformed` at once (see dns/tcp.ts).
// - TC=1 over UDP is retried over TCP when `tcpFallback` (facts.tcpFallback,
//   transport and rttMs then describe the TCP exchange); otherwise, and for
//   TC=1 over TCP, the probe fails with `dns_truncated`.
// - CHAOS queries never decide the outcome. They go out with the main query;
//   once the main query has settled they get a grace period (dns/outcome.ts),
//   so a server that drops CH queries costs a little latency, not a timeout.

import type { Failure } from "@popwatch/core";
import { OwnedQuery, ProbeOutcome, type QueryOwner } from "../dns/outcome";
import { judgeDnsResponse, recordDnsQuery, recordDnsResponse } from "../dns/response";
import { type CompiledDnsSpec, compileDnsSpec } from "../dns/spec";
import { DnsTcpExchange } from "../dns/tcp";
import { cancelUdpQuery, sendUdpQuery } from "../dns/udp";
import type { DnsMessage } from "../dns/wire";
import { ProbeFailureError } from "../errors";
import type { ProbeContext, ProbeFn } from "../types";

const NS_PER_MS = 1e6;

export const dnsProbe: ProbeFn<"dns"> = (spec, ctx) => {
  const facts = ctx.facts;
  facts.transport = spec.transport;
  facts.tcpFallback = false;
  facts.qname = spec.qname;
  facts.qtype = spec.qtype;
  facts.qclass = spec.qclass;
  let plan: CompiledDnsSpec;
  try {
    plan = compileDnsSpec(spec);
  } catch (err) {
    return Promise.reject(err);
  }
  recordDnsQuery(plan, facts);
  return new Promise((resolve, reject) => new DnsProbeRun(plan, ctx, resolve, reject).start());
};

const NO_QUERIES: ProbeQuery[] = [];

class ProbeQuery extends OwnedQuery {
  transport: "udp" | "tcp" = "udp";
  tcp: DnsTcpExchange | null = null;

  cancel(closeNow: boolean): void {
    if (this.settled) return;
    this.settled = true;
    if (this.tcp) this.tcp.cancel(this);
    else cancelUdpQuery(this, closeNow);
  }
}

class DnsProbeRun implements QueryOwner {
  private readonly main: ProbeQuery;
  private readonly chaos: readonly ProbeQuery[];
  private readonly outcome: ProbeOutcome;
  private exchanges: DnsTcpExchange[] | null = null;

  constructor(
    private readonly plan: CompiledDnsSpec,
    readonly ctx: ProbeContext<"dns">,
    resolve: (failure: Failure | null) => void,
    reject: (err: unknown) => void,
  ) {
    this.main = new ProbeQuery(this, plan.main, null, "UDP");
    this.chaos = plan.chaos.length === 0 ? NO_QUERIES : plan.chaos.map((query) => new ProbeQuery(this, query, query.identity, "UDP"));
    // CHAOS queries stay on the transport they started on, even when the main query falls back to TCP.
    const carrier = plan.transport === "udp" ? "datagram" : "stream";
    this.outcome = new ProbeOutcome(ctx, ctx.now(), this.chaos.length, carrier, resolve, reject, (closeNow) => this.cleanup(closeNow));
  }

  start(): void {
    if (!this.outcome.watchAbort()) return;
    try {
      if (this.plan.transport === "udp") {
        const { family, address, port } = this.plan;
        sendUdpQuery(family, address, port, this.main);
        for (const query of this.chaos) sendUdpQuery(family, address, port, query);
      } else {
        this.overTcp([this.main, ...this.chaos]);
      }
    } catch (err) {
      this.outcome.settleMain({ error: err });
    }
  }

  private overTcp(queries: ProbeQuery[]): void {
    for (const query of queries) {
      query.transport = "tcp";
      query.transportLabel = "TCP";
      query.settled = false;
    }
    const exchange = DnsTcpExchange.connect(this.plan.address, this.plan.port, queries, {
      now: () => this.ctx.now(),
      connected: (connectStartNs) => {
        this.ctx.timings.connectMs = this.ctx.msSince(connectStartNs);
      },
    });
    for (const query of queries) query.tcp = exchange;
    this.exchanges ??= [];
    this.exchanges.push(exchange);
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
      if (this.main.transport === "udp" && this.plan.tcpFallback) {
        this.ctx.facts.tcpFallback = true;
        this.ctx.facts.transport = "tcp";
        try {
          this.overTcp([this.main]);
        } catch (err) {
          this.outcome.settleMain({ error: err });
        }
        return;
      }
      const why = this.main.transport === "tcp" ? "TC=1 over TCP" : "TC=1 over UDP and TCP fallback is off";
      this.outcome.settleMain({ error: new ProbeFailureError("dns_truncated", `truncated response: ${why}`) });
      return;
    }
    this.outcome.settleMain({ failure: judgeDnsResponse(this.plan, message) });
  }

  onBroken(query: OwnedQuery, err: unknown, size: number | null): void {
    this.outcome.queryBroken(query, err, size, this.ctx.facts);
  }

  private cleanup(closeNow: boolean): void {
    this.main.cancel(closeNow);
    for (const query of this.chaos) query.cancel(closeNow);
    if (this.exchanges) for (const exchange of this.exchanges) exchange.close();
  }
}
