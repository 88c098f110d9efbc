// popwatch's routing side against the lab, from the client namespace: `popwatch
// bgp listen` as a child process receiving the FRR router's BMP, a webhook sink
// in the same namespace, and the JSON commands (`bgp events`, `bgp state`,
// `report`, `evaluate`). For routing-e2e.test.ts and bench/lab-routing.ts.
//
// Everything runs in the client's namespace because the store is shared over
// loopback there: `popwatch run` owns the embedded store and publishes its
// endpoint (127.0.0.1 of the client namespace) in the data directory, and
// `bgp listen` and the commands started meanwhile write and read through it.
// So `popwatch run` must be started first.
import { type ChildProcess, spawn } from "node:child_process";
import type { Notification, PopwatchConfigInput } from "@popwatch/core";
import { LabError } from "./errors";
import { type FailureMode, type Lab, type LabEvent, REPO_ROOT, type RouterConvergence } from "./lab";
import { POPWATCH_BIN, fastLabConfig } from "./popwatch-run";
import { CLIENT_ADDRESS } from "./topology";

/** The watched prefix the covering announcements make: the PoPs' origins, and /24 the longest allowed. */
export const WATCHED_PREFIX = "203.0.113.0/24";
export const POP_ORIGINS = [65001, 65002, 65003];
/** The config's bgp.burstGapSeconds: a fault must come this long after any earlier BGP change. */
export const BURST_GAP_SECONDS = 5;
/**
 * FRR stamps BMP messages from its monotonic clock in whole seconds (moved to
 * real time), so a stored BMP event may precede the MRT dump's microsecond
 * stamp of the same message by up to a second.
 */
export const BMP_STAMP_GRANULARITY_MS = 1_000;

/** The lab's fast config with a `bgp` section (one router: one peer suffices) and a webhook sink. */
export function routingLabConfig(lab: Lab, webhookUrl: string, changes: Partial<PopwatchConfigInput> = {}): PopwatchConfigInput {
  return fastLabConfig(lab, {
    bgp: {
      prefixes: [{ prefix: WATCHED_PREFIX, origins: POP_ORIGINS, maxLength: 24 }],
      collectors: [],
      minPeers: 1,
      // The lab's bursts last milliseconds; the default 30 s would join the BMP session's initial dump (or an
      // episode's heal) to the next fault's burst and measure M2 from it.
      burstGapSeconds: BURST_GAP_SECONDS,
      bmp: { port: lab.bmpTarget?.port ?? 11019 },
    },
    alerting: { sinks: [{ type: "webhook", url: webhookUrl, format: "json" }] },
    ...changes,
  } as Partial<PopwatchConfigInput>);
}

/** A long-running child in the client namespace, its stdout split into lines, its stderr kept. */
class ClientChild {
  protected stderrText = "";
  protected readonly waiters = new Set<() => void>();
  private exited: number | null = null;
  readonly exit: Promise<number>;

  protected constructor(
    protected readonly child: ChildProcess,
    onLine: (line: string) => void,
  ) {
    let pending = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) onLine(line);
      this.notify();
    });
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      this.stderrText = (this.stderrText + chunk).slice(-16_000);
      this.notify();
    });
    this.exit = new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        this.exited = code ?? (signal ? 128 : 1);
        this.notify();
        resolve(this.exited);
      }),
    );
  }

  protected static spawnIn(lab: Lab, argv: string[]): ChildProcess {
    const child = spawn("ip", ["netns", "exec", lab.ns("client"), ...argv], {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (child.pid === undefined)
      throw new LabError("command_failed", `could not start ${argv.slice(0, 3).join(" ")} in ${lab.ns("client")}`);
    lab.registerClientProcess(child.pid);
    return child;
  }

  get log(): string {
    return this.stderrText;
  }

  async stop(): Promise<number> {
    if (this.exited === null) this.child.kill("SIGTERM");
    const timeout = new Promise<"timeout">((resolve) => setTimeout(resolve, 15_000, "timeout").unref());
    const code = await Promise.race([this.exit, timeout]);
    if (code === "timeout") {
      this.child.kill("SIGKILL");
      return 137;
    }
    return code;
  }

  protected notify(): void {
    for (const wake of this.waiters) wake();
  }

  /** Resolves with `found()` once it is not null; rejects on timeout or exit. */
  protected waitUntil<T>(found: () => T | null, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      const check = () => {
        const value = found();
        if (value !== null) return finish(() => resolve(value));
        if (this.exited !== null)
          finish(() => reject(new LabError("not_ready", `exited (${this.exited}) before ${what}:\n${this.stderrText}`)));
      };
      const timer = setTimeout(
        () => finish(() => reject(new LabError("not_ready", `timed out waiting for ${what}:\n${this.stderrText}`))),
        timeoutMs,
      );
      this.waiters.add(check);
      check();
    });
  }
}

