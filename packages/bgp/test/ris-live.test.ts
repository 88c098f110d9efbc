import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type RouteEvent, prefixOf } from "@popwatch/core";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { LiveFeedConfigError } from "../src/errors";
import { reconnectDelayMs } from "../src/ris-live/backoff";
import { type RisLiveItem, type RisLiveOptions, watchRisLive } from "../src/ris-live/client";
import { parseRisFrame, subscribeMessage } from "../src/ris-live/messages";
import { type LoopbackServer, startLoopbackServer } from "./ris-live-server";

const FIXTURE = readFileSync(join(import.meta.dirname, "fixtures", "ris-live-messages.jsonl"), "utf8")
  .trim()
  .split("\n");
const WATCHED = ["198.51.100.0/24", "2001:db8::/32"];
const watchedPrefixes = WATCHED.map((p) => prefixOf(p));

let server: LoopbackServer | null = null;
const controllers: AbortController[] = [];
afterEach(async () => {
  for (const controller of controllers.splice(0)) controller.abort();
  await server?.close();
  server = null;
});

function watch(options: Partial<RisLiveOptions> & { url: string }) {
  const controller = new AbortController();
  controllers.push(controller);
  const feed = watchRisLive({ prefixes: WATCHED, signal: controller.signal, backoff: { initialMs: 20, maxMs: 200 }, ...options });
  return { feed, iterator: feed[Symbol.asyncIterator](), controller };
}

/** Pulls items until `done` says stop; returns every item pulled. */
async function pullUntil(iterator: AsyncIterator<RisLiveItem>, done: (items: RisLiveItem[]) => boolean): Promise<RisLiveItem[]> {
  const items: RisLiveItem[] = [];
  while (!done(items)) {
    const next = await iterator.next();
    if (next.done) break;
    items.push(next.value);
  }
  return items;
}

const routes = (items: RisLiveItem[]): RouteEvent[] => items.flatMap((i) => (i.kind === "route" ? [i.event] : []));

function message(seq: number, prefix = "198.51.100.0/24", id = `${seq}`): string {
  return JSON.stringify({
    type: "ris_message",
    data: {
      id,
      timestamp: 1733480000 + seq / 1000,
      peer: "80.81.192.157",
      peer_asn: "6939",
      host: "rrc12",
      type: "UPDATE",
      path: [6939, seq + 1],
      origin: "igp",
      announcements: [{ next_hop: "80.81.192.157", prefixes: [prefix] }],
    },
  });
}

describe("RIS Live frames", () => {
  it("asks for more-specifics of one prefix, updates only, without raw bytes", () => {
    expect(JSON.parse(subscribeMessage({ prefix: "2001:db8::/32", host: "rrc21" }))).toEqual({
      type: "ris_subscribe",
      data: {
        prefix: "2001:db8::/32",
        moreSpecific: true,
        lessSpecific: false,
        type: "UPDATE",
        socketOptions: { includeRaw: false },
        host: "rrc21",
      },
    });
  });

  it("classifies malformed frames and never throws on any string or JSON value", () => {
    expect(parseRisFrame("{", watchedPrefixes)).toMatchObject({ kind: "error", error: { code: "invalid_json" } });
    expect(parseRisFrame("[1]", watchedPrefixes)).toMatchObject({ kind: "error", error: { code: "unexpected_shape" } });
    expect(parseRisFrame('{"type":"ris_error","data":{"message":"Unknown subscription"}}', watchedPrefixes)).toEqual({
      kind: "error",
      error: { code: "server_error", message: "Unknown subscription" },
    });
    const bad = JSON.parse(message(1)) as { data: Record<string, unknown> };
    bad.data.path = [6939, "x"];
    expect(parseRisFrame(JSON.stringify(bad), watchedPrefixes)).toMatchObject({ kind: "error", error: { code: "unexpected_shape" } });
    const hostBits = JSON.parse(message(1)) as { data: { announcements: { prefixes: string[] }[] } };
    hostBits.data.announcements[0]!.prefixes = ["198.51.100.1/24"];
    expect(parseRisFrame(JSON.stringify(hostBits), watchedPrefixes)).toMatchObject({
      kind: "error",
      error: { code: "unexpected_shape", message: 'announced "198.51.100.1/24" is not a prefix' },
    });
    const kinds = new Set(["routes", "pong", "ignored", "error"]);
    fc.assert(fc.property(fc.string(), (text) => kinds.has(parseRisFrame(text, watchedPrefixes).kind)));
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (data, extra) => {
        const frame = { type: "ris_message", data: typeof data === "object" && data !== null ? { type: "UPDATE", ...data } : data, extra };
        return kinds.has(parseRisFrame(JSON.stringify(frame), watchedPrefixes).kind);
      }),
    );
  });
});

