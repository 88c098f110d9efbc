// Core's BgpEvent from MRT entries: UPDATEs give A/W events, RIB entries B
// events, state changes PeerStateEvents.
import type { BgpEvent } from "@popwatch/core";
import { routeEvent, routeFields, updateRouteEvents } from "../wire/events";
import type { MrtEntry, MrtOrigin, MrtStats, MrtWarning } from "./entries";
import { readMrtEntries } from "./reader";

/** RFC 6396 §4.4.1's BGP FSM state numbers. */
export const BGP_STATE_NAMES = ["", "Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established"] as const;
const ESTABLISHED = 6;

/** Milliseconds of an MRT entry's time; fractional when the record had microseconds. */
export function entryTimeMs(origin: MrtOrigin): number {
  return origin.seconds * 1000 + origin.microseconds / 1000;
}

/** Appends the events of one entry to `out` (none for a warning). */
export function mrtEntryEvents(entry: MrtEntry, source: string, out: BgpEvent[]): void {
  if (entry.kind === "warning") return;
  const context = { timeMs: entryTimeMs(entry), source, peer: entry.peer, peerAs: entry.peerAs };
  if (entry.kind === "update") {
    for (const event of updateRouteEvents(entry.update, context)) out.push(event);
  } else if (entry.kind === "rib") {
    const { attributes } = entry;
    out.push(routeEvent("B", context, entry.prefix, routeFields(attributes), attributes.mpReach?.nextHop ?? attributes.nextHop));
  } else {
    out.push({
      type: "STATE",
      ...context,
      up: entry.newState === ESTABLISHED,
      oldState: BGP_STATE_NAMES[entry.oldState] ?? String(entry.oldState),
      newState: BGP_STATE_NAMES[entry.newState] ?? String(entry.newState),
    });
  }
}

export interface ReadMrtEventsOptions {
  /** RouteEvent.source: the collector (`rrc00`) or router; default `mrt`. */
  source?: string;
  stats?: MrtStats;
  /** Called for each record skipped as malformed (reading goes on). */
  onWarning?: (warning: MrtWarning) => void;
}

/**
 * Core's events of an MRT stream, in file order. Like readMrtEntries, it
 * throws an MrtDecodeError after yielding everything before a broken record.
 */
export async function* readMrtEvents(input: AsyncIterable<Uint8Array>, options: ReadMrtEventsOptions = {}): AsyncGenerator<BgpEvent> {
  const source = options.source ?? "mrt";
  const events: BgpEvent[] = [];
  for await (const batch of readMrtEntries(input, { stats: options.stats })) {
    events.length = 0;
    for (const entry of batch) {
      if (entry.kind === "warning") options.onWarning?.(entry);
      else mrtEntryEvents(entry, source, events);
    }
    yield* events;
  }
}
