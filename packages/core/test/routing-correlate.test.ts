// Correlation of data-plane events with BGP events, and M2 route convergence,
// on constructed timelines: a withdrawal, the failover it caused, the first
// answer from the new PoP; a black hole without a BGP change; IPv6; events of
// other prefixes; the edges of the window and of a burst.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type BgpEvent,
  type DataPlaneEvent,
  type RouteEvent,
  analyzeFailovers,
  bgpTimeline,
  compareBgpEvents,
  correlateRouting,
  dataPlaneEvents,
  routeConvergence,
  sortBgpEvents,
} from "../src/index";
import { ROUND_MS, stream } from "./analytics-fixtures";

const T = Date.parse("2026-12-01T10:00:00.000Z");
const WINDOW = 120_000;
const GAP = 30_000;

const WATCHED = [{ prefix: "198.51.100.0/24" }, { prefix: "203.0.113.0/24" }, { prefix: "2001:db8:53::/48" }];
const TARGETS = [
  { name: "anycast-dns", address: "198.51.100.53" },
  { name: "other", address: "203.0.113.10" },
  { name: "dns6", address: "2001:db8:53::53" },
  { name: "by-name", address: "dns.example.net" },
];

function route(type: "A" | "W", ms: number, prefix: string, peer = "198.51.100.250", source = "rrc00"): RouteEvent {
  return {
    type,
    timeMs: ms,
    source,
    peer,
    peerAs: 64510,
    prefix,
    asPath: type === "W" ? [] : [64510, 64500],
    origin: type === "W" ? null : 64500,
  };
}

function failover(
  target: string,
  region: string,
  firstFailureMs: number | null,
  firstNewMs: number,
  from = "pop-a",
  to = "pop-b",
): DataPlaneEvent {
  return {
    type: "failover",
    target,
    probeKind: "dns",
    region,
    timeMs: firstFailureMs ?? firstNewMs,
    fromPop: from,
    toPop: to,
    firstNewPopAnswerMs: firstNewMs,
  };
}

const input = (dataPlane: DataPlaneEvent[], bgpEvents: BgpEvent[]) => ({
  dataPlane,
  bgpEvents,
  watched: WATCHED,
  targets: TARGETS,
  windowMs: WINDOW,
  burstGapMs: GAP,
});

