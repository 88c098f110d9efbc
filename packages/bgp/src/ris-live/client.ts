// The RIS Live client: one WebSocket, one subscription per watched prefix,
// kept alive by pings, re-established with backoff, and read no faster than
// the consumer pulls (the socket is paused while the queue is full).

import { DEFAULT_RIS_LIVE_URL, type Prefix, type RouteEvent, parsePrefix } from "@popwatch/core";
import WebSocket from "ws";
import { LiveFeedConfigError } from "../errors";
import { type BackoffOptions, reconnectDelayMs } from "./backoff";
import { PING_MESSAGE, type RisLiveError, type RisLiveErrorCode, parseRisFrame, subscribeMessage } from "./messages";
import { BoundedQueue } from "./queue";

/** RIPE's public endpoint (core's config default). */
export const RIS_LIVE_URL = DEFAULT_RIS_LIVE_URL;

export interface RisLiveOptions {
  /** Defaults to RIS_LIVE_URL. */
  url?: string;
  /** Watched prefixes; each is subscribed with its more-specifics, and only those reach the consumer. */
  prefixes: readonly string[];
  /** Only this collector (`rrc21`); all when absent. */
  collector?: string;
  signal?: AbortSignal;
  /** How often to send a ping (default 15 s). */
  pingIntervalMs?: number;
  /** Reconnect when nothing at all arrived for this long while reading (default 45 s). */
  heartbeatTimeoutMs?: number;
  /** Reconnect delays (default 1 s doubling to 60 s, with jitter). */
  backoff?: BackoffOptions;
  /** A connection that lived this long resets the backoff (default 60 s). */
  healthyAfterMs?: number;
  connectTimeoutMs?: number;
  /** Items between socket and consumer: pause reading at highWater, resume at lowWater, drop (counted) past hardLimit. */
  queue?: { highWater: number; lowWater: number; hardLimit: number };
  /** Largest frame accepted; a larger one closes the connection (default 1 MiB). */
  maxFrameBytes?: number;
  /** For tests: the jitter source (default Math.random). */
  random?: () => number;
}

export type RisLiveItem =
  | { kind: "route"; event: RouteEvent }
  | { kind: "connected"; url: string; subscriptions: number }
  | { kind: "reconnecting"; afterMs: number; attempt: number; reason: RisLiveError }
  /** One frame that could not be used; the connection carries on. */
  | { kind: "error"; error: RisLiveError }
  /** Items lost at the queue's hard limit since the last report. */
  | { kind: "dropped"; count: number };

export interface RisLiveStats {
  frames: number;
  routeEvents: number;
  errors: Partial<Record<RisLiveErrorCode, number>>;
  dropped: number;
  reconnects: number;
  peakQueued: number;
  pausedReads: number;
}

export interface RisLiveWatch extends AsyncIterable<RisLiveItem> {
  stats(): RisLiveStats;
}

const DEFAULTS = {
  pingIntervalMs: 15_000,
  heartbeatTimeoutMs: 45_000,
  backoff: { initialMs: 1_000, maxMs: 60_000 },
  healthyAfterMs: 60_000,
  connectTimeoutMs: 10_000,
  queue: { highWater: 2_000, lowWater: 500, hardLimit: 20_000 },
  maxFrameBytes: 1 << 20,
};

function validatedPrefixes(prefixes: readonly string[]): Prefix[] {
  if (!Array.isArray(prefixes) || prefixes.length === 0)
    throw new LiveFeedConfigError("prefixes", "at least one prefix to watch is required");
  return prefixes.map((text, i) => {
    const parsed = typeof text === "string" ? parsePrefix(text) : { prefix: null, problem: "syntax" };
    if (!parsed.prefix)
      throw new LiveFeedConfigError(`prefixes[${i}]`, `${JSON.stringify(text)} is not an IPv4 or IPv6 prefix (${parsed.problem})`);
    return parsed.prefix;
  });
}

/** Checks the URL and adds `client=popwatch` unless it names a client: RIPE's manual asks clients to say who they are. */
function validatedUrl(url: string): string {
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {}
  if (parsed === null || (parsed.protocol !== "ws:" && parsed.protocol !== "wss:"))
    throw new LiveFeedConfigError("url", `${JSON.stringify(url)} is not a ws:// or wss:// URL`);
  if (parsed.searchParams.has("client")) return url;
  parsed.searchParams.set("client", "popwatch");
  return parsed.toString();
}

/**
 * Streams RIS Live route events for `prefixes` until `signal` aborts or the
 * consumer stops iterating. Failures are items, never throws; only invalid
 * options throw (LiveFeedConfigError), at call time.
 */
