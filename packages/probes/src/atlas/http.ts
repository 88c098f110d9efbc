// Atlas `http` results: each element of `result[]` is one request and
// becomes one http result (status, version, sizes, timings, and the headers
// when the measurement kept them, which is where a CDN names its PoP).

import type { DetailsByKind, Failure } from "@popwatch/core";
import { headersFromRaw } from "../http/exchange";
import { statusMatches } from "../probes/http";
import {
  type AtlasEnvelope,
  type JsonObject,
  type Read,
  describe,
  field,
  finiteNumber,
  isObject,
  readDestination,
  readTime,
  roundMs,
  text,
} from "./envelope";
import { type AtlasMapOptions, baseResult, popOf } from "./result";
import type { AtlasMappedResult, AtlasMapping } from "./types";

export function mapHttp(raw: JsonObject, envelope: AtlasEnvelope, options: AtlasMapOptions, out: AtlasMapping): void {
  const requests = field(raw, "result");
  if (!Array.isArray(requests)) {
    out.unmapped.push(requests === undefined ? "no_answer" : "malformed");
    return;
  }
  if (requests.length === 0) out.unmapped.push("no_answer");
  const url = urlOf(text(field(raw, "uri")));
  for (const request of requests) {
    const read = isObject(request)
      ? mapRequest(request, raw, url, envelope, options)
      : { ok: false as const, reason: "malformed" as const };
    if (read.ok) out.results.push(read.value);
    else out.unmapped.push(read.reason);
  }
}

function urlOf(uri: string | null): URL | null {
  if (uri === null || !URL.canParse(uri)) return null;
  const url = new URL(uri);
  return url.protocol === "http:" || url.protocol === "https:" ? url : null;
}

function mapRequest(
  request: JsonObject,
  top: JsonObject,
  url: URL | null,
  envelope: AtlasEnvelope,
  options: AtlasMapOptions,
): Read<AtlasMappedResult> {
  const at = readTime(field(request, "time") ?? field(top, "timestamp"), envelope);
  if (!at.ok) return at;
  const defaultPort = url === null ? 80 : url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  const destination = readDestination(request, top, defaultPort);
  if (!destination.ok) return destination;
  const status = finiteNumber(field(request, "res"));
  const rt = finiteNumber(field(request, "rt"));
  const headers = headersOf(field(request, "header"));
  const failure = failureOf(request, status);
  const result = baseResult("http", envelope, destination.value, at.value, rt === null ? 0 : roundMs(rt), failure);
  const connectMs = finiteNumber(field(request, "ttc"));
  if (connectMs !== null) result.timings.connectMs = roundMs(connectMs);
  const ttfbMs = finiteNumber(field(request, "ttfb"));
  if (ttfbMs !== null) result.timings.ttfbMs = roundMs(ttfbMs);
  const details: DetailsByKind["http"] = {
    url: url?.href ?? `http://${destination.value.target}/`,
    status: status !== null && Number.isInteger(status) && status > 0 ? status : null,
    httpVersion: text(field(request, "ver")),
    headers,
    bodyBytes: Math.max(0, finiteNumber(field(request, "bsize")) ?? 0),
    bodyTruncated: false,
    // Atlas keeps no TLS facts for http measurements.
    tls: null,
  };
  Object.assign(result, details);
  result.pop = popOf("http", { headers }, options);
  return { ok: true, value: result };
}

/**
 * Judged as an http probe without expectations judges (status 200-399).
 * Atlas reports a failed request only as text under `err` (`dnserr` for name
 * resolution): the key decides the code, the text is kept as the message.
 */
function failureOf(request: JsonObject, status: number | null): Failure | null {
  const dnsError = field(request, "dnserr");
  if (dnsError !== undefined) return { code: "name_resolution", message: `RIPE Atlas dnserr: ${describe(dnsError)}` };
  const error = field(request, "err");
  // No complete response arrived; which of refused, reset or timeout it was is only in Atlas's text.
  if (error !== undefined) return { code: "closed", message: `RIPE Atlas err: ${describe(error)}` };
  if (status === null) return { code: "http_protocol", message: "RIPE Atlas recorded no status code" };
  if (!statusMatches(status, undefined)) return { code: "http_status", message: `status ${status}, expected 200-399` };
  return null;
}

/** `header[]` holds the response's lines (`Name: value`, the status line first); kept only when the measurement asked for them. */
function headersOf(lines: unknown): Record<string, string> {
  if (!Array.isArray(lines)) return {};
  const flat: string[] = [];
  for (const line of lines) {
    if (typeof line !== "string") continue;
    const colon = line.indexOf(":");
    if (colon <= 0 || line.startsWith("HTTP/")) continue;
    flat.push(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return headersFromRaw(flat);
}
