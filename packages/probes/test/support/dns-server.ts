// A scriptable loopback DNS server for probe tests: UDP and TCP on the same
// port, where each test decides, query by query, which bytes go back. It
// speaks only on 127.0.0.1 or ::1.

import dgram from "node:dgram";
import net from "node:net";
import * as dnsPacket from "dns-packet";

export type Transport = "udp" | "tcp";

export interface ReceivedQuery {
  transport: Transport;
  /** The probe's source port. */
  remotePort: number;
  /** The raw query message (without the TCP length prefix). */
  raw: Buffer;
  packet: dnsPacket.Packet;
  id: number;
  name: string;
  type: string;
  class: string;
  /** EDNS options the query carried (code → data), empty when it had no OPT record. */
  options: Map<number, Buffer>;
  hasOpt: boolean;
  dnssecOk: boolean;
  udpPayloadSize: number | null;
}

/**
 * What to send back. A Buffer is one DNS message: a datagram over UDP, a
 * length-prefixed frame over TCP. `{ raw }` is sent exactly as given (over
 * TCP without a length prefix), so a test can split, merge or corrupt frames.
 * `{ delayMs }` waits; `"end"` closes the TCP connection cleanly.
 */
export type Step = Buffer | { raw: Buffer } | { delayMs: number } | "end";
export type Handler = (query: ReceivedQuery) => Step[] | Promise<Step[]>;

export interface DnsTestServer {
  address: string;
  port: number;
  queries: ReceivedQuery[];
  /** TCP connections accepted so far. */
  connections: number;
  close(): Promise<void>;
}

export async function startDnsServer(handler: Handler, address = "127.0.0.1"): Promise<DnsTestServer> {
  if (address !== "127.0.0.1" && address !== "::1") throw new Error("test servers stay on loopback");
  for (let attempt = 0; ; attempt++) {
    try {
      return await tryStart(handler, address);
    } catch (err) {
      // The UDP port we got may be taken for TCP; another port will do.
      if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE" || attempt >= 20) throw err;
    }
  }
}