describe("M2 route convergence", () => {
  it("withdrawal at t, failover at t+0.3 s, first answer from the new PoP at t+0.4 s: M2 is 400 ms", () => {
    const withdrawal = route("W", T, "198.51.100.0/24");
    const m2 = routeConvergence(input([failover("anycast-dns", "eu-west-1", T + 300, T + 400)], [withdrawal]));
    expect(m2.failovers).toEqual([
      {
        target: "anycast-dns",
        probeKind: "dns",
        region: "eu-west-1",
        fromPop: "pop-a",
        toPop: "pop-b",
        prefix: "198.51.100.0/24",
        failoverMs: T + 300,
        firstNewPopAnswerMs: T + 400,
        bgpFirstMs: T,
        bgpLastMs: T,
        m2Ms: 400,
        burstEvents: 1,
      },
    ]);
    expect(m2.regions).toEqual([{ region: "eu-west-1", failovers: 1, measured: 1, p50Ms: 400, maxMs: 400 }]);
  });

  it("a black hole without a BGP change has no M2 (null), and counts as a failover not measured", () => {
    const m2 = routeConvergence(
      input([failover("anycast-dns", "eu-west-1", T, T + 5_000)], [route("W", T - WINDOW - 1, "203.0.113.0/24")]),
    );
    expect(m2.failovers[0]).toMatchObject({ bgpFirstMs: null, bgpLastMs: null, m2Ms: null, burstEvents: 0, prefix: "198.51.100.0/24" });
    expect(m2.regions).toEqual([{ region: "eu-west-1", failovers: 1, measured: 0, p50Ms: null, maxMs: null }]);
  });

  it("measures from the first update of the burst, even when it began before the window", () => {
    // Updates every 20 s from T − 200 s (gaps under 30 s): one burst; the failover at T sees the newest before it.
    const burst = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((k) =>
      route(k % 2 === 0 ? "W" : "A", T - 200_000 + k * 20_000, "198.51.100.0/24"),
    );
    const m2 = routeConvergence(input([failover("anycast-dns", "us-east-1", T, T + 1_000)], burst));
    expect(m2.failovers[0]).toMatchObject({ bgpFirstMs: T - 200_000, bgpLastMs: T, m2Ms: 201_000, burstEvents: 11 });
  });

  it("an update 30 s (the gap) before the burst starts its own burst; updates after the first answer do not start one", () => {
    const events = [
      route("A", T - 60_000, "198.51.100.0/24"),
      route("W", T - 30_000, "198.51.100.0/24"),
      route("A", T - 10_000, "198.51.100.0/24", "198.51.100.251"),
      // Part of the burst (10 s after), but after the first answer: counted in its size, not its start.
      route("A", T + 9_000, "198.51.100.0/24", "198.51.100.252"),
      // Its own burst, after the failover.
      route("A", T + 100_000, "198.51.100.0/24"),
    ];
    const m2 = routeConvergence(input([failover("anycast-dns", "eu-west-1", T - 5_000, T)], events));
    expect(m2.failovers[0]).toMatchObject({ bgpFirstMs: T - 30_000, bgpLastMs: T + 9_000, m2Ms: 30_000, burstEvents: 3 });
  });

  it("a failover whose only BGP change comes after its first new answer has no M2", () => {
    const m2 = routeConvergence(input([failover("anycast-dns", "eu-west-1", T, T + 1_000)], [route("W", T + 1_001, "198.51.100.0/24")]));
    expect(m2.failovers[0]!.m2Ms).toBeNull();
  });

  it("per region: count, median (nearest rank) and maximum; failovers of targets outside the watched prefixes are not counted", () => {
    const events = [
      route("W", T, "198.51.100.0/24"),
      route("W", T + 600_000, "198.51.100.0/24"),
      route("W", T + 1_200_000, "198.51.100.0/24"),
    ];
    const m2 = routeConvergence(
      input(
        [
          failover("anycast-dns", "eu-west-1", T + 100, T + 400),
          failover("anycast-dns", "eu-west-1", T + 600_100, T + 602_000),
          failover("anycast-dns", "eu-west-1", T + 1_200_100, T + 1_200_900),
          failover("anycast-dns", "ap-southeast-2", T + 100, T + 2_500),
          failover("anycast-dns", "ap-southeast-2", T + 3_600_000, T + 3_601_000),
          failover("by-name", "ap-southeast-2", T + 100, T + 400),
          failover("by-name", "sa-east-1", T + 100, T + 400),
        ],
        events,
      ),
    );
    expect(m2.regions).toEqual([
      { region: "ap-southeast-2", failovers: 2, measured: 1, p50Ms: 2_500, maxMs: 2_500 },
      { region: "eu-west-1", failovers: 3, measured: 3, p50Ms: 900, maxMs: 2_000 },
    ]);
  });

  it("a session going down (STATE) of a peer that carried the prefix is the BGP change", () => {
    const events: BgpEvent[] = [
      route("A", T - 3_600_000, "198.51.100.0/24", "198.51.100.1", "bmp:edge1"),
      { type: "STATE", timeMs: T, source: "bmp:edge1", peer: "198.51.100.1", peerAs: 64500, up: false },
      // A peer that never carried the prefix: not its change.
      { type: "STATE", timeMs: T + 100, source: "bmp:edge1", peer: "198.51.100.9", peerAs: 64509, up: false },
    ];
    const m2 = routeConvergence(input([failover("anycast-dns", "eu-west-1", T + 200, T + 700)], events));
    expect(m2.failovers[0]).toMatchObject({ bgpFirstMs: T, m2Ms: 700, burstEvents: 1 });
    const [correlated] = correlateRouting(input([failover("anycast-dns", "eu-west-1", T + 200, T + 700)], events));
    expect(correlated!.bgpEvents).toEqual([events[1]]);
  });
});

