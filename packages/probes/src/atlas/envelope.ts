// The fields every Atlas result carries (who measured, when, what), read
// once and checked, so each measurement type only maps its own payload.
// Atlas results are data someone hands us: every read is total, and a field
// of the wrong type is a reason, never a throw.

import net from "node:net";
import { atlasVantageName, formatEndpoint } from "@popwatch/core";
import type { AtlasUnmappedReason } from "./types";

/** A plain JSON object (not an array, not null). */
export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** An own property, never one inherited from Object.prototype (`constructor`, `__proto__`). */
export function field(object: JsonObject, name: string): unknown {
  return Object.hasOwn(object, name) ? object[name] : undefined;
}

export function finiteNumber(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

export function text(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

/** Atlas went live in 2010: an earlier timestamp is not an Atlas result's. */
const EARLIEST_MS = Date.UTC(2010, 0, 1);
const DAY_MS = 86_400_000;

export interface MapOptions {
  /** Wall clock in ms; results timestamped more than a day after it are `bad_time`. Default Date.now(). */
  now?: number;
}

/** What the whole result (or the resultset entry) says about who measured and when. */
export interface AtlasEnvelope {
  probeId: number;
  region: string;
  /** Latest acceptable time, ms. */
  latestMs: number;
}

export type Read<T> = { ok: true; value: T } | { ok: false; reason: AtlasUnmappedReason };

export function readEnvelope(raw: JsonObject, options: MapOptions): Read<AtlasEnvelope> {
  const probeId = field(raw, "prb_id");
  if (typeof probeId !== "number" || !Number.isSafeInteger(probeId) || probeId <= 0) return { ok: false, reason: "malformed" };
  return { ok: true, value: { probeId, region: atlasVantageName(probeId), latestMs: (options.now ?? Date.now()) + DAY_MS } };
}

/** An Atlas time (Unix seconds) as ISO 8601: `malformed` when not a number, `bad_time` outside [2010, now + 1 day]. */
export function readTime(seconds: unknown, envelope: AtlasEnvelope): Read<string> {
  const value = finiteNumber(seconds);
  if (value === null) return { ok: false, reason: "malformed" };
  const ms = value * 1000;
  if (ms < EARLIEST_MS || ms > envelope.latestMs) return { ok: false, reason: "bad_time" };
  return { ok: true, value: new Date(ms).toISOString() };
}

export interface Destination {
  /** `dst_addr`: the address the probe measured. */
  address: string;
  port: number;
  /** `dst_name` when Atlas gives one. */
  name: string | null;
  target: string;
}

/**
 * Where the probe sent its query: `dst_addr` (an IP address) on `dst_port`
 * (`defaultPort` when absent; old firmware wrote `"https"`). Without an
 * address the result says nothing about an anycast site, so it is `malformed`.
 */
export function readDestination(source: JsonObject, fallback: JsonObject, defaultPort: number): Read<Destination> {
  const address = text(field(source, "dst_addr")) ?? text(field(fallback, "dst_addr"));
  if (address === null || net.isIP(address) === 0) return { ok: false, reason: "malformed" };
  const port = readPort(field(source, "dst_port") ?? field(fallback, "dst_port"), defaultPort);
  if (port === null) return { ok: false, reason: "malformed" };
  const name = text(field(source, "dst_name")) ?? text(field(fallback, "dst_name"));
  return { ok: true, value: { address, port, name, target: formatEndpoint(address, port) } };
}

const NAMED_PORTS: Readonly<Record<string, number>> = { http: 80, https: 443, domain: 53 };

function readPort(value: unknown, defaultPort: number): number | null {
  if (value === undefined || value === null) return defaultPort;
  const port = typeof value === "string" ? (Object.hasOwn(NAMED_PORTS, value) ? NAMED_PORTS[value]! : Number(value)) : value;
  return typeof port === "number" && Number.isInteger(port) && port >= 1 && port <= 65535 ? port : null;
}

/** Milliseconds as results carry them: 3 decimals, like the runner's timings. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Atlas's error text (or whatever stands in its place) for a failure message; never throws. */
export function describe(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return "(unprintable)";
  }
}
