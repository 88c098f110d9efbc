// The lab's router, in one of two implementations behind one interface:
// BIRD 2 (the default, the one the convergence tests were measured on) or
// FRR (zebra + bgpd, which adds BMP). Both write every BGP message they see
// as MRT; both install the best path in the kernel, where the truth watcher
// sees it.
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type BirdRoute, parseBirdRoutes, parseBirdSessions } from "./bird";
import { type BgpTimers, type RouterExports, type RouterPeer, birdConf, frrBgpdConf, zebraConf } from "./configs";
import { LabError } from "./errors";
import { parseFrrRoutes, parseFrrSessions } from "./frr";
import { type CommandResult, type ProcessRecord, run, spawnTracked } from "./procs";
import { labBinary } from "./setup";

export const ROUTER_KINDS = ["bird", "frr"] as const;
export type RouterKind = (typeof ROUTER_KINDS)[number];

export function isRouterKind(value: string): value is RouterKind {
  return (ROUTER_KINDS as readonly string[]).includes(value);
}

/** Where FRR's daemons live on Debian (not on PATH). */
const FRR_DIR = "/usr/lib/frr";

export interface RouterContext {
  stateDir: string;
  /** The router's directory: configs, sockets, logs, the MRT dump. */
  dir: string;
  namespace: string;
  timers: BgpTimers;
  peers: readonly RouterPeer[];
  exports: RouterExports;
  /** Waits until `ready` holds, failing with the log tails if `record` exits first or time runs out. */
  waitFor: (what: string, record: ProcessRecord, ready: () => Promise<boolean>, extraLog?: string) => Promise<void>;
}

export interface Router {
  readonly kind: RouterKind;
  /** PID-file names of the router's daemons; the lab is complete only while all run. */
  readonly processNames: readonly string[];
  /** Writes the configuration, starts the daemons and waits until they answer. */
  start(): Promise<void>;
  /** Peer name (a PoP's, or "rogue") → session state ("Established", "Active", "Connect", ...). */
  sessions(): Promise<Map<string, string>>;
  /** Every path the router has for `prefix`, best first. */
  routes(prefix: string): Promise<BirdRoute[]>;
  /** The router's own log files, for diagnostics. */
  readonly logFiles: readonly string[];
}

export function createRouter(kind: RouterKind, context: RouterContext): Router {
  return kind === "frr" ? new FrrRouter(context) : new BirdRouter(context);
}

/** The MRT files a router has written in `dir` so far (a rotation would add more; the lab writes one). */
export function mrtFilesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".mrt"))
    .sort()
    .map((f) => join(dir, f));
}

class BirdRouter implements Router {
  readonly kind = "bird";
  readonly processNames = ["router.bird"];
  readonly logFiles: readonly string[];

  constructor(private readonly context: RouterContext) {
    this.logFiles = [join(context.dir, "bird.log")];
  }

  private get socket(): string {
    return join(this.context.dir, "bird.ctl");
  }

  private birdc(args: string[]): Promise<CommandResult> {
    return run(["birdc", "-s", this.socket, ...args], { timeoutMs: 5_000 });
  }

  async start(): Promise<void> {
    const { dir, stateDir, namespace, timers, peers, exports } = this.context;
    mkdirSync(dirname(exports.mrtFile), { recursive: true });
    const conf = join(dir, "bird.conf");
    writeFileSync(conf, birdConf(dir, timers, peers, exports));
    const record = spawnTracked({
      stateDir,
      name: "router.bird",
      namespace,
      argv: [labBinary("bird"), "-f", "-c", conf, "-s", this.socket, "-P", join(dir, "bird.pid")],
      logFile: join(dir, "bird.stderr.log"),
      env: { ...process.env, TZ: "UTC" },
    });
    await this.context.waitFor(
      "BIRD's control socket",
      record,
      async () => (await this.birdc(["show", "status"])).code === 0,
      join(dir, "bird.log"),
    );
  }

  async sessions(): Promise<Map<string, string>> {
    const byProtocol = parseBirdSessions((await this.birdc(["show", "protocols"])).stdout);
    return new Map(this.context.peers.flatMap((p) => (byProtocol.has(p.protocol) ? [[p.name, byProtocol.get(p.protocol)!]] : [])));
  }