/** `popwatch bgp listen` on the BMP target in the client namespace, into the store `popwatch run` shares. */
export class BgpListen extends ClientChild {
  static start(lab: Lab, options: { configFile: string; dataDir: string }): BgpListen {
    const target = lab.bmpTarget;
    if (target?.at !== "client") throw new LabError("invalid_argument", 'BgpListen needs a lab with bmp: { port, at: "client" }');
    const argv = [process.execPath, POPWATCH_BIN, "bgp", "listen", "--port", String(target.port), "--address", CLIENT_ADDRESS];
    argv.push("--config", options.configFile, "--data-dir", options.dataDir, "--status-every", "5");
    return new BgpListen(ClientChild.spawnIn(lab, argv), () => {});
  }

  /** Waits for the router's BMP session (FRR retries every ≤ 1 s). */
  waitForRouter(timeoutMs = 30_000): Promise<string> {
    return this.waitUntil(
      () => /router \S+ \([^)]*\) connected[^\n]*/.exec(this.stderrText)?.[0] ?? null,
      timeoutMs,
      "the router's BMP session",
    );
  }
}

/** One POST as the sink in the client namespace received it. */
export interface ReceivedNotification {
  atMs: number;
  body: Notification;
}

// A loopback webhook endpoint for the client namespace (a test process cannot
// enter a namespace): it prints its URL, then each body with its arrival time.
const SINK_SCRIPT = `
const http = require("node:http");
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const atMs = Date.now();
    let body;
    try { body = JSON.parse(Buffer.concat(chunks).toString("utf8")); } catch { body = Buffer.concat(chunks).toString("utf8"); }
    process.stdout.write(JSON.stringify({ atMs, body }) + "\\n");
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
});
server.listen(0, "127.0.0.1", () => process.stdout.write(JSON.stringify({ url: "http://127.0.0.1:" + server.address().port + "/hook" }) + "\\n"));
process.on("SIGTERM", () => { server.closeAllConnections(); server.close(() => process.exit(0)); });
`;

/** A webhook receiver listening on 127.0.0.1 inside the client namespace. */
export class ClientWebhookSink extends ClientChild {
  readonly received: ReceivedNotification[] = [];
  private url: string | null = null;

  static async start(lab: Lab): Promise<ClientWebhookSink> {
    let sink: ClientWebhookSink | null = null;
    const child = ClientChild.spawnIn(lab, [process.execPath, "-e", SINK_SCRIPT]);
    sink = new ClientWebhookSink(child, (line) => sink?.onLine(line));
    await sink.waitUntil(() => sink!.url, 15_000, "the webhook sink's port");
    return sink;
  }

  get endpoint(): string {
    return this.url!;
  }

  /** Notifications of alert names (`slo`) starting with `prefix`. */
  of(prefix: string): ReceivedNotification[] {
    return this.received.filter((r) => typeof r.body?.slo === "string" && r.body.slo.startsWith(prefix));
  }

  /** Waits for a notification matching `predicate`, received at or after `afterMs`. */
  waitFor(
    predicate: (n: Notification) => boolean,
    options: { afterMs?: number; timeoutMs: number; what: string },
  ): Promise<ReceivedNotification> {
    const afterMs = options.afterMs ?? 0;
    return this.waitUntil(() => this.received.find((r) => r.atMs >= afterMs && predicate(r.body)) ?? null, options.timeoutMs, options.what);
  }

  private onLine(line: string): void {
    let entry: { url?: string; atMs?: number; body?: Notification };
    try {
      entry = JSON.parse(line);
    } catch {
      return;
    }
    if (typeof entry.url === "string") this.url = entry.url;
    else if (typeof entry.atMs === "number" && entry.body !== undefined) this.received.push({ atMs: entry.atMs, body: entry.body });
  }
}

/** `popwatch ARGS` in the client namespace; stdout, or a LabError with its stderr on a nonzero exit. */
export async function popwatchIn(lab: Lab, args: string[], options: { allowExit?: number[] } = {}): Promise<string> {
  const result = await lab.exec("client", [process.execPath, POPWATCH_BIN, ...args], { timeoutMs: 60_000 });
  if (result.code !== 0 && !(options.allowExit ?? []).includes(result.code))
    throw new LabError("command_failed", `popwatch ${args.slice(0, 2).join(" ")} exited ${result.code}: ${result.stderr.trim()}`);
  return result.stdout;
}

/** One line of `popwatch bgp events --json` (its `time` in Unix seconds), with the time in ms beside it. */
export interface StoredBgpEvent {
  type: "A" | "W" | "B" | "STATE";
  time: number;
  timeMs: number;
  source: string;
  peer: string;
  peerAs: number;
  prefix?: string;
  asPath?: number[];
  origin?: number | null;
  up?: boolean;
}

