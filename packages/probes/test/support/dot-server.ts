// A scriptable loopback DNS-over-TLS server for the dot probe tests: a TLS
// server where each test decides, query by query, which bytes go back on the
// session (the same Handler/Step script as dns-server.ts, over TLS). It
// records the SNI and ALPN each handshake offered, and speaks only on
// 127.0.0.1 or ::1.
import type net from "node:net";
import tls from "node:tls";
import { type Handler, type ReceivedQuery, describeQuery, frame } from "./dns-server";
import { type Listening, listen } from "./tls-servers";

export interface DotTestServer extends Listening {
  address: string;
  queries: ReceivedQuery[];
  /** TLS sessions established so far. */
  sessions(): number;
  /** SNI of each handshake (null when none), in order. */
  servernames: (string | null)[];
  /** ALPN protocols each handshake offered, in order (recorded only when the server speaks ALPN). */
  alpnOffered: string[][];
}

export interface DotServerOptions {
  key: string;
  cert: string;
  /**
   * ALPN protocols the server accepts; a handshake offering none of them is
   * rejected with a fatal alert, as Node's servers do. Omitted: the server
   * does not speak ALPN and ignores what the client offers.
   */
  alpn?: string[];
  address?: string;
}

export async function startDotServer(handler: Handler, options: DotServerOptions): Promise<DotTestServer> {
  const address = options.address ?? "127.0.0.1";
  if (address !== "127.0.0.1" && address !== "::1") throw new Error("test servers stay on loopback");
  const queries: ReceivedQuery[] = [];
  const servernames: (string | null)[] = [];
  const alpnOffered: string[][] = [];
  const state = { sessions: 0 };
  const server = tls.createServer({
    key: options.key,
    cert: options.cert,
    // SNICallback sees the name before the handshake can fail, unlike secureConnection.
    SNICallback: (name, cb) => {
      servernames[servernames.length - 1] = name;
      cb(null);
    },
    ...(options.alpn
      ? {
          ALPNCallback: ({ protocols }: { protocols: string[] }) => {
            alpnOffered[alpnOffered.length - 1] = protocols;
            return protocols.find((p) => options.alpn!.includes(p));
          },
        }
      : {}),
  });
  server.on("connection", () => {
    servernames.push(null);
    alpnOffered.push([]);
  });
  server.on("tlsClientError", () => {});
  server.on("secureConnection", (socket) => {
    state.sessions++;
    socket.on("error", () => {});
    serveStream(socket, handler, queries);
  });
  const listening = await listen(server, address);
  return Object.assign(listening, {
    address,
    queries,
    servernames,
    alpnOffered,
    sessions: () => state.sessions,
  });
}

/** Reads RFC 7766 frames from `socket` and plays the handler's steps for each query, in order. */
function serveStream(socket: net.Socket, handler: Handler, queries: ReceivedQuery[]): void {
  let buffered = Buffer.alloc(0);
  let chain = Promise.resolve();
  socket.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
      const raw = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
      buffered = buffered.subarray(2 + raw.length);
      let query: ReceivedQuery;
      try {
        query = describeQuery(raw, "tcp", socket.remotePort ?? 0);
      } catch {
        continue; // not a query we can read: a real server would drop it too
      }
      queries.push(query);
      chain = chain.then(async () => {
        for (const step of await handler(query)) {
          if (socket.destroyed) return;
          if (step === "end") socket.end();
          else if (Buffer.isBuffer(step)) socket.write(frame(step));
          else if ("raw" in step) socket.write(step.raw);
          else await new Promise((r) => setTimeout(r, step.delayMs));
        }
      });
    }
  });
}
