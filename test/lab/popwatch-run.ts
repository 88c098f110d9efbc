// popwatch's own code against the lab, from the client namespace: `popwatch
// run` as a child process (the scheduled loop, the agent, the embedded store),
// `popwatch results` and `popwatch probe` as commands. For the end-to-end
// tests (e2e.test.ts) and bench/lab-convergence.ts.
//
// The child runs inside the client's namespace, so its embedded store's
// loopback endpoint is reachable only from there: `popwatch results` is run
// there too (it reads through the running child), and this process opens the
// data directory itself only once the child has stopped (one process per
// LevelDB directory).
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { PopwatchConfigInput, ProbeKind } from "@popwatch/core";
import { type StoredResultRecord, startEmbeddedStore } from "@popwatch/store";
import { LabError } from "./errors";
import { type Lab, REPO_ROOT } from "./lab";
import { removeRecord } from "./procs";
import { ANYCAST_ADDRESS, LAB_HOSTNAME, LAB_ZONE } from "./topology";

export const POPWATCH_BIN = join(REPO_ROOT, "packages/cli/bin/popwatch.mjs");
const POPWATCH_BUNDLE = join(REPO_ROOT, "packages/cli/dist/popwatch.mjs");
/** The target the lab's configuration names. */
export const LAB_TARGET = "lab-anycast";
/** Its IPv6 twin: the same probes of the IPv6 anycast address. */
export const LAB_TARGET_V6 = "lab-anycast-v6";

/**
 * The fastest schedule the config schema allows: rateMinutes ≥ 1 and
 * roundsPerInvocation ≤ 60 make one round a second the floor, and the probe
 * timeout must be shorter than the round.
 */
export const FAST_SCHEDULE = { rateMinutes: 1, roundsPerInvocation: 60, timeoutMs: 500, concurrency: 8 } as const;
export const ROUND_INTERVAL_MS = (FAST_SCHEDULE.rateMinutes * 60_000) / FAST_SCHEDULE.roundsPerInvocation;

/** `npm test` builds the CLI first; a lone run of these tests builds it when it is missing. */
export async function ensureCliBuilt(): Promise<void> {
  if (existsSync(POPWATCH_BUNDLE)) return;
  await promisify(execFile)(process.execPath, [join(REPO_ROOT, "scripts/build.mjs")], { cwd: REPO_ROOT });
}

/**
 * The lab's popwatch configuration (its CA filled in by `up`) probing once a
 * second, with `changes` laid over it (e.g. slos and alerting for an
 * evaluation, or another localRegion). Only the IPv4 target unless `targets`
 * names others: the end-to-end tests count results and pages of one target.
 */
export function fastLabConfig(
  lab: Lab,
  changes: Partial<PopwatchConfigInput> = {},
  targets: readonly string[] = [LAB_TARGET],
): PopwatchConfigInput {
  const base = JSON.parse(readFileSync(lab.popwatchConfigFile, "utf8")) as PopwatchConfigInput;
  return { ...base, targets: base.targets.filter((t) => targets.includes(t.name)), schedule: { ...FAST_SCHEDULE }, ...changes };
}

export function writeConfigFile(file: string, config: PopwatchConfigInput): string {
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
  return file;
}

/** One round as `popwatch run --json` logs it, once its results are written. */
export interface RoundLog {
  round: number;
  slotAt: string;
  slotMs: number;
  results: number;
  ok: number;
  failed: number;
  written: number;
}

/** The end of one invocation (one schedule period), logged after its rollups are written. */
export interface InvocationLog {
  scheduledAtMs: number;
  rounds: number;
  rollupsWritten: number;
  cancelled: boolean;
}

export interface PopwatchRunOptions {
  configFile: string;
  dataDir: string;
}

/** `popwatch run --json` in the lab's client namespace, followed through its structured log. */
export class PopwatchRun {
  readonly rounds: RoundLog[] = [];
  readonly invocations: InvocationLog[] = [];
  private stderr = "";
  private exit: Promise<number>;
  private exited: number | null = null;
  private readonly waiters = new Set<() => void>();

