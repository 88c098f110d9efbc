// The anycast lab: a client, a router (BIRD, or FRR) and three PoPs in
// network namespaces, each PoP announcing the same anycast /32 (or its /24)
// over BGP (ExaBGP with a DNS health check) and serving DNS (NSD, Knot, BIND)
// and HTTPS (nginx) on it. AS-path prepending makes pop-a preferred, then
// pop-b, then pop-c. Optionally a rogue PoP (AS65666) that announces what a
// test tells it to. The router writes every BGP message as MRT and (FRR) sends
// BMP to a collector.
//
//   client 198.51.100.2 ── r-client 198.51.100.1  router AS65000 (BIRD)
//                          r-pop-a 198.51.100.5 ── 198.51.100.6  pop-a AS65001 (NSD)
//                          r-pop-b 198.51.100.9 ── 198.51.100.10 pop-b AS65002 (Knot), prepend 1
//                          r-pop-c 198.51.100.13 ── 198.51.100.14 pop-c AS65003 (BIND), prepend 2
//   r-rogue 198.51.100.17 ── 198.51.100.18 rogue AS65666 (BIRD, NSD), with `rogue: true`
//   r-mgmt 203.0.113.254 ── 203.0.113.253 host (for a BMP collector on the host; top /30 free)
//   anycast 203.0.113.53/32 on lo of every PoP
//   IPv6 beside it: link /64s 2001:db8:100:N::/64 (router ::1, node ::2; client N=0,
//   PoPs 1-3, rogue 4), anycast 2001:db8:53::53/128 on lo of every PoP, carried
//   by the same BGP sessions (MP-BGP) and health-checked over IPv6
//
// Needs root. Daemons run in the foreground in their own sessions, tracked by
// PID files under the state directory (procs.ts), and outlive the process
// that started them: `up` in one command, `fail` and `down` in others. The
// router's FIB changes are recorded by truth-watcher.ts in truth.jsonl.
import { appendFileSync, chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { logTail, sleep } from "../support/daemons";
import { DNS_DAEMONS } from "../support/server-configs";
import type { BirdRoute } from "./bird";
import {
  BLACKHOLE_TABLE,
  type BgpTimers,
  DEFAULT_HEALTH_INTERVAL_S,
  DEFAULT_TIMERS,
  blackholeRuleset,
  checkScript,
  checkScriptFile,
  dnsConf,
  exabgpConf,
  exabgpEnv,
  healthcheckConf,
  healthcheckFile,
  nginxConf,
  routerPeers,
  stateChangeScript,
  zoneFile,
} from "./configs";
import { LabError } from "./errors";
import { type BgpChange, isLoss, readBgpChanges } from "./mrt";
import {
  type CommandResult,
  type ProcessRecord,
  type ProcessState,
  emptyNamespace,
  listRecords,
  processState,
  readRecord,
  run,
  runChecked,
  signalRecord,
  spawnTracked,
  stopTracked,
  trackProcess,
} from "./procs";
import { Rogue } from "./rogue";
import { type Router, type RouterKind, createRouter, mrtFilesIn } from "./router";
import { buildNetwork, checkFrrPrerequisites, checkPrerequisites, createPki, freeManagementLink, hasBgpdump, labBinary } from "./setup";
import {
  ANYCAST_ADDRESS,
  ANYCAST_ADDRESS_V6,
  ANYCAST_PREFIX,
  ANYCAST_PREFIX_V6,
  ANYCAST_RANGE,
  type AnycastFamily,
  CLIENT_ADDRESS,
  LAB_HOSTNAME,
  LAB_NODES,
  LAB_ZONE,
  type LabNode,
  type ManagementLink,
  POPS,
  POP_NAMES,
  PREFERRED_POP,
  type PopName,
  type PopSpec,
  ROGUE,
  isPopName,
  namespaceOf,
  popSpec,
} from "./topology";
import { type RouteChange, readTruth } from "./truth";

export type { BirdRoute } from "./bird";
export type { BgpTimers, RogueAnnouncement } from "./configs";
export { LabError } from "./errors";
export type { BgpChange } from "./mrt";
export type { CommandResult } from "./procs";
export type { Rogue, RogueEvent } from "./rogue";
export { ROUTER_KINDS, type RouterKind, isRouterKind } from "./router";
export * from "./topology";
export type { RouteChange } from "./truth";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** The checked-in popwatch configuration for the lab; `up` writes a copy with the lab's CA. */
export const POPWATCH_CONFIG_TEMPLATE = join(REPO_ROOT, "test/lab/popwatch.lab.json");

export const FAILURE_MODES = ["dns-stop", "bgp-kill", "bgp-freeze", "link-down", "blackhole"] as const;
export type FailureMode = (typeof FAILURE_MODES)[number];

export function isFailureMode(value: string): value is FailureMode {
  return (FAILURE_MODES as readonly string[]).includes(value);
}

export interface LabOptions {
  /** Prefix of the namespace names ("pwlab" → pwlab-client, pwlab-rtr, pwlab-pop-a, ...). */
  name?: string;
  /** Where PID files, configs, logs and truth.jsonl live. Default: <tmp>/popwatch-lab-<name>, or $POPWATCH_LAB_DIR for the default lab. */
  stateDir?: string;
  timers?: BgpTimers;
  /** Seconds between health checks of each PoP's DNS server. */
  healthIntervalS?: number;
  /** How long `up` waits for daemons and routing. */
  readyTimeoutMs?: number;
  /** Progress messages. */
  log?: (message: string) => void;
  /**
   * The router's software. "bird" (default): BIRD 2, MRT dump in BGP4MP
   * (whole-second stamps). "frr": FRR zebra + bgpd, MRT dump in BGP4MP_ET
   * (microseconds), and BMP when `bmp` is set. Default: the running lab's, else "bird".
   */
  router?: RouterKind;
  /** What the PoPs announce: "host" the anycast /32 (default), "covering" its /24, so that a more-specific can exist. */
  announce?: "host" | "covering";
  /** Add the rogue PoP (namespace "<name>-rogue", AS65666), announcing nothing until `lab.rogue.announce`. */
  rogue?: boolean;
  /**
   * FRR only: send BMP (pre- and post-policy route monitoring) to a collector
   * on `port`, in the host's namespace ("host", default: the lab adds a
   * management link and the collector listens on `lab.bmpTarget.address` or
   * 0.0.0.0) or in the client's ("client": 198.51.100.2). FRR retries every
   * 0.1 to 1 s, so the collector may start before or after `up`.
   */
  bmp?: { port: number; at?: "host" | "client" };
}

/** What `up` builds, kept in lab.json so that other processes (the CLI, a second Lab object) act on the same lab. */
interface BuildSettings {
  router: RouterKind;
  announce: "host" | "covering";
  rogue: boolean;
  bmp: { port: number; at: "host" | "client" } | null;
}

interface ResolvedOptions extends BuildSettings {
  name: string;
  stateDir: string;
  timers: BgpTimers;
  healthIntervalS: number;
  readyTimeoutMs: number;
  log: (message: string) => void;
}

/** The router's record of one fault: its first BGP change about the PoP and the forwarding change that followed. */
export interface RouterConvergence {
  fault: LabEvent;
  /** The first withdrawal from the PoP, or its session leaving Established, at or after the fault (from the MRT dump); null if none. */
  firstBgpChange: BgpChange | null;
  /** The router's first FIB change away from the PoP at or after the fault (truth.jsonl); null if none (a black hole). */
  installed: RouteChange | null;
  /** Milliseconds from the fault to each; null when it did not happen. */
  bgpMs: number | null;
  installMs: number | null;
}

/** A fault injected or repaired, stamped just before the action took effect. */
export interface LabEvent {
  event: "fail" | "heal";
  pop: PopName;
  mode?: FailureMode;
  at: string;
  atMs: number;
}

export interface PopStatus {
  name: PopName;
  dnsServer: PopSpec["dns"];
  dns: ProcessState;
  nginx: ProcessState;
  speaker: ProcessState;
  /** BIRD's state of the session, e.g. "Established", "Active", "Connect". */
  session: string;
  link: "up" | "down";
  blackhole: boolean;
}

export interface LabStatus {
  up: boolean;
  name: string;
  stateDir: string;
  /** The router's selected path for the anycast prefix, from BIRD; null without one. */
  best: BirdRoute | null;
  /** Every path BIRD has for the prefix, best first. */
  routes: BirdRoute[];
  /** Where the router's kernel forwards the prefix now. */
  fib: { pop: RouteChange["pop"]; nextHop: string | null; dev: string | null };
  pops: PopStatus[];
  /** The last entries of truth.jsonl. */
  recentChanges: RouteChange[];
  router: RouterKind;
  /** The prefix the PoPs announce (the /32, or the /24 with `announce: "covering"`). */
  announced: string;
  /** The rogue's session and announcements; null in a lab without it. */
  rogue: { session: string; announcements: Array<{ prefix: string; originAs: number }> } | null;
  processes: Array<{ name: string; pid: number; state: ProcessState }>;
}

export interface Convergence {
  pop: PopName;
  mode: FailureMode;
  fault: LabEvent;
  /** The router's first route change away from the PoP after the fault; null if none within the wait. */
  change: RouteChange | null;
  /** Milliseconds from the fault to the change. */
  convergenceMs: number | null;
  heal?: LabEvent;
  /** The change back to the PoP after healing. */
  recovery?: RouteChange | null;
  recoveryMs?: number | null;
}

/** Wall clock, like the truth log's stamps (a monotonic clock would drift from them while NTP slews). */
function stamp(): { at: string; atMs: number } {
  const atMs = Date.now();
  return { at: new Date(atMs).toISOString(), atMs };
}

/** Everything the lab writes in its state directory, removed before a fresh build. */
const STATE_ENTRIES = [
  "lab.json",
  "pids",
  "pki",
  "router",
  ...POP_NAMES,
  "data",
  ROGUE,
  "truth.jsonl",
  "truth6.jsonl",
  "events.jsonl",
  "popwatch.lab.json",
  "truth-watcher.log",
  "truth6-watcher.log",
];

const DEFAULT_SETTINGS: BuildSettings = { router: "bird", announce: "host", rogue: false, bmp: null };

// ---------------------------------------------------------------------------

export class Lab {
  readonly name: string;
  readonly stateDir: string;
  private readonly options: ResolvedOptions;

  constructor(options: LabOptions = {}) {
    const name = options.name ?? "pwlab";
    if (!/^[a-z][a-z0-9]{0,7}$/.test(name))
      throw new LabError("invalid_argument", `lab name must be 1-8 lowercase letters/digits, got ${JSON.stringify(name)}`);
    this.name = name;
    // The variable names the default lab's directory only: a test's own lab must never share it.
    const fromEnv = options.name === undefined ? process.env.POPWATCH_LAB_DIR : undefined;
    this.stateDir = resolve(options.stateDir ?? fromEnv ?? join(tmpdir(), `popwatch-lab-${name}`));
    // Unset settings follow the lab already built here, so `npm run lab -- fail` acts on an FRR lab as built.
    const built = this.builtSettings() ?? DEFAULT_SETTINGS;
    const router = options.router ?? built.router;
    const bmp = options.bmp ? { port: options.bmp.port, at: options.bmp.at ?? "host" } : options.router === undefined ? built.bmp : null;
    if (bmp && router !== "frr") throw new LabError("invalid_argument", 'bmp needs the FRR router (router: "frr")');
    if (bmp && (!Number.isInteger(bmp.port) || bmp.port < 1 || bmp.port > 65_535))
      throw new LabError("invalid_argument", `bmp.port must be a TCP port, got ${bmp.port}`);
    this.options = {
      router,
      announce: options.announce ?? built.announce,
      rogue: options.rogue ?? built.rogue,
      bmp,
      name,
      stateDir: this.stateDir,
      timers: options.timers ?? DEFAULT_TIMERS,
      healthIntervalS: options.healthIntervalS ?? DEFAULT_HEALTH_INTERVAL_S,
      readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
      log: options.log ?? (() => undefined),
    };
  }

  /** Namespace of a node. */
  ns(node: LabNode): string {
    return namespaceOf(this.name, node);
  }

  /** The nodes of this lab: client, router, the PoPs, and the rogue when built with it. */
  get nodes(): readonly LabNode[] {
    return LAB_NODES.filter((n) => n !== ROGUE || this.options.rogue);
  }

  get routerKind(): RouterKind {
    return this.options.router;
  }

  /** The prefix the PoPs announce: the anycast /32, or its /24 with `announce: "covering"`. */
  get announcedPrefix(): string {
    return this.options.announce === "covering" ? ANYCAST_RANGE : ANYCAST_PREFIX;
  }

  /** Where the router sends BMP (the collector must listen there, or on 0.0.0.0 in that namespace); null without `bmp`. */
  get bmpTarget(): { address: string; port: number; at: "host" | "client" } | null {
    const bmp = this.options.bmp;
    if (!bmp) return null;
    if (bmp.at === "client") return { address: CLIENT_ADDRESS, port: bmp.port, at: "client" };
    const link = this.managementLink();
    return link ? { address: link.hostAddress, port: bmp.port, at: "host" } : null;
  }

  /** The router's MRT dump: the directory, then the files written so far (each record is written whole as it happens). */
  get mrtDir(): string {
    return join(this.routerDir, "mrt");
  }

  mrtFiles(): string[] {
    return mrtFilesIn(this.mrtDir).filter((f) => statSync(f).size > 0);
  }

  /** The rogue PoP's controls; throws not_up in a lab built without `rogue: true`. */
  get rogue(): Rogue {
    if (!this.options.rogue) throw new LabError("invalid_argument", `lab ${this.name} has no rogue PoP (new Lab({ rogue: true }))`);
    return new Rogue({
      stateDir: this.stateDir,
      namespace: this.ns(ROGUE),
      timers: this.options.timers,
      eventsFile: this.eventsFile,
      waitFor: (what, record, ready, extraLog) => this.waitFor(what, record, ready, extraLog),
    });
  }

  private get router(): Router {
    return createRouter(this.options.router, {
      stateDir: this.stateDir,
      dir: this.routerDir,
      namespace: this.ns("router"),
      timers: this.options.timers,
      peers: routerPeers(this.options.rogue),
      exports: {
        mrtFile: join(this.mrtDir, `${this.options.router}.mrt`),
        bmp: this.bmpTarget,
      },
      waitFor: (what, record, ready, extraLog) => this.waitFor(what, record, ready, extraLog),
    });
  }

  private builtSettings(): (BuildSettings & { management?: ManagementLink | null }) | null {
    try {
      const marker = JSON.parse(readFileSync(this.markerFile, "utf8")) as Partial<BuildSettings> & { management?: ManagementLink | null };
      return { ...DEFAULT_SETTINGS, ...marker };
    } catch {
      return null;
    }
  }

  private managementLink(): ManagementLink | null {
    return this.builtSettings()?.management ?? null;
  }

  get truthFile(): string {
    return join(this.stateDir, "truth.jsonl");
  }

  /** The router's FIB changes for the IPv6 anycast /128 (truth.jsonl's twin). */
  get truth6File(): string {
    return join(this.stateDir, "truth6.jsonl");
  }

  private truthFileOf(family: AnycastFamily): string {
    return family === 6 ? this.truth6File : this.truthFile;
  }

  get eventsFile(): string {
    return join(this.stateDir, "events.jsonl");
  }

  /** The lab CA (PEM) every PoP's certificate chains to. */
  get caFile(): string {
    return join(this.stateDir, "pki", "ca.crt");
  }

  /** popwatch.lab.json with the lab CA filled in (written by `up`). */
  get popwatchConfigFile(): string {
    return join(this.stateDir, "popwatch.lab.json");
  }

  /** Where `npm run lab` keeps popwatch's embedded store. */
  get dataDir(): string {
    return join(this.stateDir, "data");
  }

  private get markerFile(): string {
    return join(this.stateDir, "lab.json");
  }

  private popDir(pop: PopName, part: "dns" | "nginx" | "bgp"): string {
    return join(this.stateDir, pop, part);
  }

  private get routerDir(): string {
    return join(this.stateDir, "router");
  }

  // ---------------------------------------------------------------- public API

  /**
   * Brings the lab up and waits until the router forwards the anycast address
   * to the preferred PoP with every session established. Idempotent: on a
   * complete lab it only repairs injected faults; on a partial one (a crash,
   * stale PID files, leftover namespaces) it tears down and rebuilds.
   */
  async up(): Promise<LabStatus> {
    checkPrerequisites();
    if (this.options.router === "frr") checkFrrPrerequisites();
    if (await this.isComplete()) {
      this.options.log("lab already up: healing any injected faults");
      for (const pop of POP_NAMES) await this.repair(pop);
      if (this.options.rogue) await this.rogue.withdrawAll();
    } else {
      await this.down();
      await this.build();
    }
    await this.waitConverged();
    return this.status();
  }

  /** Stops everything the lab started and deletes its namespaces. Safe when nothing is up. Keeps logs and truth.jsonl. */
  async down(): Promise<void> {
    const records = listRecords(this.stateDir);
    // The client's popwatch first: it should not record the lab's teardown as an outage.
    const first = records.filter((r) => r.name === "client.popwatch");
    await Promise.all(first.map((r) => stopTracked(this.stateDir, r, { graceMs: 5_000 })));
    await Promise.all(records.filter((r) => !first.includes(r)).map((r) => stopTracked(this.stateDir, r)));
    for (const ns of await this.existingNamespaces()) {
      await emptyNamespace(ns);
      await run(["ip", "netns", "del", ns]);
    }
    const left = await this.existingNamespaces();
    if (left.length > 0) throw new LabError("command_failed", `namespaces left after teardown: ${left.join(", ")}`);
    rmSync(this.markerFile, { force: true });
  }

  /** Injects a failure at a PoP; returns when it took effect, stamped just before. */
  async fail(pop: PopName, mode: FailureMode): Promise<LabEvent> {
    this.requirePop(pop);
    await this.requireUp();
    const spec = popSpec(pop);
    let event: LabEvent;
    switch (mode) {
      case "dns-stop": {
        const record = readRecord(this.stateDir, `${pop}.dns`);
        event = this.event("fail", pop, mode);
        if (record) await stopTracked(this.stateDir, record);
        break;
      }
      case "bgp-kill": {
        const record = readRecord(this.stateDir, `${pop}.bgp`);
        event = this.event("fail", pop, mode);
        if (record) await stopTracked(this.stateDir, record, { signal: "SIGKILL" });
        break;
      }
      case "bgp-freeze": {
        const record = readRecord(this.stateDir, `${pop}.bgp`);
        event = this.event("fail", pop, mode);
        if (record) signalRecord(record, "SIGSTOP");
        break;
      }
      case "link-down": {
        event = this.event("fail", pop, mode);
        await runChecked(["ip", "-n", this.ns(pop), "link", "set", spec.link.peerIf, "down"]);
        break;
      }
      case "blackhole": {
        const file = join(this.stateDir, pop, "blackhole.nft");
        writeFileSync(file, blackholeRuleset(spec));
        event = this.event("fail", pop, mode);
        await runChecked(["ip", "netns", "exec", this.ns(pop), "nft", "-f", file]);
        break;
      }
    }
    appendFileSync(this.eventsFile, `${JSON.stringify(event)}\n`);
    return event;
  }

  /** Undoes every failure mode at a PoP (restarting what was stopped or killed). */
  async heal(pop: PopName): Promise<LabEvent> {
    this.requirePop(pop);
    await this.requireUp();
    const event = this.event("heal", pop);
    await this.repair(pop);
    appendFileSync(this.eventsFile, `${JSON.stringify(event)}\n`);
    return event;
  }

  /** The router's route changes so far (truth.jsonl; truth6.jsonl for the IPv6 anycast address), oldest first. */
  truth(family: AnycastFamily = 4): RouteChange[] {
    return readTruth(this.truthFileOf(family));
  }

  /**
   * Every announcement, withdrawal and session state change the router has
   * received so far, from its MRT dump decoded by `bgpdump -m`, oldest first.
   * Stamps: microseconds with FRR, whole seconds with BIRD.
   */
  async bgpChanges(): Promise<BgpChange[]> {
    if (!hasBgpdump()) throw new LabError("missing_binary", "bgpdump not found: apt-get install bgpdump");
    return readBgpChanges(this.mrtFiles());
  }

  /** The first BGP change at or after `afterMs` matching `predicate`, or null after `timeoutMs` (polls the MRT dump). */
  async waitForBgpChange(
    predicate: (change: BgpChange) => boolean,
    options: { afterMs?: number; timeoutMs?: number } = {},
  ): Promise<BgpChange | null> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    // BIRD stamps whole seconds: a change in the fault's second may carry a stamp before it.
    const slackMs = this.options.router === "bird" ? 1_000 : 0;
    const afterMs = (options.afterMs ?? 0) - slackMs;
    for (;;) {
      const hit = (await this.bgpChanges()).find((c) => c.atMs >= afterMs && predicate(c));
      if (hit) return hit;
      if (Date.now() >= deadline) return null;
      await sleep(100);
    }
  }

  /**
   * The router's truth for a fault injected with `fail`: its first BGP change
   * about the PoP (a withdrawal or the session going down, from the MRT dump)
   * and its first forwarding change away from the PoP (the FIB, truth.jsonl).
   * Waits up to `timeoutMs` for each; a black hole has neither.
   */
  async routerConvergence(fault: LabEvent, options: { timeoutMs?: number } = {}): Promise<RouterConvergence> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const peer = popSpec(fault.pop).link.peerAddress;
    // The IPv4 route's: the session also carries the IPv6 /128, withdrawn by its own health check.
    const aboutIpv4 = (c: BgpChange) => c.prefix === null || !c.prefix.includes(":");
    const [firstBgpChange, installed] = await Promise.all([
      this.waitForBgpChange((c) => c.peer === peer && isLoss(c) && aboutIpv4(c), { afterMs: fault.atMs, timeoutMs }),
      this.waitForChange((c) => c.pop !== fault.pop, { afterMs: fault.atMs, timeoutMs }),
    ]);
    return {
      fault,
      firstBgpChange,
      installed,
      bgpMs: firstBgpChange ? firstBgpChange.atMs - fault.atMs : null,
      installMs: installed ? installed.atMs - fault.atMs : null,
    };
  }

  /** Runs a command inside a node's namespace. */
  exec(node: LabNode, argv: string[], options: { timeoutMs?: number } = {}): Promise<CommandResult> {
    return run(["ip", "netns", "exec", this.ns(node), ...argv], options);
  }

  /**
   * Asks the anycast address for the lab zone's SOA with dig from a node (the
   * client by default) and returns the NSID that answered, or null on no answer.
   */
  async queryNsid(
    from: LabNode = "client",
    options: { tcp?: boolean; timeoutS?: number; family?: AnycastFamily } = {},
  ): Promise<string | null> {
    const result = await this.exec(from, [
      "dig",
      `@${options.family === 6 ? ANYCAST_ADDRESS_V6 : ANYCAST_ADDRESS}`,
      LAB_ZONE,
      "SOA",
      "+nsid",
      "+norec",
      `+time=${options.timeoutS ?? 1}`,
      "+tries=1",
      options.tcp ? "+tcp" : "+notcp",
    ]);
    if (result.code !== 0 || !/status: NOERROR/.test(result.stdout)) return null;
    return /; NSID: [0-9a-f ]*\("([^"]*)"\)/.exec(result.stdout)?.[1] ?? null;
  }

  /**
   * Waits for the truth log to show the router forwarding to `pop` (null: no
   * route) in an entry at or after `afterMs`; returns that entry.
   */
  async waitForRoute(
    pop: PopName | null,
    options: { afterMs?: number; timeoutMs?: number; family?: AnycastFamily } = {},
  ): Promise<RouteChange> {
    const found = await this.waitForChange((c) => c.pop === pop, options);
    if (!found)
      throw new LabError(
        "not_ready",
        `router did not switch ${options.family === 6 ? "IPv6 " : ""}to ${pop ?? "no route"} within ${options.timeoutMs ?? 10_000} ms\n${this.diagnostics()}`,
      );
    return found;
  }

  /** The first truth entry (of `family`, default 4) at or after `afterMs` matching `predicate`, or null after `timeoutMs`. */
  async waitForChange(
    predicate: (change: RouteChange) => boolean,
    options: { afterMs?: number; timeoutMs?: number; family?: AnycastFamily } = {},
  ): Promise<RouteChange | null> {
    const { afterMs } = options;
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    for (;;) {
      const changes = this.truth(options.family);
      // Without `afterMs` the route as it stands (the last entry) is what counts.
      const hit = afterMs === undefined ? changes.slice(-1).find(predicate) : changes.find((c) => c.atMs >= afterMs && predicate(c));
      if (hit) return hit;
      if (Date.now() >= deadline) return null;
      await sleep(20);
    }
  }

  /**
   * Fails `pop` with `mode`, measures how long the router took to move off
   * it, heals it and measures the way back. For "blackhole" no change is
   * expected (the PoP keeps announcing), so `waitMs` passes without one.
   */
  async measure(pop: PopName, mode: FailureMode, options: { waitMs?: number; heal?: boolean } = {}): Promise<Convergence> {
    const waitMs = options.waitMs ?? 10_000;
    const before = this.truth().at(-1);
    if (before?.pop !== pop)
      throw new LabError("invalid_argument", `router forwards to ${before?.pop ?? "nothing"}, not ${pop}: nothing to fail over from`);
    const fault = await this.fail(pop, mode);
    const change = await this.waitForChange((c) => c.pop !== pop, { afterMs: fault.atMs, timeoutMs: waitMs });
    const result: Convergence = { pop, mode, fault, change, convergenceMs: change ? change.atMs - fault.atMs : null };
    if (options.heal ?? true) {
      const heal = await this.heal(pop);
      const recovery = change ? await this.waitForChange((c) => c.pop === pop, { afterMs: heal.atMs, timeoutMs: 20_000 }) : null;
      Object.assign(result, { heal, recovery, recoveryMs: recovery ? recovery.atMs - heal.atMs : null });
      await this.waitConverged();
    }
    return result;
  }

  async status(): Promise<LabStatus> {
    const up = await this.isComplete();
    const routes = up ? await this.router.routes(this.announcedPrefix) : [];
    const sessions = up ? await this.router.sessions() : new Map<string, string>();
    const pops: PopStatus[] = [];
    for (const spec of POPS) {
      const state = (part: string): ProcessState => {
        const record = readRecord(this.stateDir, `${spec.name}.${part}`);
        return record ? processState(record) : "gone";
      };
      pops.push({
        name: spec.name,
        dnsServer: spec.dns,
        dns: state("dns"),
        nginx: state("nginx"),
        speaker: state("bgp"),
        session: sessions.get(spec.name) ?? "unknown",
        link: up && (await this.linkUp(spec)) ? "up" : "down",
        blackhole: up ? await this.hasBlackhole(spec) : false,
      });
    }
    const changes = this.truth();
    const last = changes.at(-1);
    return {
      up,
      name: this.name,
      stateDir: this.stateDir,
      best: routes.find((r) => r.best) ?? null,
      routes,
      fib: last ? { pop: last.pop, nextHop: last.nextHop, dev: last.dev } : { pop: null, nextHop: null, dev: null },
      pops,
      recentChanges: changes.slice(-10),
      router: this.options.router,
      announced: this.announcedPrefix,
      rogue: this.options.rogue && up ? { session: sessions.get(ROGUE) ?? "unknown", announcements: this.rogue.announcements() } : null,
      processes: listRecords(this.stateDir).map((r) => ({ name: r.name, pid: r.pid, state: processState(r) })),
    };
  }

  /** Records a process the caller runs in the client namespace (the CLI's foreground popwatch), so `down` stops it after a crash. */
  registerClientProcess(pid: number): ProcessRecord {
    return trackProcess({
      stateDir: this.stateDir,
      name: "client.popwatch",
      namespace: this.ns("client"),
      pid,
      argv: ["popwatch"],
      logFile: "/dev/null",
    });
  }

  // ---------------------------------------------------------------- building

  private async existingNamespaces(): Promise<string[]> {
    const listed = await run(["ip", "netns", "list"]);
    // Every node a lab of this name may have, so that a rebuild without the rogue still removes its namespace.
    const mine = new Set(LAB_NODES.map((n) => this.ns(n)));
    return listed.stdout
      .split("\n")
      .map((line) => line.split(" ")[0] ?? "")
      .filter((ns) => mine.has(ns));
  }

  /** Namespaces, router, truth watcher and web servers in place; DNS and speakers may be failed on purpose. */
  private async isComplete(): Promise<boolean> {
    const built = this.builtSettings();
    if (!built) return false;
    // A lab built otherwise (another router, the rogue, BMP) is rebuilt as asked.
    const { router, announce, rogue, bmp } = this.options;
    if (JSON.stringify([built.router, built.announce, built.rogue, built.bmp]) !== JSON.stringify([router, announce, rogue, bmp]))
      return false;
    if ((await this.existingNamespaces()).length !== this.nodes.length) return false;
    const required = [
      "truth",
      "truth6",
      ...this.router.processNames,
      ...POP_NAMES.map((p) => `${p}.nginx`),
      ...(rogue ? ["rogue.bird"] : []),
    ];
    return required.every((name) => {
      const record = readRecord(this.stateDir, name);
      return record !== null && processState(record) === "running";
    });
  }

  private async build(): Promise<void> {
    const started = Date.now();
    // Only what the lab writes: the directory may be one the user named.
    for (const entry of STATE_ENTRIES) rmSync(join(this.stateDir, entry), { recursive: true, force: true });
    mkdirSync(this.stateDir, { recursive: true });
    const management = this.options.bmp?.at === "host" ? await freeManagementLink(this.name) : null;
    await buildNetwork((node) => this.ns(node), { nodes: this.nodes, management });
    await createPki(join(this.stateDir, "pki"));
    this.writePopwatchConfig();
    this.options.log(`network built in ${Date.now() - started} ms`);
    await this.startTruthWatchers();
    // The marker first: the router's BMP target and the rogue read the settings from it.
    const { router, announce, rogue, bmp } = this.options;
    const settings = { router, announce, rogue, bmp, management };
    writeFileSync(
      this.markerFile,
      `${JSON.stringify({ name: this.name, builtAt: new Date().toISOString(), timers: this.options.timers, healthIntervalS: this.options.healthIntervalS, ...settings }, null, 2)}\n`,
    );
    mkdirSync(this.routerDir, { recursive: true });
    await this.router.start();
    await Promise.all([...POPS.map((pop) => this.startPop(pop)), ...(rogue ? [this.rogue.start()] : [])]);
    this.options.log(`daemons started in ${Date.now() - started} ms`);
  }

  /** The checked-in config cannot hold a CA made at setup: trust it in a copy. */
  private writePopwatchConfig(): void {
    const config = JSON.parse(readFileSync(POPWATCH_CONFIG_TEMPLATE, "utf8")) as {
      targets: Array<{ probes: Record<string, { ca?: string[] } | undefined> }>;
    };
    const ca = readFileSync(this.caFile, "utf8");
    for (const target of config.targets) {
      for (const kind of ["tls", "http"]) {
        const probe = target.probes[kind];
        if (probe) probe.ca = [...(probe.ca ?? []), ca];
      }
    }
    writeFileSync(this.popwatchConfigFile, `${JSON.stringify(config, null, 2)}\n`);
  }

  private async startTruthWatchers(): Promise<void> {
    const script = join(REPO_ROOT, "test/lab/truth-watcher.ts");
    const start = async (family: AnycastFamily): Promise<void> => {
      const suffix = family === 6 ? "6" : "";
      const record = spawnTracked({
        stateDir: this.stateDir,
        name: `truth${suffix}`,
        namespace: null,
        argv: [process.execPath, "--import", "tsx", script, this.truthFileOf(family), this.ns("router"), String(family)],
        logFile: join(this.stateDir, `truth${suffix}-watcher.log`),
        cwd: REPO_ROOT,
      });
      await this.waitFor(`the IPv${family} truth watcher's initial entry`, record, async () => this.truth(family).length > 0);
    };
    await Promise.all([start(4), start(6)]);
  }

  private async startPop(pop: PopSpec): Promise<void> {
    await this.startDns(pop);
    await this.startNginx(pop);
    await this.startSpeaker(pop);
  }

  private async startDns(pop: PopSpec): Promise<void> {
    const dir = this.popDir(pop.name, "dns");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${LAB_ZONE}.zone`), zoneFile());
    const conf = join(dir, `${pop.dns}.conf`);
    writeFileSync(conf, dnsConf(pop, dir));
    const dnsDaemon = DNS_DAEMONS[pop.dns];
    const argv = [labBinary(dnsDaemon.bin), ...dnsDaemon.args(conf)];
    const record = spawnTracked({
      stateDir: this.stateDir,
      name: `${pop.name}.dns`,
      namespace: this.ns(pop.name),
      argv,
      logFile: join(dir, `${pop.dns}.log`),
    });
    await this.waitFor(
      `${pop.dns} at ${pop.name} answering with NSID ${pop.identity}`,
      record,
      async () => (await this.queryNsid(pop.name)) === pop.identity,
    );
  }

  private async startNginx(pop: PopSpec): Promise<void> {
    const dir = this.popDir(pop.name, "nginx");
    mkdirSync(join(dir, "tmp"), { recursive: true });
    const conf = join(dir, "nginx.conf");
    const pki = join(this.stateDir, "pki");
    writeFileSync(conf, nginxConf(pop, dir, { certFile: join(pki, "leaf.crt"), keyFile: join(pki, "leaf.key") }));
    const record = spawnTracked({
      stateDir: this.stateDir,
      name: `${pop.name}.nginx`,
      namespace: this.ns(pop.name),
      // -e: the error log before the config is read (else /var/log/nginx/error.log); -p: prefix.
      argv: [labBinary("nginx"), "-p", `${dir}/`, "-e", join(dir, "nginx-error.log"), "-c", conf],
      logFile: join(dir, "nginx.log"),
    });
    await this.waitFor(
      `nginx at ${pop.name}`,
      record,
      async () => (await this.httpServedBy(pop.name)) === pop.name,
      join(dir, "nginx-error.log"),
    );
  }

  private async startSpeaker(pop: PopSpec): Promise<void> {
    const dir = this.popDir(pop.name, "bgp");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "state-change.sh"), stateChangeScript(dir));
    for (const family of [4, 6] as const) {
      writeFileSync(join(dir, checkScriptFile(family)), checkScript(family));
      chmodSync(join(dir, checkScriptFile(family)), 0o755);
      writeFileSync(
        join(dir, healthcheckFile(family)),
        healthcheckConf(pop, dir, this.options.healthIntervalS, this.announcedPrefix, family),
      );
    }
    const conf = join(dir, "exabgp.conf");
    writeFileSync(conf, exabgpConf(pop, dir, this.options.timers.holdS, this.announcedPrefix));
    spawnTracked({
      stateDir: this.stateDir,
      name: `${pop.name}.bgp`,
      namespace: this.ns(pop.name),
      // Debian's python: the exabgp module is installed for it, not for any other python on PATH.
      argv: ["/usr/bin/python3", "-m", "exabgp", conf],
      logFile: join(dir, "exabgp.log"),
      cwd: dir,
      env: { ...process.env, ...exabgpEnv(pop), TZ: "UTC" },
    });
  }

  /** Undoes every fault at a PoP; a no-op on a healthy one. */
  private async repair(pop: PopName): Promise<void> {
    const spec = popSpec(pop);
    const ns = this.ns(pop);
    if (await this.hasBlackhole(spec)) await runChecked(["ip", "netns", "exec", ns, "nft", "delete", "table", "inet", BLACKHOLE_TABLE]);
    if (!(await this.linkUp(spec))) {
      await runChecked(["ip", "-n", ns, "link", "set", spec.link.peerIf, "up"]);
    }
    // Taking the link down flushed the PoP's default routes.
    await runChecked(["ip", "-n", ns, "route", "replace", "default", "via", spec.link.routerAddress]);
    await runChecked(["ip", "-n", ns, "-6", "route", "replace", "default", "via", spec.link.routerAddress6]);
    const dns = readRecord(this.stateDir, `${pop}.dns`);
    if (!dns || processState(dns) === "gone") await this.startDns(spec);
    const nginx = readRecord(this.stateDir, `${pop}.nginx`);
    if (!nginx || processState(nginx) === "gone") await this.startNginx(spec);
    const speaker = readRecord(this.stateDir, `${pop}.bgp`);
    const speakerState = speaker ? processState(speaker) : "gone";
    if (speaker && speakerState === "stopped") signalRecord(speaker, "SIGCONT");
    if (speakerState === "gone") {
      // A killed speaker can leave its health-check child behind.
      if (speaker) await stopTracked(this.stateDir, speaker, { signal: "SIGKILL" });
      await this.startSpeaker(spec);
    }
  }

  /** Every session established, every PoP's path known, the FIB on the preferred PoP. */
  private async waitConverged(): Promise<void> {
    const deadline = Date.now() + this.options.readyTimeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      const sessions = await this.router.sessions();
      const routes = await this.router.routes(this.announcedPrefix);
      const routes6 = await this.router.routes(ANYCAST_PREFIX_V6);
      const fib = this.truth().at(-1)?.pop ?? null;
      const fib6 = this.truth(6).at(-1)?.pop ?? null;
      const peers = routerPeers(this.options.rogue);
      const established = peers.every((p) => sessions.get(p.name) === "Established");
      const best = routes.find((r) => r.best)?.pop ?? null;
      const best6 = routes6.find((r) => r.best)?.pop ?? null;
      last = `sessions ${peers.map((p) => `${p.name}=${sessions.get(p.name) ?? "?"}`).join(" ")}; paths ${routes.length}; best ${best}; fib ${fib}; IPv6 paths ${routes6.length}; best ${best6}; fib ${fib6}`;
      const v4Ready = routes.length === POPS.length && best === PREFERRED_POP && fib === PREFERRED_POP;
      const v6Ready = routes6.length === POPS.length && best6 === PREFERRED_POP && fib6 === PREFERRED_POP;
      if (established && v4Ready && v6Ready) {
        if ((await this.queryNsid("client")) === PREFERRED_POP && (await this.queryNsid("client", { family: 6 })) === PREFERRED_POP) return;
      }
      await sleep(50);
    }
    throw new LabError("not_ready", `routing did not converge within ${this.options.readyTimeoutMs} ms (${last})\n${this.diagnostics()}`);
  }

  private async waitFor(what: string, record: ProcessRecord, ready: () => Promise<boolean>, extraLog?: string): Promise<void> {
    const logs = (): string => `${logTail(record.logFile, 20)}${extraLog ? `\n--- ${extraLog}:\n${logTail(extraLog, 20)}` : ""}`;
    const deadline = Date.now() + this.options.readyTimeoutMs;
    while (Date.now() < deadline) {
      if (await ready()) return;
      if (processState(record) === "gone") {
        throw new LabError("not_ready", `${record.name} exited before ${what}:\n${logs()}`);
      }
      await sleep(25);
    }
    throw new LabError("not_ready", `timed out waiting for ${what}:\n${logs()}`);
  }

  // ---------------------------------------------------------------- inspection

  private async linkUp(spec: PopSpec): Promise<boolean> {
    const result = await run(["ip", "-n", this.ns(spec.name), "-j", "link", "show", spec.link.peerIf]);
    if (result.code !== 0) return false;
    const links = JSON.parse(result.stdout || "[]") as Array<{ flags?: string[] }>;
    return links[0]?.flags?.includes("UP") ?? false;
  }

  private async hasBlackhole(spec: PopSpec): Promise<boolean> {
    const result = await this.exec(spec.name, ["nft", "list", "tables"]);
    return result.stdout.includes(BLACKHOLE_TABLE);
  }

  /** The X-Served-By header of a plain-HTTP GET of the anycast address from `from`, or null. */
  async httpServedBy(from: LabNode, family: AnycastFamily = 4): Promise<string | null> {
    // bash's /dev/tcp: no HTTP client to install in the namespace.
    // Generous: on a machine shared with other test runs (load 15-20 on 2 cores) spawning the namespace's
    // bash and a loopback exchange took over 3 s, and a readiness wait of 30 s never saw an answer.
    const script = `exec 3<>/dev/tcp/${family === 6 ? ANYCAST_ADDRESS_V6 : ANYCAST_ADDRESS}/80 && printf 'GET / HTTP/1.0\\r\\nHost: ${LAB_HOSTNAME}\\r\\n\\r\\n' >&3 && timeout 4 cat <&3`;
    // --norc, -p: no ~/.bashrc (bash reads it when stdin is a socket, as node's pipes are) and no $BASH_ENV.
    // A ~/.bashrc running `pyenv init` made every check wait on pyenv-rehash's lock
    // (three checks at once contend for it) until the readiness wait ran out.
    const result = await this.exec(from, ["bash", "--norc", "-p", "-c", script], { timeoutMs: 6_000 });
    return /^x-served-by:\s*(\S+)/im.exec(result.stdout)?.[1] ?? null;
  }

  private diagnostics(): string {
    const tails = [...this.router.logFiles, ...POP_NAMES.map((p) => join(this.popDir(p, "bgp"), "exabgp.log"))];
    return tails.map((file) => `--- ${file}:\n${logTail(file, 8)}`).join("\n");
  }

  private event(event: "fail" | "heal", pop: PopName, mode?: FailureMode): LabEvent {
    return { event, pop, ...(mode ? { mode } : {}), ...stamp() };
  }

  private requirePop(pop: string): asserts pop is PopName {
    if (!isPopName(pop)) throw new LabError("invalid_argument", `unknown PoP ${JSON.stringify(pop)}: one of ${POP_NAMES.join(", ")}`);
  }

  private async requireUp(): Promise<void> {
    if (!(await this.isComplete())) throw new LabError("not_up", `lab ${this.name} is not up (run: npm run lab -- up)`);
  }
}

// ---------------------------------------------------------------------------
// Module-level API over one lab: `up(options)` picks it, the rest follow.

let current: Lab | null = null;

function lab(): Lab {
  current ??= new Lab();
  return current;
}

export function up(options: LabOptions = {}): Promise<LabStatus> {
  current = new Lab(options);
  return current.up();
}

export function down(): Promise<void> {
  return lab().down();
}

export function fail(pop: PopName, mode: FailureMode): Promise<LabEvent> {
  return lab().fail(pop, mode);
}

export function heal(pop: PopName): Promise<LabEvent> {
  return lab().heal(pop);
}

export function truth(): RouteChange[] {
  return lab().truth();
}

export function exec(node: LabNode, argv: string[]): Promise<CommandResult> {
  return lab().exec(node, argv);
}

export function status(): Promise<LabStatus> {
  return lab().status();
}

/** The lab the module-level functions act on. */
export function currentLab(): Lab {
  return lab();
}
