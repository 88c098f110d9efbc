// What the http and doh probes share: one connection per probe opened by our
// own connector (connect and TLS timed as separate phases, the certificate
// judged like the tls probe judges it, nothing sent to an untrusted peer),
// response headers as facts, bounded body reads and the classes of errors
// undici throws without a code classify.ts knows.

import type net from "node:net";
import type { Readable } from "node:stream";
import type tls from "node:tls";
import type { PopEvidence, TlsSessionFacts } from "@popwatch/core";
import type { buildConnector } from "undici";
import undiciErrors from "undici/lib/core/errors.js";
import { ProbeFailureError } from "../errors";
import { sha256Hex } from "../tls/certificate";
import { type ConnectContext, openConnection } from "../tls/connect";
import { tlsSessionFacts } from "../tls/session";
import { type TrustPlan, type Verdict, handshakeTrustOptions, judgePeer, readPeerLeaf } from "../tls/trust";

export const USER_AGENT = "popwatch/0.1";

/** `host:port` for a URL, IPv6 literals bracketed. */
export function authority(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Response headers as facts: lowercase names, repeated headers joined with
 * ", " in arrival order. Takes undici's raw `[name, value, name, value, …]`
 * list so repeats and odd names (`__proto__`, `constructor`) arrive intact;
 * own properties are defined rather than assigned for the same reason.
 */
export function headersFromRaw(raw: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = String(raw[i]).toLowerCase();
    const value = String(raw[i + 1]);
    const previous = Object.hasOwn(out, name) ? out[name] : undefined;
    Object.defineProperty(out, name, {
      value: previous === undefined ? value : `${previous}, ${value}`,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

export interface TlsConnectOptions {
  plan: TrustPlan;
  /** SNI to send (null for none). */
  sni: string | null;
  /** The name the certificate must carry (the host, or the address when there is none). */
  identity: string;
  alpn: readonly string[];
}

/** The slice of a probe's context the connector writes to. */
interface ExchangeContext extends ConnectContext {
  readonly facts: { tls?: TlsSessionFacts | null };
  readonly evidence: PopEvidence;
}

/** One connection a probe may open, for undici's `connect` option. */
export class ProbeConnection {
  /** The certificate verdict once the handshake completed (TLS only). */
  verdict: Verdict | null = null;
  /** When the socket was handed to undici, which writes the first request at once. */
  readyNs: bigint | null = null;
  private opened = 0;

  constructor(
    private readonly address: string,
    private readonly port: number,
    private readonly tlsOptions: TlsConnectOptions | null,
    private readonly ctx: ExchangeContext,
    /** Called with the trusted socket just before undici gets it. */
    private readonly onReady: (socket: net.Socket) => void,
  ) {}

  readonly connect: buildConnector.connector = (_options, callback) => {
    // One probe measures one connection: if undici ever wanted another (a
    // retry after the first dropped), that would hide the failure.
    if (this.opened++ > 0) {
      callback(new ProbeFailureError("closed", "connection lost; not reconnecting within one probe"), null);
      return;
    }
    const { ctx, tlsOptions } = this;
    const handshake = tlsOptions
      ? { servername: tlsOptions.sni, alpn: tlsOptions.alpn, trust: handshakeTrustOptions(tlsOptions.plan) }
      : null;
    openConnection(this.address, this.port, handshake, ctx).then(
      (socket) => {
        if (tlsOptions) {
          const secure = socket as tls.TLSSocket;
          const leaf = readPeerLeaf(secure);
          if (leaf) ctx.evidence.tlsFingerprint = sha256Hex(leaf.x509.raw);
          const verdict = judgePeer(secure, leaf, tlsOptions.plan, tlsOptions.identity);
          this.verdict = verdict;
          // After readPeerLeaf and judgePeer: reading the chain empties Node 20's stored peer chain (tls/session.ts).
          ctx.facts.tls = tlsSessionFacts(secure, tlsOptions.sni, leaf, tlsOptions.plan, verdict);
          if (verdict.failure) {
            // Never send the request (and any credentials in its headers) to a peer we do not trust.
            secure.destroy();
            callback(new ProbeFailureError(verdict.failure.code, verdict.failure.message), null);
            return;
          }
        }
        this.onReady(socket);
        this.readyNs = ctx.now();
        callback(null, socket);
      },
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err)), null),
    );
  };
}

export interface BodyRead {
  /** Bytes read, at most the cap. */
  bytes: number;
  /** True when the body had more than the cap. */
  truncated: boolean;
  /** The bytes themselves, only when asked to keep them. */
  kept: Buffer | null;
}

/**
 * Reads at most `cap` bytes, keeping them only when `keep`. Past the cap the
 * stream is destroyed, which makes undici drop the stream (or the HTTP/1.1
 * connection) instead of draining the rest: a 100 MB body costs one chunk of
 * memory, not 100 MB.
 */
export function readCapped(body: Readable, cap: number, keep: boolean): Promise<BodyRead> {
  return new Promise<BodyRead>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let settled = false;
    const finish = (truncated: boolean) => {
      if (settled) return;
      settled = true;
      body.off("data", onData);
      resolve({ bytes, truncated, kept: keep ? Buffer.concat(chunks, bytes) : null });
    };
    const onData = (chunk: Buffer) => {
      const room = cap - bytes;
      const take = Math.min(room, chunk.length);
      if (keep && take > 0) chunks.push(take === chunk.length ? chunk : chunk.subarray(0, take));
      bytes += take;
      if (chunk.length > room) {
        finish(true);
        body.destroy();
      }
    };
    body.on("data", onData);
    body.once("end", () => finish(false));
    // Stays attached after settling: destroying the body at the cap makes
    // undici emit an abort error nobody else is listening for.
    body.on("error", (err) => {
      if (settled) return;
      settled = true;
      reject(err);
    });
    body.once("close", () => {
      if (settled) return;
      settled = true;
      reject(new ProbeFailureError("closed", "response body closed before its end"));
    });
  });
}

/**
 * undici 7 builds HTTPParserError's code as `HPE_${ERROR[ret]}`, but ERROR
 * maps names to numbers, so the lookup by number yields undefined and the
 * code is missing. The class itself is the signal then: classify by it,
 * keeping any code a fixed undici would carry. (HTTP/2 errors carry Node's
 * ERR_HTTP2_* codes, which classify.ts knows.)
 */
export function withHttpClass(err: unknown): unknown {
  if (!(err instanceof undiciErrors.HTTPParserError)) return err;
  const code: unknown = (err as { code?: unknown }).code;
  const label = typeof code === "string" && code ? code : "HPE";
  return new ProbeFailureError("http_protocol", `${label}: ${err.message}`, { cause: err });
}
