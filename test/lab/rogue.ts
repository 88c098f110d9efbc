// The rogue PoP: a namespace behind the router with its own BGP speaker
// (BIRD, AS65666) that announces nothing until a test tells it to, then
// whatever prefix of the anycast range from whatever origin AS it is told.
// It holds the anycast address and answers DNS for the lab zone with NSID
// "rogue", so a hijack that wins the router's best path shows in the client's
// answers too.
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { nsdConfText } from "../support/server-configs";
import { type BgpTimers, type RogueAnnouncement, rogueBirdConf, zoneFile } from "./configs";
import { LabError } from "./errors";
import { type CommandResult, type ProcessRecord, run, runChecked, spawnTracked } from "./procs";
import { labBinary } from "./setup";
import { ANYCAST_ADDRESS, ANYCAST_RANGE, LAB_ZONE, ROGUE, ROGUE_ASN } from "./topology";
import { coveringPrefix } from "./truth";

export type { RogueAnnouncement } from "./configs";

/** An announcement or withdrawal by the rogue, stamped just before the speaker was told (in events.jsonl beside the faults). */
export interface RogueEvent {
  event: "announce" | "withdraw";
  pop: typeof ROGUE;
  prefix: string;
  /** The origin AS announced; absent on a withdrawal. */
  originAs?: number;
  at: string;
  atMs: number;
}

export interface RogueContext {
  stateDir: string;
  namespace: string;
  timers: BgpTimers;
  eventsFile: string;
  waitFor: (what: string, record: ProcessRecord, ready: () => Promise<boolean>, extraLog?: string) => Promise<void>;
}

/** A prefix inside the anycast range (/24 to /32), normalized; throws invalid_argument otherwise. */
export function roguePrefix(prefix: string): string {
  const [host = "", lengthText = ""] = prefix.split("/");
  const bits = Number(lengthText);
  const rangeBits = Number(ANYCAST_RANGE.split("/")[1]);
  // Inside the range, and a network address: BIRD rejects "203.0.113.53/24".
  const ok = /^\d{1,2}$/.test(lengthText) && bits >= rangeBits && bits <= 32 && isNetworkAddress(host, bits);
  if (!ok || coveringPrefix(ANYCAST_RANGE, host) === null)
    throw new LabError(
      "invalid_argument",
      `rogue prefixes must be networks inside ${ANYCAST_RANGE} (/24 to /32), got ${JSON.stringify(prefix)}`,
    );
  return `${host}/${bits}`;
}

function isNetworkAddress(host: string, bits: number): boolean {
  const octets = host.split(".").map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) return false;
  const value = octets.reduce((acc, o) => acc * 256 + o, 0);
  return value % 2 ** (32 - bits) === 0;
}

export class Rogue {
  constructor(private readonly context: RogueContext) {}

  private get dir(): string {
    return join(this.context.stateDir, ROGUE);
  }

  private get socket(): string {
    return join(this.dir, "bird.ctl");
  }

  private get stateFile(): string {
    return join(this.dir, "announcements.json");
  }

  /** What the rogue announces now. */
  announcements(): RogueAnnouncement[] {
    try {
      return JSON.parse(readFileSync(this.stateFile, "utf8")) as RogueAnnouncement[];
    } catch {
      return [];
    }
  }

  /**
   * Announces `prefix` (inside 203.0.113.0/24) with an AS path ending in
   * `originAs` (default AS65666, the rogue's own); replaces an earlier
   * announcement of the same prefix. Returns once BIRD has taken the new
   * configuration; the router sees it within milliseconds (see bgpChanges()).
   */
  async announce(announcement: { prefix: string; originAs?: number }): Promise<RogueEvent> {
    const prefix = roguePrefix(announcement.prefix);
    const originAs = announcement.originAs ?? ROGUE_ASN;
    if (!Number.isInteger(originAs) || originAs < 1 || originAs > 4_294_967_295)
      throw new LabError("invalid_argument", `originAs must be an AS number, got ${originAs}`);
    const next = [...this.announcements().filter((a) => a.prefix !== prefix), { prefix, originAs }];
    return this.apply(next, { event: "announce", pop: ROGUE, prefix, originAs });
  }

