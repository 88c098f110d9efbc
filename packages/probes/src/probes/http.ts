import type net from "node:net";
import type tls from "node:tls";
import type { Failure, TlsSessionFacts } from "@popwatch/core";
import request from "undici/lib/api/api-request.js";
// undici's own modules rather than "undici", whose index bundles all of undici
// (fetch, websocket, caches): bundle size on Lambda. Undici 7 internals, typed
// in types/undici-internals.d.ts at the repository root, which says why and what to check on an update.
import Client from "undici/lib/dispatcher/client.js";
import { ProbeSpecError } from "../errors";
import { ProbeConnection, USER_AGENT, authority, headersFromRaw, readCapped, withHttpClass } from "../http/exchange";
import { sniFor } from "../tls/connect";
import { certificateExpiryFailure } from "../tls/session";
import { trustPlan } from "../tls/trust";
import type { HttpProbeSpec, ProbeFn } from "../types";

const DEFAULT_EXPECTED_STATUS = "200-399";
/** HTTPS offers both, h2 preferred, like a browser; the server's choice is recorded. */
const DEFAULT_ALPN: readonly string[] = ["h2", "http/1.1"];

/** Status line version (`1.1`, `1.0`) from the first bytes of a response, or null. */
export function httpVersionOf(head: string): string | null {
  const m = /^HTTP\/(\d(?:\.\d)?) /.exec(head);
  return m ? m[1]! : null;
}

/**
 * undici does not expose the response's HTTP version, so peek at the first
 * bytes undici reads from the socket we gave it. The wrapper removes itself
 * once the status line's version is known.
 */
function sniffHttpVersion(socket: net.Socket, found: (version: string | null) => void): void {
  const original = socket.read;
  let head = "";
  socket.read = function (this: net.Socket, size?: number) {
    const chunk: unknown = original.call(this, size);
    if (chunk != null) {
      const text = Buffer.isBuffer(chunk) ? chunk.toString("latin1", 0, 16) : String(chunk).slice(0, 16);
      head = (head + text).slice(0, 16);
      if (head.length >= 9) {
        found(httpVersionOf(head));
        Reflect.deleteProperty(socket, "read");
      }
    }
    return chunk;
  };
}

export function statusMatches(status: number, expected: readonly number[] | undefined): boolean {
  if (expected && expected.length > 0) return expected.includes(status);
  return status >= 200 && status <= 399;
}

export function compileBodyRegex(source: string | undefined): RegExp | null {
  if (source === undefined || source === "") return null;
  try {
    return new RegExp(source);
  } catch (err) {
    throw new ProbeSpecError("bodyRegex", err instanceof Error ? err.message : String(err), { cause: err });
  }
}

/** Latin-1 only when the server says so; UTF-8 otherwise (a character cut at the cap decodes as U+FFFD). */
function decodeBody(body: Buffer, contentType: string | undefined): string {
  const charset = /;\s*charset="?([^";\s]+)/i.exec(contentType ?? "")?.[1]?.toLowerCase();
  const latin1 = charset === "iso-8859-1" || charset === "latin1" || charset === "us-ascii" || charset === "ascii";
  return body.toString(latin1 ? "latin1" : "utf8");
}

/**
 * One HTTP(S) request over one fresh connection to spec.address, with the
 * URL, Host header and SNI naming spec.host, the way a client that resolved
 * spec.host to this anycast address would ask. The connection is opened by
 * our own connector so connect and TLS are timed as separate phases and the
 * certificate is judged like the tls probe judges it.
 *
 * HTTPS offers spec.alpn (default h2, then http/1.1) and speaks whatever
 * the server picked: undici runs HTTP/2 on a socket whose alpnProtocol is
 * "h2" and HTTP/1.1 on any other. Plain http is always HTTP/1.1 (no h2c).
 *
 * Phases, the same for both versions: connectMs, tlsMs (https), ttfbMs from
 * the connection being handed to undici (which at once writes the request,
 * after the HTTP/2 preface and SETTINGS for h2) to the response headers, and
 * transferMs from the headers to the end of the body read (or the cap).
 */
