// The lab's truth log parsing (no root, no namespaces): `ip -ts monitor route`
// lines and `birdc show route` output as this machine's iproute2 6.1 and
// BIRD 2.0.12 print them.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseBirdRoutes } from "./bird";
import { ANYCAST_PREFIX_V6, POPS, type PopName, popByNextHop } from "./topology";
import { FibTracker, type RouteChange, coveringPrefix, parseIpTimestamp, parseMonitorLine, popAt, routesFromJson } from "./truth";

describe("parseIpTimestamp", () => {
  it("reads ip -ts stamps (printed in UTC by the watcher) to the microsecond", () => {
    const parsed = parseIpTimestamp("[2026-11-22T12:27:55.090002]");
    expect(parsed?.at).toBe("2026-11-22T12:27:55.090002Z");
    expect(parsed?.atMs).toBeCloseTo(Date.UTC(2026, 10, 22, 12, 27, 55) + 90.002, 6);
  });

  it("rejects anything else", () => {
    expect(parseIpTimestamp("2026-11-22T12:27:55.090002")).toBeNull();
    expect(parseIpTimestamp("[Timestamp: Sun Nov 22 12:27:55 2026]")).toBeNull();
  });
});

describe("parseMonitorLine", () => {
  it("reads an added route, with and without a metric", () => {
    expect(parseMonitorLine("[2026-11-22T12:32:54.148806] 203.0.113.53 via 198.51.100.10 dev r-pop-b proto bird metric 32 ")).toMatchObject(
      {
        deleted: false,
        route: { metric: 32, type: "unicast", nextHop: "198.51.100.10", dev: "r-pop-b" },
      },
    );
    expect(parseMonitorLine("[2026-11-22T12:32:54.148806] 203.0.113.53 via 198.51.100.6 dev r-pop-a proto bird")?.route.metric).toBe(0);
  });

  it("reads a deletion and a route of another type", () => {
    expect(
      parseMonitorLine("[2026-11-22T12:32:55.000001] Deleted 203.0.113.53 via 198.51.100.6 dev r-pop-a proto bird metric 32 "),
    ).toMatchObject({
      deleted: true,
      route: { metric: 32, nextHop: "198.51.100.6" },
    });
    expect(parseMonitorLine("[2026-11-22T12:32:55.000001] unreachable 203.0.113.53 proto bird metric 32")?.route).toEqual({
      metric: 32,
      type: "unreachable",
      nextHop: null,
      dev: null,
    });
  });

  it("ignores other prefixes, other tables and unstamped lines", () => {
    expect(parseMonitorLine("[2026-11-22T12:27:55.088086] 198.51.100.0/30 dev v1 proto kernel scope link src 198.51.100.1 ")).toBeNull();
    expect(
      parseMonitorLine("[2026-11-22T12:27:55.081151] local 203.0.113.53 dev lo table local proto kernel scope host src 203.0.113.53 "),
    ).toBeNull();
    expect(parseMonitorLine("[2026-11-22T12:27:55.081151] 203.0.113.530 via 198.51.100.6 dev r-pop-a")).toBeNull();
    expect(parseMonitorLine("203.0.113.53 via 198.51.100.6 dev r-pop-a proto bird metric 32")).toBeNull();
  });
});

