// A loopback EventBridge endpoint speaking the AWS JSON 1.1 protocol, enough
// for PutEvents from the real @aws-sdk/client-eventbridge (point the client's
// `endpoint` at it, with static credentials; signatures are not checked).
// Tests script how the next requests are answered (entry failures, HTTP
// errors, a hang, a reset) and can take the endpoint down and bring it back
// on the same port.
import { type IncomingMessage, type ServerResponse, createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export type PutEventsBehaviour =
  /** Accept every entry. */
  | { kind: "ok" }
  /** Answer 200 with every entry failed (FailedEntryCount = entries). */
  | { kind: "fail-entries"; errorCode?: string }
  /** Answer an AWS JSON error: `{"__type": errorType}` with this status. */
  | { kind: "status"; status: number; errorType?: string }
  /** Read the request and never answer. */
  | { kind: "hang" }
  /** Destroy the connection without answering. */
  | { kind: "reset" };

export interface ReceivedEvent {
  Source: string;
  DetailType: string;
  /** Parsed from the entry's Detail string. */
  Detail: unknown;
  EventBusName?: string;
  Time?: number;
  EventId: string;
}

export interface EventBridgeEndpoint {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  port: number;
  /** Entries accepted, in order. */
  events: ReceivedEvent[];
  /** Every PutEvents request, with the behaviour it got. */
  requests: { behaviour: PutEventsBehaviour["kind"]; entries: number }[];
  /** Requests that were not a well-formed PutEvents (wrong target, content type or body). */
  rejected: { target: string | undefined; contentType: string | undefined }[];
  /** Queues behaviours for the next requests, in order; after them every request is accepted. */
  script(...behaviours: PutEventsBehaviour[]): void;
  /** Takes the endpoint down: open connections are destroyed and new ones refused. */
  stop(): Promise<void>;
  /** Brings it back on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

const CONTENT_TYPE = "application/x-amz-json-1.1";
const TARGET = "AWSEvents.PutEvents";

export async function startEventBridgeEndpoint(): Promise<EventBridgeEndpoint> {
  const queue: PutEventsBehaviour[] = [];
  const sockets = new Set<Socket>();
  const hanging = new Set<ServerResponse>();
  let eventSeq = 0;

  const state: Pick<EventBridgeEndpoint, "events" | "requests" | "rejected"> = { events: [], requests: [], rejected: [] };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = headerValue(req.headers["x-amz-target"]);
    const contentType = headerValue(req.headers["content-type"]);
    let body: { Entries?: Record<string, unknown>[] } | null = null;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { Entries?: Record<string, unknown>[] };
    } catch {
      body = null;
    }
    if (
      req.method !== "POST" ||
      target !== TARGET ||
      contentType?.split(";")[0]?.trim() !== CONTENT_TYPE ||
      !Array.isArray(body?.Entries)
    ) {
      state.rejected.push({ target, contentType });
      sendJson(res, 400, { __type: "UnknownOperationException", message: "popwatch test endpoint: not a PutEvents request" });
      return;
    }
    const entries = body.Entries;
    const behaviour = queue.shift() ?? { kind: "ok" };
    state.requests.push({ behaviour: behaviour.kind, entries: entries.length });
    switch (behaviour.kind) {
      case "hang":
        hanging.add(res);
        return;
      case "reset":
        req.socket.destroy();
        return;
      case "status":
        sendJson(
          res,
          behaviour.status,
          { __type: behaviour.errorType ?? "InternalException", message: "scripted failure" },
          behaviour.errorType,
        );
        return;
      case "fail-entries": {
        const errorCode = behaviour.errorCode ?? "InternalFailure";
        sendJson(res, 200, {
          FailedEntryCount: entries.length,
          Entries: entries.map(() => ({ ErrorCode: errorCode, ErrorMessage: "scripted entry failure" })),
        });
        return;
      }
      case "ok": {
        const results = entries.map((entry) => {
          const EventId = `test-event-${++eventSeq}`;
          state.events.push({
            Source: String(entry.Source),
            DetailType: String(entry.DetailType),
            Detail: JSON.parse(String(entry.Detail)) as unknown,
            ...(typeof entry.EventBusName === "string" ? { EventBusName: entry.EventBusName } : {}),
            ...(typeof entry.Time === "number" ? { Time: entry.Time } : {}),
            EventId,
          });
          return { EventId };
        });
        sendJson(res, 200, { FailedEntryCount: 0, Entries: results });
      }
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });

  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  const stop = async (): Promise<void> => {
    if (!server.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const res of hanging) res.destroy();
    hanging.clear();
    // Keep-alive connections would otherwise keep serving after close().
    for (const socket of sockets) socket.destroy();
    await closed;
  };

  await listen(0);
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    ...state,
    script: (...behaviours) => void queue.push(...behaviours),
    stop,
    start: () => (server.listening ? Promise.resolve() : listen(port)),
    close: stop,
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": CONTENT_TYPE,
    "content-length": Buffer.byteLength(text),
    "x-amzn-requestid": "00000000-0000-0000-0000-000000000000",
    ...(errorType === undefined ? {} : { "x-amzn-errortype": errorType }),
  });
  res.end(text);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