  /** Withdraws `prefix`; a no-op (still recorded) when it was not announced. */
  async withdraw(prefix: string): Promise<RogueEvent> {
    const normalized = roguePrefix(prefix);
    const next = this.announcements().filter((a) => a.prefix !== normalized);
    return this.apply(next, { event: "withdraw", pop: ROGUE, prefix: normalized });
  }

  /** Withdraws everything. */
  async withdrawAll(): Promise<void> {
    for (const a of this.announcements()) await this.withdraw(a.prefix);
  }

  private async apply(next: RogueAnnouncement[], event: Omit<RogueEvent, "at" | "atMs">): Promise<RogueEvent> {
    writeFileSync(join(this.dir, "bird.conf"), rogueBirdConf(this.dir, this.context.timers, next));
    writeFileSync(this.stateFile, `${JSON.stringify(next)}\n`);
    const atMs = Date.now();
    const stamped: RogueEvent = { ...event, at: new Date(atMs).toISOString(), atMs };
    const result = await this.birdc(["configure"]);
    if (result.code !== 0 || !/Reconfigured|Reconfiguration in progress/.test(result.stdout))
      throw new LabError("command_failed", `rogue: birdc configure failed: ${result.stdout.trim()} ${result.stderr.trim()}`);
    appendFileSync(this.context.eventsFile, `${JSON.stringify(stamped)}\n`);
    return stamped;
  }

  private birdc(args: string[]): Promise<CommandResult> {
    return run(["birdc", "-s", this.socket, ...args], { timeoutMs: 5_000 });
  }

  /** The rogue's session to the router, as BIRD sees it ("Established", "Active", ...). */
  async session(): Promise<string> {
    const text = (await this.birdc(["show", "protocols"])).stdout;
    return /^upstream\s+BGP\s+\S+\s+\S+\s+\S+ \S+\s*(\S*)/m.exec(text)?.[1] ?? "unknown";
  }

  /** Starts the rogue's DNS server and its speaker (announcing nothing). */
  async start(): Promise<void> {
    const { stateDir, namespace, timers, waitFor } = this.context;
    const dir = this.dir;
    mkdirSync(join(dir, "dns"), { recursive: true });
    await runChecked(["ip", "-n", namespace, "addr", "replace", `${ANYCAST_ADDRESS}/32`, "dev", "lo"]);
    writeFileSync(join(dir, "dns", `${LAB_ZONE}.zone`), zoneFile());
    const nsdConf = join(dir, "dns", "nsd.conf");
    writeFileSync(
      nsdConf,
      nsdConfText({ identity: ROGUE, nsid: ROGUE, dir: join(dir, "dns"), listen: [`${ANYCAST_ADDRESS}@53`], zone: LAB_ZONE }),
    );
    spawnTracked({
      stateDir,
      name: "rogue.dns",
      namespace,
      argv: [labBinary("nsd"), "-d", "-c", nsdConf],
      logFile: join(dir, "dns", "nsd.log"),
    });
    writeFileSync(this.stateFile, "[]\n");
    const conf = join(dir, "bird.conf");
    writeFileSync(conf, rogueBirdConf(dir, timers, []));
    const record = spawnTracked({
      stateDir,
      name: "rogue.bird",
      namespace,
      argv: [labBinary("bird"), "-f", "-c", conf, "-s", this.socket, "-P", join(dir, "bird.pid")],
      logFile: join(dir, "bird.stderr.log"),
      env: { ...process.env, TZ: "UTC" },
    });
    await waitFor("the rogue's BIRD", record, async () => (await this.birdc(["show", "status"])).code === 0, join(dir, "bird.log"));
  }
}
