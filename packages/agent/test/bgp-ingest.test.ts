// ingestBgpEvents against the real routing repository on dynalite: the
// watched-prefix filter, batching, idempotent re-runs, and a stream that
// fails midway keeping everything before the failure.
import type { BgpEvent, RouteEvent } from "@popwatch/core";
import { DynamoRoutingRepository } from "@popwatch/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MemoryTable, startMemoryTable } from "../../store/test/support/memory-table";
import { foldWindows, ingestBgpEvents } from "../src/bgp-ingest";

const T0 = Date.parse("2026-12-06T09:00:00.000Z");
let table: MemoryTable;

beforeAll(async () => {
  table = await startMemoryTable("bgp-ingest");
});
afterAll(async () => {
  await table.close();
});

const repo = () => new DynamoRoutingRepository({ client: table.client, tableName: table.tableName, clock: () => T0 });

function route(prefix: string, timeMs: number, peer = "198.51.100.7"): RouteEvent {
  return { type: "A", timeMs, source: "rrc00", peer, peerAs: 64501, prefix, asPath: [64501, 64496], origin: 64496 };
}

async function* stream(events: readonly BgpEvent[], failAfter?: number): AsyncGenerator<BgpEvent> {
  for (const [i, event] of events.entries()) {
    if (i === failAfter) throw Object.assign(new Error("truncated at byte 4242"), { code: "truncated", offset: 4242 });
    yield event;
  }
}

describe("ingestBgpEvents", () => {
  it("keeps the watched prefixes and their more-specifics and peer state events, in batches; a re-run writes nothing", async () => {
    const bgp = { prefixes: [{ prefix: "198.51.100.0/24" }, { prefix: "2001:db8:1::/48" }] };
    const events: BgpEvent[] = [
      route("198.51.100.0/24", T0),
      route("198.51.100.0/25", T0 + 1_000),
      route("198.51.0.0/16", T0 + 2_000), // less specific: not the operator's prefix
      route("203.0.113.0/24", T0 + 3_000),
      route("2001:db8:1:2::/64", T0 + 4_000, "2001:db8::7"),
      route("2001:db8:2::/48", T0 + 5_000, "2001:db8::7"),
      { type: "STATE", timeMs: T0 + 6_000, source: "rrc00", peer: "198.51.100.9", peerAs: 64502, up: false },
    ];
    const first = await ingestBgpEvents(repo(), bgp, stream(events), { batchSize: 2 });
    expect(first).toEqual({ read: 7, matched: 4, written: 4, duplicates: 0, minutes: 2, snapshots: 2 });
    const stored = await repo().queryEvents({ prefixes: ["198.51.100.0/24", "2001:db8:1::/48"], fromMs: T0, toMs: T0 + 60_000 });
    expect(stored).toEqual([events[0], events[1], events[4], events[6]]);

    // Core's fold ran on what the store holds: the snapshot and the minute of each watched prefix.
    const snapshot = await repo().getSnapshot("198.51.100.0/24");
    expect(snapshot?.routes.map((r) => r.prefix).sort()).toEqual(["198.51.100.0/24", "198.51.100.0/25"]);
    const minute = { minuteStartMs: T0, peersReporting: 1, announcements: 2, withdrawals: 0 };
    const [v4] = await repo().readMinutes("198.51.100.0/24", T0, T0 + 60_000);
    expect(v4).toMatchObject({
      ...minute,
      prefix: "198.51.100.0/24",
      peersSeeing: 1,
      origins: { "64496": 1 },
      moreSpecifics: ["198.51.100.0/25"],
    });
    const [v6] = await repo().readMinutes("2001:db8:1::/48", T0, T0 + 60_000);
    expect(v6).toMatchObject({
      ...minute,
      prefix: "2001:db8:1::/48",
      announcements: 1,
      peersSeeing: 0,
      origins: {},
      moreSpecifics: ["2001:db8:1:2::/64"],
    });

    // A retried run: no event written twice, the same minutes and snapshot content again.
    const again = await ingestBgpEvents(repo(), bgp, stream(events), { batchSize: 3 });
    expect(again).toEqual({ read: 7, matched: 4, written: 0, duplicates: 4, minutes: 2, snapshots: 2 });
    expect(await repo().readMinutes("198.51.100.0/24", T0, T0 + 60_000)).toEqual([v4]);
    expect(await repo().getSnapshot("198.51.100.0/24")).toEqual(snapshot);
  });

  it("without a fold (fold: null) writes events only", async () => {
    const bgp = { prefixes: [{ prefix: "198.51.100.0/26" }] };
    const report = await ingestBgpEvents(repo(), bgp, stream([route("198.51.100.0/26", T0 + 7_200_000)]), { fold: null });
    expect(report).toEqual({ read: 1, matched: 1, written: 1, duplicates: 0, minutes: 0, snapshots: 0 });
    expect(await repo().getSnapshot("198.51.100.0/26")).toBeNull();
  });

  it("a stream that fails midway: the events before are written, the failure is returned, a later full read adds only the rest", async () => {
    const bgp = { prefixes: [{ prefix: "203.0.113.0/24" }] };
    const events = Array.from({ length: 9 }, (_, i) => route("203.0.113.0/24", T0 + 600_000 + i * 1_000, `203.0.113.${i + 1}`));
    const cut = await ingestBgpEvents(repo(), bgp, stream(events, 5), { batchSize: 2 });
    expect(cut).toMatchObject({ read: 5, matched: 5, written: 5, duplicates: 0 });
    expect(cut.interrupted).toMatchObject({ code: "truncated", offset: 4242 });
    const whole = await ingestBgpEvents(repo(), bgp, stream(events));
    expect(whole).toEqual({ read: 9, matched: 9, written: 4, duplicates: 5, minutes: 1, snapshots: 1 });
    expect((await repo().getSnapshot("203.0.113.0/24"))?.routes).toHaveLength(9);
  });

  it("two runs folding the same prefix at once both land: the snapshot write that loses is redone from a fresh read", async () => {
    const bgp = { prefixes: [{ prefix: "198.51.100.64/26" }] };
    const t = T0 + 3 * 3_600_000;
    const runs = Array.from({ length: 4 }, (_, i) => [route("198.51.100.64/26", t + i * 1_000, `198.51.100.${i + 1}`)]);
    const reports = await Promise.all(runs.map((events) => ingestBgpEvents(repo(), bgp, stream(events))));
    expect(reports.map((r) => r.written)).toEqual([1, 1, 1, 1]);
    const snapshot = await repo().getSnapshot("198.51.100.64/26");
    expect(snapshot?.routes.map((r) => r.peer).sort()).toEqual(["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"]);
    const [minute] = await repo().readMinutes("198.51.100.64/26", t, t + 60_000);
    expect(minute).toMatchObject({ peersReporting: 4, peersSeeing: 4, announcements: 4 });
  });

  it("groups touched minutes into bounded fold windows", () => {
    const m = (n: number) => T0 + n * 60_000;
    expect(foldWindows(new Set([m(5), m(0), m(1), m(2)]), 3)).toEqual([
      { fromMs: m(0), toMs: m(3) },
      { fromMs: m(5), toMs: m(6) },
    ]);
    expect(foldWindows(new Set(), 60)).toEqual([]);
  });
});
