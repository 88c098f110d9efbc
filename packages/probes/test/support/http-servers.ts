// HTTP(S) loopback servers for the http probe tests. Responses are generated
// on the fly: the 100 MB body is one 64 KiB buffer written again and again
// under backpressure, so the test process never holds the body either.
import http from "node:http";
import https from "node:https";
import type { TLSSocket } from "node:tls";
import { type Listening, listen } from "./tls-servers";

export const SERVED_BY = "cache-fra-etou8220180-FRA";
export const BIG_BODY_BYTES = 100 * 1024 * 1024;

export interface HttpServer extends Listening {
  /** Requests that reached the handler, by path. */
  requests: string[];
}

function streamBody(res: http.ServerResponse, total: number): void {
  const chunk = Buffer.alloc(64 * 1024, "a");
  let sent = 0;
  let stopped = false;
  res.once("close", () => {
    stopped = true;
  });
  const pump = () => {
    while (!stopped && sent < total) {
      const n = Math.min(chunk.length, total - sent);
      sent += n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
        res.once("drain", pump);
        return;
      }
    }
    if (!stopped) res.end();
  };
  pump();
}

function handler(requests: string[]): http.RequestListener {
  return (req, res) => {
    const url = req.url ?? "/";
    requests.push(url);
    const socket = req.socket as Partial<TLSSocket>;
    const common = {
      "x-served-by": SERVED_BY,
      "x-seen-host": req.headers.host ?? "",
      "x-seen-sni": typeof socket.servername === "string" ? socket.servername : "",
      "x-seen-user-agent": req.headers["user-agent"] ?? "",
    };
    if (url === "/") {
      res.writeHead(200, { ...common, "content-type": "text/plain; charset=utf-8", "x-cache": ["MISS", "HIT"] });
      res.end("hello from fra — pop ok\n");
    } else if (url === "/status/503") {
      res.writeHead(503, { ...common, "retry-after": "5" });
      res.end("upstream unavailable\n");
    } else if (url === "/big") {
      res.writeHead(200, { ...common, "content-type": "application/octet-stream", "content-length": BIG_BODY_BYTES });
      streamBody(res, BIG_BODY_BYTES);
    } else if (url === "/trickle") {
      // Headers at once, then one body byte every 200 ms.
      res.writeHead(200, { ...common, "content-length": 100 });
      res.flushHeaders();
      const timer = setInterval(() => res.write("x"), 200);
      res.once("close", () => clearInterval(timer));
    } else if (url === "/latin1") {
      res.writeHead(200, { ...common, "content-type": "text/plain; charset=iso-8859-1" });
      res.end(Buffer.from("caf\xe9 ok", "latin1"));
    } else {
      res.writeHead(404, common);
      res.end("not found\n");
    }
  };
}

export async function startHttpServer(host?: string): Promise<HttpServer> {
  const requests: string[] = [];
  const server = http.createServer(handler(requests));
  return Object.assign(await listen(server, host), { requests });
}

export async function startHttpsServer(key: string, cert: string): Promise<HttpServer> {
  const requests: string[] = [];
  const server = https.createServer({ key, cert }, handler(requests));
  server.on("tlsClientError", () => {});
  return Object.assign(await listen(server), { requests });
}
