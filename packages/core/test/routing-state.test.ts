// Folding BGP events into a watched prefix's snapshot, and the per-minute
// rollups: routes per (source, peer, prefix), withdrawals, sessions going
// down, and the watermark that makes re-reading a feed harmless.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { BgpEvent, RouteEvent } from "../src/routing/event";
import { routingMinutes } from "../src/routing/minutes";
import { applyBgpEvents } from "../src/routing/state";
import { MINUTE_MS } from "../src/time";
import { T0, WATCHED, WATCHED6, announce, cleanAnnouncements, session, withdraw } from "./routing-fixtures";

describe("applyBgpEvents", () => {
  it("keeps the newest route per peer and prefix, for the prefix and its more-specifics only", () => {
    const snapshot = applyBgpEvents(null, WATCHED, [
      announce(1, T0, [65001, 64510, 64500]),
      announce(1, T0 + 1000, [65001, 64511, 64500]),
      announce(2, T0 + 2000, [65002, 64666], "198.51.100.128/25"),
      announce(2, T0 + 3000, [65002, 64500], "198.51.0.0/16"),
      announce(3, T0 + 4000, [65003, 64500], "203.0.113.0/24"),
    ]);
    expect(snapshot.prefix).toBe("198.51.100.0/24");
    expect(snapshot.asOfMs).toBe(T0 + 4000);
    expect(snapshot.routes.map((r) => [r.peer, r.prefix, r.asPath])).toEqual([
      ["203.0.113.1", "198.51.100.0/24", [65001, 64511, 64500]],
      ["203.0.113.2", "198.51.100.128/25", [65002, 64666]],
    ]);
    // Peer 3 sent nothing inside the prefix but it reports.
    expect(snapshot.peers.map((p) => [p.peer, p.peerAs, p.lastSeenMs])).toEqual([
      ["203.0.113.1", 65001, T0 + 1000],
      ["203.0.113.2", 65002, T0 + 3000],
      ["203.0.113.3", 65003, T0 + 4000],
    ]);
  });

  it("removes a withdrawn route and keeps the peer reporting", () => {
    const snapshot = applyBgpEvents(null, WATCHED, [announce(1, T0, [65001, 64500]), withdraw(1, T0 + 5000)]);
    expect(snapshot.routes).toEqual([]);
    expect(snapshot.peers.map((p) => p.peer)).toEqual(["203.0.113.1"]);
  });

  it("drops every route of a peer whose session goes down, and brings it back on its next event", () => {
    const events: BgpEvent[] = [
      announce(1, T0, [65001, 64500]),
      announce(1, T0, [65001, 64500], "198.51.100.0/25"),
      announce(2, T0, [65002, 64500]),
      session(1, T0 + 1000, false),
    ];
    const down = applyBgpEvents(null, WATCHED, events);
    expect(down.routes.map((r) => r.peer)).toEqual(["203.0.113.2"]);
    expect(down.peers.map((p) => p.peer)).toEqual(["203.0.113.2"]);
    expect(down.downPeers?.map((p) => [p.peer, p.lastSeenMs])).toEqual([["203.0.113.1", T0 + 1000]]);
    const back = applyBgpEvents(down, WATCHED, [session(1, T0 + 2000, true)]);
    expect(back.peers.map((p) => p.peer)).toEqual(["203.0.113.1", "203.0.113.2"]);
    expect(back.downPeers).toBeUndefined();
    expect(back.routes).toHaveLength(1);
  });

  it("ignores a re-read announcement from before a session went down", () => {
    const first = applyBgpEvents(null, WATCHED, [announce(1, T0, [65001, 64500]), session(1, T0 + 1000, false)]);
    const reread = applyBgpEvents(first, WATCHED, [announce(1, T0, [65001, 64500])]);
    expect(reread).toEqual(first);
  });

  it("keeps a BMP router's pre- and post-policy routes apart", () => {
    const bmp = { source: "bmp:r1", peer: "198.51.100.9", peerAs: 64510 };
    const pre: RouteEvent = { ...announce(1, T0, [64510, 64666], "198.51.100.0/25"), ...bmp, policy: "pre" };
    const post: RouteEvent = { ...withdraw(1, T0 + 1, "198.51.100.0/25"), ...bmp, policy: "post" };
    const snapshot = applyBgpEvents(null, WATCHED, [pre, post]);
    expect(snapshot.routes.map((r) => r.policy)).toEqual(["pre"]);
  });

  it("folds events in time order whatever order they come in", () => {
    const a = announce(1, T0, [65001, 64500]);
    const w = withdraw(1, T0 + 1000);
    expect(applyBgpEvents(null, WATCHED, [w, a])).toEqual(applyBgpEvents(null, WATCHED, [a, w]));
  });

  it("lets a lagging second feed's peers count while ignoring what a peer already sent", () => {
    const live = applyBgpEvents(null, WATCHED, [announce(1, T0 + 60_000, [65001, 64500])]);
    // The archive of another collector arrives later with older events: its peer is new, so they count.
    const other: RouteEvent = { ...announce(7, T0, [65007, 64500]), source: "route-views2" };
    const withOther = applyBgpEvents(live, WATCHED, [other, announce(1, T0, [65001, 64999, 64500])]);
    expect(withOther.routes.map((r) => [r.source, r.peer, r.asPath])).toEqual([
      ["route-views2", "203.0.113.7", [65007, 64500]],
      ["rrc00", "203.0.113.1", [65001, 64500]],
    ]);
    expect(withOther.asOfMs).toBe(T0 + 60_000);
  });

  it("handles IPv6 prefixes", () => {
    const snapshot = applyBgpEvents(null, WATCHED6, [
      announce(1, T0, [65001, 64500], "2001:db8::/32"),
      announce(1, T0, [65001, 64666], "2001:db8:1::/48"),
      announce(1, T0, [65001, 64666], "2001:db9::/32"),
    ]);
    expect(snapshot.routes.map((r) => r.prefix)).toEqual(["2001:db8:1::/48", "2001:db8::/32"]);
  });

  it("does not change the snapshot it is given", () => {
    const first = applyBgpEvents(null, WATCHED, cleanAnnouncements(3, T0));
    const copy = structuredClone(first);
    applyBgpEvents(first, WATCHED, [withdraw(1, T0 + 10), session(2, T0 + 11, false)]);
    expect(first).toEqual(copy);
  });
});