describe("watchRisLive against a loopback server", () => {
  it("refuses options it cannot start with, naming the field", () => {
    expect(() => watchRisLive({ prefixes: [] })).toThrow(LiveFeedConfigError);
    expect(() => watchRisLive({ prefixes: ["198.51.100.0/24", "nope"] })).toThrow("prefixes[1]");
    expect(() => watchRisLive({ prefixes: ["198.51.100.1/24"] })).toThrow("host-bits");
    expect(() => watchRisLive({ prefixes: WATCHED, url: "http://127.0.0.1/" })).toThrow("url");
  });

  it("subscribes per prefix, converts the recorded frames and keeps only watched prefixes", async () => {
    server = await startLoopbackServer((connection) => {
      void connection.waitFor("ris_subscribe", 2).then(() => {
        for (const line of FIXTURE) connection.socket.send(line);
      });
    });
    const { iterator } = watch({ url: server.url });
    const items = await pullUntil(iterator, (got) => routes(got).length >= 6);
    // RIPE's manual asks clients to name themselves in the URL.
    expect(items[0]).toEqual({ kind: "connected", url: `${server.url}?client=popwatch`, subscriptions: 2 });
    expect(server.connections[0]?.received).toEqual(WATCHED.map((prefix) => JSON.parse(subscribeMessage({ prefix }))));
    const base = (peer: string, peerAs: number, source: string, timeMs: number) => ({ peer, peerAs, source, timeMs });
    expect(routes(items)).toEqual([
      {
        type: "A",
        ...base("2001:7f8:24::82", 58299, "rrc20", 1733480000120),
        prefix: "2001:db8:100::/48",
        asPath: [58299, 49981, 64500],
        origin: 64500,
        originAttribute: "IGP",
        nextHop: "2001:7f8:24::82",
        communities: ["58299:100", "49981:2000"],
      },
      {
        type: "A",
        ...base("80.81.192.157", 6939, "rrc12", 1733480000570),
        prefix: "198.51.100.0/24",
        asPath: [6939, 3356, 64500],
        origin: 64500,
        originAttribute: "IGP",
        nextHop: "80.81.192.157",
      },
      {
        type: "A",
        ...base("195.66.224.175", 13237, "rrc01", 1733480001003),
        prefix: "198.51.100.128/25",
        asPath: [13237, 174, 64500],
        origin: 64500,
        originAttribute: "INCOMPLETE",
        nextHop: "195.66.224.175",
      },
      {
        type: "A",
        ...base("2001:7f8:1::a501:3237:1", 13237, "rrc00", 1733480001500),
        prefix: "2001:db8::/32",
        asPath: [13237, 3257, 64500, 64501],
        asSets: [[64500, 64501]],
        origin: null,
        originAttribute: "EGP",
        nextHop: "2001:7f8:1::a501:3237:1",
      },
      { type: "W", ...base("80.81.192.157", 6939, "rrc12", 1733480002250), prefix: "198.51.100.0/24", asPath: [], origin: null },
      { type: "W", ...base("2001:7f8:24::82", 58299, "rrc20", 1733480002750), prefix: "2001:db8:100::/48", asPath: [], origin: null },
    ]);
  });

  it("reconnects with growing, jittered delays, resubscribes, and resets the backoff after a healthy connection", async () => {
    const closedAt: number[] = [];
    server = await startLoopbackServer((connection, index) => {
      void connection.waitFor("ris_subscribe", 2).then(() => {
        connection.socket.send(message(index));
        // The first three connections drop at once; the fourth lives past healthyAfterMs, then drops too.
        setTimeout(
          () => {
            closedAt[index] = Date.now();
            connection.socket.terminate();
          },
          index < 3 ? 0 : 250,
        );
      });
    });
    const { iterator } = watch({ url: server.url, backoff: { initialMs: 40, maxMs: 120 }, healthyAfterMs: 150, random: () => 1 });
    const items = await pullUntil(iterator, (got) => got.filter((i) => i.kind === "connected").length >= 5 && routes(got).length >= 5);
    const reconnects = items.flatMap((i) => (i.kind === "reconnecting" ? [i] : []));
    expect(reconnects.map((r) => r.afterMs)).toEqual([40, 80, 120, 40]);
    expect(reconnects.every((r) => r.reason.code === "connection_closed")).toBe(true);
    expect(routes(items).map((e) => e.asPath[1])).toEqual([1, 2, 3, 4, 5]);
    for (let i = 1; i < 5; i++) {
      const connection = await server.connection(i);
      expect(connection.received.filter((m) => (m as { type: string }).type === "ris_subscribe")).toHaveLength(2);
    }
    // The jitter draws from the upper half of each step.
    expect(reconnectDelayMs(3, { initialMs: 1000, maxMs: 60_000 }, 0)).toBe(4000);
    expect(reconnectDelayMs(40, { initialMs: 1000, maxMs: 60_000 }, 1)).toBe(60_000);
  });

  it("keeps retrying, with growing delays, a server that refuses connections", async () => {
    // A port that was just free: nothing listens until the server starts on it.
    const probe = await startLoopbackServer(() => {});
    const url = probe.url;
    await probe.close();
    const { iterator } = watch({ url, backoff: { initialMs: 20, maxMs: 80 }, random: () => 0 });
    const failures = await pullUntil(iterator, (got) => got.length >= 3);
    expect(failures.map((i) => (i.kind === "reconnecting" ? [i.afterMs, i.reason.code] : i.kind))).toEqual([
      [10, "connect_failed"],
      [20, "connect_failed"],
      [40, "connect_failed"],
    ]);
  });

  it("pings, stays connected while pongs come back, and reconnects when the server falls silent", async () => {
    let answerPings = true;
    server = await startLoopbackServer((connection) => {
      connection.socket.on("message", (data) => {
        if (answerPings && JSON.parse(data.toString()).type === "ping") connection.socket.send('{"type":"pong","data":null}');
      });
    });
    const { iterator, feed } = watch({ url: server.url, pingIntervalMs: 30, heartbeatTimeoutMs: 150 });
    await pullUntil(iterator, (got) => got.length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const first = await server.connection(0);
    expect(first.received.filter((m) => (m as { type: string }).type === "ping").length).toBeGreaterThanOrEqual(5);
    expect(server.connections).toHaveLength(1);
    answerPings = false;
    const items = await pullUntil(iterator, (got) => got.some((i) => i.kind === "reconnecting"));
    expect(items.find((i) => i.kind === "reconnecting")).toMatchObject({ reason: { code: "heartbeat_timeout" } });
    await server.connection(1);
    expect(feed.stats().errors.heartbeat_timeout).toBe(1);
  });

  it("turns binary, non-JSON and misshapen frames into error items and keeps reading", async () => {
    const garbage = fc.sample(fc.string({ maxLength: 40 }), { numRuns: 200, seed: 11 });
    server = await startLoopbackServer((connection) => {
      void connection.waitFor("ris_subscribe", 2).then(() => {
        connection.socket.send(Buffer.from([0x80, 0x00, 0xff]));
        connection.socket.send("{not json");
        connection.socket.send('{"type":"ris_message","data":{"type":"UPDATE","timestamp":"soon"}}');
        for (const text of garbage) connection.socket.send(text);
        connection.socket.send(message(7));
      });
    });
    const { iterator, feed } = watch({ url: server.url });
    const items = await pullUntil(iterator, (got) => routes(got).length >= 1);
    const codes = items.flatMap((i) => (i.kind === "error" ? [i.error.code] : []));
    expect(codes.slice(0, 3)).toEqual(["binary_frame", "invalid_json", "unexpected_shape"]);
    expect(routes(items)[0]?.asPath).toEqual([6939, 8]);
    expect(items.some((i) => i.kind === "reconnecting")).toBe(false);
    const stats = feed.stats();
    expect(stats.frames).toBe(3 + garbage.length + 1);
    expect(Object.values(stats.errors).reduce((a, b) => a + (b ?? 0), 0)).toBe(codes.length);
  });

  it("pauses reading for a slow consumer: every message arrives, in order, with the queue bounded", async () => {
    const total = 10_000;
    // Frames of about 2 kB, so that 20 MB in all overflow the kernel's socket buffers while the client is paused.
    const padding = "x".repeat(1800);
    let peakServerBuffered = 0;
    server = await startLoopbackServer((connection) => {
      void connection.waitFor("ris_subscribe", 2).then(async () => {
        // In batches, so that this server (in the same process) leaves the event loop to the client in between.
        for (let seq = 0; seq < total; seq++) {
          connection.socket.send(message(seq, seq % 2 ? "198.51.100.0/25" : "2001:db8:1::/48", padding));
          peakServerBuffered = Math.max(peakServerBuffered, connection.socket.bufferedAmount);
          if (seq % 200 === 199) await new Promise((resolve) => setImmediate(resolve));
        }
      });
    });
    const queue = { highWater: 200, lowWater: 50, hardLimit: 1000 };
    const { iterator, feed } = watch({ url: server.url, queue, heartbeatTimeoutMs: 250, pingIntervalMs: 50 });
    const items: RisLiveItem[] = [];
    let received = 0;
    while (received < total) {
      const next = await iterator.next();
      if (next.done) break;
      items.push(next.value);
      if (next.value.kind !== "route") continue;
      received++;
      // A slow consumer: it stops for longer than the heartbeat timeout now and then.
      if (received % 2_500 === 0) await new Promise((resolve) => setTimeout(resolve, 400));
    }
    const seqs = routes(items).map((e) => (e.asPath[1] as number) - 1);
    expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i));
    const stats = feed.stats();
    expect(stats.dropped).toBe(0);
    expect(stats.peakQueued).toBeLessThanOrEqual(queue.hardLimit);
    expect(stats.pausedReads).toBeGreaterThan(0);
    // Reading was paused past the heartbeat timeout without a reconnect.
    expect(items.some((i) => i.kind === "reconnecting")).toBe(false);
    // What the client did not read waited on the server's side of the connection.
    expect(peakServerBuffered).toBeGreaterThan(0);
  });
});
