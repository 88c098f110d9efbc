// A loopback RIS Live stand-in for the tests and the benchmark: a real `ws`
// WebSocketServer on 127.0.0.1 whose behaviour per connection the test scripts.

import type { AddressInfo } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";

export interface LoopbackConnection {
  socket: WebSocket;
  /** Parsed JSON texts the client sent on this connection. */
  received: unknown[];
  /** Resolves once `count` client messages of `type` have arrived. */
  waitFor(type: string, count?: number): Promise<void>;
}

export interface LoopbackServer {
  url: string;
  connections: LoopbackConnection[];
  /** Resolves with the `index`-th connection (0-based) once it exists. */
  connection(index: number): Promise<LoopbackConnection>;
  close(): Promise<void>;
}

export async function startLoopbackServer(onConnection: (connection: LoopbackConnection, index: number) => void): Promise<LoopbackServer> {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  const connections: LoopbackConnection[] = [];
  const waiters: (() => void)[] = [];
  server.on("connection", (socket) => {
    const received: unknown[] = [];
    let notify: (() => void) | null = null;
    const connection: LoopbackConnection = {
      socket,
      received,
      async waitFor(type, count = 1) {
        while (received.filter((m) => (m as { type?: unknown }).type === type).length < count) {
          await new Promise<void>((resolve) => {
            notify = resolve;
          });
        }
      },
    };
    socket.on("message", (data) => {
      try {
        received.push(JSON.parse(data.toString()));
      } catch {
        received.push({ type: "(not json)" });
      }
      notify?.();
    });
    connections.push(connection);
    onConnection(connection, connections.length - 1);
    for (const waiter of waiters.splice(0)) waiter();
  });
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/v1/ws/`,
    connections,
    async connection(index) {
      while (connections.length <= index) await new Promise<void>((resolve) => waiters.push(resolve));
      return connections[index] as LoopbackConnection;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}
