// DNS over UDP through a pool of long-lived connected sockets, multiplexed
// by query ID, the way dnsperf does it.
//
// A fresh socket per probe costs a socket(), bind() and close() and tops out
// near 30k probes/s on a 2-core machine; multiplexing reaches the runner's
// own ceiling. What keeps it correct:
// - sockets are connected, so the kernel drops datagrams from any other
//   source, ICMP port unreachable surfaces as ECONNREFUSED, and the source is
//   still compared against the server on every datagram;
// - each socket draws IDs at random from those not in flight and not recently
//   released, so a late answer to a timed-out query cannot be taken for the
//   answer to a new one (it is dropped silently: it is explained, not junk);
// - a response must match its query's ID, QR, opcode and question;
// - a socket is retired after ROTATE_AFTER queries, so the source port moves;
// - a socket closes as soon as it has nothing in flight (deferred one turn
//   of the event loop, so back-to-back probes share it), and at once when a
//   probe is aborted: nothing idles, nothing leaks.
//
// Attribution: a datagram whose ID matches a query but which otherwise does
// not belong counts as ignored for that query; a datagram with an unknown ID
// counts for every query in flight on the socket, since each of them was
// listening on the port it arrived at.

import dgram from "node:dgram";
import { type DnsQuery, ignoredByEachOwner, randomId } from "./query";
import { inspectDnsResponse } from "./wire";

const MAX_IN_FLIGHT = 4096;
// Answers to a burst of queries arrive as a burst; the 208 KiB default drops some beyond ~150 in flight.
const RECV_BUFFER_BYTES = 1 << 20;
const ROTATE_AFTER = 8192;
// Released IDs wait this many releases before reuse: longer than any late answer should take at probe rates.
const COOLING = 4096;

const ID_FREE = 0;
const ID_IN_FLIGHT = 1;
const ID_COOLING = 2;

class PooledUdpSocket {
  readonly socket: dgram.Socket;
  readonly inFlight = new Map<number, DnsQuery>();
  /** Queries waiting for connect() to finish, or for the next flush. */
  private outbox: DnsQuery[] = [];
  private flushScheduled: NodeJS.Immediate | null = null;
  private readonly idState = new Uint8Array(65536);
  private readonly coolingRing = new Uint16Array(COOLING);
  private coolingCount = 0;
  private coolingHead = 0;
  private connected = false;
  private remoteAddress = "";
  private remotePort = 0;
  private closeScheduled: NodeJS.Immediate | null = null;
  issued = 0;
  retired = false;
  closed = false;
  private readonly lookup = (id: number) => this.inFlight.get(id);

  constructor(
    private readonly endpoint: UdpEndpoint,
    family: 4 | 6,
    address: string,
    port: number,
  ) {
    this.socket = dgram.createSocket({ type: family === 6 ? "udp6" : "udp4", recvBufferSize: RECV_BUFFER_BYTES });
    this.socket.on("message", (msg, rinfo) => this.onMessage(msg, rinfo));
    this.socket.on("error", (err) => this.onError(err));
    // Node hands a failed connect (after its implicit bind) to this callback, not to "error".
    this.socket.connect(port, address, (err?: Error) => (err ? this.onError(err) : this.onConnect()));
  }

  get load(): number {
    return this.inFlight.size;
  }

  send(query: DnsQuery): void {
    if (this.closeScheduled) {
      clearImmediate(this.closeScheduled);
      this.closeScheduled = null;
    }
    let id = randomId();
    while (this.idState[id] !== ID_FREE) id = randomId();
    this.idState[id] = ID_IN_FLIGHT;
    query.id = id;
    query.slot = this;
    this.inFlight.set(id, query);
    this.issued++;
    this.outbox.push(query);
    if (this.connected && !this.flushScheduled) this.flushScheduled = setImmediate(this.flush);
  }

  // Queries leave in bursts, once per turn of the event loop: the server
  // (on loopback, the other CPU) is woken once per burst instead of once per
  // query, which is worth about 15% of throughput on a 2-core machine. RTT is
  // timed from each datagram's own send, so the wait does not count.
  private readonly flush = () => {
    this.flushScheduled = null;
    const outbox = this.outbox;
    this.outbox = [];
    for (const query of outbox) if (query.slot === this) this.transmit(query);
  };

  private transmit(query: DnsQuery): void {
    const template = query.template;
    const wire = Buffer.allocUnsafe(template.length);
    template.copy(wire);
    wire[0] = query.id >>> 8;
    wire[1] = query.id & 0xff;
    query.sentNs = query.now();
    // The callback is not optional: without one Node drops a failed send's
    // error, and a pending ECONNREFUSED (ICMP port unreachable for an earlier
    // datagram) would be consumed by sendmsg and never reach anyone.
    this.socket.send(wire, this.afterSend);
  }

  private readonly afterSend = (err: Error | null) => {
    if (err) this.onError(err);
  };