describe("correlating data-plane events with BGP events", () => {
  it("lists the BGP events of the target's prefix and its more-specifics within ±window, edges included", () => {
    const events = [
      route("A", T - WINDOW - 1, "198.51.100.0/24"),
      route("W", T - WINDOW, "198.51.100.0/24"),
      route("A", T, "198.51.100.0/25"),
      route("W", T + 10, "203.0.113.0/24"),
      route("A", T + WINDOW, "198.51.100.128/25"),
      route("A", T + WINDOW + 1, "198.51.100.0/24"),
      route("A", T, "198.51.0.0/16"),
    ];
    const [correlated] = correlateRouting(input([failover("anycast-dns", "eu-west-1", T, T + 500)], events));
    expect(correlated!.prefix).toBe("198.51.100.0/24");
    expect(correlated!.bgpEvents).toEqual([events[1], events[2], events[4]]);
  });

  it("IPv6: a target in a watched IPv6 prefix gets its events, an IPv4 target none of them", () => {
    const events = [route("W", T, "2001:db8:53::/48", "2001:db8::1"), route("A", T + 1_000, "2001:db8:53:1::/64", "2001:db8::1")];
    const correlated = correlateRouting(
      input([failover("dns6", "eu-west-1", T + 200, T + 400), failover("anycast-dns", "eu-west-1", T + 200, T + 400)], events),
    );
    expect(correlated.map((c) => [c.event.target, c.prefix, c.bgpEvents])).toEqual([
      ["anycast-dns", "198.51.100.0/24", []],
      ["dns6", "2001:db8:53::/48", events],
    ]);
    const m2 = routeConvergence(input([failover("dns6", "eu-west-1", T + 200, T + 400)], events));
    expect(m2.failovers[0]).toMatchObject({ m2Ms: 400, burstEvents: 2 });
  });

  it("a target outside every watched prefix, or named by host name, correlates with nothing", () => {
    const events = [route("W", T, "198.51.100.0/24"), route("W", T, "203.0.113.0/24")];
    const correlated = correlateRouting({
      ...input([failover("by-name", "eu-west-1", T, T + 1), failover("unknown", "eu-west-1", T, T + 1)], events),
    });
    expect(correlated.map((c) => [c.prefix, c.bgpEvents.length])).toEqual([
      [null, 0],
      [null, 0],
    ]);
  });

  it("builds the data-plane events from what the failover analysis finds", () => {
    const ROUND = ROUND_MS;
    const results = stream("a a a x x b b b a a c a a x a a", { target: "anycast-dns", region: "eu-west-1", startMs: T });
    const analysis = analyzeFailovers(results, { minStableSamples: 2 });
    const events = dataPlaneEvents({ ...analysis, detours: [{ target: "anycast-dns", region: "eu-west-1", pop: "b" }] });
    expect(
      events.map((e) => [e.type, e.timeMs - T, e.fromPop, e.toPop, e.firstNewPopAnswerMs === null ? null : e.firstNewPopAnswerMs - T]),
    ).toEqual([
      ["failover", 3 * ROUND, "a", "b", 5 * ROUND],
      ["detour", 5 * ROUND, "a", "b", 5 * ROUND],
      ["failover", 8 * ROUND, "b", "a", 8 * ROUND],
      ["pop-change", 10 * ROUND, "a", "c", null],
      ["outage", 13 * ROUND, "a", "a", null],
    ]);
  });

  it("does not depend on the order of its input (fast-check)", () => {
    const prefixes = ["198.51.100.0/24", "198.51.100.0/25", "203.0.113.0/24", "2001:db8:53::/48", "2001:db8:53:8000::/49"];
    const bgp = fc.oneof(
      fc.record({
        type: fc.constantFrom("A" as const, "W" as const),
        timeMs: fc.integer({ min: T - 300_000, max: T + 300_000 }),
        source: fc.constantFrom("rrc00", "rrc01"),
        peer: fc.constantFrom("198.51.100.250", "2001:db8::1"),
        peerAs: fc.constant(64510),
        prefix: fc.constantFrom(...prefixes),
        asPath: fc.constant([64510, 64500] as number[]),
        origin: fc.constant(64500),
      }),
      fc.record({
        type: fc.constant("STATE" as const),
        timeMs: fc.integer({ min: T - 300_000, max: T + 300_000 }),
        source: fc.constantFrom("rrc00", "rrc01"),
        peer: fc.constantFrom("198.51.100.250", "2001:db8::1"),
        peerAs: fc.constant(64510),
        up: fc.boolean(),
      }),
    );
    const dataPlane = fc.record({
      type: fc.constantFrom("failover" as const, "outage" as const, "pop-change" as const, "detour" as const),
      target: fc.constantFrom("anycast-dns", "other", "dns6", "by-name"),
      probeKind: fc.constantFrom("dns", null),
      region: fc.constantFrom("eu-west-1", "us-east-1"),
      timeMs: fc.integer({ min: T - 200_000, max: T + 200_000 }),
      fromPop: fc.constantFrom("a", "b", null),
      toPop: fc.constantFrom("a", "b", null),
      firstNewPopAnswerMs: fc.option(fc.integer({ min: T - 200_000, max: T + 250_000 })),
    });
    fc.assert(
      fc.property(
        fc.array(dataPlane, { maxLength: 20 }),
        fc.array(bgp as fc.Arbitrary<BgpEvent>, { maxLength: 60 }),
        fc.integer({ min: 1, max: 2 ** 31 }),
        (events, updates, seed) => {
          const shuffle = <T>(list: T[]) => {
            const out = [...list];
            let s = seed;
            for (let i = out.length - 1; i > 0; i--) {
              s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
              const j = s % (i + 1);
              [out[i], out[j]] = [out[j]!, out[i]!];
            }
            return out;
          };
          const inOrder = input(events, updates);
          const shuffled = { ...input(shuffle(events), shuffle(updates)), watched: shuffle(WATCHED), targets: shuffle(TARGETS) };
          expect(correlateRouting(shuffled)).toEqual(correlateRouting(inOrder));
          expect(routeConvergence(shuffled)).toEqual(routeConvergence(inOrder));
          // A prebuilt index of the same input answers the same.
          const timeline = bgpTimeline(WATCHED, updates, TARGETS);
          expect(correlateRouting({ ...shuffled, timeline })).toEqual(correlateRouting(inOrder));
          expect(routeConvergence({ ...shuffled, timeline })).toEqual(routeConvergence(inOrder));
          // Every listed event lies within the window, in time order, inside the target's prefix or a session of it.
          for (const c of correlateRouting(inOrder)) {
            for (const e of c.bgpEvents) expect(Math.abs(e.timeMs - c.event.timeMs)).toBeLessThanOrEqual(WINDOW);
            expect(c.bgpEvents.map((e) => e.timeMs)).toEqual([...c.bgpEvents.map((e) => e.timeMs)].sort((a, b) => a - b));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("sorting BGP events", () => {
  it("sortBgpEvents gives compareBgpEvents order for shuffled input, fractional milliseconds and ties included (fast-check)", () => {
    const event = fc.record({
      type: fc.constantFrom("A" as const, "W" as const),
      timeMs: fc.oneof(fc.integer({ min: T, max: T + 5 }), fc.double({ min: T, max: T + 5, noNaN: true })),
      source: fc.constantFrom("rrc00", "rrc01"),
      peer: fc.constantFrom("198.51.100.250", "2001:db8::1"),
      peerAs: fc.constantFrom(64510, 64511),
      prefix: fc.constantFrom("198.51.100.0/24", "198.51.100.0/25"),
      asPath: fc.constantFrom([] as number[], [64510, 64500]),
      origin: fc.constantFrom(null, 64500),
    });
    fc.assert(
      fc.property(fc.array(event as fc.Arbitrary<BgpEvent>, { maxLength: 80 }), (events) => {
        expect(sortBgpEvents(events)).toEqual([...events].sort(compareBgpEvents));
      }),
      { numRuns: 300 },
    );
  });
});
