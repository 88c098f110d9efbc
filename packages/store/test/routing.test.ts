// DynamoRoutingRepository against dynalite: idempotent event writes (re-reads
// and overlapping feeds), TTL, queries across hours, snapshots under
// optimistic concurrency and past one item's size, minutes, archive cursors,
// and classified failures.
import { PutItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb";
import type { BgpEvent, PeerStateEvent, RouteEvent, RoutingMinute, RoutingSnapshot } from "@popwatch/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StoreError } from "../src/errors";
import { DynamoRoutingRepository, type DynamoRoutingRepositoryOptions } from "../src/routing";
import { type MemoryTable, startMemoryTable } from "./support/memory-table";
import { FAST_RETRY } from "./support/store-fixtures";

const T0 = Date.parse("2026-12-05T22:59:58.000Z");

let table: MemoryTable;
let tableSeq = 0;

beforeAll(async () => {
  table = await startMemoryTable("routing");
});
afterAll(async () => {
  await table.close();
});

function repo(options: Partial<DynamoRoutingRepositoryOptions> = {}): DynamoRoutingRepository {
  return new DynamoRoutingRepository({
    client: table.client,
    tableName: table.tableName,
    retry: FAST_RETRY,
    clock: () => T0 + 3_600_000,
    ...options,
  });
}

/** A fresh prefix per test keeps partitions apart on the shared table. */
function freshPrefix(): string {
  tableSeq++;
  return `203.0.${tableSeq}.0/24`;
}

function announce(prefix: string, timeMs: number, extra: Partial<RouteEvent> = {}): RouteEvent {
  return {
    type: "A",
    timeMs,
    source: "rrc00",
    peer: "198.51.100.7",
    peerAs: 64501,
    prefix,
    asPath: [64501, 64510, 64496],
    origin: 64496,
    originAttribute: "IGP",
    nextHop: "198.51.100.7",
    communities: ["64501:100", "64501:200"],
    ...extra,
  };
}

async function rawItems(pkPrefix: string): Promise<Record<string, unknown>[]> {
  const out = await table.client.send(
    new QueryCommand({
      TableName: table.tableName,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": { S: pkPrefix } },
      ConsistentRead: true,
    }),
  );
  return out.Items ?? [];
}

describe("putEvents", () => {
  it("writes each event once: a re-put of the same batch writes nothing and changes no item", async () => {
    const prefix = freshPrefix();
    const r = repo();
    const events: BgpEvent[] = [
      announce(prefix, T0),
      announce(prefix, T0 + 1_500, { peer: "198.51.100.8", peerAs: 64502 }),
      { ...announce(prefix, T0 + 3_000), type: "W", asPath: [], origin: null, nextHop: undefined, communities: undefined },
    ];
    expect(await r.putEvents([prefix], events)).toEqual({ written: 3, duplicates: 0 });
    const hour = (ms: number) => new Date(ms).toISOString().slice(0, 13);
    const before = [...(await rawItems(`BE#${prefix}#${hour(T0)}`)), ...(await rawItems(`BE#${prefix}#${hour(T0 + 3_000)}`))];
    expect(before).toHaveLength(3);
    // A retried run in another process, in another order.
    expect(await repo().putEvents([prefix], [...events].reverse())).toEqual({ written: 0, duplicates: 3 });
    const after = [...(await rawItems(`BE#${prefix}#${hour(T0)}`)), ...(await rawItems(`BE#${prefix}#${hour(T0 + 3_000)}`))];
    expect(after).toEqual(before);
  });

  it("the same update from RIS Live (fractional second, communities reordered) and from the MRT archive is one item; another path is not", async () => {
    const prefix = freshPrefix();
    const r = repo();
    const mrt = announce(prefix, T0);
    const risLive = announce(prefix, T0 + 760, { communities: ["64501:200", "64501:100"] });
    const otherPath = announce(prefix, T0, { asPath: [64501, 64511, 64496] });
    expect(await r.putEvents([prefix], [risLive])).toEqual({ written: 1, duplicates: 0 });
    expect(await r.putEvents([prefix], [mrt, otherPath, mrt])).toEqual({ written: 1, duplicates: 2 });
    const stored = await r.queryEvents({ prefixes: [prefix], fromMs: T0 - 1_000, toMs: T0 + 1_000 });
    // The first copy stays as it was written.
    expect(stored).toEqual([risLive, otherPath].sort((a, b) => a.timeMs - b.timeMs));
  });

  it("sets expiresAt from the event's time (raw retention), never from the time of writing", async () => {
    const prefix = freshPrefix();
    await repo({ retentionDays: { raw: 3 } }).putEvents([prefix], [announce(prefix, T0 + 250)]);
    const [item] = await rawItems(`BE#${prefix}#${new Date(T0).toISOString().slice(0, 13)}`);
    expect((item as { expiresAt: { N: string } }).expiresAt.N).toBe(String(Math.floor(T0 / 1000) + 3 * 86_400));
  });

  it("files an event under every watched prefix covering it, skips the rest, and a query returns it once", async () => {
    const outer = "198.51.0.0/16";
    const inner = "198.51.100.0/24";
    const r = repo();
    const more = announce("198.51.100.128/25", T0 + 10_000);
    const elsewhere = announce("203.0.113.0/24", T0 + 10_000);
    expect(await r.putEvents([outer, inner], [more, elsewhere])).toEqual({ written: 2, duplicates: 0 });
    expect(await r.queryEvents({ prefixes: [outer, inner], fromMs: T0, toMs: T0 + 20_000 })).toEqual([more]);
    expect(await r.queryEvents({ prefixes: ["2001:db8::/32"], fromMs: T0, toMs: T0 + 20_000 })).toEqual([]);
  });

  it("keeps peer state events per feed; a query returns them with the route events in time order, across hours", async () => {
    const prefix = freshPrefix();
    const source = `bmp:router-${tableSeq}`;
    const r = repo();
    const down: PeerStateEvent = {
      type: "STATE",
      timeMs: T0 + 1_000,
      source,
      peer: "2001:db8::7",
      peerAs: 64501,
      up: false,
      oldState: "Established",
      newState: "Idle",
    };
    const up: PeerStateEvent = { ...down, timeMs: T0 + 4_000, up: true, oldState: "OpenConfirm", newState: "Established" };
    const a1 = announce(prefix, T0, { source });
    const a2 = announce(prefix, T0 + 5_000, { source, asPath: [64501, 64496] });
    expect(await r.putEvents([prefix], [a2, up, a1, down])).toEqual({ written: 4, duplicates: 0 });
    const all = await repo().queryEvents({ prefixes: [prefix], fromMs: T0, toMs: T0 + 6_000 });
    expect(all.filter((e) => e.source === source)).toEqual([a1, down, up, a2]);
    // Exclusive end, inclusive start, to the millisecond.
    const part = await r.queryEvents({ prefixes: [prefix], fromMs: T0 + 1_000, toMs: T0 + 4_000 });
    expect(part.filter((e) => e.source === source)).toEqual([down]);
  });

  it("refuses a batch with a non-canonical or invalid prefix before writing anything", async () => {
    const prefix = freshPrefix();
    const r = repo();
    const bad = r.putEvents([prefix], [announce(prefix, T0), announce("203.0.113.1/24", T0)]);
    await expect(bad).rejects.toMatchObject({ name: "StoreError", code: "store_invalid" });
    await expect(r.putEvents(["2001:DB8::/32"], [])).rejects.toMatchObject({ code: "store_invalid" });
    expect(await r.queryEvents({ prefixes: [prefix], fromMs: T0 - 1, toMs: T0 + 1 })).toEqual([]);
  });

  it("reports a corrupt event item as store_corrupt", async () => {
    const prefix = freshPrefix();
    await table.client.send(
      new PutItemCommand({
        TableName: table.tableName,
        Item: {
          pk: { S: `BE#${prefix}#${new Date(T0).toISOString().slice(0, 13)}` },
          sk: { S: "2026-12-05T22:59:58#x" },
          event: { S: "{not json" },
        },
      }),
    );
    await expect(repo().queryEvents({ prefixes: [prefix], fromMs: T0 - 1_000, toMs: T0 + 1_000 })).rejects.toMatchObject({
      code: "store_corrupt",
    });
  });

  it("a store that is down is store_unavailable, with the unwritten count", async () => {
    const dead = await startMemoryTable("dead");
    const client = dead.newClient();
    await dead.close();
    const r = new DynamoRoutingRepository({ client, tableName: "dead", retry: { ...FAST_RETRY, maxAttempts: 2 } });
    const prefix = freshPrefix();
    const err = await r.putEvents([prefix], [announce(prefix, T0), announce(prefix, T0 + 1_000)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(err).toMatchObject({ code: "store_unavailable", unwrittenItems: 2, totalItems: 2 });
  });
});

function snapshotOf(prefix: string, asOfMs: number, peers: number, pathLength = 6): RoutingSnapshot {
  const routes: RouteEvent[] = [];
  const reporting: RoutingSnapshot["peers"] = [];
  for (let i = 0; i < peers; i++) {
    const peer = `2001:db8:${(i >> 8).toString(16)}::${(i & 0xff).toString(16)}`;
    const peerAs = 4_200_000_000 + i;
    const asPath = [peerAs, ...Array.from({ length: pathLength - 2 }, (_, k) => 64_512 + ((i * 31 + k * 7) % 1000)), 64496];
    routes.push({
      ...announce(prefix, asOfMs - i, { peer, peerAs, asPath, nextHop: peer }),
      communities: Array.from({ length: 12 }, (_, k) => `${peerAs % 65536}:${(i * 13 + k) % 65536}`),
      largeCommunities: [`${peerAs}:1:${i}`],
    });
    reporting.push({ source: "rrc00", peer, peerAs, lastSeenMs: asOfMs - i });
  }
  return { prefix, asOfMs, routes, peers: reporting };
}

describe("snapshots", () => {
  it("round-trips, and of two writers that read the same version exactly one wins; the loser re-reads and wins next", async () => {
    const prefix = freshPrefix();
    const a = repo();
    const b = repo();
    expect(await a.getSnapshot(prefix)).toBeNull();
    expect(await b.getSnapshot(prefix)).toBeNull();
    const fromA = snapshotOf(prefix, T0, 3);
    const fromB = snapshotOf(prefix, T0 + 1, 4);
    const outcomes = await Promise.allSettled([a.putSnapshot(fromA), b.putSnapshot(fromB)]);
    const losers = outcomes.filter((o) => o.status === "rejected");
    expect(losers).toHaveLength(1);
    expect((losers[0] as PromiseRejectedResult).reason).toMatchObject({ code: "store_conflict" });
    const winner = outcomes[0]!.status === "fulfilled" ? fromA : fromB;
    const loser = winner === fromA ? b : a;
    expect(await repo().getSnapshot(prefix)).toEqual(winner);
    // The loser's update is not lost: it reads the winner's, folds, puts.
    const current = await loser.getSnapshot(prefix);
    const merged = {
      ...current!,
      asOfMs: T0 + 2,
      peers: [...current!.peers, { source: "rrc01", peer: "203.0.113.9", peerAs: 64499, lastSeenMs: T0 + 2 }],
    };
    await loser.putSnapshot(merged);
    expect(await repo().getSnapshot(prefix)).toEqual(merged);
    // The winner's object now holds a stale version: its blind put is refused.
    const stale = winner === fromA ? a : b;
    await expect(stale.putSnapshot(snapshotOf(prefix, T0 + 3, 1))).rejects.toMatchObject({ code: "store_conflict" });
    expect(await repo().getSnapshot(prefix)).toEqual(merged);
  });

  it("a snapshot of 1 000 peers with long paths and communities fits one item; past the chunk size it is chunked and old chunks go", async () => {
    const prefix = freshPrefix();
    const big = snapshotOf(prefix, T0, 1000, 14);
    expect(JSON.stringify(big).length).toBeGreaterThan(500_000);
    const r = repo();
    await r.getSnapshot(prefix);
    await r.putSnapshot(big);
    expect(await repo().getSnapshot(prefix)).toEqual(big);
    const items = await rawItems(`BS#${prefix}`);
    expect(items.map((i) => (i as { sk: { S: string } }).sk.S)).toEqual(["head"]);

    // Small chunks: the same snapshot spans many items; replacing it leaves only the new chunks.
    const chunked = repo({ snapshotChunkBytes: 4096 });
    await chunked.getSnapshot(prefix);
    await chunked.putSnapshot(big);
    const firstTokens = new Set((await rawItems(`BS#${prefix}`)).map((i) => (i as { sk: { S: string } }).sk.S.split("#")[1]));
    expect(await repo().getSnapshot(prefix)).toEqual(big);
    const next = snapshotOf(prefix, T0 + 60_000, 900, 14);
    await chunked.putSnapshot(next);
    expect(await repo().getSnapshot(prefix)).toEqual(next);
    const keys = (await rawItems(`BS#${prefix}`)).map((i) => (i as { sk: { S: string } }).sk.S);
    const chunkKeys = keys.filter((k) => k !== "head");
    expect(chunkKeys.length).toBeGreaterThan(1);
    expect(new Set(chunkKeys.map((k) => k.split("#")[1])).size).toBe(1);
    for (const token of firstTokens) if (token !== undefined) expect(chunkKeys.some((k) => k.split("#")[1] === token)).toBe(false);
  });

  it("refuses a snapshot over the chunk limit without touching the stored one", async () => {
    const prefix = freshPrefix();
    const r = repo({ snapshotChunkBytes: 256 });
    await r.getSnapshot(prefix);
    await expect(r.putSnapshot(snapshotOf(prefix, T0, 400))).rejects.toMatchObject({ code: "store_invalid" });
    expect(await repo().getSnapshot(prefix)).toBeNull();
  });
});

describe("minutes", () => {
  it("read back in order across a day boundary; putting a minute again replaces it", async () => {
    const prefix = freshPrefix();
    const r = repo();
    const minute = (startIso: string, peersSeeing: number): RoutingMinute => ({
      prefix,
      minuteStartMs: Date.parse(startIso),
      peersReporting: 10,
      peersSeeing,
      origins: { "64496": peersSeeing },
      moreSpecifics: peersSeeing < 10 ? [prefix.replace(".0/24", ".128/25")] : [],
      announcements: peersSeeing,
      withdrawals: 10 - peersSeeing,
    });
    const minutes = [minute("2026-12-05T23:58:00Z", 10), minute("2026-12-05T23:59:00Z", 9), minute("2026-12-06T00:00:00Z", 7)];
    await r.putMinutes([...minutes].reverse());
    expect(await r.readMinutes(prefix, Date.parse("2026-12-05T23:58:00Z"), Date.parse("2026-12-06T00:01:00Z"))).toEqual(minutes);
    expect(await r.readMinutes(prefix, Date.parse("2026-12-05T23:59:00Z"), Date.parse("2026-12-06T00:00:00Z"))).toEqual([minutes[1]]);
    const redone = minute("2026-12-05T23:59:00Z", 4);
    await r.putMinutes([redone]);
    expect(await r.readMinutes(prefix, 0, Date.parse("2026-12-07T00:00:00Z"))).toEqual([minutes[0], redone, minutes[2]]);
    await expect(r.putMinutes([{ ...redone, minuteStartMs: redone.minuteStartMs + 1 }])).rejects.toMatchObject({ code: "store_invalid" });
  });
});

describe("archive cursors", () => {
  it("move forward only", async () => {
    const r = repo();
    const collector = `rrc${String(tableSeq++).padStart(2, "0")}`;
    const t = Date.parse("2026-12-05T22:00:00Z");
    expect(await r.advanceArchiveCursor({ archive: "ris", collector, fileTimeMs: t })).toBe(true);
    expect(await r.advanceArchiveCursor({ archive: "ris", collector, fileTimeMs: t + 300_000 })).toBe(true);
    expect(await r.advanceArchiveCursor({ archive: "ris", collector, fileTimeMs: t })).toBe(false);
    expect((await repo().readArchiveCursors()).find((c) => c.collector === collector)).toEqual({
      archive: "ris",
      collector,
      fileTimeMs: t + 300_000,
    });
  });
});