// Events of peers 1–4 inside (or, sometimes, outside) the watched prefix.
const prefixArb = fc.constantFrom("198.51.100.0/24", "198.51.100.0/25", "198.51.100.128/26", "203.0.113.0/24");
const eventArb: fc.Arbitrary<BgpEvent> = fc.oneof(
  fc
    .record({
      n: fc.integer({ min: 1, max: 4 }),
      t: fc.integer({ min: 0, max: 5 }),
      path: fc.array(fc.constantFrom(64500, 64510, 64666), { minLength: 1, maxLength: 4 }),
      prefix: prefixArb,
      type: fc.constantFrom("A" as const, "B" as const),
    })
    .map(({ n, t, path, prefix, type }) => ({ ...announce(n, T0 + t * 1000, [65000 + n, ...path], prefix), type })),
  fc
    .record({ n: fc.integer({ min: 1, max: 4 }), t: fc.integer({ min: 0, max: 5 }), prefix: prefixArb })
    .map(({ n, t, prefix }) => withdraw(n, T0 + t * 1000, prefix)),
  fc
    .record({ n: fc.integer({ min: 1, max: 4 }), t: fc.integer({ min: 0, max: 5 }), up: fc.boolean() })
    .map(({ n, t, up }) => session(n, T0 + t * 1000, up)),
);
const timeOrdered = fc.array(eventArb, { maxLength: 40 }).map((events) => [...events].sort((a, b) => a.timeMs - b.timeMs));

