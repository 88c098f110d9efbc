// Reading FRR's answers (vtysh JSON) about the anycast range and the BGP
// sessions, into the same shapes as BIRD's (bird.ts). Pure: text in, values out.
import type { BirdRoute } from "./bird";
import { popByNextHop } from "./topology";

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text || "{}");
  } catch {
    return {};
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Parses `show bgp neighbors json`: neighbor address → its state ("Established", "Active", "Connect", ...). */
export function parseFrrSessions(text: string): Map<string, string> {
  const sessions = new Map<string, string>();
  const parsed = parseJson(text);
  if (!isObject(parsed)) return sessions;
  for (const [address, neighbor] of Object.entries(parsed)) {
    if (isObject(neighbor) && typeof neighbor.bgpState === "string") sessions.set(address, neighbor.bgpState);
  }
  return sessions;
}

interface FrrPath {
  aspath?: { string?: string };
  nexthops?: Array<{ ip?: string }>;
  peer?: { peerId?: string };
  bestpath?: { overall?: boolean };
  lastUpdate?: { epoch?: number };
}

/**
 * Parses `show bgp ipv4 unicast PREFIX json`: one entry per path, best first
 * (then shortest AS path). The `protocol` of an FRR path is its peer's address;
 * `since` is FRR's last update of the path (whole seconds).
 */
export function parseFrrRoutes(text: string, prefix: string): BirdRoute[] {
  const parsed = parseJson(text);
  if (!isObject(parsed) || (parsed.prefix !== undefined && parsed.prefix !== prefix) || !Array.isArray(parsed.paths)) return [];
  const routes = (parsed.paths as FrrPath[]).map((path): BirdRoute => {
    const nextHop = path.nexthops?.[0]?.ip ?? null;
    const peer = path.peer?.peerId ?? nextHop ?? "";
    const epoch = path.lastUpdate?.epoch;
    return {
      pop: popByNextHop(peer),
      protocol: peer,
      best: path.bestpath?.overall === true,
      asPath: (path.aspath?.string ?? "").split(/\s+/).filter(Boolean).map(Number),
      nextHop,
      since: typeof epoch === "number" ? new Date(epoch * 1000).toISOString() : null,
    };
  });
  return routes.sort((a, b) => Number(b.best) - Number(a.best) || a.asPath.length - b.asPath.length);
}
