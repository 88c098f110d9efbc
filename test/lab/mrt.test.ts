// Reading `bgpdump -m` lines into the router's BGP changes (mrt.ts), and
// FRR's vtysh JSON (frr.ts). Pure; the lines are as bgpdump 1.6.2 printed
// them for the lab's FRR (BGP4MP_ET) and BIRD (BGP4MP) dumps.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseFrrRoutes, parseFrrSessions } from "./frr";
import { isLoss, parseBgpdump, parseBgpdumpLine } from "./mrt";

describe("parseBgpdumpLine", () => {
  it("reads an FRR announcement with its microsecond stamp, AS path and origin", () => {
    const change = parseBgpdumpLine(
      "BGP4MP_ET|1796553991.900753|A|198.51.100.10|65002|203.0.113.0/24|65002 65002|IGP|198.51.100.10|0|0||NAG||",
    );
    expect(change).toEqual({
      at: "2026-12-06T10:46:31.900753Z",
      atMs: 1796553991900.753,
      record: "BGP4MP_ET",
      type: "A",
      peer: "198.51.100.10",
      peerAs: 65002,
      pop: "pop-b",
      prefix: "203.0.113.0/24",
      asPath: [65002, 65002],
      originAs: 65002,
    });
  });

  it("reads a BIRD withdrawal (whole seconds) and a state change, and knows the rogue's peer", () => {
    expect(parseBgpdumpLine("BGP4MP|1796554241|W|198.51.100.6|65001|203.0.113.53/32")).toMatchObject({
      at: "2026-12-06T10:50:41Z",
      atMs: 1796554241000,
      type: "W",
      pop: "pop-a",
      prefix: "203.0.113.53/32",
      asPath: [],
      originAs: null,
    });
    const state = parseBgpdumpLine("BGP4MP_ET|1796553989.044750|STATE|198.51.100.18|65666|6|1");
    expect(state).toMatchObject({ type: "STATE", pop: "rogue", fromState: "Established", toState: "Idle", prefix: null });
    expect(isLoss(state!)).toBe(true);
    expect(isLoss(parseBgpdumpLine("BGP4MP_ET|1796553989.044750|STATE|198.51.100.6|65001|5|6")!)).toBe(false);
  });

  it("flattens an AS_SET at the end of the path and takes its last member as the origin", () => {
    expect(
      parseBgpdumpLine("BGP4MP|1|A|198.51.100.18|65666|203.0.113.0/24|65666 {65001,65002}|IGP|198.51.100.18|0|0||NAG||"),
    ).toMatchObject({
      asPath: [65666, 65001, 65002],
      originAs: 65002,
    });
  });

  it("skips RIB entries, other record types and garbage, and never throws", () => {
    expect(parseBgpdumpLine("TABLE_DUMP2|1796553991|B|198.51.100.6|65001|203.0.113.0/24|65001|IGP|198.51.100.6|0|0||NAG||")).toBeNull();
    expect(parseBgpdumpLine("BGP4MP|x|A|198.51.100.6|65001|203.0.113.0/24|65001")).toBeNull();
    expect(parseBgpdumpLine("")).toBeNull();
    fc.assert(fc.property(fc.string(), (line) => void parseBgpdumpLine(line)));
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constantFrom("BGP4MP", "BGP4MP_ET", "A", "W", "STATE", "1", "65001", ""), fc.string()), { maxLength: 10 }),
        (fields) => {
          void parseBgpdumpLine(fields.join("|"));
        },
      ),
    );
  });

  it("keeps file order over many lines", () => {
    const text = [
      "BGP4MP_ET|2.000001|W|198.51.100.6|65001|203.0.113.0/24",
      "not a line",
      "BGP4MP_ET|1.000001|A|198.51.100.14|65003|203.0.113.0/24|65003|IGP|198.51.100.14|0|0||NAG||",
    ].join("\n");
    expect(parseBgpdump(text).map((c) => c.type)).toEqual(["W", "A"]);
  });
});

describe("FRR's vtysh JSON", () => {
  it("maps neighbors to their session state", () => {
    const text = JSON.stringify({
      "198.51.100.6": { remoteAs: 65001, bgpState: "Established" },
      "198.51.100.18": { remoteAs: 65666, bgpState: "Active" },
    });
    expect([...parseFrrSessions(text)]).toEqual([
      ["198.51.100.6", "Established"],
      ["198.51.100.18", "Active"],
    ]);
    expect(parseFrrSessions("% bgpd is not running").size).toBe(0);
  });

  it("reads the paths of a prefix, best first, with the lab site behind each", () => {
    const path = (peer: string, asPath: string, best: boolean) => ({
      aspath: { string: asPath, length: asPath.split(" ").length },
      nexthops: [{ ip: peer, afi: "ipv4", used: true }],
      peer: { peerId: peer, type: "external" },
      ...(best ? { bestpath: { overall: true, selectionReason: "AS Path" } } : {}),
      lastUpdate: { epoch: 1796553991, string: "Sun Dec  6 10:46:31 2026\n" },
    });
    const text = JSON.stringify({
      prefix: "203.0.113.0/24",
      paths: [
        path("198.51.100.14", "65003 65003 65003", false),
        path("198.51.100.18", "65666", false),
        path("198.51.100.6", "65001", true),
      ],
    });
    const routes = parseFrrRoutes(text, "203.0.113.0/24");
    expect(routes.map((r) => [r.pop, r.best, r.asPath])).toEqual([
      ["pop-a", true, [65001]],
      ["rogue", false, [65666]],
      ["pop-c", false, [65003, 65003, 65003]],
    ]);
    expect(routes[0]).toMatchObject({ nextHop: "198.51.100.6", since: "2026-12-06T10:46:31.000Z" });
    expect(parseFrrRoutes(text, "203.0.113.53/32")).toEqual([]);
    expect(parseFrrRoutes("{}", "203.0.113.0/24")).toEqual([]);
  });
});
