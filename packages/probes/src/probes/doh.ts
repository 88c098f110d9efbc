// The DoH probe (RFC 8484): one DNS query as application/dns-message over one
// fresh HTTPS connection to spec.address, by POST or by GET `?dns=`, with the
// URL, Host/:authority and SNI naming spec.host. HTTP/2 when the server picks
// h2 by ALPN, HTTP/1.1 otherwise, through undici's own modules (see http.ts
// and types/undici-internals.d.ts for why not the "undici" index).
//
// Behaviour worth knowing:
// - The connection is opened by our own connector (tls/connect.ts), so connect
//   and TLS are separate phases, and the certificate is judged like the tls
//   probe judges it (tls/trust.ts). An untrusted peer never gets the query.
// - One probe, one connection: undici is never allowed to reconnect.
// - Verdicts, in order: the HTTP status (expectStatus, default 200), the
//   Content-Type (application/dns-message, else http_protocol: the HTTP
//   exchange did not deliver a DNS message, so nothing DNS can be judged),
//   the body size (at most 65535 bytes, read no further: body_too_large), the
//   DNS message (undecodable, not a response, or another question:
//   dns_malformed; TC=1: dns_truncated), then dns/response.ts's judgement,
//   then certMinDays.
// - The query carries ID 0 (RFC 8484 §4.1). The HTTP exchange ties a response
//   to its query, so the response's ID is not held against it.
// - CHAOS identity queries go as extra requests on the same connection
//   (concurrent streams over h2, one after another over HTTP/1.1) and never
//   decide the outcome; once the main query has settled they get the dns
//   probe's grace period.
// - Phases: connectMs, tlsMs, ttfbMs from the connection being handed to
//   undici (which writes the request at once) to the response headers, and
//   transferMs from the headers to the end of the body.

import type { Readable } from "node:stream";
import type tls from "node:tls";
import type { Failure } from "@popwatch/core";
import type { buildConnector } from "undici";
import request from "undici/lib/api/api-request.js";
import undiciErrors from "undici/lib/core/errors.js";
import Client from "undici/lib/dispatcher/client.js";
import { judgeDnsResponse, recordChaosIdentity, recordDnsQuery, recordDnsResponse } from "../dns/response";
import type { CompiledQuery } from "../dns/spec";
import { type DnsMessage, inspectDnsResponse } from "../dns/wire";
import {
  type CompiledDohSpec,
  DNS_MESSAGE_TYPE,
  MAX_DNS_MESSAGE_BYTES,
  compileDohSpec,
  dohRequestPath,
  isDnsMessageType,
} from "../doh/spec";
import { ProbeFailureError } from "../errors";
import { sha256Hex } from "../tls/certificate";
import { openConnection } from "../tls/connect";
import { certificateExpiryFailure, tlsSessionFacts } from "../tls/session";
import { type Verdict, handshakeTrustOptions, judgePeer, readPeerLeaf } from "../tls/trust";
import type { ChaosIdentity, ProbeContext, ProbeFn } from "../types";
import { headersFromRaw } from "./http";

const USER_AGENT = "popwatch/0.1";
const CHAOS_GRACE_MIN_MS = 25;
const CHAOS_GRACE_MAX_MS = 1000;

export const dohProbe: ProbeFn<"doh"> = async (spec, ctx) => {
  const plan = compileDohSpec(spec);
  const facts = ctx.facts;
  facts.qname = spec.qname;
  facts.qclass = spec.qclass;
  recordDnsQuery(plan.dns, facts);
  facts.url = `${plan.origin}${plan.path}`;
  facts.method = plan.method;
  facts.status = null;
  facts.httpVersion = null;
  facts.headers = {};
  facts.tls = null;
  facts.responseBytes = null;

  const startNs = ctx.now();
  const connection = new DohConnection(plan, ctx, 1 + plan.dns.chaos.length);
  try {
    let finished = false;
    // The main query is queued first: over HTTP/1.1 it is the request the connection carries first, so ttfbMs is its own.
    const main = askMain(connection, plan, ctx).then(
      (failure) => ({ failure }),
      (err: unknown) => ({ error: err }),
    );
    const chaos = plan.dns.chaos.map((query) =>
      askChaos(connection, query, query.identity, (identity, message) => {
        if (!finished) recordChaosIdentity(facts, ctx.evidence, identity, message);
      }),
    );
    const outcome = await main;
    await settledWithin(chaos, chaosGraceMs(ctx.msSince(startNs)), ctx);
    finished = true;
    if ("failure" in outcome) return outcome.failure;
    const refused = connection.verdict?.failure;
    if (refused) return refused;
    throw withHttpClass(outcome.error);
  } finally {
    await connection.close();
  }
};