  async routes(prefix: string): Promise<BirdRoute[]> {
    return parseBirdRoutes((await this.birdc(["show", "route", "for", prefix, "all"])).stdout);
  }
}

class FrrRouter implements Router {
  readonly kind = "frr";
  readonly processNames = ["router.zebra", "router.bgpd"];
  readonly logFiles: readonly string[];

  constructor(private readonly context: RouterContext) {
    this.logFiles = [join(context.dir, "bgpd.log"), join(context.dir, "zebra.log")];
  }

  private vtysh(daemon: "zebra" | "bgpd", command: string): Promise<CommandResult> {
    return run(["vtysh", "--vty_socket", this.context.dir, "-d", daemon, "-c", command], { timeoutMs: 5_000 });
  }

  /**
   * zebra first, then bgpd once zebra answers, then wait until bgpd is
   * zebra's client: sessions that come up before that leave the route
   * uninstalled for seconds (seen about one start in ten).
   */
  async start(): Promise<void> {
    const { dir, stateDir, namespace, timers, peers, exports } = this.context;
    // FRR refuses to run as root: its user must own what it writes (configs, sockets, logs, the MRT dump).
    for (const file of ["zserv.api", "zebra.vty", "bgpd.vty"]) rmSync(join(dir, file), { force: true });
    const zebraFile = join(dir, "zebra.conf");
    const bgpdFile = join(dir, "bgpd.conf");
    writeFileSync(zebraFile, zebraConf(dir));
    writeFileSync(bgpdFile, frrBgpdConf(dir, timers, peers, exports));
    mkdirSync(dirname(exports.mrtFile), { recursive: true });
    const frr = frrIds();
    for (const path of [dir, dirname(exports.mrtFile), zebraFile, bgpdFile]) chownSync(path, frr.uid, frr.gid);
    const common = ["-u", "frr", "-g", "frr", "-P", "0", "--vty_socket", dir, "-z", join(dir, "zserv.api")];
    const env = { ...process.env, TZ: "UTC" };
    const zebra = spawnTracked({
      stateDir,
      name: "router.zebra",
      namespace,
      argv: [join(FRR_DIR, "zebra"), ...common, "-i", join(dir, "zebra.pid"), "-f", zebraFile],
      logFile: join(dir, "zebra.stderr.log"),
      env,
    });
    await this.context.waitFor(
      "zebra's vty",
      zebra,
      async () => (await this.vtysh("zebra", "show version")).code === 0,
      join(dir, "zebra.log"),
    );
    const bgpd = spawnTracked({
      stateDir,
      name: "router.bgpd",
      namespace,
      argv: [join(FRR_DIR, "bgpd"), ...common, "-i", join(dir, "bgpd.pid"), "-f", bgpdFile, "-M", "bmp"],
      logFile: join(dir, "bgpd.stderr.log"),
      env,
    });
    await this.context.waitFor(
      "bgpd as zebra's client",
      bgpd,
      async () => /\bbgp\b/i.test((await this.vtysh("zebra", "show zebra client summary")).stdout),
      join(dir, "bgpd.log"),
    );
  }

  async sessions(): Promise<Map<string, string>> {
    const byAddress = parseFrrSessions((await this.vtysh("bgpd", "show bgp neighbors json")).stdout);
    return new Map(this.context.peers.flatMap((p) => (byAddress.has(p.address) ? [[p.name, byAddress.get(p.address)!]] : [])));
  }

  async routes(prefix: string): Promise<BirdRoute[]> {
    const family = prefix.includes(":") ? "ipv6" : "ipv4";
    return parseFrrRoutes((await this.vtysh("bgpd", `show bgp ${family} unicast ${prefix} json`)).stdout, prefix);
  }
}

function frrIds(): { uid: number; gid: number } {
  const passwd = /^frr:[^:]*:(\d+):(\d+):/m.exec(readFileSync("/etc/passwd", "utf8"));
  if (!passwd) throw new LabError("missing_binary", "no frr user: apt-get install frr");
  return { uid: Number(passwd[1]), gid: Number(passwd[2]) };
}
