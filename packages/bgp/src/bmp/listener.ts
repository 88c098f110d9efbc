// The BMP listener: routers connect over TCP (RFC 7854 §3.2) and stream
// messages; each connection gets its own framer and session, all feed one
// bounded queue that the consumer pulls. A bad stream closes only its own
// connection; a full queue pauses every socket until the consumer catches up.

import { type AddressInfo, type Socket, createServer } from "node:net";
import { LiveFeedConfigError } from "../errors";
import { BoundedQueue } from "../ris-live/queue";
import type { BmpErrorCode } from "./decode";
import { BmpFramer, DEFAULT_MAX_BMP_MESSAGE_BYTES } from "./framer";
import { type BmpItem, BmpSession } from "./session";

export interface BmpListenOptions {
  /** 0 picks a free port (see address()). */
  port: number;
  /** Defaults to all addresses (`::`, which also takes IPv4 where the system allows). */
  host?: string;
  signal?: AbortSignal;
  /** Largest BMP message accepted; a longer length closes that connection (default 128 KiB). */
  maxMessageBytes?: number;
  /** Items between sockets and consumer: pause reading at highWater, resume at lowWater, drop (counted) past hardLimit. */
  queue?: { highWater: number; lowWater: number; hardLimit: number };
}

export interface BmpStats {
  connections: number;
  messages: number;
  events: number;
  errors: Partial<Record<BmpErrorCode, number>>;
  dropped: number;
  peakQueued: number;
}

export interface BmpListener extends AsyncIterable<BmpItem> {
  address(): AddressInfo;
  stats(): BmpStats;
  /** Stops accepting, closes every router connection and ends the iteration. */
  close(): Promise<void>;
}

const DEFAULT_QUEUE = { highWater: 5_000, lowWater: 1_000, hardLimit: 50_000 };

/** Listens for BMP; resolves once listening. Throws LiveFeedConfigError for bad options, and the listen error (EADDRINUSE…) as is. */
export async function listenBmp(options: BmpListenOptions): Promise<BmpListener> {
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)
    throw new LiveFeedConfigError("port", `${options.port} is not a TCP port`);
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_BMP_MESSAGE_BYTES;
  if (!Number.isInteger(maxMessageBytes) || maxMessageBytes < 64)
    throw new LiveFeedConfigError("maxMessageBytes", `${maxMessageBytes} is too small`);

  /** Each open connection and the function that hands its framed messages on while the queue has room. */
  const connections = new Map<Socket, () => void>();
  const stats: BmpStats = { connections: 0, messages: 0, events: 0, errors: {}, dropped: 0, peakQueued: 0 };
  let reportedDrops = 0;
  const queue = new BoundedQueue<BmpItem>({
    ...(options.queue ?? DEFAULT_QUEUE),
    onPause: () => {
      for (const socket of connections.keys()) socket.pause();
    },
    onResume: () => {
      for (const [socket, drain] of connections) {
        drain();
        if (!queue.isPaused && !socket.destroyed) socket.resume();
      }
    },
  });
  const emit = (item: BmpItem): void => {
    if (queue.dropped > reportedDrops && queue.push({ kind: "dropped", count: queue.dropped - reportedDrops }))
      reportedDrops = queue.dropped;
    if (item.kind === "error") stats.errors[item.error.code] = (stats.errors[item.error.code] ?? 0) + 1;
    else if (item.kind === "event") stats.events++;
    queue.push(item);
  };

  const server = createServer((socket) => {
    stats.connections++;
    // A router that vanishes without a FIN (power loss, a cut link) is noticed by TCP keepalive.
    socket.setKeepAlive(true, 30_000);
    if (queue.isPaused) socket.pause();
    const session = new BmpSession(socket.remoteAddress?.replace(/^::ffff:/, "") ?? "unknown", socket.remotePort ?? 0, Date.now);
    const framer = new BmpFramer(maxMessageBytes);
    let closeMessage = "connection closed";
    let closed = false;
    // Messages are taken from the framer only while the queue has room: a
    // paused socket's last chunk waits in the framer instead of overflowing
    // it. A closed connection is reported down once its last message is out.
    const drain = (): void => {
      while (!queue.isPaused) {
        const next = framer.next();
        if (next === null) break;
        if ("code" in next) {
          emit(session.error(next));
          closeMessage = `connection closed after ${next.code}`;
          socket.destroy();
          break;
        }
        stats.messages++;
        for (const item of session.handle(next)) emit(item);
      }
      if (!closed || !connections.has(socket) || (queue.isPaused && framer.pendingBytes > 0)) return;
      connections.delete(socket);
      const truncated = framer.finish();
      if (truncated) emit(session.error(truncated));
      const down: BmpItem = { kind: "router-down", router: session.router, message: closeMessage };
      if (session.terminationReason !== undefined) down.terminationReason = session.terminationReason;
      emit(down);
    };
    connections.set(socket, drain);
    socket.on("data", (chunk: Buffer) => {
      framer.push(chunk);
      drain();
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      emit(session.error({ code: "socket_error", message: `${error.code ?? "error"}: ${error.message}` }));
    });
    socket.on("close", () => {
      closed = true;
      drain();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: options.port, host: options.host ?? "::" }, () => {
      server.off("error", reject);
      resolve();
    });
  });

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      options.signal?.removeEventListener("abort", onAbort);
      server.close(() => {
        queue.end();
        resolve();
      });
      for (const socket of connections.keys()) socket.destroy();
    });
    return closing;
  };
  const onAbort = () => void close();
  if (options.signal?.aborted) await close();
  else options.signal?.addEventListener("abort", onAbort);

  const iterator: AsyncIterator<BmpItem> = {
    next: () => queue.next(),
    return: async () => {
      await close();
      return { value: undefined, done: true };
    },
  };
  return {
    address: () => server.address() as AddressInfo,
    stats: () => ({ ...stats, errors: { ...stats.errors }, dropped: queue.dropped, peakQueued: queue.peak }),
    close,
    [Symbol.asyncIterator]: () => iterator,
  };
}
