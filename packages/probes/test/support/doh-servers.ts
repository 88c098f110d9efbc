// Loopback DoH servers for the doh probe tests: node:http2 (h2, optionally
// HTTP/1.1 too) or node:https (HTTP/1.1 only) with one scripted behaviour per
// path, so a test picks a hostile case by picking the probe's `path`.

import type { IncomingMessage, ServerResponse } from "node:http";
import http2 from "node:http2";
import https from "node:https";
import type { TLSSocket } from "node:tls";
import * as dnsPacket from "dns-packet";
import { type Listening, listen } from "./tls-servers";

export const NSID = "doh1.fra.test";
export const CDN_HEADER = "cache-fra-etou8220180-FRA";
export const ANSWER_ADDRESS = "198.51.100.53";
export const HUGE_BODY_BYTES = 8 * 1024 * 1024;

export interface SeenRequest {
  method: string;
  path: string;
  httpVersion: string;
  /** Host or :authority. */
  authority: string;
  sni: string | null;
  contentType: string | null;
  accept: string | null;
  /** The decoded DNS query, null when none could be read. */
  query: dnsPacket.Packet | null;
  raw: Buffer | null;
}

export interface DohServer extends Listening {
  requests: SeenRequest[];
  /** Bytes written for /huge before the probe let go. */
  hugeBytesSent(): number;
  /** Replaces the body /custom answers with (content-type application/dns-message). */
  customBody: Buffer;
}

type Req = IncomingMessage | http2.Http2ServerRequest;
type Res = ServerResponse | http2.Http2ServerResponse;

function readBody(req: Req): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function decode(raw: Buffer | null): dnsPacket.Packet | null {
  if (!raw) return null;
  try {
    return dnsPacket.decode(raw);
  } catch {
    return null;
  }
}

/** The answer a resolver at FRA would give: an A record (or CHAOS TXT), NSID when asked for, the query's ID echoed. */
export function answerFor(query: dnsPacket.Packet, overrides: Partial<dnsPacket.Packet> = {}): Buffer {
  const question = query.questions?.[0];
  const opt = query.additionals?.find((rr) => rr.type === "OPT") as dnsPacket.OptAnswer | undefined;
  const wantsNsid = opt?.options?.some((o) => (o.code as number) === 3) ?? false;
  const answers: dnsPacket.Answer[] = [];
  if (question?.class === "CH" && question.type === "TXT") {
    answers.push({ name: question.name, type: "TXT", class: "CH", ttl: 0, data: question.name === "id.server" ? "fra-id" : "fra-host" });
  } else if (question?.type === "A") {
    answers.push({ name: question.name, type: "A", class: "IN", ttl: 300, data: ANSWER_ADDRESS });
  }
  return dnsPacket.encode({
    id: query.id,
    type: "response",
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: query.questions,
    answers,
    additionals: opt
      ? [{ type: "OPT", name: ".", udpPayloadSize: 1232, flags: 0, options: wantsNsid ? [{ code: 3, data: Buffer.from(NSID) }] : [] }]
      : [],
    ...overrides,
  } as dnsPacket.Packet);
}

function streamHuge(res: Res, counter: { sent: number }): void {
  const chunk = Buffer.alloc(16 * 1024, 0x41);
  let stopped = false;
  res.once("close", () => {
    stopped = true;
  });
  const pump = () => {
    while (!stopped && counter.sent < HUGE_BODY_BYTES) {
      counter.sent += chunk.length;
      if (!(res as ServerResponse).write(chunk)) {
        res.once("drain", pump);
        return;
      }
    }
    if (!stopped) res.end();
  };
  pump();
}

interface HandlerState {
  requests: SeenRequest[];
  huge: { sent: number };
  server: DohServer | null;
  /** Resolves once a CHAOS query has arrived (see /after-chaos). */
  chaosSeen: Promise<void>;
  sawChaos: () => void;
}