/** One undici client over the one connection a probe may open. */
class DohConnection {
  verdict: Verdict | null = null;
  /** When the connection was handed to undici, which writes the first request at once. */
  readyNs: bigint | null = null;
  private connections = 0;
  private readonly client: Client;

  constructor(
    private readonly plan: CompiledDohSpec,
    private readonly ctx: ProbeContext<"doh">,
    private readonly streams: number,
  ) {
    this.client = new Client(plan.origin, {
      connect: this.connect,
      // undici 7 picks HTTP/2 by the socket's ALPN result; allowH2 is what it hands its connector, ours included.
      allowH2: plan.alpn.includes("h2"),
      // One request at a time until the connection is known to be h2 (see connect).
      pipelining: 1,
      // The runner's signal is the only clock; undici's own timers would race it.
      headersTimeout: 0,
      bodyTimeout: 0,
      pingInterval: 0,
    });
  }

  private readonly connect: buildConnector.connector = (_options, callback) => {
    if (this.connections++ > 0) {
      callback(new ProbeFailureError("closed", "connection lost; not reconnecting within one probe"), null);
      return;
    }
    const { plan, ctx } = this;
    const handshake = { servername: plan.sni, alpn: plan.alpn, trust: handshakeTrustOptions(plan.trust) };
    openConnection(plan.dns.address, plan.dns.port, handshake, ctx).then(
      (socket) => {
        const secure = socket as tls.TLSSocket;
        const leaf = readPeerLeaf(secure);
        if (leaf) ctx.evidence.tlsFingerprint = sha256Hex(leaf.x509.raw);
        const verdict = judgePeer(secure, leaf, plan.trust, plan.identity);
        this.verdict = verdict;
        ctx.facts.tls = tlsSessionFacts(secure, plan.sni, leaf, plan.trust, verdict);
        if (verdict.failure) {
          // Never send the query to a peer we do not trust.
          secure.destroy();
          callback(new ProbeFailureError(verdict.failure.code, verdict.failure.message), null);
          return;
        }
        const h2 = secure.alpnProtocol === "h2";
        ctx.facts.httpVersion = h2 ? "2" : "1.1";
        // Over h2 every query gets its own stream at once; HTTP/1.1 keeps to one request at a time (no pipelining).
        if (h2) this.client.pipelining = this.streams;
        this.readyNs = ctx.now();
        callback(null, socket);
      },
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err)), null),
    );
  };

  /** Sends one query; resolves with the response head and its unread body. */
  send(query: CompiledQuery) {
    const { plan, ctx } = this;
    const post = plan.method === "POST";
    return request.call(this.client, {
      path: dohRequestPath(plan.path, plan.method, query.template),
      method: plan.method,
      headers: post
        ? { accept: DNS_MESSAGE_TYPE, "content-type": DNS_MESSAGE_TYPE, "user-agent": USER_AGENT }
        : { accept: DNS_MESSAGE_TYPE, "user-agent": USER_AGENT },
      ...(post ? { body: query.template } : {}),
      // A DNS query is safe to repeat, so undici may put a POST on a second h2 stream beside another.
      idempotent: true,
      signal: ctx.signal,
      responseHeaders: "raw",
    });
  }

  async close(): Promise<void> {
    await this.client.destroy().catch(() => {});
  }
}

async function askMain(connection: DohConnection, plan: CompiledDohSpec, ctx: ProbeContext<"doh">): Promise<Failure | null> {
  const facts = ctx.facts;
  const response = await connection.send(plan.dns.main);
  const headersNs = ctx.now();
  if (connection.readyNs !== null) ctx.timings.ttfbMs = Number(headersNs - connection.readyNs) / 1e6;
  // With responseHeaders: "raw" undici hands over the flat name/value list its types describe as the parsed object.
  const headers = headersFromRaw(response.headers as unknown as string[]);
  facts.status = response.statusCode;
  facts.headers = headers;
  ctx.evidence.headers = { ...headers };

  if (!plan.expectStatus.includes(response.statusCode)) {
    discard(response.body);
    return { code: "http_status", message: `status ${response.statusCode}, expected ${plan.expectStatus.join(", ")}` };
  }
  const contentType = headers["content-type"];
  if (!isDnsMessageType(contentType)) {
    discard(response.body);
    const got = contentType === undefined ? "no content-type" : `content-type ${JSON.stringify(contentType.slice(0, 100))}`;
    return { code: "http_protocol", message: `${got}, expected ${DNS_MESSAGE_TYPE}` };
  }
  const body = await readDnsMessage(response.body);
  ctx.timings.transferMs = ctx.msSince(headersNs);
  if (body.tooLarge) {
    return { code: "body_too_large", message: `response body exceeds ${MAX_DNS_MESSAGE_BYTES} bytes, the most a DNS message can be` };
  }
  facts.responseBytes = body.bytes.length;

  const inspected = inspectDnsResponse(body.bytes, () => plan.dns.main);
  if (inspected.verdict !== "answer") {
    return { code: "dns_malformed", message: `malformed DoH response (${body.bytes.length} bytes): ${inspected.reason}` };
  }
  const message = inspected.message;
  recordDnsResponse(plan.dns, facts, ctx.evidence, message);
  if (message.flags.tc) return { code: "dns_truncated", message: "truncated response: TC=1 over HTTPS" };
  return judgeDnsResponse(plan.dns, message) ?? certificateExpiryFailure(facts.tls?.chain ?? [], plan.certMinDays);
}

