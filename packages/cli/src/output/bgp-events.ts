// How `popwatch bgp events` shows stored BGP events: a table for people, or
// one JSON object per line with the fields `popwatch bgp decode` prints.
import type { BgpEvent } from "@popwatch/core";
import { isoSecond } from "./format";
import { renderTable } from "./table";

/**
 * One event as a JSON-ready object: `type`, `time` (Unix seconds, fractional
 * when the feed has sub-second times), `source`, `peer`, `peerAs`, then the
 * route's `prefix`, `asPath`, `origin` and the attributes it carries, or the
 * session's `up` and FSM states.
 */
export function bgpEventObject(event: BgpEvent): Record<string, unknown> {
  const head = { type: event.type, time: event.timeMs / 1000, source: event.source, peer: event.peer, peerAs: event.peerAs };
  if (event.type === "STATE") {
    return {
      ...head,
      up: event.up,
      ...(event.oldState !== undefined ? { oldState: event.oldState } : {}),
      ...(event.newState !== undefined ? { newState: event.newState } : {}),
    };
  }
  const { type: _type, timeMs: _timeMs, source: _source, peer: _peer, peerAs: _peerAs, prefix, asPath, origin, ...attributes } = event;
  return { ...head, prefix, asPath, origin, ...attributes };
}

export function formatBgpEventLines(events: readonly BgpEvent[]): string {
  return events.map((event) => `${JSON.stringify(bgpEventObject(event))}\n`).join("");
}

/** `64500 64501 {64502,64503}`: AS_SET members braced, as bgpdump prints them. */
export function formatAsPath(asPath: readonly number[], asSets?: readonly (readonly number[])[]): string {
  if (asSets === undefined || asSets.length === 0) return asPath.join(" ");
  // asPath lists each set's members in place; fold each run back into its braces.
  const parts: string[] = [];
  let at = 0;
  let setIndex = 0;
  while (at < asPath.length) {
    const set = asSets[setIndex];
    if (set !== undefined && set.length > 0 && set.every((asn, i) => asPath[at + i] === asn)) {
      parts.push(`{${set.join(",")}}`);
      at += set.length;
      setIndex++;
    } else {
      parts.push(String(asPath[at]));
      at++;
    }
  }
  return parts.join(" ");
}

const HEADER = ["TIME", "SOURCE", "PEER", "PEER AS", "TYPE", "PREFIX", "AS PATH", "ORIGIN"];

/** One row per event, in the order given (the store's time order). */
export function formatBgpEventsTable(events: readonly BgpEvent[]): string {
  return renderTable(
    HEADER,
    events.map((event) => {
      const when = isoSecond(new Date(event.timeMs).toISOString());
      const head = [when, event.source, event.peer, String(event.peerAs)];
      if (event.type === "STATE") {
        const change = event.oldState !== undefined && event.newState !== undefined ? ` (${event.oldState} → ${event.newState})` : "";
        return [...head, event.up ? "UP" : "DOWN", `session ${event.up ? "up" : "down"}${change}`, "", ""];
      }
      return [
        ...head,
        event.type,
        event.prefix,
        event.type === "W" ? "" : formatAsPath(event.asPath, event.asSets),
        event.origin === null ? "" : `AS${event.origin}`,
      ];
    }),
  );
}
