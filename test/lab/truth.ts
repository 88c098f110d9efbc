// The lab's ground truth: when the router's forwarding table (FIB) changed
// where the anycast address goes. Read from `ip -ts monitor route` in the
// router's namespace: the kernel's own notification of the change BIRD made,
// stamped to the microsecond, which is what decides where a client's next
// packet goes. Popwatch's measured convergence is compared against it.
//
// truth.jsonl holds one RouteChange per line. Parsing is pure (no clock, no
// I/O) so it is tested on its own.
import { readFileSync } from "node:fs";
import { ANYCAST_PREFIX, type PopName, popByNextHop } from "./topology";

export interface RouteChange {
  /** ISO 8601 UTC with microseconds, e.g. "2026-11-22T12:27:55.090002Z". */
  at: string;
  /** The same instant as epoch milliseconds (fractional). */
  atMs: number;
  prefix: string;
  /** "initial": the route when the watcher started; "change": the next hop for the prefix changed. */
  event: "initial" | "change";
  /** The PoP the router now forwards to; null when it has no route (the client's packets are dropped). */
  pop: PopName | null;
  nextHop: string | null;
  dev: string | null;
  /** Where it forwarded before; null when it had no route. Absent on "initial". */
  previousPop?: PopName | null;
}

/** One route of the prefix as the kernel reported it. */
export interface FibRoute {
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

/**
 * One line of `ip -ts monitor route` when it is about the anycast prefix in
 * the main table; null for anything else (other prefixes, other tables,
 * IPv6, the local table, unparseable lines).
 */
export function parseMonitorLine(line: string, prefix = ANYCAST_PREFIX): MonitorLine | null {
  const tokens = line.trim().split(/\s+/);
  const stamp = tokens[0] ? parseIpTimestamp(tokens[0]) : null;
  if (!stamp) return null;
  let i = 1;
  const deleted = tokens[i] === "Deleted";
  if (deleted) i++;
  let type = "unicast";
  if (tokens[i] !== undefined && ROUTE_TYPES.has(tokens[i]!)) type = tokens[i++]!;
  const destination = tokens[i++];
  const host = prefix.endsWith("/32") ? prefix.slice(0, -3) : prefix;
  if (destination !== prefix && destination !== host) return null;
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
    route: { metric: Number(values.get("metric") ?? 0), type, nextHop: values.get("via") ?? null, dev: values.get("dev") ?? null },
  };
}

/** The route the kernel forwards with: the lowest metric among the prefix's routes. */
export function effectiveRoute(routes: ReadonlyMap<number, FibRoute>): FibRoute | null {
  let best: FibRoute | null = null;
  for (const route of routes.values()) if (best === null || route.metric < best.metric) best = route;
  return best;
}

/** A non-unicast route (unreachable, blackhole, ...) forwards to no PoP. */
function forwardsTo(route: FibRoute | null): { pop: PopName | null; nextHop: string | null; dev: string | null } {
  if (route === null || route.type !== "unicast" || route.nextHop === null) return { pop: null, nextHop: null, dev: route?.dev ?? null };
  return { pop: popByNextHop(route.nextHop), nextHop: route.nextHop, dev: route.dev };
}

/**
 * Follows the prefix's routes through monitor lines and reports a change only
 * when the forwarding decision (next hop) changes: a route replaced by an
 * identical one, or a backup route of a higher metric coming and going, is
 * not a change for the client.
 */
export class FibTracker {
  private readonly routes = new Map<number, FibRoute>();
  private current: { pop: PopName | null; nextHop: string | null; dev: string | null };

  constructor(
    initial: readonly FibRoute[] = [],
    private readonly prefix = ANYCAST_PREFIX,
  ) {
    for (const route of initial) this.routes.set(route.metric, route);
    this.current = forwardsTo(effectiveRoute(this.routes));
  }

  /** The initial entry of the log, stamped by the caller. */
  initialEntry(at: string, atMs: number): RouteChange {
    return { at, atMs, prefix: this.prefix, event: "initial", ...this.current };
  }

  /** Applies one monitor line; returns the change it caused, if any. */
  apply(line: MonitorLine): RouteChange | null {
    if (line.deleted) {
      const existing = this.routes.get(line.route.metric);
      // A deletion naming another next hop is of a route already replaced.
      if (existing && (line.route.nextHop === null || existing.nextHop === line.route.nextHop)) this.routes.delete(line.route.metric);
    } else {
      this.routes.set(line.route.metric, line.route);
    }
    const next = forwardsTo(effectiveRoute(this.routes));
    if (next.nextHop === this.current.nextHop && next.pop === this.current.pop) return null;
    const change: RouteChange = {
      at: line.at,
      atMs: line.atMs,
      prefix: this.prefix,
      event: "change",
      ...next,
      previousPop: this.current.pop,
    };
    this.current = next;
    return change;
  }
}

/** Routes of `ip -j route show PREFIX` (the watcher's starting point). */
export function routesFromJson(json: string): FibRoute[] {
  const parsed = JSON.parse(json || "[]") as Array<{ type?: string; gateway?: string; dev?: string; metric?: number }>;
  return parsed.map((r) => ({ metric: r.metric ?? 0, type: r.type ?? "unicast", nextHop: r.gateway ?? null, dev: r.dev ?? null }));
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
export function popAt(changes: readonly RouteChange[], atMs: number): PopName | null | undefined {
  let pop: PopName | null | undefined;
  for (const change of changes) {
    if (change.atMs > atMs) break;
    pop = change.pop;
  }
  return pop;
}