describe("FibTracker", () => {
  const hops = POPS.map((p) => p.link.peerAddress);

  it("reports a change only when the forwarding next hop changes", () => {
    const tracker = new FibTracker(
      routesFromJson('[{"dst":"203.0.113.53","gateway":"198.51.100.6","dev":"r-pop-a","protocol":"bird","metric":32,"flags":[]}]'),
    );
    expect(tracker.initialEntry("2026-11-22T12:00:00.000Z", 0)).toMatchObject({ event: "initial", pop: "pop-a" });
    const line = (text: string) => parseMonitorLine(`[2026-11-22T12:00:01.000000] ${text}`)!;
    expect(tracker.apply(line("203.0.113.53 via 198.51.100.6 dev r-pop-a proto bird metric 32"))).toBeNull();
    expect(tracker.apply(line("203.0.113.53 via 198.51.100.10 dev r-pop-b proto bird metric 32"))).toMatchObject({
      pop: "pop-b",
      previousPop: "pop-a",
    });
    // A stale deletion of the replaced route changes nothing.
    expect(tracker.apply(line("Deleted 203.0.113.53 via 198.51.100.6 dev r-pop-a proto bird metric 32"))).toBeNull();
    expect(tracker.apply(line("Deleted 203.0.113.53 via 198.51.100.10 dev r-pop-b proto bird metric 32"))).toMatchObject({
      pop: null,
      previousPop: "pop-b",
      nextHop: null,
    });
  });

  it("follows the lowest-metric route like the kernel, for any sequence of adds, replaces and deletes", () => {
    const op = fc.record({ deleted: fc.boolean(), metric: fc.constantFrom(0, 32, 64), hop: fc.constantFrom(...hops) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const tracker = new FibTracker();
        const model = new Map<number, string>();
        const modelPop = (): PopName | null => {
          const metrics = [...model.keys()].sort((a, b) => a - b);
          const hop = metrics.length > 0 ? model.get(metrics[0]!)! : null;
          return hop === null ? null : POPS.find((p) => p.link.peerAddress === hop)!.name;
        };
        let expected: PopName | null = null;
        ops.forEach((o, i) => {
          const micros = String(i).padStart(6, "0");
          const text = `[2026-11-22T12:00:00.${micros}] ${o.deleted ? "Deleted " : ""}203.0.113.53 via ${o.hop} dev eth proto bird metric ${o.metric}`;
          if (o.deleted) {
            if (model.get(o.metric) === o.hop) model.delete(o.metric);
          } else model.set(o.metric, o.hop);
          const change = tracker.apply(parseMonitorLine(text)!);
          const now = modelPop();
          if (now === expected) {
            expect(change).toBeNull();
          } else {
            expect(change).toMatchObject({ pop: now, previousPop: expected, event: "change" });
            expect(change!.atMs).toBeCloseTo(Date.UTC(2026, 10, 22, 12) + i / 1000, 6);
          }
          expected = now;
        });
      }),
    );
  });
});

describe("popAt", () => {
  const changes: RouteChange[] = [
    { at: "", atMs: 100, prefix: "203.0.113.53/32", event: "initial", pop: "pop-a", nextHop: "198.51.100.6", dev: "r-pop-a" },
    {
      at: "",
      atMs: 200,
      prefix: "203.0.113.53/32",
      event: "change",
      pop: "pop-b",
      nextHop: "198.51.100.10",
      dev: "r-pop-b",
      previousPop: "pop-a",
    },
  ];

  it("answers where the router forwarded at an instant", () => {
    expect(popAt(changes, 50)).toBeUndefined();
    expect(popAt(changes, 150)).toBe("pop-a");
    expect(popAt(changes, 200)).toBe("pop-b");
  });
});

describe("parseBirdRoutes", () => {
  const output = `BIRD 2.0.12 ready.
Table master4:
203.0.113.53/32      unicast [pop_b 2026-11-22 12:32:54.147] (100) [AS65002i]
\tvia 198.51.100.10 on r-pop-b
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path: 65002 65002
\tBGP.next_hop: 198.51.100.10
\tBGP.local_pref: 100
                     unicast [pop_a 2026-11-22 12:32:54.183] * (100) [AS65001i]
\tvia 198.51.100.6 on r-pop-a
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path: 65001
\tBGP.next_hop: 198.51.100.6
\tBGP.local_pref: 100
`;

  it("lists every path with its PoP, AS path and next hop, the selected one first", () => {
    expect(parseBirdRoutes(output)).toEqual([
      { pop: "pop-a", protocol: "pop_a", best: true, asPath: [65001], nextHop: "198.51.100.6", since: "2026-11-22 12:32:54.183" },
      { pop: "pop-b", protocol: "pop_b", best: false, asPath: [65002, 65002], nextHop: "198.51.100.10", since: "2026-11-22 12:32:54.147" },
    ]);
  });

  it("returns nothing when BIRD has no route", () => {
    expect(parseBirdRoutes("BIRD 2.0.12 ready.\nNetwork not found\n")).toEqual([]);
  });
});

