// Loopback servers for the tls, http, dot and doh probe tests, and the
// per-file fixture they share (useTlsFixture). Every server listens on
// 127.0.0.1 (or ::1) only, on an ephemeral port, and tracks its sockets so a
// test can assert the probe closed its connection and `close()` never hangs.
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { afterAll, afterEach, beforeAll } from "vitest";
import { type TestPki, createTestPki } from "../../../../test/support/pki";

export interface Listening {
  port: number;
  /** Server-side sockets not yet closed. */
  openSockets(): number;
  /** Resolves once every server-side socket has closed (the probe let go), or rejects after `ms`. */
  drained(ms?: number): Promise<void>;
  close(): Promise<void>;
}

export async function listen(server: net.Server, host = "127.0.0.1"): Promise<Listening> {
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.once("close", () => sockets.delete(socket));
  };
  // TLS servers hand the raw TCP socket to "connection"; it closes with the TLS one.
  server.on("connection", track);
  server.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    openSockets: () => sockets.size,
    drained: async (ms = 2000) => {
      const until = Date.now() + ms;
      while (sockets.size > 0) {
        if (Date.now() > until) throw new Error(`${sockets.size} server-side socket(s) still open after ${ms} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface TlsServerOptions {
  key: string;
  cert: string;
  alpn?: string[];
}

export interface TlsServer extends Listening {
  /** SNI each handshake carried (null when none), in order. */
  servernames: (string | null)[];
}

/** A TLS server that completes handshakes and then says nothing. */
export async function startTlsServer(options: TlsServerOptions): Promise<TlsServer> {
  const servernames: (string | null)[] = [];
  const server = tls.createServer({
    key: options.key,
    cert: options.cert,
    ...(options.alpn ? { ALPNProtocols: options.alpn } : {}),
    // SNICallback sees the name before the handshake can fail, unlike secureConnection.
    SNICallback: (name, cb) => {
      servernames[servernames.length - 1] = name;
      cb(null);
    },
  });
  server.on("connection", () => servernames.push(null));
  server.on("tlsClientError", () => {});
  server.on("secureConnection", (socket) => socket.on("error", () => {}));
  return Object.assign(await listen(server), { servernames });
}

/** A TCP server that hands each connection to `onConnection` (garbage, silence, half a response…). */
export async function startRawServer(onConnection: (socket: net.Socket) => void, host?: string): Promise<Listening> {
  return listen(net.createServer(onConnection), host);
}

/** A loopback port with nothing listening: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A test file's CA and leaves, and the servers its tests started. */
export interface TlsFixture {
  /** Made once per file, in a temporary directory removed after the file. */
  readonly pki: TestPki;
  /** Closed after each test. */
  readonly servers: Listening[];
}

/**
 * Registers the hooks every TLS-speaking probe test needs: a test PKI for the
 * file (`prefix` names its temporary directory), and closing each test's
 * servers after it.
 */
export function useTlsFixture(prefix: string): TlsFixture {
  let dir = "";
  const fixture = { pki: undefined as unknown as TestPki, servers: [] as Listening[] };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    fixture.pki = createTestPki(dir);
  });
  afterEach(async () => {
    await Promise.all(fixture.servers.splice(0).map((s) => s.close()));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return fixture;
}
