import { type Socket, connect } from "node:net";
import type { BgpEvent } from "@popwatch/core";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import type { BmpErrorCode } from "../src/bmp/decode";
import { BmpFramer } from "../src/bmp/framer";
import { type BmpListener, listenBmp } from "../src/bmp/listener";
import { type BmpItem, BmpSession } from "../src/bmp/session";
import { LiveFeedConfigError } from "../src/errors";
import { asPath, attribute, message, prefix, u16, u32, update } from "./wire-build";

// BMP messages byte by byte from RFC 7854's layouts (§4.1 common header, §4.2 per-peer header, §4.3–4.10 bodies).
function bmp(type: number, body: number[], version = 3): number[] {
  return [version, ...u32(6 + body.length), type, ...body];
}

interface PeerOptions {
  v6?: boolean;
  post?: boolean;
  twoByteAs?: boolean;
  address: number[];
  as: number;
  seconds?: number;
  micros?: number;
}

function perPeer(p: PeerOptions): number[] {
  const flags = (p.v6 ? 0x80 : 0) | (p.post ? 0x40 : 0) | (p.twoByteAs ? 0x20 : 0);
  const address = p.v6 ? p.address : [...new Array<number>(12).fill(0), ...p.address];
  return [
    0,
    flags,
    ...new Array<number>(8).fill(0),
    ...address,
    ...u32(p.as),
    192,
    0,
    2,
    1,
    ...u32(p.seconds ?? 1733480000),
    ...u32(p.micros ?? 250_000),
  ];
}

function tlv(type: number, text: string): number[] {
  const bytes = [...Buffer.from(text)];
  return [...u16(type), ...u16(bytes.length), ...bytes];
}

function open(as: number, as4: boolean): number[] {
  const capabilities = as4 ? [2, 6, 65, 4, ...u32(as)] : [];
  return [...message(1, [4, ...u16(as > 0xffff ? 23456 : as), ...u16(90), 198, 51, 100, 1, capabilities.length, ...capabilities])];
}

function peerUp(peer: PeerOptions, as4: boolean): number[] {
  return bmp(3, [
    ...perPeer(peer),
    ...new Array<number>(12).fill(0),
    203,
    0,
    113,
    1,
    ...u16(179),
    ...u16(40000),
    ...open(65000, as4),
    ...open(peer.as, as4),
  ]);
}

const PEER4: PeerOptions = { address: [203, 0, 113, 6], as: 4200000001 };
const PEER2: PeerOptions = { address: [203, 0, 113, 10], as: 65002, twoByteAs: true };
const ANNOUNCE4 = update(
  [],
  [...attribute(1, [0]), ...attribute(2, asPath([[2, [4200000001, 64500]]], 4)), ...attribute(3, [203, 0, 113, 6])],
  prefix([198, 51, 100, 0], 24),
);
const ANNOUNCE2 = update(
  [],
  [...attribute(1, [2]), ...attribute(2, asPath([[2, [65002, 64501]]], 2)), ...attribute(3, [203, 0, 113, 10])],
  prefix([198, 51, 100, 128], 25),
);
const WITHDRAW = update(prefix([198, 51, 100, 0], 24), [], []);

const STREAM = [
  ...bmp(4, [...tlv(1, "FRRouting test"), ...tlv(2, "edge-1"), ...tlv(0, "hello")]),
  ...peerUp(PEER4, true),
  ...bmp(0, [...perPeer(PEER4), ...ANNOUNCE4]),
  ...bmp(0, [...perPeer({ ...PEER4, post: true }), ...ANNOUNCE4]),
  ...peerUp(PEER2, false),
  ...bmp(0, [...perPeer(PEER2), ...ANNOUNCE2]),
  ...bmp(1, [...perPeer(PEER4), ...u32(0)]),
  ...bmp(0, [...perPeer(PEER4), ...WITHDRAW]),
  ...bmp(2, [...perPeer(PEER2), 2]),
  ...bmp(5, [...tlv(0, "bye"), ...u16(1), ...u16(2), ...u16(2)]),
];