describe("the longest prefix covering the anycast address", () => {
  const covering = { covering: "203.0.113.53" };
  const line = (text: string) => parseMonitorLine(`[2026-11-22T12:00:01.000000] ${text}`, covering)!;

  it("takes every prefix that covers the address, tagged, and nothing else", () => {
    expect(coveringPrefix("203.0.113.0/24", "203.0.113.53")).toBe("203.0.113.0/24");
    expect(coveringPrefix("203.0.113.53", "203.0.113.53")).toBe("203.0.113.53/32");
    expect(coveringPrefix("203.0.113.48/28", "203.0.113.53")).toBe("203.0.113.48/28");
    expect(coveringPrefix("203.0.113.64/28", "203.0.113.53")).toBeNull();
    expect(coveringPrefix("default", "203.0.113.53")).toBeNull();
    expect(coveringPrefix("0.0.0.0/0", "203.0.113.53")).toBeNull();
    expect(line("203.0.113.0/24 nhid 26 via 198.51.100.6 dev r-pop-a proto bgp metric 20").route).toMatchObject({
      prefix: "203.0.113.0/24",
      nextHop: "198.51.100.6",
      metric: 20,
    });
    expect(parseMonitorLine("[2026-11-22T12:00:01.000000] 203.0.113.252/30 dev r-mgmt proto kernel scope link", covering)).toBeNull();
  });

  it("follows a more-specific in and out, like the kernel's longest match", () => {
    const tracker = new FibTracker(
      routesFromJson(
        '[{"dst":"203.0.113.0/24","nhid":26,"gateway":"198.51.100.6","dev":"r-pop-a","protocol":"bgp","metric":20,"flags":[]}]',
        "203.0.113.53",
      ),
    );
    expect(tracker.initialEntry("", 0)).toMatchObject({ pop: "pop-a", prefix: "203.0.113.0/24" });
    expect(tracker.apply(line("203.0.113.48/28 via 198.51.100.18 dev r-rogue proto bgp metric 20"))).toMatchObject({
      pop: "rogue",
      prefix: "203.0.113.48/28",
      previousPop: "pop-a",
    });
    // A change of the covering /24 is invisible while the /28 decides.
    expect(tracker.apply(line("203.0.113.0/24 via 198.51.100.10 dev r-pop-b proto bgp metric 20"))).toBeNull();
    expect(tracker.apply(line("Deleted 203.0.113.48/28 via 198.51.100.18 dev r-rogue proto bgp metric 20"))).toMatchObject({
      pop: "pop-b",
      prefix: "203.0.113.0/24",
      previousPop: "rogue",
    });
  });
});

describe("the IPv6 anycast /128 (truth6.jsonl)", () => {
  const added = (at: string, pop: number) =>
    `[2026-12-06T17:0${at}] 2001:db8:53::53 via 2001:db8:100:${pop}::2 dev r-pop-${"abc"[pop - 1]} proto bird metric 32 pref medium`;

  it("reads the /128 printed without its length, only when asked for it", () => {
    expect(parseMonitorLine(added("1:00.000001", 1), ANYCAST_PREFIX_V6)).toMatchObject({
      deleted: false,
      route: { nextHop: "2001:db8:100:1::2", dev: "r-pop-a", metric: 32 },
    });
    expect(parseMonitorLine(added("1:00.000001", 1))).toBeNull();
    expect(
      parseMonitorLine("[2026-12-06T17:01:00.000001] 2001:db8:100:1::/64 dev r-pop-a proto kernel metric 256", ANYCAST_PREFIX_V6),
    ).toBeNull();
  });

  it("names the PoP by its IPv6 link address", () => {
    expect(POPS.map((p) => popByNextHop(p.link.peerAddress6))).toEqual(["pop-a", "pop-b", "pop-c"]);
    expect(popByNextHop("2001:db8:100:9::2")).toBeNull();
  });

  it("follows FRR's delete-then-add replacement: a moment without a route, then the new PoP", () => {
    const tracker = new FibTracker([{ metric: 20, type: "unicast", nextHop: "2001:db8:100:1::2", dev: "r-pop-a" }], ANYCAST_PREFIX_V6);
    const deleted = parseMonitorLine(
      "[2026-12-06T17:01:00.000001] Deleted 2001:db8:53::53 nhid 30 via 2001:db8:100:1::2 dev r-pop-a proto bgp metric 20 pref medium",
      ANYCAST_PREFIX_V6,
    )!;
    const replaced = parseMonitorLine(
      "[2026-12-06T17:01:00.000145] 2001:db8:53::53 nhid 31 via 2001:db8:100:2::2 dev r-pop-b proto bgp metric 20 pref medium",
      ANYCAST_PREFIX_V6,
    )!;
    expect(tracker.apply(deleted)).toMatchObject({ prefix: ANYCAST_PREFIX_V6, pop: null, previousPop: "pop-a" });
    expect(tracker.apply(replaced)).toMatchObject({ prefix: ANYCAST_PREFIX_V6, pop: "pop-b", previousPop: null });
  });
});
