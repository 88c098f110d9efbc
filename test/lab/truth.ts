// The lab's ground truth: when the router's forwarding table (FIB) changed
// where the anycast address goes: the longest prefix covering it (the /32 the
// PoPs announce, or their /24 and any more-specific a rogue announces inside it). Read from `ip -ts monitor route` in the
// router's namespace: the kernel's own notification of the change BIRD made,
// stamped to the microsecond, which is what decides where a client's next
// packet goes. Popwatch's measured convergence is compared against it.
//
// truth.jsonl holds one RouteChange per line. Parsing is pure (no clock, no
// I/O) so it is tested on its own.
import { readFileSync } from "node:fs";
import { ANYCAST_PREFIX, type PopName, type RogueName, popByNextHop } from "./topology";

export interface RouteChange {
  /** ISO 8601 UTC with microseconds, e.g. "2026-11-22T12:27:55.090002Z". */
  at: string;
  /** The same instant as epoch milliseconds (fractional). */
  atMs: number;
  /** The FIB entry that decides (longest prefix covering the anycast address); the tracker's own prefix when there is none. */
  prefix: string;
  /** "initial": the route when the watcher started; "change": the next hop for the address changed. */
  event: "initial" | "change";
  /** The PoP (or the rogue) the router now forwards to; null when it has no route (the client's packets are dropped). */
  pop: PopName | RogueName | null;
  nextHop: string | null;
  dev: string | null;
  /** Where it forwarded before; null when it had no route. Absent on "initial". */
  previousPop?: PopName | RogueName | null;
}

/** One route of the prefix as the kernel reported it. */
export interface FibRoute {
  /** Destination as "a.b.c.d/len"; absent means the tracker's own prefix. */
  prefix?: string;
  metric: number;
  type: string;
  nextHop: string | null;
  dev: string | null;
}

export interface MonitorLine {
  /** ISO 8601 UTC with microseconds. */
  at: string;
  atMs: number;
  deleted: boolean;
  route: FibRoute;
}

const ROUTE_TYPES = new Set([
  "unicast",
  "unreachable",
  "blackhole",
  "prohibit",
  "throw",
  "local",
  "broadcast",
  "multicast",
  "anycast",
  "nat",
]);
/** `ip route` keywords followed by a value; anything else is a flag (onlink, linkdown, dead, ...). */
const VALUED_KEYS = new Set([
  "via",
  "dev",
  "proto",
  "metric",
  "table",
  "src",
  "scope",
  "pref",
  "expires",
  "mtu",
  "realm",
  "realms",
  "tos",
  "dsfield",
  "nhid",
  "weight",
  "rtt",
  "rttvar",
  "cwnd",
  "initcwnd",
  "advmss",
]);

/**
 * Parses a timestamp as `ip -ts` prints it, "[2026-11-22T12:27:55.090002]",
 * in the process's time zone: the watcher runs `ip` with TZ=UTC.
 */
export function parseIpTimestamp(stamp: string): { at: string; atMs: number } | null {
  const m = /^\[(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?\]$/.exec(stamp);
  if (!m) return null;
  const whole = Date.parse(`${m[1]}Z`);
  if (Number.isNaN(whole)) return null;
  const fraction = m[2] ?? "";
  return { at: `${m[1]}${fraction ? `.${fraction}` : ""}Z`, atMs: whole + (fraction ? Number(`0.${fraction}`) * 1000 : 0) };
}

function ipv4ToNumber(address: string): number | null {
  const parts = address.split(".");
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return null;
    value = value * 256 + Number(part);
  }
  return value;
}

/** "a.b.c.d/len" (a host without a length is a /32) normalized, when it covers `address`; otherwise null. */
export function coveringPrefix(destination: string, address: string): string | null {
  const [host, lengthText] = destination.split("/");
  const length = lengthText === undefined ? 32 : /^\d{1,2}$/.test(lengthText) ? Number(lengthText) : -1;
  const network = ipv4ToNumber(host ?? "");
  const target = ipv4ToNumber(address);
  // The default route covers everything and says nothing about where the PoPs are.
  if (network === null || target === null || length < 1 || length > 32) return null;
  const size = 2 ** (32 - length);
  if (Math.floor(network / size) !== Math.floor(target / size)) return null;
  return `${host}/${length}`;
}

/**
 * One line of `ip -ts monitor route` when it is about the anycast prefix in
 * the main table; null for anything else (other prefixes, other tables,
 * IPv6 unless `prefix` is an IPv6 one, the local table, unparseable lines). With `{ covering: address }` it
 * takes every prefix that covers the address instead, each tagged with its
 * prefix, so that a more-specific appearing is seen.
 */
