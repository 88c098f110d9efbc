// popwatch bgp watch and bgp listen, end to end on loopback: RIS Live frames
// replayed by a real WebSocket server (with a dropped connection), and BMP
// bytes from a TCP client playing a router; each run is stopped by its
// AbortSignal as SIGINT would, and what it stored is read back with bgp
// events and bgp state (through the endpoint the running command publishes).
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { type Socket, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { startEmbeddedStore } from "@popwatch/store";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type LoopbackServer, startLoopbackServer } from "../packages/bgp/test/ris-live-server";
import { asPath, attribute, message, prefix, u16, u32, update } from "../packages/bgp/test/wire-build";
import { bgpListenCommand } from "../packages/cli/src/commands/bgp-listen";
import { bgpWatchCommand } from "../packages/cli/src/commands/bgp-watch";
import { main } from "../packages/cli/src/index";
import { captureIo } from "./support/capture-io";

async function cli(...argv: string[]) {
  const c = captureIo();
  const code = await main(argv, c.io);
  return { code, out: c.out, err: c.err };
}

/** Polls `probe` until it returns a value; the timeout's error ends with `context()` (what the command printed). */
async function until<T>(
  what: string,
  probe: () => Promise<T | null> | T | null,
  context: () => string = () => "",
  timeoutMs = 25_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; so far:\n${context()}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

const BASE_CONFIG = { targets: [{ name: "anycast-dns", address: "198.51.100.53", probes: { dns: {} } }] };
const WATCHED = [
  { prefix: "198.51.100.0/24", origins: [64500] },
  { prefix: "2001:db8::/32", origins: [64500] },
];

type StoredEvent = {
  type: string;
  time: number;
  source: string;
  peer: string;
  peerAs: number;
  prefix?: string;
  asPath?: number[];
  origin?: number | null;
};

async function storedEvents(configFile: string, dataDir: string): Promise<StoredEvent[]> {
  const result = await cli("bgp", "events", "--config", configFile, "--data-dir", dataDir, "--since", "1h", "--json");
  if (result.code !== 0) throw new Error(`bgp events failed: ${result.err}`);
  return result.out
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as StoredEvent);
}

const ROOT = join(import.meta.dirname, "..");
const BIN = join(ROOT, "packages", "cli", "bin", "popwatch.mjs");

