// RIS Live's JSON protocol (https://ris-live.ripe.net/manual/): what the
// client sends (subscribe, ping) and what one server frame becomes. Pure: a
// frame's text in, route events or a classified failure out, never a throw.

import {
  type Prefix,
  type RouteEvent,
  type RouteOriginAttribute,
  formatAddress,
  formatPrefix,
  parseAddress,
  parsePrefix,
  prefixContains,
} from "@popwatch/core";

/** Why a frame or a connection failed; classified by code, the message is for people. */
export type RisLiveErrorCode =
  | "binary_frame"
  | "invalid_json"
  | "unexpected_shape"
  | "server_error"
  | "connect_failed"
  | "connection_closed"
  | "heartbeat_timeout";

export interface RisLiveError {
  code: RisLiveErrorCode;
  message: string;
}

/** What one text frame means to the client. */
export type RisFrame =
  | { kind: "routes"; events: RouteEvent[] }
  | { kind: "pong" }
  | { kind: "ignored"; type: string }
  | { kind: "error"; error: RisLiveError };

export interface RisSubscribeFilter {
  prefix: string;
  /** A collector such as `rrc21`; all collectors when absent. */
  host?: string;
}

/** The subscription for one watched prefix: its more-specifics too, updates only, no raw BGP bytes. */
export function subscribeMessage(filter: RisSubscribeFilter): string {
  const data: Record<string, unknown> = {
    prefix: filter.prefix,
    moreSpecific: true,
    lessSpecific: false,
    type: "UPDATE",
    socketOptions: { includeRaw: false },
  };
  if (filter.host !== undefined) data.host = filter.host;
  return JSON.stringify({ type: "ris_subscribe", data });
}

export const PING_MESSAGE = JSON.stringify({ type: "ping" });

const ORIGINS: Record<string, RouteOriginAttribute> = { igp: "IGP", egp: "EGP", incomplete: "INCOMPLETE" };
const MAX_ASN = 0xffffffff;

/** RIS Live names collectors `rrc21` or `rrc21.ripe.net`; events carry the short name. */
export function collectorName(host: string): string {
  return host.endsWith(".ripe.net") ? host.slice(0, -".ripe.net".length) : host;
}

function canonicalAddress(text: string): string | null {
  const bytes = parseAddress(text);
  return bytes ? formatAddress(bytes) : null;
}

/** A prefix from the feed; one with host bits set is malformed data, like any other bad prefix. */
function feedPrefix(text: unknown): Prefix | null {
  return typeof text === "string" ? parsePrefix(text).prefix : null;
}

function isAsn(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= MAX_ASN;
}

function shapeError(message: string): RisFrame {
  return { kind: "error", error: { code: "unexpected_shape", message } };
}

interface PathParts {
  asPath: number[];
  asSets?: number[][];
  origin: number | null;
}

/** RIS Live's `path`: AS numbers, with an AS_SET as a nested array. */
function convertPath(path: unknown): PathParts | string {
  if (!Array.isArray(path)) return "path is not an array";
  const asPath: number[] = [];
  const asSets: number[][] = [];
  let origin: number | null = null;
  for (const hop of path) {
    if (isAsn(hop)) {
      asPath.push(hop);
      origin = hop;
    } else if (Array.isArray(hop) && hop.every(isAsn)) {
      asPath.push(...hop);
      asSets.push(hop);
      origin = null;
    } else {
      return "path holds something other than AS numbers and AS sets";
    }
  }
  return asSets.length > 0 ? { asPath, asSets, origin } : { asPath, origin };
}

function convertCommunities(value: unknown): string[] | string | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) return "community is not an array";
  const out: string[] = [];
  for (const pair of value) {
    if (!Array.isArray(pair) || pair.length !== 2 || !isAsn(pair[0]) || !isAsn(pair[1])) return "community is not a list of [asn, value]";
    out.push(`${pair[0]}:${pair[1]}`);
  }
  return out;
}

/**
 * Parses one text frame. Route events are kept only for prefixes inside
 * `watched` (equal or more specific): the server may send more than asked.
 */