export function parseMonitorLine(line: string, prefix: string | { covering: string } = ANYCAST_PREFIX): MonitorLine | null {
  const tokens = line.trim().split(/\s+/);
  const stamp = tokens[0] ? parseIpTimestamp(tokens[0]) : null;
  if (!stamp) return null;
  let i = 1;
  const deleted = tokens[i] === "Deleted";
  if (deleted) i++;
  let type = "unicast";
  if (tokens[i] !== undefined && ROUTE_TYPES.has(tokens[i]!)) type = tokens[i++]!;
  const destination = tokens[i++] ?? "";
  let matched: string | null;
  if (typeof prefix === "string") {
    // `ip` prints a host route without its length (/32, or /128 for IPv6).
    const host = prefix.replace(/\/(32|128)$/, "");
    matched = destination === prefix || destination === host ? prefix : null;
  } else matched = coveringPrefix(destination, prefix.covering);
  if (matched === null) return null;
  const values = new Map<string, string>();
  while (i < tokens.length) {
    const key = tokens[i++]!;
    if (VALUED_KEYS.has(key) && i < tokens.length) values.set(key, tokens[i++]!);
  }
  const table = values.get("table");
  if (table !== undefined && table !== "main") return null;
  return {
    at: stamp.at,
    atMs: stamp.atMs,
    deleted,
    route: {
      ...(typeof prefix === "string" ? {} : { prefix: matched }),
      metric: Number(values.get("metric") ?? 0),
      type,
      nextHop: values.get("via") ?? null,
      dev: values.get("dev") ?? null,
    },
  };
}

function prefixLength(route: FibRoute): number {
  return Number(route.prefix?.split("/")[1] ?? 32);
}

/** The route the kernel forwards with: the longest prefix, then the lowest metric among its routes. */
export function effectiveRoute(routes: Iterable<FibRoute>): FibRoute | null {
  let best: FibRoute | null = null;
  for (const route of routes) {
    if (best === null) best = route;
    else {
      const longer = prefixLength(route) - prefixLength(best);
      if (longer > 0 || (longer === 0 && route.metric < best.metric)) best = route;
    }
  }
  return best;
}

type Forwarding = { pop: PopName | RogueName | null; nextHop: string | null; dev: string | null; prefix: string | null };

/** A non-unicast route (unreachable, blackhole, ...) forwards to no PoP. */
function forwardsTo(route: FibRoute | null): Forwarding {
  const prefix = route?.prefix ?? null;
  if (route === null || route.type !== "unicast" || route.nextHop === null)
    return { pop: null, nextHop: null, dev: route?.dev ?? null, prefix };
  return { pop: popByNextHop(route.nextHop), nextHop: route.nextHop, dev: route.dev, prefix };
}

const routeKey = (route: FibRoute): string => `${route.prefix ?? ""} ${route.metric}`;

/**
 * Follows the prefix's routes through monitor lines and reports a change only
 * when the forwarding decision (next hop) changes: a route replaced by an
 * identical one, or a backup route of a higher metric coming and going, is
 * not a change for the client.
 */
export class FibTracker {
  private readonly routes = new Map<string, FibRoute>();
  private current: Forwarding;

  constructor(
    initial: readonly FibRoute[] = [],
    private readonly prefix = ANYCAST_PREFIX,
  ) {
    for (const route of initial) this.routes.set(routeKey(route), route);
    this.current = forwardsTo(effectiveRoute(this.routes.values()));
  }

  /** The initial entry of the log, stamped by the caller. */
  initialEntry(at: string, atMs: number): RouteChange {
    return this.entry(at, atMs, "initial");
  }

  private entry(at: string, atMs: number, event: RouteChange["event"]): RouteChange {
    const { prefix, ...forwarding } = this.current;
    return { at, atMs, prefix: prefix ?? this.prefix, event, ...forwarding };
  }

  /** Applies one monitor line; returns the change it caused, if any. */
  apply(line: MonitorLine): RouteChange | null {
    const key = routeKey(line.route);
    if (line.deleted) {
      const existing = this.routes.get(key);
      // A deletion naming another next hop is of a route already replaced.
      if (existing && (line.route.nextHop === null || existing.nextHop === line.route.nextHop)) this.routes.delete(key);
    } else {
      this.routes.set(key, line.route);
    }
    const next = forwardsTo(effectiveRoute(this.routes.values()));
    if (next.nextHop === this.current.nextHop && next.pop === this.current.pop) return null;
    const previousPop = this.current.pop;
    this.current = next;
    return { ...this.entry(line.at, line.atMs, "change"), previousPop };
  }
}

/**
 * Routes of `ip -j route show PREFIX` (the watcher's starting point). With
 * `covering`, of `ip -j route show match ADDRESS`: every prefix covering the
 * address, each tagged with its prefix (the default route is left out).
 */
export function routesFromJson(json: string, covering?: string): FibRoute[] {
  const parsed = JSON.parse(json || "[]") as Array<{ dst?: string; type?: string; gateway?: string; dev?: string; metric?: number }>;
  return parsed.flatMap((r) => {
    const route: FibRoute = { metric: r.metric ?? 0, type: r.type ?? "unicast", nextHop: r.gateway ?? null, dev: r.dev ?? null };
    if (covering === undefined) return [route];
    const prefix = coveringPrefix(r.dst ?? "", covering);
    return prefix === null ? [] : [{ prefix, ...route }];
  });
}

/** Reads truth.jsonl; a line being written while read (no newline yet) is skipped. */
export function readTruth(file: string): RouteChange[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  const lines = text.split("\n");
  lines.pop(); // the part after the last newline: empty, or a line still being written
  return lines.filter(Boolean).map((line) => JSON.parse(line) as RouteChange);
}

/** Which PoP the router forwarded to at `atMs` according to the log (undefined before the first entry). */
export function popAt(changes: readonly RouteChange[], atMs: number): PopName | RogueName | null | undefined {
  let pop: PopName | RogueName | null | undefined;
  for (const change of changes) {
    if (change.atMs > atMs) break;
    pop = change.pop;
  }
  return pop;
}