let dir: string;
let configFile: string;
beforeAll(async () => {
  // `npm test` builds the binary first; build it here only when a lone run finds none.
  if (!existsSync(join(ROOT, "packages", "cli", "dist", "popwatch.mjs"))) {
    await promisify(execFile)(process.execPath, [join(ROOT, "scripts", "build.mjs")], { cwd: ROOT });
  }
  dir = await mkdtemp(join(tmpdir(), "popwatch-bgp-live-"));
  configFile = join(dir, "popwatch.config.json");
  await writeFile(configFile, JSON.stringify({ ...BASE_CONFIG, bgp: { prefixes: WATCHED, minPeers: 1 } }));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("bgp watch", () => {
  let server: LoopbackServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  /** The feeds branch's recorded RIS Live frames, moved to the last minutes (the store keeps events for the retention). */
  function recordedFrames(startSeconds: number): string[] {
    const lines = readFileSync(join(import.meta.dirname, "../packages/bgp/test/fixtures/ris-live-messages.jsonl"), "utf8")
      .trim()
      .split("\n");
    let first: number | null = null;
    return lines.map((line) => {
      const frame = JSON.parse(line) as { data?: { timestamp?: unknown } };
      if (typeof frame.data?.timestamp !== "number") return line;
      first ??= frame.data.timestamp;
      frame.data.timestamp = startSeconds + (frame.data.timestamp - first);
      return JSON.stringify(frame);
    });
  }

  it("stores what RIS Live sends across a reconnect, prints its status, and exits 0 on the signal", async () => {
    const start = Math.floor(Date.now() / 1000) - 300;
    const frames = recordedFrames(start);
    const late = JSON.stringify({
      type: "ris_message",
      data: {
        type: "UPDATE",
        timestamp: start + 60,
        host: "rrc00",
        peer: "198.51.100.9",
        peer_asn: "64509",
        path: [64509, 3356, 64500],
        origin: "igp",
        announcements: [{ next_hop: "198.51.100.9", prefixes: ["198.51.100.0/24"] }],
      },
    });
    server = await startLoopbackServer((connection, index) => {
      void connection.waitFor("ris_subscribe", WATCHED.length).then(() => {
        if (index === 0) {
          for (const frame of frames) connection.socket.send(frame);
          // The first connection drops: the command reconnects and subscribes again.
          setTimeout(() => connection.socket.terminate(), 200);
        } else connection.socket.send(late);
      });
    });
    const dataDir = join(dir, "watch");
    const stop = new AbortController();
    const c = captureIo();
    const running = bgpWatchCommand(["--config", configFile, "--data-dir", dataDir, "--url", server.url, "--status-every", "1"], c.io, {
      signal: stop.signal,
    });

    await until(
      "the watch line",
      () => (c.err.includes(`popwatch bgp watch: ${server?.url}: 2 prefixes into`) ? true : null),
      () => c.err,
    );
    // Read while it runs: the events of the second connection are the last to arrive.
    let pollFailure = "";
    const events = await until(
      "the second connection's event",
      async () => {
        const stored = await storedEvents(configFile, dataDir).catch((err: Error) => {
          pollFailure = err.message;
          return null;
        });
        return stored?.some((e) => e.peer === "198.51.100.9") ? stored : null;
      },
      () =>
        `${c.err}last poll failure: ${pollFailure}\nconnections: ${server?.connections.map((conn) => JSON.stringify(conn.received)).join(" | ")}`,
      45_000,
    );
    stop.abort();
    expect(await running).toBe(0);

    expect(c.err).toMatch(new RegExp(`popwatch bgp watch: connected to ${server.url.replace(/[.?]/g, "\\$&")}\\S* \\(2 subscriptions\\)`));
    expect(c.err).toMatch(/popwatch bgp watch: connection_closed: .*; reconnecting in \d+\.\d s \(attempt 1\)/);
    expect(c.err).toMatch(/popwatch bgp watch: \d+ events received, \d+ of watched prefixes, \d+ written, \d+ duplicates\n/);
    expect(c.err).toMatch(/popwatch bgp watch: stopped: \d+ events received/);
    expect(server.connections.length).toBeGreaterThanOrEqual(2);

    // The same frames imported from a file store the same events: the feed and the file share the conversion and the keys.
    const saved = join(dir, "frames.jsonl");
    await writeFile(saved, `${[...frames, late].join("\n")}\n`);
    const importDir = join(dir, "watch-import");
    const imported = await cli("bgp", "import", "--config", configFile, "--data-dir", importDir, saved);
    expect(imported.code).toBe(0);
    const fromFile = await storedEvents(configFile, importDir);
    expect(events).toEqual(fromFile);
    expect(events).toContainEqual(
      expect.objectContaining({
        type: "A",
        source: "rrc20",
        peer: "2001:7f8:24::82",
        peerAs: 58299,
        prefix: "2001:db8:100::/48",
        asPath: [58299, 49981, 64500],
        origin: 64500,
      }),
    );
    expect(events.every((e) => e.prefix === undefined || e.prefix.startsWith("198.51.100.") || e.prefix.startsWith("2001:db8:"))).toBe(
      true,
    );

    // After the stop the store is closed and free again.
    const after = await storedEvents(configFile, dataDir);
    expect(after).toEqual(events);
  }, 90_000);

  it("a bad --url is a usage error, exit 2", async () => {
    const result = await cli("bgp", "watch", "--config", configFile, "--url", "http://example.test/");
    expect(result.code).toBe(2);
    expect(result.err).toContain('--url: expected a ws:// or wss:// URL, got "http://example.test/"');
  });
});

// BMP (RFC 7854) from the layouts of §4: common header, per-peer header, and the messages a router sends.
const BMP = { routeMonitoring: 0, peerUp: 3, initiation: 4, termination: 5 } as const;

function bmp(type: number, body: number[]): Buffer {
  return Buffer.from([3, ...u32(6 + body.length), type, ...body]);
}

function perPeerHeader(address: number[], as: number, seconds: number): number[] {
  return [
    0,
    0,
    ...new Array<number>(8).fill(0),
    ...new Array<number>(12).fill(0),
    ...address,
    ...u32(as),
    203,
    0,
    113,
    2,
    ...u32(seconds),
    ...u32(0),
  ];
}

function bgpOpen(as: number): number[] {
  // A 4-octet AS capability: the route monitoring that follows carries 4-byte AS paths.
  const capability = [2, 6, 65, 4, ...u32(as)];
  return [...message(1, [4, ...u16(as), ...u16(90), 203, 0, 113, 1, capability.length, ...capability])];
}

function tlv(type: number, text: string): number[] {
  const bytes = [...Buffer.from(text)];
  return [...u16(type), ...u16(bytes.length), ...bytes];
}

function announce(address: number[], length: number, path: number[]): number[] {
  return [
    ...update(
      [],
      [...attribute(1, [0]), ...attribute(2, asPath([[2, path]], 4)), ...attribute(3, [203, 0, 113, 2])],
      prefix(address, length),
    ),
  ];
}

/** What a router sends: Initiation (sysName lab-r1), Peer Up of 203.0.113.2 AS64501, three Route Monitoring announcements. */
function routerSession(now: number): Buffer {
  const peer = [203, 0, 113, 2];
  return Buffer.concat([
    bmp(BMP.initiation, [...tlv(1, "FRR 8.4 lab"), ...tlv(2, "lab-r1")]),
    bmp(BMP.peerUp, [
      ...perPeerHeader(peer, 64501, now),
      ...new Array<number>(12).fill(0),
      203,
      0,
      113,
      1,
      ...u16(179),
      ...u16(40000),
      ...bgpOpen(64496),
      ...bgpOpen(64501),
    ]),
    bmp(BMP.routeMonitoring, [...perPeerHeader(peer, 64501, now + 1), ...announce([198, 51, 100, 0], 24, [64501, 64500])]),
    // The hijack: a more-specific from another origin.
    bmp(BMP.routeMonitoring, [...perPeerHeader(peer, 64501, now + 2), ...announce([198, 51, 100, 128], 25, [64501, 64666])]),
    // Not watched: not stored.
    bmp(BMP.routeMonitoring, [...perPeerHeader(peer, 64501, now + 3), ...announce([203, 0, 113, 0], 24, [64501, 64502])]),
  ]);
}

describe("bgp listen", () => {
  const sockets: Socket[] = [];
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.destroy();
  });

  it("stores a router's routes, and bgp state shows the origin and sub-prefix hijack among them", async () => {
    const dataDir = join(dir, "listen");
    const stop = new AbortController();
    const c = captureIo();
    const running = bgpListenCommand(
      ["--config", configFile, "--data-dir", dataDir, "--port", "0", "--address", "127.0.0.1", "--status-every", "1"],
      c.io,
      { signal: stop.signal },
    );
    const port = await until("the listening line", () => /BMP on port (\d+)/.exec(c.err)?.[1] ?? null);

    const now = Math.floor(Date.now() / 1000) - 30;
    const bytes = routerSession(now);
    const socket = connect({ host: "127.0.0.1", port: Number(port) });
    sockets.push(socket);
    await new Promise<void>((resolve) => socket.once("connect", resolve));
    // In two pieces, split inside a message: the listener frames a stream.
    socket.write(bytes.subarray(0, 150));
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.write(bytes.subarray(150));

    const events = await until("the router's two watched routes", async () => {
      const stored = await storedEvents(configFile, dataDir).catch(() => null);
      return stored !== null && stored.filter((e) => e.type === "A").length >= 2 ? stored : null;
    });
    expect(events.filter((e) => e.type === "A")).toEqual([
      expect.objectContaining({
        source: "bmp:lab-r1",
        peer: "203.0.113.2",
        peerAs: 64501,
        prefix: "198.51.100.0/24",
        asPath: [64501, 64500],
        origin: 64500,
        time: now + 1,
      }),
      expect.objectContaining({
        source: "bmp:lab-r1",
        peer: "203.0.113.2",
        prefix: "198.51.100.128/25",
        asPath: [64501, 64666],
        origin: 64666,
        time: now + 2,
      }),
    ]);

    const state = await cli("bgp", "state", "--config", configFile, "--data-dir", dataDir, "--json");
    expect(state.code).toBe(0);
    const [v4] = (JSON.parse(state.out) as { prefixes: { prefix: string; origins: unknown[]; findings: Record<string, unknown>[] }[] })
      .prefixes;
    expect(v4?.prefix).toBe("198.51.100.0/24");
    expect(v4?.origins).toEqual([{ asn: 64500, peers: 1, expected: true }]);
    expect(v4?.findings).toEqual([
      expect.objectContaining({
        condition: "origin-hijack",
        asns: [64666],
        expected: [64500],
        prefixes: ["198.51.100.128/25"],
        peers: [{ source: "bmp:lab-r1", peer: "203.0.113.2", peerAs: 64501 }],
      }),
      expect.objectContaining({
        condition: "sub-prefix-hijack",
        asns: [64666],
        origins: [64666],
        prefixes: ["198.51.100.128/25"],
        maxLength: 24,
      }),
    ]);
    const text = await cli("bgp", "state", "--config", configFile, "--data-dir", dataDir);
    expect(text.out).toContain(
      "origin hijack: AS64666 originating 198.51.100.128/25 (expected AS64500); seen by 1 peer (bmp:lab-r1 203.0.113.2 AS64501)",
    );
    expect(text.out).toContain("sub-prefix hijack: 198.51.100.128/25 (longer than /24) originated by AS64666");

    stop.abort();
    expect(await running).toBe(0);
    expect(c.err).toContain("popwatch bgp listen: router bmp:lab-r1 (127.0.0.1) connected: FRR 8.4 lab");
    expect(c.err).toMatch(/popwatch bgp listen: stopped: \d+ events received, \d+ of watched prefixes, \d+ written, 0 duplicates/);
  });

  it("waits out a short-lived reader that holds the data directory, then owns it", async () => {
    const dataDir = join(dir, "listen-held");
    // What `bgp events` does for a moment: the embedded store open, no endpoint published.
    const reader = await startEmbeddedStore({ dataDir });
    const stop = new AbortController();
    const c = captureIo();
    const running = bgpListenCommand(["--config", configFile, "--data-dir", dataDir, "--port", "0", "--address", "127.0.0.1"], c.io, {
      signal: stop.signal,
    });
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(c.err).not.toContain("BMP on port");
    await reader.close();
    await until(
      "the listening line",
      () => (c.err.includes("BMP on port") ? true : null),
      () => c.err,
    );
    expect(existsSync(join(dataDir, "endpoint.json"))).toBe(true);
    stop.abort();
    expect(await running).toBe(0);
  });

  it("a port in use is named, exit 1", async () => {
    const { createServer } = await import("node:net");
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const c = captureIo();
      const code = await bgpListenCommand(
        ["--config", configFile, "--data-dir", join(dir, "busy"), "--port", String(port), "--address", "127.0.0.1"],
        c.io,
        {
          signal: new AbortController().signal,
        },
      );
      expect(code).toBe(1);
      expect(c.err).toContain(`popwatch bgp listen: cannot listen on 127.0.0.1 port ${port}: EADDRINUSE`);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it("the built binary stops on SIGINT: events received are written, exit 0, data directory free again", async () => {
    const dataDir = join(dir, "listen-binary");
    const child: ChildProcess = spawn(
      process.execPath,
      [BIN, "bgp", "listen", "--config", configFile, "--data-dir", dataDir, "--port", "0", "--address", "127.0.0.1"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let err = "";
    child.stderr!.on("data", (chunk: Buffer) => (err += chunk.toString()));
    const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      const port = await until("the listening line", () => /BMP on port (\d+)/.exec(err)?.[1] ?? null);
      const socket = connect({ host: "127.0.0.1", port: Number(port) });
      sockets.push(socket);
      await new Promise<void>((resolve) => socket.once("connect", resolve));
      socket.write(routerSession(Math.floor(Date.now() / 1000) - 10));
      await until("the router's status line", () => (err.includes("router bmp:lab-r1 (127.0.0.1) connected") ? true : null));
      // At once, before the one-second batch is due: the signal must flush it.
      child.kill("SIGINT");
      const [code, signal] = await exited;
      expect({ code, signal, err }).toMatchObject({ code: 0, signal: null });
      expect(err).toContain("SIGINT: stopping, writing the events received");
      expect(err).toMatch(/stopped: \d+ events received, \d+ of watched prefixes, [1-9]\d* written/);
      expect(existsSync(join(dataDir, "endpoint.json"))).toBe(false);
      const stored = await storedEvents(configFile, dataDir);
      expect(stored.filter((e) => e.type === "A").map((e) => e.prefix)).toEqual(["198.51.100.0/24", "198.51.100.128/25"]);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });
});