  private constructor(
    lab: Lab,
    private readonly child: ChildProcess,
    readonly options: PopwatchRunOptions,
  ) {
    let pending = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) this.onLine(line);
    });
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-8_000);
    });
    this.exit = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exited = code ?? (signal ? 128 : 1);
        removeRecord(lab.stateDir, "client.popwatch");
        this.notify();
        resolve(this.exited);
      });
    });
  }

  static start(lab: Lab, options: PopwatchRunOptions): PopwatchRun {
    const argv = [process.execPath, POPWATCH_BIN, "run", "--config", options.configFile, "--data-dir", options.dataDir, "--json"];
    // Its own process group: a Ctrl-C meant for the test runner must not stop it half-way through a round.
    const child = spawn("ip", ["netns", "exec", lab.ns("client"), ...argv], {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (child.pid === undefined) throw new LabError("command_failed", `could not start popwatch run in ${lab.ns("client")}`);
    // So that `lab.down()` stops it should this process die first.
    lab.registerClientProcess(child.pid);
    return new PopwatchRun(lab, child, options);
  }

  get running(): boolean {
    return this.exited === null;
  }

  /** Waits for `count` rounds whose slot is at or after `afterMs`; returns them. */
  async waitForRounds(count: number, options: { afterMs?: number; timeoutMs?: number } = {}): Promise<RoundLog[]> {
    const afterMs = options.afterMs ?? Date.now();
    const found = () => {
      const rounds = this.rounds.filter((r) => r.slotMs >= afterMs);
      return rounds.length >= count ? rounds.slice(0, count) : null;
    };
    return this.waitUntil(found, options.timeoutMs ?? count * 1_000 + 10_000, `${count} rounds after ${new Date(afterMs).toISOString()}`);
  }

  /** Waits for the invocation of the period starting at `scheduledAtMs` to end (its rollups written). */
  waitForInvocation(scheduledAtMs: number, options: { timeoutMs?: number } = {}): Promise<InvocationLog> {
    const found = () => this.invocations.find((i) => i.scheduledAtMs === scheduledAtMs) ?? null;
    const timeoutMs = options.timeoutMs ?? Math.max(0, scheduledAtMs + 70_000 - Date.now());
    return this.waitUntil(found, timeoutMs, `the invocation of ${new Date(scheduledAtMs).toISOString()}`);
  }

  /** SIGTERM, as Ctrl-C: probes in flight stop, taken results and rollups are written. Returns the exit status. */
  async stop(): Promise<number> {
    if (this.exited === null) this.child.kill("SIGTERM");
    const timeout = new Promise<"timeout">((resolve) => setTimeout(resolve, 15_000, "timeout").unref());
    const code = await Promise.race([this.exit, timeout]);
    if (code === "timeout") {
      this.child.kill("SIGKILL");
      throw new LabError("not_ready", `popwatch run did not stop within 15 s:\n${this.stderr}`);
    }
    return code;
  }

  /** The child's recent stderr, for failure messages. */
  get log(): string {
    return this.stderr;
  }

  private onLine(line: string): void {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (entry.msg === "round" && typeof entry.slotAt === "string") {
      this.rounds.push({
        round: Number(entry.round),
        slotAt: entry.slotAt,
        slotMs: Date.parse(entry.slotAt),
        results: Number(entry.results),
        ok: Number(entry.ok),
        failed: Number(entry.failed),
        written: Number(entry.written),
      });
    } else if (entry.msg === "invocation") {
      const scheduledAt = entry.scheduledAt;
      this.invocations.push({
        scheduledAtMs: typeof scheduledAt === "number" ? scheduledAt : Date.parse(String(scheduledAt)),
        rounds: Number(entry.rounds),
        rollupsWritten: Number(entry.rollupsWritten),
        cancelled: entry.cancelled === true,
      });
    }
    this.notify();
  }

  private notify(): void {
    for (const wake of this.waiters) wake();
  }

  private waitUntil<T>(found: () => T | null, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const value = found();
        if (value !== null) return finish(() => resolve(value));
        if (this.exited !== null) {
          finish(() => reject(new LabError("not_ready", `popwatch run exited (${this.exited}) before ${what}:\n${this.stderr}`)));
        }
      };
      const timer = setTimeout(
        () => finish(() => reject(new LabError("not_ready", `timed out waiting for ${what}:\n${this.stderr}`))),
        timeoutMs,
      );
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      this.waiters.add(check);
      check();
    });
  }
}

/** `popwatch results --json` in the client namespace: through a running `popwatch run`, or from the directory. */
export async function queryResults(
  lab: Lab,
  dataDir: string,
  window: { fromMs: number; toMs: number },
  options: { kind?: ProbeKind; target?: string } = {},
): Promise<StoredResultRecord[]> {
  const argv = [
    process.execPath,
    POPWATCH_BIN,
    "results",
    "--json",
    "--data-dir",
    dataDir,
    "--target",
    options.target ?? LAB_TARGET,
    "--since",
    new Date(window.fromMs).toISOString(),
    "--until",
    new Date(window.toMs).toISOString(),
    ...(options.kind ? ["--kind", options.kind] : []),
  ];
  const result = await lab.exec("client", argv, { timeoutMs: 30_000 });
  if (result.code !== 0) throw new LabError("command_failed", `popwatch results exited ${result.code}: ${result.stderr.trim()}`);
  return result.stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as StoredResultRecord);
}

/** Results in [from, to) read in this process from a data directory no popwatch process holds. */
export async function readStoredResults(dataDir: string, window: { fromMs: number; toMs: number }): Promise<StoredResultRecord[]> {
  const embedded = await startEmbeddedStore({ dataDir });
  try {
    return await embedded.store.queryResults({ since: window.fromMs, until: window.toMs, target: LAB_TARGET });
  } finally {
    await embedded.close();
  }
}

/** One line of `popwatch probe --json`. */
export interface ProbeLine {
  kind: ProbeKind;
  ok: boolean;
  pop: { id: string; source: string; raw: string } | null;
  nsid?: string | null;
  identity?: Partial<Record<"id.server" | "hostname.bind", string | null>>;
  verified?: boolean;
  headers?: Record<string, string>;
}

/** `popwatch probe` of the anycast address (IPv4 unless given) from the client: every kind, NSID and CHAOS identities, the lab CA trusted. */
export async function probeOnce(lab: Lab, address: string = ANYCAST_ADDRESS): Promise<Map<ProbeKind, ProbeLine>> {
  const result = await lab.exec("client", [
    process.execPath,
    POPWATCH_BIN,
    "probe",
    address,
    "--sni",
    LAB_HOSTNAME,
    "--qname",
    LAB_ZONE,
    "--qtype",
    "SOA",
    "--chaos",
    "--ca",
    lab.caFile,
    "--timeout",
    "2000",
    "--json",
  ]);
  const lines = result.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ProbeLine);
  if (lines.length === 0)
    throw new LabError("command_failed", `popwatch probe printed nothing (exit ${result.code}): ${result.stderr.trim()}`);
  return new Map(lines.map((l) => [l.kind, l]));
}