export function parseRisFrame(text: string, watched: readonly Prefix[]): RisFrame {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch (error) {
    return { kind: "error", error: { code: "invalid_json", message: `frame is not JSON: ${(error as Error).message}` } };
  }
  if (typeof frame !== "object" || frame === null || Array.isArray(frame)) return shapeError("frame is not a JSON object");
  const { type, data } = frame as { type?: unknown; data?: unknown };
  if (type === "pong") return { kind: "pong" };
  if (type === "ris_error") {
    const message = typeof data === "object" && data !== null ? (data as { message?: unknown }).message : undefined;
    return { kind: "error", error: { code: "server_error", message: typeof message === "string" ? message : JSON.stringify(data) } };
  }
  if (type !== "ris_message") return typeof type === "string" ? { kind: "ignored", type } : shapeError("frame has no type");
  if (typeof data !== "object" || data === null) return shapeError("ris_message has no data object");
  return convertUpdate(data as Record<string, unknown>, watched);
}

function convertUpdate(data: Record<string, unknown>, watched: readonly Prefix[]): RisFrame {
  if (data.type !== "UPDATE") return { kind: "ignored", type: `ris_message ${String(data.type)}` };
  const { timestamp, host, peer_asn: peerAsText } = data;
  if (typeof timestamp !== "number" || !Number.isFinite(timestamp) || timestamp < 0)
    return shapeError("timestamp is not a number of seconds");
  if (typeof host !== "string" || host === "") return shapeError("host is not a collector name");
  const peer = typeof data.peer === "string" ? canonicalAddress(data.peer) : null;
  if (peer === null) return shapeError("peer is not an IP address");
  const peerAs = typeof peerAsText === "string" && /^\d{1,10}$/.test(peerAsText) ? Number(peerAsText) : peerAsText;
  if (!isAsn(peerAs)) return shapeError("peer_asn is not an AS number");
  const base = { timeMs: Math.round(timestamp * 1000), source: collectorName(host), peer, peerAs };
  const events: RouteEvent[] = [];

  const withdrawals = data.withdrawals ?? [];
  if (!Array.isArray(withdrawals)) return shapeError("withdrawals is not an array");
  for (const text of withdrawals) {
    const prefix = feedPrefix(text);
    if (!prefix) return shapeError(`withdrawal ${JSON.stringify(text)} is not a prefix`);
    if (isWatched(prefix, watched)) events.push({ type: "W", ...base, prefix: formatPrefix(prefix), asPath: [], origin: null });
  }

  const announcements = data.announcements ?? [];
  if (!Array.isArray(announcements)) return shapeError("announcements is not an array");
  if (announcements.length === 0) return { kind: "routes", events };
  const path = convertPath(data.path);
  if (typeof path === "string") return shapeError(path);
  const communities = convertCommunities(data.community);
  if (typeof communities === "string") return shapeError(communities);
  const originAttribute = typeof data.origin === "string" ? ORIGINS[data.origin.toLowerCase()] : undefined;
  for (const announcement of announcements) {
    if (typeof announcement !== "object" || announcement === null) return shapeError("announcement is not an object");
    const { next_hop: nextHopText, prefixes } = announcement as { next_hop?: unknown; prefixes?: unknown };
    if (!Array.isArray(prefixes)) return shapeError("announcement has no prefixes array");
    // RIS Live joins an IPv6 global and link-local next hop with a comma.
    const nextHop = typeof nextHopText === "string" ? canonicalAddress(nextHopText.split(",")[0] as string) : null;
    for (const text of prefixes) {
      const prefix = feedPrefix(text);
      if (!prefix) return shapeError(`announced ${JSON.stringify(text)} is not a prefix`);
      if (!isWatched(prefix, watched)) continue;
      const event: RouteEvent = { type: "A", ...base, prefix: formatPrefix(prefix), ...path, asPath: path.asPath.slice() };
      if (originAttribute) event.originAttribute = originAttribute;
      if (nextHop) event.nextHop = nextHop;
      if (communities && communities.length > 0) event.communities = communities;
      events.push(event);
    }
  }
  return { kind: "routes", events };
}

function isWatched(prefix: Prefix, watched: readonly Prefix[]): boolean {
  for (const outer of watched) if (prefixContains(outer, prefix)) return true;
  return false;
}