export const httpProbe: ProbeFn<"http"> = async (spec, ctx) => {
  const https = spec.scheme === "https";
  const host = spec.host ?? spec.address;
  const path = spec.path === "" ? "/" : spec.path;
  const origin = `${spec.scheme}://${authority(host, spec.port)}`;
  ctx.facts.url = `${origin}${path}`;
  ctx.facts.tls = null;
  const bodyPattern = compileBodyRegex(spec.bodyRegex);
  const cap = Math.max(0, Math.floor(spec.readCapBytes));
  const sni = https ? sniFor(host) : null;
  const alpn = https ? (spec.alpn ?? DEFAULT_ALPN) : [];
  const connection = new ProbeConnection(
    spec.address,
    spec.port,
    https ? { plan: trustPlan(spec), sni, identity: host, alpn } : null,
    ctx,
    (socket) => {
      if ((socket as Partial<tls.TLSSocket>).alpnProtocol === "h2") {
        // No status line to read: the version is what ALPN settled, the very test undici makes.
        ctx.facts.httpVersion = "2";
      } else {
        sniffHttpVersion(socket, (version) => {
          ctx.facts.httpVersion = version;
        });
      }
    },
  );

  let client: Client;
  try {
    client = new Client(origin, {
      connect: connection.connect,
      pipelining: 1,
      // Our connector decides the version (see above); this only keeps the
      // client's stated options true to what the connector offers.
      allowH2: alpn.includes("h2"),
      // One request per client: no keepalive PINGs on a connection about to close.
      pingInterval: 0,
      // The runner's signal is the only clock; undici's own timers would
      // race it and report the same condition under another code.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  } catch (err) {
    throw new ProbeSpecError("host", `cannot form a URL from ${JSON.stringify(origin)}`, { cause: err });
  }

  try {
    const given = spec.headers ?? {};
    const hasAgent = Object.keys(given).some((name) => name.toLowerCase() === "user-agent");
    const headers: Record<string, string> = hasAgent ? { ...given } : { "user-agent": USER_AGENT, ...given };
    const response = await request.call(client, {
      path,
      method: spec.method,
      headers,
      signal: ctx.signal,
      responseHeaders: "raw",
    });
    const headersNs = ctx.now();
    if (connection.readyNs !== null) ctx.timings.ttfbMs = Number(headersNs - connection.readyNs) / 1e6;

    // With responseHeaders: "raw" undici hands over the flat name/value list
    // its types describe as the parsed object.
    const responseHeaders = headersFromRaw(response.headers as unknown as string[]);
    ctx.facts.status = response.statusCode;
    ctx.facts.headers = responseHeaders;
    ctx.evidence.headers = { ...responseHeaders };
    ctx.facts.bodyBytes = 0;
    ctx.facts.bodyTruncated = false;

    let kept: Buffer | null = null;
    if (spec.method !== "HEAD") {
      const read = await readCapped(response.body, cap, bodyPattern !== null);
      ctx.timings.transferMs = ctx.msSince(headersNs);
      ctx.facts.bodyBytes = read.bytes;
      ctx.facts.bodyTruncated = read.truncated;
      kept = read.kept;
    }

    return (
      judgeResponse(spec, response.statusCode, bodyPattern, kept, responseHeaders["content-type"], cap) ??
      // Set by the connector, which TypeScript cannot see run.
      certificateExpiryFailure((ctx.facts.tls as TlsSessionFacts | null)?.chain ?? [], spec.certMinDays)
    );
  } catch (err) {
    const failure = connection.verdict?.failure;
    if (failure) return failure;
    throw withHttpClass(err);
  } finally {
    await client.destroy().catch(() => {});
  }
};

function judgeResponse(
  spec: HttpProbeSpec,
  status: number,
  pattern: RegExp | null,
  body: Buffer | null,
  contentType: string | undefined,
  cap: number,
): Failure | null {
  if (!statusMatches(status, spec.expectStatus)) {
    const expected = spec.expectStatus?.length ? spec.expectStatus.join(", ") : DEFAULT_EXPECTED_STATUS;
    return { code: "http_status", message: `status ${status}, expected ${expected}` };
  }
  // HEAD has no body to match; the pattern is not held against it.
  if (pattern && body) {
    if (!pattern.test(decodeBody(body, contentType))) {
      return {
        code: "body_mismatch",
        message: `body does not match /${pattern.source}/ within the first ${Math.min(body.length, cap)} bytes`,
      };
    }
  }
  return null;
}
