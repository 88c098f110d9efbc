// Routing findings of one snapshot: visibility, origin and sub-prefix
// hijacks, unexpected upstreams (prepending, AS_SETs), RPKI invalid, and the
// noise rule of a minimum number of peers.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { BgpEvent } from "../src/routing/event";
import {
  type RouteFinding,
  type RoutingFindingOptions,
  originCandidates,
  routingAssessment,
  routingFindings,
  upstreamOf,
} from "../src/routing/findings";
import { parsePrefix, prefixContains, prefixOf } from "../src/routing/prefix";
import { indexVrps } from "../src/routing/rpki";
import { applyBgpEvents } from "../src/routing/state";
import { T0, WATCHED, WATCHED6, announce, cleanAnnouncements, session, withdraw } from "./routing-fixtures";

const OPTIONS: RoutingFindingOptions = { minVisibility: 0.8, minPeers: 3 };
const findingsOf = (events: BgpEvent[], options = OPTIONS, watched: typeof WATCHED | typeof WATCHED6 = WATCHED) =>
  routingFindings(applyBgpEvents(null, watched, events), watched, options);
const byCondition = (findings: ReturnType<typeof findingsOf>, condition: string) => findings.find((f) => f.condition === condition);

describe("routingFindings", () => {
  it("finds nothing when every peer sees the prefix from its origin through an expected upstream", () => {
    expect(findingsOf(cleanAnnouncements(5, T0))).toEqual([]);
  });

  it("finds an origin hijack with the origins, prefixes and peers involved", () => {
    const events = [
      ...cleanAnnouncements(5, T0),
      announce(1, T0 + 10, [65001, 64666]),
      announce(2, T0 + 10, [65002, 64999, 64666]),
      announce(3, T0 + 10, [65003, 64777], "198.51.100.0/24"),
    ];
    const finding = byCondition(findingsOf(events), "origin-hijack") as RouteFinding;
    expect(finding).toMatchObject({
      condition: "origin-hijack",
      prefix: "198.51.100.0/24",
      asns: [64666, 64777],
      expected: [64500],
      prefixes: ["198.51.100.0/24"],
      origins: [64666, 64777],
    });
    expect(finding.peers.map((p) => p.peer)).toEqual(["203.0.113.1", "203.0.113.2", "203.0.113.3"]);
    expect(finding.examples[0]).toEqual({ ...finding.peers[0], prefix: "198.51.100.0/24", asPath: [65001, 64666] });
  });

  it("keeps an origin hijack seen by fewer than minPeers peers quiet, and reports it with minPeers 1", () => {
    const events = [...cleanAnnouncements(5, T0), announce(1, T0 + 10, [65001, 64666])];
    expect(byCondition(findingsOf(events), "origin-hijack")).toBeUndefined();
    expect(byCondition(findingsOf(events, { minVisibility: 0.8, minPeers: 1 }), "origin-hijack")).toMatchObject({ asns: [64666] });
  });

  it("finds a more-specific as a sub-prefix hijack whatever its origin, and as an origin hijack too when the origin is wrong", () => {
    const events = [
      ...cleanAnnouncements(4, T0),
      ...[1, 2, 3].map((n) => announce(n, T0 + 10, [65000 + n, 64666], "198.51.100.128/25")),
      announce(4, T0 + 10, [65004, 64510, 64500], "198.51.100.0/25"),
    ];
    const findings = findingsOf(events, { minVisibility: 0.8, minPeers: 1 });
    expect(byCondition(findings, "sub-prefix-hijack")).toMatchObject({
      asns: [64500, 64666],
      prefixes: ["198.51.100.0/25", "198.51.100.128/25"],
      maxLength: 24,
    });
    expect(byCondition(findings, "origin-hijack")).toMatchObject({ asns: [64666], prefixes: ["198.51.100.128/25"] });
    expect((byCondition(findings, "sub-prefix-hijack") as RouteFinding).peers).toHaveLength(4);
  });

  it("allows more-specifics up to maxLength", () => {
    const watched = { ...WATCHED, maxLength: 25 };
    const snapshot = applyBgpEvents(null, watched, [...cleanAnnouncements(3, T0), ...cleanAnnouncements(3, T0 + 10, "198.51.100.128/25")]);
    expect(routingFindings(snapshot, watched, OPTIONS)).toEqual([]);
  });

  it("finds low visibility once enough peers report", () => {
    const events = [...cleanAnnouncements(5, T0), withdraw(1, T0 + 10), withdraw(2, T0 + 11)];
    expect(findingsOf(events)).toEqual([
      { condition: "low-visibility", prefix: "198.51.100.0/24", peersSeeing: 3, peersReporting: 5, visibility: 0.6, minVisibility: 0.8 },
    ]);
    // Two peers reporting, one sees it: too few to judge.
    expect(findingsOf([...cleanAnnouncements(2, T0), withdraw(1, T0 + 10)])).toEqual([]);
  });

  it("counts a peer whose session went down as not reporting rather than not seeing", () => {
    const events = [...cleanAnnouncements(5, T0), session(1, T0 + 10, false), session(2, T0 + 10, false)];
    const assessment = routingAssessment(applyBgpEvents(null, WATCHED, events), WATCHED, OPTIONS);
    expect(assessment).toMatchObject({ peersReporting: 3, peersSeeing: 3, visibility: 1, findings: [] });
  });

  it("finds an unexpected upstream next to the origin, skipping prepends", () => {
    const events = [
      ...cleanAnnouncements(2, T0),
      announce(3, T0 + 10, [65003, 64999, 64500, 64500, 64500]),
      announce(4, T0 + 10, [65004, 64999, 64500]),
      announce(5, T0 + 10, [65005, 64510, 64500, 64500]),
    ];
    const findings = findingsOf(events, { minVisibility: 0.8, minPeers: 2 });
    expect(findings).toEqual([
      expect.objectContaining({
        condition: "unexpected-upstream",
        asns: [64999],
        expected: [64510, 64511],
        origins: [64500],
        prefixes: ["198.51.100.0/24"],
      }),
    ]);
    expect(routingAssessment(applyBgpEvents(null, WATCHED, events), WATCHED, OPTIONS).upstreams).toEqual([64510, 64999]);
  });

  it("does not check upstreams when none are configured, nor on a route from the origin itself", () => {
    const noUpstreams = { prefix: WATCHED.prefix, origins: [64500] };
    const snapshot = applyBgpEvents(
      null,
      noUpstreams,
      [1, 2, 3].map((n) => announce(n, T0, [65000 + n, 64999, 64500])),
    );
    expect(routingFindings(snapshot, noUpstreams, OPTIONS)).toEqual([]);
    expect(upstreamOf({ origin: 64500, asPath: [64500, 64500] })).toBeNull();
  });

  it("treats a path ending in an AS_SET as originated by the set's members", () => {
    const setRoute = (n: number, set: number[]) =>
      announce(n, T0, [65000 + n, 64510, ...set], WATCHED.prefix, { asSets: [set], origin: null });
    const expectedInSet = findingsOf([1, 2, 3].map((n) => setRoute(n, [64500, 64501])));
    expect(expectedInSet).toEqual([]);
    const foreign = findingsOf([1, 2, 3].map((n) => setRoute(n, [64666, 64667])));
    expect(byCondition(foreign, "origin-hijack")).toMatchObject({ asns: [64666, 64667] });
    expect(originCandidates({ origin: null, asPath: [1, 2], asSets: [[2, 3]] })).toEqual([2, 3]);
    expect(upstreamOf({ origin: null, asPath: [1, 2, 3] })).toBeNull();
  });

  it("finds RPKI-invalid routes when VRPs are given", () => {
    const vrps = indexVrps([{ asn: 64500, prefix: "198.51.100.0/24", maxLength: 24 }]);
    const events = [
      ...cleanAnnouncements(3, T0),
      ...[1, 2, 3].map((n) => announce(n, T0 + 10, [65000 + n, 64510, 64500], "198.51.100.0/25")),
    ];
    const findings = findingsOf(events, { ...OPTIONS, vrps });
    expect(byCondition(findings, "rpki-invalid")).toMatchObject({ asns: [64500], prefixes: ["198.51.100.0/25"] });
    expect(byCondition(findingsOf(events), "rpki-invalid")).toBeUndefined();
  });

  it("works on IPv6", () => {
    const events = [
      ...cleanAnnouncements(3, T0, "2001:db8::/32"),
      ...[1, 2, 3].map((n) => announce(n, T0 + 10, [65000 + n, 64666], "2001:db8:ff00::/40")),
    ];
    const findings = findingsOf(events, OPTIONS, WATCHED6);
    expect(findings.map((f) => f.condition)).toEqual(["origin-hijack", "sub-prefix-hijack"]);
    expect(byCondition(findings, "sub-prefix-hijack")).toMatchObject({ prefixes: ["2001:db8:ff00::/40"], maxLength: 32 });
  });

  it("assesses a prefix without data as unjudged", () => {
    expect(routingAssessment(null, WATCHED, OPTIONS)).toMatchObject({ asOfMs: null, peersReporting: 0, visibility: null, findings: [] });
  });
});