export function watchRisLive(options: RisLiveOptions): RisLiveWatch {
  const watched = validatedPrefixes(options.prefixes);
  const url = validatedUrl(options.url ?? RIS_LIVE_URL);
  const pingIntervalMs = options.pingIntervalMs ?? DEFAULTS.pingIntervalMs;
  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? DEFAULTS.heartbeatTimeoutMs;
  const backoff = options.backoff ?? DEFAULTS.backoff;
  const healthyAfterMs = options.healthyAfterMs ?? DEFAULTS.healthyAfterMs;
  const random = options.random ?? Math.random;
  const subscriptions = options.prefixes.map((prefix) =>
    subscribeMessage(options.collector === undefined ? { prefix } : { prefix, host: options.collector }),
  );
  const stats: RisLiveStats = { frames: 0, routeEvents: 0, errors: {}, dropped: 0, reconnects: 0, peakQueued: 0, pausedReads: 0 };

  let socket: WebSocket | null = null;
  let lastActivity = 0;
  let stopped = false;
  let wakeSleeper: (() => void) | null = null;
  let reportedDrops = 0;

  const queue = new BoundedQueue<RisLiveItem>({
    ...(options.queue ?? DEFAULTS.queue),
    onPause: () => {
      stats.pausedReads++;
      socket?.pause();
    },
    onResume: () => {
      // Nothing was read while paused: silence then says nothing about the server.
      lastActivity = Date.now();
      socket?.resume();
    },
  });

  const emit = (item: RisLiveItem): void => {
    if (queue.dropped > reportedDrops && queue.push({ kind: "dropped", count: queue.dropped - reportedDrops }))
      reportedDrops = queue.dropped;
    queue.push(item);
    stats.dropped = queue.dropped;
  };
  const countError = (error: RisLiveError): void => {
    stats.errors[error.code] = (stats.errors[error.code] ?? 0) + 1;
  };

  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    options.signal?.removeEventListener("abort", stop);
    socket?.terminate();
    wakeSleeper?.();
    queue.end();
  };

  /** One connection, from dial to close; resolves with why it ended and whether it had been healthy. */
  const connectOnce = (): Promise<{ reason: RisLiveError; healthy: boolean }> =>
    new Promise((resolve) => {
      const ws = new WebSocket(url, {
        maxPayload: options.maxFrameBytes ?? DEFAULTS.maxFrameBytes,
        handshakeTimeout: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      });
      socket = ws;
      let openedAt = 0;
      let reason: RisLiveError | null = null;
      let lastPing = 0;
      let timer: NodeJS.Timeout | undefined;

      ws.on("open", () => {
        openedAt = Date.now();
        lastActivity = openedAt;
        for (const message of subscriptions) ws.send(message);
        if (queue.isPaused) ws.pause();
        emit({ kind: "connected", url, subscriptions: subscriptions.length });
        const tick = Math.max(5, Math.min(pingIntervalMs, heartbeatTimeoutMs) / 4);
        timer = setInterval(() => {
          const now = Date.now();
          if (!queue.isPaused && now - lastActivity > heartbeatTimeoutMs) {
            reason = { code: "heartbeat_timeout", message: `nothing received for ${now - lastActivity} ms` };
            ws.terminate();
            return;
          }
          if (now - lastPing >= pingIntervalMs) {
            lastPing = now;
            ws.send(PING_MESSAGE);
          }
        }, tick);
      });
      ws.on("message", (data, isBinary) => {
        lastActivity = Date.now();
        stats.frames++;
        if (isBinary) {
          const error: RisLiveError = { code: "binary_frame", message: "RIS Live sends text frames; got a binary one" };
          countError(error);
          emit({ kind: "error", error });
          return;
        }
        const frame = parseRisFrame(data.toString(), watched);
        if (frame.kind === "routes") {
          stats.routeEvents += frame.events.length;
          for (const event of frame.events) emit({ kind: "route", event });
        } else if (frame.kind === "error") {
          countError(frame.error);
          emit({ kind: "error", error: frame.error });
        }
        stats.peakQueued = queue.peak;
      });
      ws.on("error", (error) => {
        reason ??= { code: openedAt ? "connection_closed" : "connect_failed", message: error.message };
      });
      ws.on("close", (code, why) => {
        clearInterval(timer);
        if (socket === ws) socket = null;
        const healthy = openedAt > 0 && Date.now() - openedAt >= healthyAfterMs;
        resolve({
          reason: reason ?? { code: "connection_closed", message: `server closed the connection (${code}${why.length ? ` ${why}` : ""})` },
          healthy,
        });
      });
    });

  const run = async (): Promise<void> => {
    let attempt = 0;
    while (!stopped) {
      const { reason, healthy } = await connectOnce();
      if (stopped) break;
      countError(reason);
      if (healthy) attempt = 0;
      const afterMs = reconnectDelayMs(attempt, backoff, random());
      attempt++;
      stats.reconnects++;
      emit({ kind: "reconnecting", afterMs, attempt, reason });
      await new Promise<void>((resolve) => {
        const timeout = setTimeout(resolve, afterMs);
        wakeSleeper = () => {
          clearTimeout(timeout);
          resolve();
        };
      });
      wakeSleeper = null;
    }
    queue.end();
  };

  let started = false;
  const iterator: AsyncIterator<RisLiveItem> = {
    next: () => queue.next(),
    return: async () => {
      stop();
      return { value: undefined, done: true };
    },
  };
  return {
    stats: () => ({ ...stats, errors: { ...stats.errors }, dropped: queue.dropped, peakQueued: queue.peak }),
    [Symbol.asyncIterator]() {
      if (!started) {
        started = true;
        if (options.signal?.aborted) stop();
        else {
          options.signal?.addEventListener("abort", stop);
          // run() handles every connection failure as an item; anything escaping it is a bug, reported, not swallowed.
          run().catch((error: unknown) => {
            emit({ kind: "error", error: { code: "connect_failed", message: `client stopped: ${String(error)}` } });
            stop();
          });
        }
      }
      return iterator;
    },
  };
}
