// Notifications built by the real lifecycle, a runtime that records backoff
// waits instead of sleeping, and a scriptable loopback webhook receiver.
import { type IncomingHttpHeaders, type ServerResponse, createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { type AlertObservation, type Notification, planAlerts } from "@popwatch/core";
import type { DeliveryRuntime } from "../../src/retry";

export const T0 = Date.parse("2025-03-01T12:00:00.000Z");
export const CONFIG = { renotifyMinutes: 240, maintenance: [], quorum: {} };

export function observe(scope: string, burning: boolean, extra: Partial<AlertObservation> = {}): AlertObservation {
  return {
    slo: "checkout",
    severity: "page",
    scope,
    burning,
    shortWindowClean: !burning,
    burnRates: { "1h": burning ? 21.5 : 0.4, "5m": burning ? 30 : 0 },
    budgetRemaining: 0.62,
    rule: { long: "1h", short: "5m", factor: 14.4 },
    ...extra,
  };
}

/** A firing notification for the given regions, and the resolve that follows a minute later. */
export function firingAndResolved(
  regions: string[] = ["eu-west-1", "us-east-1"],
  severity: "page" | "ticket" = "page",
): { firing: Notification; resolved: Notification } {
  const first = planAlerts({ now: T0, observations: regions.map((r) => observe(r, true, { severity })), previous: [], config: CONFIG });
  const second = planAlerts({
    now: T0 + 60_000,
    observations: regions.map((r) => observe(r, false, { severity })),
    previous: first.next,
    config: CONFIG,
  });
  return { firing: first.notifications[0]!, resolved: second.notifications[0]! };
}

export interface RecordingRuntime extends Partial<DeliveryRuntime> {
  waits: number[];
}

/** Backoff waits are recorded, not slept: retries run at once. */
export function recordingRuntime(): RecordingRuntime {
  const waits: number[] = [];
  return { waits, sleep: async (ms) => void waits.push(ms), random: () => 0.5 };
}

export function eventBridgeClient(endpoint: string): EventBridgeClient {
  return new EventBridgeClient({
    endpoint,
    region: "eu-west-1",
    credentials: { accessKeyId: "popwatch-test", secretAccessKey: "popwatch-test" },
    // The sink and deliver() retry; SDK retries underneath would blur what the tests count.
    maxAttempts: 1,
  });
}

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export type WebhookReply =
  | { status: number; headers?: Record<string, string>; body?: string }
  /** Send the status line and headers only after this delay. */
  | { delayMs: number; status: number }
  /** Answer 200 with a body of this many bytes, slowly enough to notice if it were read to the end. */
  | { status: number; hugeBody: number };

export interface WebhookReceiver {
  url: string;
  requests: ReceivedRequest[];
  script(...replies: WebhookReply[]): void;
  close(): Promise<void>;
}

/** A loopback HTTP receiver; answers 200 unless scripted otherwise. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const queue: WebhookReply[] = [];
  const requests: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    requests.push({
      method: req.method ?? "",
      url: req.url ?? "",
      headers: req.headers,
      body: text === "" ? null : (JSON.parse(text) as unknown),
    });
    const reply = queue.shift() ?? { status: 200 };
    if ("delayMs" in reply) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!res.destroyed) res.writeHead(reply.status).end();
      }, reply.delayMs);
      timers.add(timer);
      return;
    }
    if ("hugeBody" in reply) {
      streamHuge(res, reply.status, reply.hugeBody);
      return;
    }
    res.writeHead(reply.status, reply.headers ?? {}).end(reply.body ?? "");
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/secret-path`,
    requests,
    script: (...replies) => void queue.push(...replies),
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

function streamHuge(res: ServerResponse, status: number, bytes: number): void {
  res.writeHead(status, { "content-type": "text/plain" });
  const chunk = Buffer.alloc(16 * 1024, 0x61);
  let sent = 0;
  const pump = (): void => {
    while (sent < bytes && !res.destroyed) {
      sent += chunk.length;
      if (!res.write(chunk)) {
        res.once("drain", pump);
        return;
      }
    }
    if (!res.destroyed) res.end();
  };
  pump();
}