function handler(state: HandlerState) {
  return async (req: Req, res: Res) => {
    const url = new URL(req.url ?? "/", "https://x");
    const h2req = req as http2.Http2ServerRequest;
    const socket = req.socket as Partial<TLSSocket>;
    let raw: Buffer | null = null;
    try {
      if (req.method === "POST") raw = await readBody(req);
      else {
        const param = url.searchParams.get("dns");
        raw = param === null ? null : Buffer.from(param, "base64url");
      }
    } catch {
      return;
    }
    const query = decode(raw);
    state.requests.push({
      method: req.method ?? "",
      path: req.url ?? "",
      httpVersion: req.httpVersion,
      authority: String(req.headers[":authority"] ?? req.headers.host ?? ""),
      sni: typeof socket.servername === "string" ? socket.servername : null,
      contentType: (req.headers["content-type"] as string | undefined) ?? null,
      accept: (req.headers.accept as string | undefined) ?? null,
      query,
      raw,
    });
    const dnsHeaders = { "content-type": "application/dns-message", "x-served-by": CDN_HEADER, "cache-control": "max-age=300" };
    const send = (status: number, headers: Record<string, string>, body: Buffer | string) => {
      res.writeHead(status, headers);
      res.end(body);
    };
    const isChaos = query?.questions?.[0]?.class === "CH";
    switch (url.pathname) {
      case "/dns-query":
        if (!query) return send(400, { "content-type": "text/plain" }, "no query\n");
        return send(200, dnsHeaders, answerFor(query));
      case "/after-chaos":
        // The main answer waits for a CHAOS query to arrive: only a client with concurrent streams gets it.
        if (!isChaos) await state.chaosSeen;
        else state.sawChaos();
        return send(200, dnsHeaders, answerFor(query!));
      case "/silent-chaos":
        // Answers the main query, never the CHAOS ones (the stream stays open).
        if (isChaos) return;
        return send(200, dnsHeaders, answerFor(query!));
      case "/status-500":
        return send(500, { "content-type": "text/plain", "x-served-by": CDN_HEADER }, "upstream failed\n");
      case "/text-html":
        return send(200, { "content-type": "text/html; charset=utf-8" }, "<html><body>captive portal</body></html>");
      case "/no-content-type":
        res.writeHead(200, {});
        return res.end(answerFor(query!));
      case "/dns-message-params":
        return send(200, { ...dnsHeaders, "content-type": "Application/DNS-Message; charset=binary" }, answerFor(query!));
      case "/huge":
        res.writeHead(200, dnsHeaders);
        return streamHuge(res, state.huge);
      case "/custom":
        return send(200, dnsHeaders, state.server!.customBody);
      case "/wrong-question":
        return send(200, dnsHeaders, answerFor(query!, { questions: [{ name: "other.test", type: "A", class: "IN" }] }));
      case "/not-a-response":
        return send(200, dnsHeaders, Buffer.from(raw!));
      case "/truncated":
        return send(200, dnsHeaders, answerFor(query!, { flags: dnsPacket.TRUNCATED_RESPONSE }));
      case "/servfail":
        return send(
          200,
          dnsHeaders,
          answerFor(query!, { flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | 2, answers: [] }),
        );
      case "/stall":
        // Headers, then nothing: the body never ends.
        res.writeHead(200, dnsHeaders);
        (res as ServerResponse).write(Buffer.alloc(0));
        return;
      case "/rst":
        h2req.stream?.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        return;
      case "/goaway":
        h2req.stream?.session?.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
        h2req.stream?.session?.destroy();
        return;
      default:
        return send(404, { "content-type": "text/plain" }, "not found\n");
    }
  };
}

export interface DohServerOptions {
  key: string;
  cert: string;
  /** `h2` (HTTP/2 only), `both` (h2 and HTTP/1.1 by ALPN) or `h1` (node:https, no h2 at all). */
  protocols: "h2" | "both" | "h1";
  host?: string;
}

export async function startDohServer(options: DohServerOptions): Promise<DohServer> {
  let sawChaos = () => {};
  const chaosSeen = new Promise<void>((resolve) => {
    sawChaos = resolve;
  });
  const state = { requests: [] as SeenRequest[], huge: { sent: 0 }, server: null as DohServer | null, chaosSeen, sawChaos };
  const onRequest = handler(state);
  const listener = (req: Req, res: Res) => {
    onRequest(req, res).catch(() => res.destroy());
  };
  const server =
    options.protocols === "h1"
      ? https.createServer({ key: options.key, cert: options.cert, ALPNProtocols: ["http/1.1"] }, listener)
      : http2.createSecureServer({ key: options.key, cert: options.cert, allowHTTP1: options.protocols === "both" }, listener);
  server.on("tlsClientError", () => {});
  server.on("sessionError", () => {});
  server.on("stream", (stream: http2.ServerHttp2Stream) => stream.on("error", () => {}));
  const listening = await listen(server, options.host);
  const result: DohServer = Object.assign(listening, {
    requests: state.requests,
    hugeBytesSent: () => state.huge.sent,
    customBody: Buffer.alloc(0),
  });
  state.server = result;
  return result;
}
