// Reading BIRD's answers (birdc output) about the anycast prefix and the BGP
// sessions. Pure: text in, values out.
import { type PopName, type RogueName, popByProtocol } from "./topology";

export interface BirdRoute {
  pop: PopName | RogueName | null;
  protocol: string;
  /** The route BIRD selected (and exports to the kernel). */
  best: boolean;
  asPath: number[];
  nextHop: string | null;
  /** When BIRD last changed this route (its log clock, UTC). */
  since: string | null;
}

/** Parses `birdc show route for PREFIX all`: one entry per path, best marked. */
export function parseBirdRoutes(text: string): BirdRoute[] {
  const routes: BirdRoute[] = [];
  let current: BirdRoute | null = null;
  for (const line of text.split("\n")) {
    const head = /\bunicast \[(\S+)(?: ([^\]]*))?\]\s+(\*)?\s*\(\d+\)/.exec(line);
    if (head) {
      current = {
        pop: popByProtocol(head[1]!),
        protocol: head[1]!,
        best: head[3] === "*",
        asPath: [],
        nextHop: null,
        since: head[2] ?? null,
      };
      routes.push(current);
      continue;
    }
    if (!current) continue;
    const via = /^\s+via (\S+)/.exec(line);
    if (via) current.nextHop = via[1]!;
    const path = /^\s+BGP\.as_path:\s*(.*)$/.exec(line);
    if (path) current.asPath = path[1]!.trim().split(/\s+/).filter(Boolean).map(Number);
  }
  return routes.sort((a, b) => Number(b.best) - Number(a.best) || a.asPath.length - b.asPath.length);
}

/** Parses `birdc show protocols`: BIRD protocol name → the "Info" column of its BGP session ("Established", "Active", ...). */
export function parseBirdSessions(text: string): Map<string, string> {
  const sessions = new Map<string, string>();
  for (const line of text.split("\n")) {
    // name  BGP  ---  state  since(date time)  info
    const m = /^(\S+)\s+BGP\s+\S+\s+(\S+)\s+\d{4}-\d{2}-\d{2} \S+\s*(\S*)/.exec(line);
    if (m) sessions.set(m[1]!, m[3] || m[2]!);
  }
  return sessions;
}