/** `popwatch bgp events --json` over [fromMs, now): the events `bgp listen` stored. */
export async function storedBgpEvents(
  lab: Lab,
  options: { configFile: string; dataDir: string; fromMs: number },
): Promise<StoredBgpEvent[]> {
  const out = await popwatchIn(
    lab,
    [
      "bgp",
      "events",
      "--json",
      "--config",
      options.configFile,
      "--data-dir",
      options.dataDir,
      "--since",
      new Date(options.fromMs).toISOString(),
    ],
    { allowExit: [1] },
  );
  return out
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const event = JSON.parse(line) as Omit<StoredBgpEvent, "timeMs">;
      return { ...event, timeMs: Math.round(event.time * 1_000_000) / 1000 };
    });
}

/** The report's failovers with their routing part (M2), from `popwatch report --json`. */
export interface ReportedFailover {
  target: string;
  kind: string;
  region: string;
  from: string;
  to: string;
  at: string;
  convergenceMs: number;
  routing?: { prefix: string | null; bgpEvents: number; burstFirstAt: string | null; burstEvents: number; m2Ms: number | null };
}

export async function reportedFailovers(
  lab: Lab,
  options: { configFile: string; dataDir: string; fromMs: number },
): Promise<{ failovers: ReportedFailover[]; routing: unknown }> {
  const out = await popwatchIn(lab, [
    "report",
    "--json",
    "--config",
    options.configFile,
    "--data-dir",
    options.dataDir,
    "--since",
    new Date(options.fromMs).toISOString(),
  ]);
  const parsed = JSON.parse(out) as { failovers?: ReportedFailover[]; routing?: unknown };
  return { failovers: parsed.failovers ?? [], routing: parsed.routing ?? null };
}

/** What one failure of pop-a showed, popwatch's figures next to the router's. */
export interface RoutingEpisode {
  mode: FailureMode;
  fault: LabEvent;
  truth: RouterConvergence;
  /** The first pop-change (or outage) notification received after the fault; null if none came within the wait. */
  notification: ReceivedNotification | null;
  /** Fault (events.jsonl stamp) → the notification's arrival at the sink. */
  notifyMs: number | null;
  /** The first withdrawal (or session loss) of pop-a that `bgp listen` stored at or after the fault. */
  storedLoss: StoredBgpEvent | null;
  /** popwatch's failovers of the target away from pop-a after the fault (the report's), with M2. */
  failovers: ReportedFailover[];
  /** Router truth as M2 counts it: its first BGP change → its FIB install away from pop-a. */
  routerM2Ms: number | null;
}

export interface EpisodeContext {
  lab: Lab;
  sink: ClientWebhookSink;
  configFile: string;
  dataDir: string;
  /** Rounds of `popwatch run` to let pass after the fault before reading the report (the failover must settle). */
  settleMs: number;
  /** How long to wait for the notification. */
  notifyTimeoutMs: number;
}

const POP_A_PEER = "198.51.100.6";

/** Fails pop-a with `mode`, collects what popwatch and the router say, heals it and waits for its route back. */
export async function routingEpisode(ctx: EpisodeContext, mode: FailureMode): Promise<RoutingEpisode> {
  const { lab, sink } = ctx;
  const fault = await lab.fail("pop-a", mode);
  try {
    const [truth, notification] = await Promise.all([
      lab.routerConvergence(fault, { timeoutMs: 15_000 }),
      sink
        .waitFor((n) => n.status === "firing" && /^anycast:(pop-change|outage):/.test(n.slo), {
          afterMs: fault.atMs,
          timeoutMs: ctx.notifyTimeoutMs,
          what: `a pop-change notification after ${mode}`,
        })
        .catch(() => null),
    ]);
    await new Promise((resolve) => setTimeout(resolve, ctx.settleMs));
    const events = await storedBgpEvents(lab, { configFile: ctx.configFile, dataDir: ctx.dataDir, fromMs: fault.atMs - 5_000 });
    const storedLoss =
      events.find(
        (e) => e.timeMs >= fault.atMs - 1_000 && e.peer === POP_A_PEER && (e.type === "W" || (e.type === "STATE" && e.up === false)),
      ) ?? null;
    const report = await reportedFailovers(lab, { configFile: ctx.configFile, dataDir: ctx.dataDir, fromMs: fault.atMs - 30_000 });
    const failovers = report.failovers.filter((f) => f.from === "pop-a" && Date.parse(f.at) >= fault.atMs);
    const routerM2Ms = truth.firstBgpChange && truth.installed ? truth.installed.atMs - truth.firstBgpChange.atMs : null;
    return {
      mode,
      fault,
      truth,
      notification,
      notifyMs: notification ? notification.atMs - fault.atMs : null,
      storedLoss,
      failovers,
      routerM2Ms,
    };
  } finally {
    const healed = await lab.heal("pop-a");
    // A black hole keeps the route: nothing to wait for but its DNS answering again.
    if (mode !== "blackhole") await lab.waitForRoute("pop-a", { afterMs: healed.atMs - 1, timeoutMs: 30_000 }).catch(() => undefined);
  }
}
