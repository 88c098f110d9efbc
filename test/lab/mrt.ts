// The router's BGP truth: what it received, when, from its own MRT dump
// decoded by Debian's bgpdump (`bgpdump -m`, one line per route or state
// change). FRR writes BGP4MP_ET records (microsecond stamps); BIRD writes
// BGP4MP (whole seconds). This is the lab's reference reading, independent
// of popwatch's own MRT decoder, which is checked against bgpdump elsewhere.
//
// Parsing is pure (text in, values out); `readBgpChanges` runs bgpdump.
import { run } from "./procs";
import { type PopName, type RogueName, popByNextHop } from "./topology";

/** RFC 6396 BGP FSM state codes in STATE_CHANGE records. */
export const BGP_STATES: Record<number, string> = {
  1: "Idle",
  2: "Connect",
  3: "Active",
  4: "OpenSent",
  5: "OpenConfirm",
  6: "Established",
};

export interface BgpChange {
  /** ISO 8601 UTC; microseconds when the dump has them. */
  at: string;
  /** Epoch milliseconds (fractional). */
  atMs: number;
  /** bgpdump's record type, e.g. "BGP4MP_ET" or "BGP4MP". */
  record: string;
  /** "A" announcement, "W" withdrawal, "STATE" session state change. */
  type: "A" | "W" | "STATE";
  peer: string;
  peerAs: number;
  /** The lab site behind the peer address, or null (e.g. the router's own side of a state change). */
  pop: PopName | RogueName | null;
  /** The announced or withdrawn prefix; null for STATE. */
  prefix: string | null;
  /** AS path of an announcement, empty otherwise; an AS_SET's members are listed in it, flattened. */
  asPath: number[];
  /** The last AS of the path of an announcement; null otherwise. */
  originAs: number | null;
  /** STATE: the states left and entered, by name. */
  fromState?: string;
  toState?: string;
}

/** "1700000000.123456" or "1700000000" → the ISO string and epoch ms. */
function parseEpoch(text: string): { at: string; atMs: number } | null {
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(text);
  if (!m) return null;
  const seconds = Number(m[1]);
  const fraction = m[2] ?? "";
  const whole = new Date(seconds * 1000).toISOString().slice(0, 19);
  return { at: `${whole}${fraction ? `.${fraction}` : ""}Z`, atMs: seconds * 1000 + (fraction ? Number(`0.${fraction}`) * 1000 : 0) };
}

/** One line of `bgpdump -m`; null for lines that are not a BGP4MP announcement, withdrawal or state change (RIB entries, noise). */
export function parseBgpdumpLine(line: string): BgpChange | null {
  const f = line.trim().split("|");
  const [record, time, type, peer, peerAsText] = f;
  if (!record?.startsWith("BGP4MP") || !time || !peer || !peerAsText) return null;
  if (type !== "A" && type !== "W" && type !== "STATE") return null;
  const stamp = parseEpoch(time);
  const peerAs = Number(peerAsText);
  if (!stamp || !Number.isInteger(peerAs)) return null;
  const base = { ...stamp, record, type, peer, peerAs, pop: popByNextHop(peer) } as const;
  if (type === "STATE") {
    const from = Number(f[5]);
    const to = Number(f[6]);
    return {
      ...base,
      prefix: null,
      asPath: [],
      originAs: null,
      fromState: BGP_STATES[from] ?? String(from),
      toState: BGP_STATES[to] ?? String(to),
    };
  }
  const prefix = f[5];
  if (!prefix) return null;
  if (type === "W") return { ...base, prefix, asPath: [], originAs: null };
  const asPath = (f[6] ?? "")
    .replace(/[{}]/g, " ")
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number)
    .filter(Number.isInteger);
  return { ...base, prefix, asPath, originAs: asPath.at(-1) ?? null };
}

export function parseBgpdump(text: string): BgpChange[] {
  return text.split("\n").flatMap((line) => {
    const change = parseBgpdumpLine(line);
    return change ? [change] : [];
  });
}

/**
 * Decodes MRT files with `bgpdump -m`, in file order. A record being written
 * while read (a truncated tail) is reported by bgpdump on stderr and skipped;
 * everything before it is returned.
 */
export async function readBgpChanges(files: readonly string[]): Promise<BgpChange[]> {
  const changes: BgpChange[] = [];
  for (const file of files) {
    const result = await run(["bgpdump", "-q", "-m", file], { timeoutMs: 30_000 });
    changes.push(...parseBgpdump(result.stdout));
  }
  return changes;
}

/** Whether a change takes a route of `peer` away: a withdrawal, or its session leaving Established. */
export function isLoss(change: BgpChange): boolean {
  return change.type === "W" || (change.type === "STATE" && change.fromState === "Established");
}