describe("applyBgpEvents properties", () => {
  it("applying the same events twice equals applying them once", () => {
    fc.assert(
      fc.property(timeOrdered, (events) => {
        const once = applyBgpEvents(null, WATCHED, events);
        expect(applyBgpEvents(once, WATCHED, events)).toEqual(once);
      }),
    );
  });

  it("re-reading any later part of the feed changes nothing", () => {
    fc.assert(
      fc.property(timeOrdered, fc.nat(), (events, cut) => {
        const once = applyBgpEvents(null, WATCHED, events);
        const tail = events.slice(events.length === 0 ? 0 : cut % events.length);
        expect(applyBgpEvents(once, WATCHED, tail)).toEqual(once);
      }),
    );
  });

  it("folding in two batches equals folding at once", () => {
    fc.assert(
      fc.property(timeOrdered, fc.nat(), (events, cut) => {
        const at = events.length === 0 ? 0 : cut % events.length;
        const split = applyBgpEvents(applyBgpEvents(null, WATCHED, events.slice(0, at)), WATCHED, events.slice(at));
        expect(split).toEqual(applyBgpEvents(null, WATCHED, events));
      }),
    );
  });

  it("the order in which independent peers' events interleave does not matter", () => {
    fc.assert(
      fc.property(timeOrdered, fc.array(fc.nat(), { minLength: 1 }), (events, seeds) => {
        // Regroup by peer, then interleave the peers' sequences another way (same times, own order kept).
        const byPeer = new Map<string, BgpEvent[]>();
        for (const event of events) byPeer.set(event.peer, [...(byPeer.get(event.peer) ?? []), event]);
        const regrouped = [...byPeer.values()]
          .sort((a, b) => (seeds[a.length % seeds.length]! % 7) - (seeds[b.length % seeds.length]! % 7))
          .flat();
        expect(applyBgpEvents(null, WATCHED, regrouped)).toEqual(applyBgpEvents(null, WATCHED, events));
      }),
    );
  });

  it("keeps only routes inside the watched prefix", () => {
    fc.assert(
      fc.property(timeOrdered, (events) => {
        for (const route of applyBgpEvents(null, WATCHED, events).routes) expect(route.prefix.startsWith("198.51.100.")).toBe(true);
      }),
    );
  });
});

describe("routingMinutes", () => {
  it("rolls up one minute per minute with events: state at its end, counts within it", () => {
    const events: BgpEvent[] = [
      ...cleanAnnouncements(4, T0 + 1000),
      announce(5, T0 + 10_000, [65005, 64666]),
      announce(5, T0 + 20_000, [65005, 64666], "198.51.100.0/25"),
      withdraw(5, T0 + 30_000, "198.51.100.0/25"),
      withdraw(1, T0 + 2 * MINUTE_MS + 5000),
      announce(9, T0 + 2 * MINUTE_MS + 6000, [65009, 64500], "203.0.113.0/24"),
    ];
    const { snapshot, minutes } = routingMinutes(null, WATCHED, events);
    expect(snapshot).toEqual(applyBgpEvents(null, WATCHED, events));
    expect(minutes).toEqual([
      {
        prefix: "198.51.100.0/24",
        minuteStartMs: T0,
        peersReporting: 5,
        peersSeeing: 5,
        origins: { "64500": 4, "64666": 1 },
        moreSpecifics: ["198.51.100.0/25"],
        announcements: 6,
        withdrawals: 1,
      },
      {
        prefix: "198.51.100.0/24",
        minuteStartMs: T0 + 2 * MINUTE_MS,
        peersReporting: 6,
        peersSeeing: 4,
        origins: { "64500": 3, "64666": 1 },
        moreSpecifics: [],
        announcements: 0,
        withdrawals: 1,
      },
    ]);
  });

  it("lists a more-specific still held at a minute's start", () => {
    const first = routingMinutes(null, WATCHED, [announce(1, T0, [65001, 64666], "198.51.100.0/25")]);
    const { minutes } = routingMinutes(first.snapshot, WATCHED, [announce(2, T0 + MINUTE_MS, [65002, 64500])]);
    expect(minutes[0]!.moreSpecifics).toEqual(["198.51.100.0/25"]);
  });

  it("recomputes the same minutes from the same events, whatever was folded before", () => {
    const events = [...cleanAnnouncements(3, T0), withdraw(2, T0 + 5000), announce(2, T0 + 70_000, [65002, 64500])];
    const once = routingMinutes(null, WATCHED, events);
    const again = routingMinutes(once.snapshot, WATCHED, events.slice(3));
    expect(again.snapshot).toEqual(once.snapshot);
    expect(again.minutes.at(-1)).toEqual(once.minutes.at(-1));
  });

  it("counts an AS_SET-ended route as seen but under no origin", () => {
    const { minutes } = routingMinutes(null, WATCHED, [
      announce(1, T0, [65001, 64500, 64501], WATCHED.prefix, { asSets: [[64500, 64501]] }),
    ]);
    expect(minutes[0]).toMatchObject({ peersSeeing: 1, origins: {} });
  });

  it("rolls up nothing without events", () => {
    expect(routingMinutes(null, WATCHED, []).minutes).toEqual([]);
    expect(routingMinutes(null, WATCHED, []).snapshot).toEqual({ prefix: WATCHED.prefix, asOfMs: 0, routes: [], peers: [] });
  });
});