const EXPECTED_EVENTS: BgpEvent[] = [
  { type: "STATE", timeMs: 1733480000250, source: "bmp:edge-1", peer: "203.0.113.6", peerAs: 4200000001, up: true },
  ...(["pre", "post"] as const).map(
    (policy): BgpEvent => ({
      type: "A",
      timeMs: 1733480000250,
      source: "bmp:edge-1",
      peer: "203.0.113.6",
      peerAs: 4200000001,
      prefix: "198.51.100.0/24",
      asPath: [4200000001, 64500],
      origin: 64500,
      originAttribute: "IGP",
      nextHop: "203.0.113.6",
      policy,
    }),
  ),
  { type: "STATE", timeMs: 1733480000250, source: "bmp:edge-1", peer: "203.0.113.10", peerAs: 65002, up: true },
  {
    type: "A",
    timeMs: 1733480000250,
    source: "bmp:edge-1",
    peer: "203.0.113.10",
    peerAs: 65002,
    prefix: "198.51.100.128/25",
    asPath: [65002, 64501],
    origin: 64501,
    originAttribute: "INCOMPLETE",
    nextHop: "203.0.113.10",
    policy: "pre",
  },
  {
    type: "W",
    timeMs: 1733480000250,
    source: "bmp:edge-1",
    peer: "203.0.113.6",
    peerAs: 4200000001,
    prefix: "198.51.100.0/24",
    asPath: [],
    origin: null,
    policy: "pre",
  },
  { type: "STATE", timeMs: 1733480000250, source: "bmp:edge-1", peer: "203.0.113.10", peerAs: 65002, up: false },
];

const ERROR_CODES = new Set<BmpErrorCode>([
  "bad_version",
  "bad_length",
  "truncated",
  "unknown_type",
  "bad_bgp",
  "truncated_stream",
  "socket_error",
]);

let listener: BmpListener | null = null;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await listener?.close();
  listener = null;
});

async function router(bytes: number[] | Uint8Array, end = true): Promise<Socket> {
  const socket = connect((listener as BmpListener).address().port, "127.0.0.1");
  sockets.push(socket);
  await new Promise<void>((resolve) => socket.once("connect", resolve));
  if (end) socket.end(Uint8Array.from(bytes));
  else socket.write(Uint8Array.from(bytes));
  return socket;
}

async function pullUntil(iterator: AsyncIterator<BmpItem>, done: (items: BmpItem[]) => boolean): Promise<BmpItem[]> {
  const items: BmpItem[] = [];
  while (!done(items)) {
    const next = await iterator.next();
    if (next.done) break;
    items.push(next.value);
  }
  return items;
}

const events = (items: BmpItem[]) => items.flatMap((i) => (i.kind === "event" ? [i.event] : []));
const downs = (items: BmpItem[]) => items.filter((i) => i.kind === "router-down").length;

function runSession(chunks: Uint8Array[]): BmpItem[] {
  const framer = new BmpFramer(4096);
  const session = new BmpSession("203.0.113.2", 5000, () => 0);
  const items: BmpItem[] = [];
  for (const chunk of chunks) {
    framer.push(Buffer.from(chunk));
    for (let next = framer.next(); next !== null; next = framer.next()) {
      if ("code" in next) items.push(session.error(next));
      else items.push(...session.handle(next));
    }
  }
  const truncated = framer.finish();
  if (truncated) items.push(session.error(truncated));
  return items;
}

