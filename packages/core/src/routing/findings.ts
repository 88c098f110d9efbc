// What is wrong with a watched prefix in one routing snapshot, in the terms
// BGP monitors use (BGPalerter, ARTEMIS): visibility lost, an origin hijack, a
// sub-prefix (more-specific) hijack, an unexpected upstream, an RPKI-invalid
// announcement. Each finding names the AS numbers and prefixes involved and
// the peers that saw them. Pure.
//
// Noise control: a finding about routes (every condition but visibility)
// needs at least `minPeers` distinct peers that saw an offending route, as
// BGPalerter's threshold of peers does; a single peer's leak stays quiet with
// the default of 3. With one lab router (one peer) set minPeers to 1.
// Visibility is judged only when at least `minPeers` peers report.
//
// Definitions (routes of peers that report, for the prefix or any
// more-specific of it):
// - origin: the last AS of the path; a path ending in an AS_SET has no single
//   origin (RFC 6811 §2), so its candidates are the members of that set, and
//   it is an origin hijack only when none of them is expected;
// - origin hijack: a route whose origin is not among `origins`;
// - sub-prefix hijack: a route longer than `maxLength` (default the watched
//   prefix's length), whatever its origin: a more-specific attracts the
//   traffic even from the right origin (a leak of a deaggregate, a
//   forged-origin hijack), and from an unexpected origin it is both;
// - unexpected upstream (only when `upstreams` is configured): on routes of an
//   expected origin, the AS next to the origin, skipping the origin's own
//   repeats (prepending), is not among `upstreams` (a forged-origin hijack
//   shows as this); a path that is the origin alone has no upstream;
// - RPKI invalid (only with VRPs): rpkiValidity is "invalid".
import { compareStrings } from "../compare";
import type { RouteEvent } from "./event";
import { visibilityOf } from "./minutes";
import { parsePrefix, prefixContains, prefixOf } from "./prefix";
import type { RoutingSnapshot } from "./repository";
import { type VrpIndex, rpkiValidity } from "./rpki";
import { peerKey } from "./state";

export const ROUTING_CONDITIONS = ["origin-hijack", "sub-prefix-hijack", "low-visibility", "unexpected-upstream", "rpki-invalid"] as const;
export type RoutingCondition = (typeof ROUTING_CONDITIONS)[number];
export type RouteCondition = Exclude<RoutingCondition, "low-visibility">;

/** How many example routes a finding keeps (for display; the counts cover all). */
export const ROUTING_FINDING_EXAMPLES = 5;

export interface RoutingPeerRef {
  source: string;
  peer: string;
  peerAs: number;
}

/** One offending route, as a peer had it. */
export interface RoutingExample extends RoutingPeerRef {
  prefix: string;
  asPath: number[];
}

/** Offending routes of one condition. */
export interface RouteFinding {
  condition: RouteCondition;
  /** The watched prefix. */
  prefix: string;
  /**
   * The AS numbers at fault, ascending: the unexpected origins
   * (origin-hijack), the unexpected upstreams (unexpected-upstream), the
   * origins of the offending routes (sub-prefix-hijack, rpki-invalid).
   */
  asns: number[];
  /** What was expected instead: `upstreams` for unexpected-upstream, `origins` otherwise. */
  expected: number[];
  /** The offending prefixes (the watched one and/or more-specifics), sorted. */
  prefixes: string[];
  /** Origins of the offending routes, ascending (AS_SET members for a path ending in one). */
  origins: number[];
  /** Distinct peers that had an offending route, sorted. */
  peers: RoutingPeerRef[];
  /** sub-prefix-hijack: the longest length allowed. */
  maxLength?: number;
  /** A few offending routes, for display. */
  examples: RoutingExample[];
}

export interface VisibilityFinding {
  condition: "low-visibility";
  prefix: string;
  /** Peers with a route to the watched prefix itself. */
  peersSeeing: number;
  peersReporting: number;
  /** peersSeeing / peersReporting. */
  visibility: number;
  minVisibility: number;
}

export type RoutingFinding = RouteFinding | VisibilityFinding;

export interface RoutingFindingOptions {
  minVisibility: number;
  minPeers: number;
  /** Without VRPs there are no rpki-invalid findings. */
  vrps?: VrpIndex;
}

/** A watched prefix with its expectations; `WatchedPrefix` from the config fits. */
export interface WatchedExpectations {
  prefix: string;
  origins: readonly number[];
  upstreams?: readonly number[] | undefined;
  maxLength?: number | undefined;
}

/** A snapshot judged: its figures and its findings (what `bgp state` prints and alerts take). */
export interface RoutingAssessment {
  prefix: string;
  /** Newest event judged; null without a snapshot. */
  asOfMs: number | null;
  peersReporting: number;
  peersSeeing: number;
  /** peersSeeing / peersReporting; null when no peer reports. */
  visibility: number | null;
  /** Origins of the routes to the prefix itself → peers, as in RoutingMinute. */
  origins: Record<string, number>;
  /** ASes seen next to the origin on the prefix's and its more-specifics' routes, ascending. */
  upstreams: number[];
  /** Whether VRPs were given: without them the absence of an rpki-invalid finding means nothing. */
  rpkiChecked: boolean;
  findings: RoutingFinding[];
}

export function routingFindings(snapshot: RoutingSnapshot, watched: WatchedExpectations, options: RoutingFindingOptions): RoutingFinding[] {
  return routingAssessment(snapshot, watched, options).findings;
}

