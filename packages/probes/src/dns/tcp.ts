// DNS over a stream (RFC 7766): one connection per exchange, every query of
// the exchange pipelined on it, each message behind a two-byte length.
// Responses may come in any order, split across segments or several to a
// segment. The stream is a TCP connection this module opens (the dns probe)
// or one already open, such as a verified TLS session (the dot probe).
//
// The stream comes from the server the socket connected to, so unlike UDP
// there is no spoofer to ignore: a message that does not decode completely,
// a zero length, or a connection closed inside a message is the server's
// fault and fails every query still waiting with `dns_malformed`. A message
// that decodes but answers nothing in flight (another ID or question) is
// counted as ignored and reading goes on. The two-byte length bounds what is
// held: at most one unfinished message (64 KiB) is buffered, whatever
// length the server announces.

import net from "node:net";
import { ProbeFailureError } from "../errors";
import { type DnsQuery, ignoredByEachOwner, randomId } from "./query";
import { inspectDnsResponse, parseDnsMessage } from "./wire";

export interface TcpExchangeHooks {
  /** The probe's monotonic clock, in ns. */
  now(): bigint;
  /** Called once the three-way handshake completes, before any query is written (exchanges that connect only). */
  connected?(connectNs: bigint): void;
}

export class DnsTcpExchange {
  private readonly inFlight = new Map<number, DnsQuery>();
  private buffered: Buffer | null = null;
  private done = false;
  private readonly lookup = (id: number) => this.inFlight.get(id);

  /** Connects to address:port over TCP and pipelines `queries` once connected. */
  static connect(address: string, port: number, queries: readonly DnsQuery[], hooks: TcpExchangeHooks): DnsTcpExchange {
    const startNs = hooks.now();
    const exchange = new DnsTcpExchange(net.connect({ host: address, port, noDelay: true }), queries, hooks, "TCP");
    exchange.socket.once("connect", () => {
      if (exchange.done) return;
      hooks.connected?.(startNs);
      exchange.writeQueries(false);
    });
    return exchange;
  }

  /**
   * Pipelines `queries` on a stream that is already open (a TLS session), at
   * once. The exchange owns the socket from here: it destroys it on close.
   * `label` names the stream in messages ("TLS").
   *
   * Each query goes in a write of its own, so over TLS each is a record of
   * its own: some servers (dnsdist 1.7) read one query per readable event,
   * and queries that came in the same record as the first sit in the TLS
   * library's buffer unseen. The main query is still written first.
   */
  static overOpenSocket(socket: net.Socket, queries: readonly DnsQuery[], hooks: TcpExchangeHooks, label: string): DnsTcpExchange {
    const exchange = new DnsTcpExchange(socket, queries, hooks, label);
    if (socket.destroyed) exchange.onClose();
    else exchange.writeQueries(true);
    return exchange;
  }

  private constructor(
    private readonly socket: net.Socket,
    queries: readonly DnsQuery[],
    private readonly hooks: TcpExchangeHooks,
    private readonly label: string,
  ) {
    for (const query of queries) {
      let id = randomId();
      while (this.inFlight.has(id)) id = randomId();
      query.id = id;
      this.inFlight.set(id, query);
    }
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (err) => this.failAll((query) => query.failed(err)));
    socket.on("close", () => this.onClose());
  }

  /** Stops waiting for `query`; the connection closes when nothing else is waiting. */
  cancel(query: DnsQuery): void {
    if (this.inFlight.get(query.id) !== query) return;
    this.inFlight.delete(query.id);
    if (this.inFlight.size === 0) this.close();
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    this.inFlight.clear();
    this.socket.destroy();
  }

  private writeQueries(onePerWrite: boolean): void {
    const frames: Buffer[] = [];
    for (const query of this.inFlight.values()) {
      const frame = Buffer.allocUnsafe(2 + query.template.length);
      frame.writeUInt16BE(query.template.length, 0);
      query.template.copy(frame, 2);
      frame.writeUInt16BE(query.id, 2);
      frames.push(frame);
    }
    const sentNs = this.hooks.now();
    for (const query of this.inFlight.values()) query.sentNs = sentNs;
    if (onePerWrite) {
      this.writeInTurn(frames, 0);
      return;
    }
    // One write: the queries leave in one segment where they fit, the main query first.
    this.socket.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
  }

  /** Writes frames[index], then the next once it has left: writes queued together would be merged into one. */
  private writeInTurn(frames: readonly Buffer[], index: number): void {
    if (this.done || index >= frames.length) return;
    this.socket.write(frames[index]!, (err) => {
      if (!err) this.writeInTurn(frames, index + 1);
    });
  }

  private onData(chunk: Buffer): void {
    const receivedNs = this.hooks.now();
    if (this.done) return;
    let data = this.buffered ? Buffer.concat([this.buffered, chunk]) : chunk;
    this.buffered = null;
    while (data.length >= 2 && !this.done) {
      const length = data.readUInt16BE(0);
      if (length === 0) {
        this.malformedStream("a message with length 0", data.length);
        return;
      }
      if (data.length < 2 + length) break;
      this.onMessage(data.subarray(2, 2 + length), receivedNs);
      data = data.subarray(2 + length);
    }
    if (!this.done && data.length > 0) this.buffered = data;
  }

  private onMessage(message: Buffer, receivedNs: bigint): void {
    const verdict = inspectDnsResponse(message, this.lookup);
    switch (verdict.verdict) {
      case "answer":
        this.settle(verdict.query).answered(verdict.message, receivedNs);
        break;
      case "malformed":
        this.settle(verdict.query).malformed(verdict.reason, message.length);
        break;
      case "undecodable":
        this.malformedStream(verdict.reason, message.length);
        break;
      case "foreign":
        // Only a message that decodes completely may be passed over; anything else breaks the stream.
        if (!parseDnsMessage(message).ok) {
          this.malformedStream(verdict.reason, message.length);
          return;
        }
        if (verdict.query) verdict.query.ignored();
        else ignoredByEachOwner(this.inFlight.values());
        break;
    }
    if (this.inFlight.size === 0) this.close();
  }

  private settle(query: DnsQuery): DnsQuery {
    this.inFlight.delete(query.id);
    return query;
  }

  private malformedStream(reason: string, size: number): void {
    this.failAll((query) => query.malformed(reason, size));
  }

  private onClose(): void {
    if (this.done) return;
    if (this.buffered) {
      const expected = this.buffered.length >= 2 ? this.buffered.readUInt16BE(0) : null;
      const reason =
        expected === null
          ? "connection closed inside a length prefix"
          : `connection closed inside a message: length prefix says ${expected} bytes, ${this.buffered.length - 2} arrived`;
      this.malformedStream(reason, this.buffered.length);
      return;
    }
    const err = new ProbeFailureError("closed", `server closed the ${this.label} connection before answering`);
    this.failAll((query) => query.failed(err));
  }

  private failAll(notify: (query: DnsQuery) => void): void {
    if (this.done) return;
    const queries = [...this.inFlight.values()];
    this.close();
    for (const query of queries) notify(query);
  }
}