describe("routingFindings properties", () => {
  const prefixArb = fc.constantFrom("198.51.100.0/24", "198.51.100.0/25", "198.51.100.192/26", "198.51.0.0/16", "203.0.113.0/24");
  const eventArb = fc
    .record({
      n: fc.integer({ min: 1, max: 5 }),
      t: fc.integer({ min: 0, max: 9 }),
      path: fc.array(fc.constantFrom(64500, 64510, 64666, 64999), { minLength: 1, maxLength: 4 }),
      prefix: prefixArb,
      withdrawn: fc.boolean(),
    })
    .map(({ n, t, path, prefix, withdrawn }) =>
      withdrawn ? withdraw(n, T0 + t, prefix) : announce(n, T0 + t, [65000 + n, ...path], prefix),
    );

  it("only mentions prefixes inside the watched one, and every finding has its peers", () => {
    const outer = prefixOf(WATCHED.prefix);
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 30 }), fc.integer({ min: 1, max: 3 }), (events, minPeers) => {
        for (const finding of findingsOf(events, { minVisibility: 0.8, minPeers })) {
          expect(finding.prefix).toBe(WATCHED.prefix);
          if (finding.condition === "low-visibility") continue;
          expect(finding.peers.length).toBeGreaterThanOrEqual(minPeers);
          for (const prefix of finding.prefixes) expect(prefixContains(outer, parsePrefix(prefix).prefix!)).toBe(true);
        }
      }),
    );
  });
});