/** Every figure and finding of one watched prefix; a null snapshot (no data yet) has none. */
export function routingAssessment(
  snapshot: RoutingSnapshot | null,
  watched: WatchedExpectations,
  options: RoutingFindingOptions,
): RoutingAssessment {
  if (snapshot === null) {
    return {
      prefix: watched.prefix,
      asOfMs: null,
      peersReporting: 0,
      peersSeeing: 0,
      visibility: null,
      origins: {},
      upstreams: [],
      rpkiChecked: options.vrps !== undefined,
      findings: [],
    };
  }
  const { peersReporting, peersSeeing, origins } = visibilityOf(snapshot);
  const visibility = peersReporting === 0 ? null : peersSeeing / peersReporting;
  const reporting = new Set(snapshot.peers.map((peer) => peerKey(peer.source, peer.peer)));
  const outer = prefixOf(watched.prefix);
  // A snapshot from the fold holds only routes inside the prefix; one read from elsewhere is held to it too.
  const lengthOf = new Map<string, number>();
  const routes = snapshot.routes.filter((route) => {
    if (!reporting.has(peerKey(route.source, route.peer))) return false;
    const parsed = parsePrefix(route.prefix).prefix;
    if (parsed === null || !prefixContains(outer, parsed)) return false;
    lengthOf.set(route.prefix, parsed.length);
    return true;
  });
  const expectedOrigins = new Set(watched.origins);
  const maxLength = watched.maxLength ?? outer.length;
  const upstreams = new Set<number>();

  const collectors: Record<RouteCondition, Collector> = {
    "origin-hijack": new Collector(),
    "sub-prefix-hijack": new Collector(),
    "unexpected-upstream": new Collector(),
    "rpki-invalid": new Collector(),
  };
  for (const route of routes) {
    const candidates = originCandidates(route);
    const expectedOrigin = candidates.some((origin) => expectedOrigins.has(origin));
    if (!expectedOrigin) collectors["origin-hijack"].add(route, candidates, candidates);
    if (lengthOf.get(route.prefix)! > maxLength) collectors["sub-prefix-hijack"].add(route, candidates, candidates);
    const upstream = upstreamOf(route);
    if (upstream !== null) {
      upstreams.add(upstream);
      if (expectedOrigin && watched.upstreams !== undefined && !watched.upstreams.includes(upstream)) {
        collectors["unexpected-upstream"].add(route, [upstream], candidates);
      }
    }
    if (options.vrps !== undefined && rpkiValidity(options.vrps, route.prefix, route.origin) === "invalid") {
      collectors["rpki-invalid"].add(route, candidates, candidates);
    }
  }

  const findings: RoutingFinding[] = [];
  if (visibility !== null && peersReporting >= options.minPeers && visibility < options.minVisibility) {
    findings.push({
      condition: "low-visibility",
      prefix: watched.prefix,
      peersSeeing,
      peersReporting,
      visibility,
      minVisibility: options.minVisibility,
    });
  }
  const expected = [...watched.origins].sort(ascending);
  for (const condition of ["origin-hijack", "sub-prefix-hijack", "unexpected-upstream", "rpki-invalid"] as const) {
    const collector = collectors[condition];
    if (collector.peers.size === 0 || collector.peers.size < options.minPeers) continue;
    const finding: RouteFinding = {
      condition,
      prefix: watched.prefix,
      asns: [...collector.asns].sort(ascending),
      expected: condition === "unexpected-upstream" ? [...(watched.upstreams ?? [])].sort(ascending) : expected,
      prefixes: [...collector.prefixes].sort(compareStrings),
      origins: [...collector.origins].sort(ascending),
      peers: [...collector.peers.values()].sort((a, b) => compareStrings(a.source, b.source) || compareStrings(a.peer, b.peer)),
      examples: collector.examples,
    };
    if (condition === "sub-prefix-hijack") finding.maxLength = maxLength;
    findings.push(finding);
  }
  return {
    prefix: watched.prefix,
    asOfMs: snapshot.asOfMs,
    peersReporting,
    peersSeeing,
    visibility,
    origins,
    upstreams: [...upstreams].sort(ascending),
    rpkiChecked: options.vrps !== undefined,
    findings,
  };
}

class Collector {
  readonly asns = new Set<number>();
  readonly origins = new Set<number>();
  readonly prefixes = new Set<string>();
  readonly peers = new Map<string, RoutingPeerRef>();
  readonly examples: RoutingExample[] = [];

  add(route: RouteEvent, asns: readonly number[], origins: readonly number[]): void {
    for (const asn of asns) this.asns.add(asn);
    for (const origin of origins) this.origins.add(origin);
    this.prefixes.add(route.prefix);
    this.peers.set(peerKey(route.source, route.peer), { source: route.source, peer: route.peer, peerAs: route.peerAs });
    if (this.examples.length < ROUTING_FINDING_EXAMPLES) {
      this.examples.push({ source: route.source, peer: route.peer, peerAs: route.peerAs, prefix: route.prefix, asPath: [...route.asPath] });
    }
  }
}

/** The AS (or, for a path ending in an AS_SET, the ASes) that originated a route. */
export function originCandidates(route: Pick<RouteEvent, "origin" | "asPath" | "asSets">): number[] {
  if (route.origin !== null) return [route.origin];
  const lastSet = route.asSets?.[route.asSets.length - 1];
  if (lastSet !== undefined && lastSet.length > 0) return [...lastSet];
  const last = route.asPath[route.asPath.length - 1];
  return last === undefined ? [] : [last];
}

/** The AS next to the origin, prepending skipped; null without one or when the path ends in an AS_SET. */
export function upstreamOf(route: Pick<RouteEvent, "origin" | "asPath">): number | null {
  if (route.origin === null) return null;
  let i = route.asPath.length - 1;
  while (i >= 0 && route.asPath[i] === route.origin) i--;
  return i < 0 ? null : route.asPath[i]!;
}

function ascending(a: number, b: number): number {
  return a - b;
}