  private onConnect(): void {
    if (this.closed) return;
    this.connected = true;
    const remote = this.socket.remoteAddress();
    this.remoteAddress = remote.address;
    this.remotePort = remote.port;
    this.flush();
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    // The receive time is read before anything else; finding whose clock to read takes two bytes.
    const claimed = msg.length >= 2 ? this.inFlight.get((msg[0]! << 8) | msg[1]!) : undefined;
    const receivedNs = claimed ? claimed.now() : 0n;
    if (rinfo.address !== this.remoteAddress || rinfo.port !== this.remotePort) {
      if (claimed) claimed.ignored();
      else this.ignoredByAll();
      return;
    }
    const verdict = inspectDnsResponse(msg, this.lookup);
    switch (verdict.verdict) {
      case "answer":
        this.release(verdict.query);
        verdict.query.answered(verdict.message, receivedNs);
        break;
      case "malformed":
        this.release(verdict.query);
        verdict.query.malformed(verdict.reason, msg.length);
        break;
      case "foreign":
        if (verdict.query) verdict.query.ignored();
        else if (this.idState[verdict.id] !== ID_COOLING) this.ignoredByAll();
        break;
      case "undecodable":
        if (claimed) claimed.ignored();
        else this.ignoredByAll();
        break;
    }
    this.closeIfIdle(false);
  }

  private ignoredByAll(): void {
    ignoredByEachOwner(this.inFlight.values());
  }

  /** ECONNREFUSED (ICMP port unreachable) and the like: every query on the socket shares the fate. */
  private onError(err: Error): void {
    this.retired = true;
    this.endpoint.forget(this);
    const queries = [...this.inFlight.values()];
    for (const query of queries) this.release(query);
    for (const query of queries) query.failed(err);
    this.close();
  }

  release(query: DnsQuery): void {
    if (query.slot !== this) return;
    query.slot = null;
    this.inFlight.delete(query.id);
    if (this.coolingCount === COOLING) {
      this.idState[this.coolingRing[this.coolingHead]!] = ID_FREE;
    } else {
      this.coolingCount++;
    }
    this.coolingRing[this.coolingHead] = query.id;
    this.idState[query.id] = ID_COOLING;
    this.coolingHead = (this.coolingHead + 1) % COOLING;
  }

  /** Closes the socket when nothing is in flight: at once, or after this turn of the event loop. */
  closeIfIdle(immediately: boolean): void {
    if (this.closed || this.inFlight.size > 0) return;
    if (immediately || this.retired) {
      this.close();
    } else if (!this.closeScheduled) {
      this.closeScheduled = setImmediate(() => {
        this.closeScheduled = null;
        if (this.inFlight.size === 0) this.close();
      });
    }
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.closeScheduled) {
      clearImmediate(this.closeScheduled);
      this.closeScheduled = null;
    }
    if (this.flushScheduled) {
      clearImmediate(this.flushScheduled);
      this.flushScheduled = null;
    }
    this.outbox = [];
    this.endpoint.forget(this);
    this.socket.close();
  }
}

class UdpEndpoint {
  active: PooledUdpSocket | null = null;
  readonly sockets = new Set<PooledUdpSocket>();

  constructor(
    readonly key: string,
    private readonly family: 4 | 6,
    private readonly address: string,
    private readonly port: number,
  ) {}

  socketForNextQuery(): PooledUdpSocket {
    let socket = this.active;
    if (!socket || socket.retired || socket.closed || socket.load >= MAX_IN_FLIGHT) {
      if (socket) {
        socket.retired = true;
        socket.closeIfIdle(true);
      }
      socket = new PooledUdpSocket(this, this.family, this.address, this.port);
      this.active = socket;
      this.sockets.add(socket);
    }
    if (socket.issued + 1 >= ROTATE_AFTER) {
      socket.retired = true;
      this.active = null;
    }
    return socket;
  }

  forget(socket: PooledUdpSocket): void {
    if (this.active === socket) this.active = null;
    if (socket.closed) this.sockets.delete(socket);
    if (this.sockets.size === 0 && !this.active) endpoints.delete(this.key);
  }
}

const endpoints = new Map<string, UdpEndpoint>();

/** Sends `query` to address:port over the pool. Its outcome comes through the query's callbacks. */
export function sendUdpQuery(family: 4 | 6, address: string, port: number, query: DnsQuery): void {
  const key = `${address}|${port}`;
  let endpoint = endpoints.get(key);
  if (!endpoint) {
    endpoint = new UdpEndpoint(key, family, address, port);
    endpoints.set(key, endpoint);
  }
  endpoint.socketForNextQuery().send(query);
}

/**
 * Stops waiting for `query`. With `closeNow` (an aborted probe) its socket
 * closes at once if nothing else is in flight on it.
 */
export function cancelUdpQuery(query: DnsQuery, closeNow: boolean): void {
  const socket = query.slot;
  if (!(socket instanceof PooledUdpSocket)) return;
  socket.release(query);
  socket.closeIfIdle(closeNow);
}

/** Sockets currently open, for tests that check nothing is left behind. */
export function openUdpSocketCount(): number {
  let count = 0;
  for (const endpoint of endpoints.values()) for (const socket of endpoint.sockets) if (!socket.closed) count++;
  return count;
}