async function tryStart(handler: Handler, address: string): Promise<DnsTestServer> {
  const udp = dgram.createSocket(address === "::1" ? "udp6" : "udp4");
  await new Promise<void>((resolve, reject) => {
    udp.once("error", reject);
    udp.bind(0, address, () => {
      udp.off("error", reject);
      resolve();
    });
  });
  const port = udp.address().port;
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((socket) => {
    server.connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buffered = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const raw = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        buffered = buffered.subarray(2 + raw.length);
        void respond(
          raw,
          "tcp",
          socket.remotePort ?? 0,
          (bytes) => socket.write(bytes),
          () => socket.end(),
        );
      }
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once("error", reject);
      tcp.listen(port, address, () => {
        tcp.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    udp.close();
    throw err;
  }

  udp.on("message", (msg, rinfo) => {
    void respond(
      msg,
      "udp",
      rinfo.port,
      (bytes) => udp.send(bytes, rinfo.port, rinfo.address),
      () => {},
    );
  });

  const respond = async (raw: Buffer, transport: Transport, remotePort: number, send: (bytes: Buffer) => void, end: () => void) => {
    let query: ReceivedQuery;
    try {
      query = describeQuery(raw, transport, remotePort);
    } catch {
      return; // not a query we can read: a real server would drop it too
    }
    server.queries.push(query);
    for (const step of await handler(query)) {
      if (step === "end") end();
      else if (Buffer.isBuffer(step)) send(transport === "tcp" ? frame(step) : step);
      else if ("raw" in step) send(step.raw);
      else await new Promise((r) => setTimeout(r, step.delayMs));
    }
  };

  const server: DnsTestServer = {
    address,
    port,
    queries: [],
    connections: 0,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
    },
  };
  return server;
}

export function describeQuery(raw: Buffer, transport: Transport, remotePort: number): ReceivedQuery {
  const packet = dnsPacket.decode(raw);
  const question = packet.questions?.[0];
  if (!question) throw new Error("no question");
  const opt = packet.additionals?.find((a) => a.type === "OPT") as dnsPacket.OptAnswer | undefined;
  const options = new Map<number, Buffer>();
  for (const option of (opt?.options ?? []) as { code: number; data?: Buffer }[]) options.set(option.code, option.data ?? Buffer.alloc(0));
  return {
    transport,
    remotePort,
    raw,
    packet,
    id: packet.id ?? 0,
    name: question.name,
    type: question.type,
    class: question.class ?? "IN",
    options,
    hasOpt: opt !== undefined,
    dnssecOk: opt?.flag_do ?? false,
    udpPayloadSize: opt?.udpPayloadSize ?? null,
  };
}

export interface ReplyOptions {
  answers?: dnsPacket.Answer[];
  authorities?: dnsPacket.Answer[];
  /** Header rcode (0-15) and, via OPT, the extended bits above. */
  rcode?: number;
  aa?: boolean;
  tc?: boolean;
  ra?: boolean;
  ad?: boolean;
  /** NSID to return in an OPT record; null sends OPT without NSID; undefined sends no OPT at all unless the query had one. */
  nsid?: string | Buffer | null;
  id?: number;
  /** Question to echo instead of the query's. */
  question?: { name: string; type: string; class?: string };
}

/** A response to `query` encoded with dns-packet (no name compression). */
export function reply(query: ReceivedQuery, options: ReplyOptions = {}): Buffer {
  const rcode = options.rcode ?? 0;
  let flags = rcode & 0xf;
  if (options.aa ?? true) flags |= dnsPacket.AUTHORITATIVE_ANSWER;
  if (options.tc) flags |= dnsPacket.TRUNCATED_RESPONSE;
  if (options.ra) flags |= dnsPacket.RECURSION_AVAILABLE;
  if (options.ad) flags |= dnsPacket.AUTHENTIC_DATA;
  if (query.packet.flags !== undefined && query.packet.flags & dnsPacket.RECURSION_DESIRED) flags |= dnsPacket.RECURSION_DESIRED;
  const additionals: dnsPacket.Answer[] = [];
  if (query.hasOpt || options.nsid !== undefined || rcode > 15) {
    const nsidOptions =
      options.nsid !== undefined && options.nsid !== null
        ? [{ code: 3, data: Buffer.isBuffer(options.nsid) ? options.nsid : Buffer.from(options.nsid) }]
        : [];
    additionals.push({
      type: "OPT",
      name: ".",
      udpPayloadSize: 1232,
      extendedRcode: rcode >> 4,
      ednsVersion: 0,
      flags: 0,
      flag_do: false,
      options: nsidOptions as unknown as dnsPacket.PacketOpt[],
    });
  }
  const question = options.question ?? { name: query.name, type: query.type, class: query.class };
  return dnsPacket.encode({
    type: "response",
    id: options.id ?? query.id,
    flags,
    questions: [question as dnsPacket.Question],
    answers: options.answers ?? [],
    authorities: options.authorities ?? [],
    additionals,
  });
}

/** A TXT answer for a CHAOS identity query. */
export function chaosReply(query: ReceivedQuery, text: string): Buffer {
  return reply(query, { answers: [{ name: query.name, type: "TXT", class: "CH", ttl: 0, data: text } as dnsPacket.Answer] });
}

/** `message` behind its RFC 7766 two-byte length. */
export function frame(message: Buffer): Buffer {
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(message.length);
  return Buffer.concat([prefix, message]);
}

/** A port with nothing listening on it (UDP or TCP), found by binding and releasing. */
export async function closedPort(transport: Transport, address = "127.0.0.1"): Promise<number> {
  if (transport === "udp") {
    const socket = dgram.createSocket(address === "::1" ? "udp6" : "udp4");
    await new Promise<void>((r) => socket.bind(0, address, () => r()));
    const port = socket.address().port;
    await new Promise<void>((r) => socket.close(() => r()));
    return port;
  }
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, address, () => r()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