/** A CHAOS identity query on the same connection; every fault only means no identity. */
async function askChaos(
  connection: DohConnection,
  query: CompiledQuery,
  identity: ChaosIdentity,
  record: (identity: ChaosIdentity, message: DnsMessage) => void,
): Promise<void> {
  try {
    const response = await connection.send(query);
    if (response.statusCode !== 200 || !isDnsMessageType(headersFromRaw(response.headers as unknown as string[])["content-type"])) {
      discard(response.body);
      return;
    }
    const body = await readDnsMessage(response.body);
    if (body.tooLarge) return;
    const inspected = inspectDnsResponse(body.bytes, () => query);
    if (inspected.verdict === "answer") record(identity, inspected.message);
  } catch {
    // Dropped, refused or reset: the main query's outcome stands without it.
  }
}

/** How long CHAOS answers may still arrive after the main query settled: twice the time so far, within bounds (as the dns probe). */
function chaosGraceMs(elapsedMs: number): number {
  return Math.min(CHAOS_GRACE_MAX_MS, Math.max(CHAOS_GRACE_MIN_MS, 2 * elapsedMs));
}

/** Waits until every promise settled, `ms` passed or the probe is aborted, whichever comes first. */
async function settledWithin(promises: readonly Promise<void>[], ms: number, ctx: ProbeContext<"doh">): Promise<void> {
  if (promises.length === 0 || ctx.signal.aborted) return;
  let timer: NodeJS.Timeout | undefined;
  let stopListening = (): void => {};
  await new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    stopListening = ctx.onAbort(() => resolve());
    Promise.allSettled(promises).then(() => resolve());
  });
  clearTimeout(timer);
  stopListening();
}

/** A response body nobody will judge: drained (at most a DNS message's worth) so an HTTP/1.1 connection stays usable. */
function discard(body: Readable & { dump?: (opts: { limit: number }) => Promise<void> }): void {
  body.on("error", () => {});
  if (body.dump) body.dump({ limit: MAX_DNS_MESSAGE_BYTES }).catch(() => {});
  else body.destroy();
}

type BodyRead = { tooLarge: false; bytes: Buffer } | { tooLarge: true };

/**
 * The body, read to its end when it fits a DNS message. One byte past 65535
 * and the stream is destroyed, which makes undici drop the stream (or the
 * HTTP/1.1 connection) rather than drain the rest: a huge body costs one
 * chunk of memory.
 */
function readDnsMessage(body: Readable): Promise<BodyRead> {
  return new Promise<BodyRead>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let settled = false;
    const settle = (outcome: BodyRead | Error) => {
      if (settled) return;
      settled = true;
      body.off("data", onData);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > MAX_DNS_MESSAGE_BYTES) {
        settle({ tooLarge: true });
        body.destroy();
        return;
      }
      chunks.push(chunk);
    };
    body.on("data", onData);
    body.once("end", () => settle({ tooLarge: false, bytes: Buffer.concat(chunks, bytes) }));
    // Stays attached after settling: destroying the body makes undici emit an abort error nobody else listens for.
    body.on("error", (err) => settle(err));
    body.once("close", () => settle(new ProbeFailureError("closed", "response body closed before its end")));
  });
}

/**
 * Classes for what undici and Node's HTTP/2 throw without a code classify.ts
 * knows: llhttp's parser errors (undici 7 leaves their code undefined, see
 * http.ts), a stream the server reset (RST_STREAM), and HTTP/2 protocol and
 * session errors.
 */
function withHttpClass(err: unknown): unknown {
  if (err instanceof undiciErrors.HTTPParserError) {
    const code: unknown = (err as { code?: unknown }).code;
    return new ProbeFailureError("http_protocol", `${typeof code === "string" && code ? code : "HPE"}: ${err.message}`, { cause: err });
  }
  const code: unknown = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !code.startsWith("ERR_HTTP2_")) return err;
  const message = `${code}: ${(err as Error).message}`;
  return new ProbeFailureError(code === "ERR_HTTP2_STREAM_ERROR" ? "reset" : "http_protocol", message, { cause: err });
}