describe("BMP decoding", () => {
  it("turns a router's stream into peer states and pre/post-policy route events, 2- and 4-byte AS", () => {
    const items = runSession([Uint8Array.from(STREAM)]);
    expect(items[0]).toEqual({
      kind: "router-up",
      router: { source: "bmp:edge-1", address: "203.0.113.2", port: 5000, sysName: "edge-1", sysDescr: "FRRouting test" },
    });
    expect(events(items)).toEqual(EXPECTED_EVENTS);
    expect(items.filter((i) => i.kind === "error")).toEqual([]);
  });

  it("frames the same messages however the stream is cut", () => {
    const whole = Uint8Array.from(STREAM);
    const expected = events(runSession([whole]));
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: whole.length - 1 }), { maxLength: 40 }), (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), whole.length];
        const chunks = points.slice(1).map((end, i) => whole.subarray(points[i], end));
        expect(events(runSession(chunks))).toEqual(expected);
      }),
    );
  });

  it("reports a bad BGP message inside Route Monitoring with its stream offset and carries on", () => {
    const bad = Uint8Array.from(ANNOUNCE4);
    bad[3] = 0; // break the BGP marker
    const first = bmp(4, tlv(2, "edge-1"));
    const items = runSession([
      Uint8Array.from([...first, ...bmp(0, [...perPeer(PEER4), ...bad]), ...bmp(0, [...perPeer(PEER4), ...ANNOUNCE4])]),
    ]);
    const error = items.find((i) => i.kind === "error");
    expect(error).toMatchObject({ kind: "error", error: { code: "bad_bgp", offset: first.length + 6 + 42 + 3 } });
    expect(events(items)).toHaveLength(1);
  });

  it("stops at an impossible header, names the offset, and keeps the messages before it", () => {
    const first = bmp(4, tlv(2, "edge-1"));
    const badVersion = runSession([Uint8Array.from([...first, ...bmp(4, [], 1)])]);
    expect(badVersion.at(-1)).toMatchObject({ kind: "error", error: { code: "bad_version", offset: first.length } });
    expect(badVersion[0]?.kind).toBe("router-up");
    const tooLong = runSession([Uint8Array.from([...first, 3, ...u32(1 << 30), 0])]);
    expect(tooLong.at(-1)).toMatchObject({ kind: "error", error: { code: "bad_length", offset: first.length } });
    const truncated = runSession([Uint8Array.from([...first, ...bmp(0, [...perPeer(PEER4), ...ANNOUNCE4]).slice(0, 30)])]);
    expect(truncated.at(-1)).toMatchObject({ kind: "error", error: { code: "truncated_stream", offset: first.length } });
  });

  it("never throws on arbitrary bytes, framed or not; every failure is a classified error", () => {
    const check = (items: BmpItem[]) => {
      for (const item of items) if (item.kind === "error") expect(ERROR_CODES.has(item.error.code)).toBe(true);
    };
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 5 }), (chunks) => check(runSession(chunks))));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 300 }), (type, body) =>
        check(runSession([Uint8Array.from(bmp(type, [...body]))])),
      ),
    );
    // Valid headers around a mutated body: every truncation and byte flip of a real stream.
    fc.assert(
      fc.property(fc.integer({ min: 6, max: STREAM.length - 1 }), fc.integer({ min: 0, max: 255 }), (at, value) => {
        const bytes = Uint8Array.from(STREAM);
        bytes[at] = value;
        check(runSession([bytes]));
        check(runSession([Uint8Array.from(STREAM).subarray(0, at)]));
      }),
    );
  });
});

describe("listenBmp over TCP", () => {
  it("refuses a port that is not one", async () => {
    await expect(listenBmp({ port: 70000 })).rejects.toThrow(LiveFeedConfigError);
  });

  it("serves routers over TCP; a bad stream closes only its own connection", async () => {
    listener = await listenBmp({ port: 0, host: "127.0.0.1" });
    const iterator = listener[Symbol.asyncIterator]();
    const good = await router(STREAM.slice(0, 200), false);
    await router([...bmp(4, tlv(2, "broken")), 3, ...u32(3), 0]);
    good.end(Uint8Array.from(STREAM.slice(200)));
    const items = await pullUntil(iterator, (got) => downs(got) >= 2);
    const broken = items.filter((i) => "router" in i && i.router.sysName === "broken");
    expect(broken.map((i) => i.kind)).toEqual(["router-up", "error", "router-down"]);
    expect(broken[1]).toMatchObject({ error: { code: "bad_length", offset: 4 + 6 + 6 } });
    expect(events(items)).toEqual(EXPECTED_EVENTS);
    expect(items.find((i) => i.kind === "router-down" && i.router.sysName === "edge-1")).toMatchObject({ terminationReason: 2 });
    expect(listener.stats()).toMatchObject({ connections: 2, errors: { bad_length: 1 } });
  });

  it("pauses the routers' sockets for a slow consumer and loses nothing", async () => {
    listener = await listenBmp({ port: 0, host: "127.0.0.1", queue: { highWater: 50, lowWater: 10, hardLimit: 500 } });
    const iterator = listener[Symbol.asyncIterator]();
    const count = 5_000;
    const monitoring = bmp(0, [...perPeer(PEER4), ...ANNOUNCE4]);
    const bytes: number[] = [...bmp(4, tlv(2, "edge-1")), ...peerUp(PEER4, true)];
    for (let i = 0; i < count; i++) bytes.push(...monitoring);
    await router(bytes);
    const items: BmpItem[] = [];
    while (downs(items) === 0) {
      const next = await iterator.next();
      if (next.done) break;
      items.push(next.value);
      // A slow consumer: it yields to the event loop (and so to the sockets) every 100 items.
      if (items.length % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(events(items).filter((e) => e.type === "A")).toHaveLength(count);
    const stats = listener.stats();
    expect(stats.dropped).toBe(0);
    expect(stats.peakQueued).toBeLessThanOrEqual(500);
  });
});
