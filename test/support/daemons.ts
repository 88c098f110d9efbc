// Finding, starting, supervising and stopping daemons for tests and the lab.
//
// A daemon is spawned in its own session and process group, with its output
// appended to a log file. Stopping sends SIGTERM to the recorded PID, waits,
// then SIGKILLs the recorded group. Nothing is ever killed by name.
//
// No vitest import: the lab CLI runs outside the test runner.
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, closeSync, constants as fsConstants, openSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { delimiter, join } from "node:path";

const READY_TIMEOUT_MS = 10_000;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// ---------------------------------------------------------------------------
// Binaries

const SBIN_DIRS = ["/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin", "/usr/local/bin", "/bin"];

/** Absolute path of an executable, searching PATH and the sbin directories (a non-root PATH often lacks them). */
export function findBinary(name: string): string | null {
  const dirs = [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), ...SBIN_DIRS];
  for (const dir of dirs) {
    const file = join(dir, name);
    try {
      accessSync(file, fsConstants.X_OK);
      return file;
    } catch {
      // keep looking
    }
  }
  return null;
}

export class MissingBinaryError extends Error {}

export function requireBinary(name: string, pkg: string): string {
  const file = findBinary(name);
  if (!file) throw new MissingBinaryError(`${name} not found in PATH or sbin directories (Debian package ${pkg})`);
  return file;
}

// ---------------------------------------------------------------------------
// /proc

export interface ProcStat {
  state: string;
  ppid: number;
  pgrp: number;
  /** Field 22 of /proc/PID/stat: clock ticks after boot when the process started (tells a reused PID apart). */
  startTime: string;
}

export function readProcStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // "pid (comm) state ppid pgrp session ... starttime": comm may hold spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0] ?? "", ppid: Number(fields[1]), pgrp: Number(fields[2]), startTime: fields[19] ?? "" };
}

/**
 * Zombies count as gone: a child re-parented to PID 1 can stay a zombie until
 * init reaps it, and still counts for kill(pid, 0).
 */
export function isLive(stat: ProcStat | null): stat is ProcStat {
  return stat !== null && stat.state !== "Z" && stat.state !== "X";
}

/** Every live process by PID. Throws when /proc cannot be read. */
export function liveProcesses(): Map<number, ProcStat> {
  const stats = new Map<number, ProcStat>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(Number(entry));
    if (isLive(stat)) stats.set(Number(entry), stat);
  }
  return stats;
}

/** Whether any live process is left in the process group. */
function groupAlive(pgid: number): boolean {
  let processes: Map<number, ProcStat>;
  try {
    processes = liveProcesses();
  } catch {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  }
  for (const stat of processes.values()) if (stat.pgrp === pgid) return true;
  return false;
}

// ---------------------------------------------------------------------------
// Spawning

/**
 * Starts a command in its own session and process group (pgid === pid), so a
 * stop can reach workers it forks without knowing their PIDs, and a Ctrl-C
 * in this terminal does not. Output goes to `logFile`; the child does not
 * keep this process alive.
 */
export function spawnDetached(argv: string[], options: { logFile: string; cwd: string; env?: NodeJS.ProcessEnv }): ChildProcess {
  const fd = openSync(options.logFile, "a");
  try {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ["ignore", fd, fd],
    });
    // A failed spawn shows as a process that is gone: the caller's readiness check reports it, with the log.
    child.once("error", () => undefined);
    child.unref();
    return child;
  } finally {
    closeSync(fd);
  }
}

export function logTail(file: string, lines = 30): string {
  try {
    const text = readFileSync(file, "utf8").trimEnd();
    return text.split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

// ---------------------------------------------------------------------------
// Supervised daemons: stopped by this process, at the latest when it exits

export interface Daemon {
  name: string;
  pid: number;
  logFile: string;
  child: ChildProcess;
  /** Set once the process has exited. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | null;
  exited: Promise<void>;
}

const live = new Set<Daemon>();
const runDirs = new Set<string>();

// Safety net: if the test process exits or is signalled (Ctrl-C, a CI
// timeout's SIGTERM, a closed terminal's SIGHUP) before teardown, stop the
// daemons synchronously. Only our recorded process groups are signalled.
const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
let exitHookInstalled = false;

function keepRunDirs(): boolean {
  return Boolean(process.env.POPWATCH_KEEP_SERVER_DIR);
}

/** SIGTERM every live daemon's group, wait up to graceMs, SIGKILL what is left, remove run directories. */
function killAllSync(graceMs: number): void {
  const groups = [...live].map((d) => d.pid);
  live.clear();
  for (const g of groups) {
    try {
      process.kill(-g, "SIGCONT");
    } catch {
      /* gone */
    }
    try {
      process.kill(-g, "SIGTERM");
    } catch {
      /* gone */
    }
  }
  const deadline = Date.now() + graceMs;
  while (groups.some(groupAlive) && Date.now() < deadline) sleepSync(25);
  for (const g of groups) {
    if (groupAlive(g)) {
      try {
        process.kill(-g, "SIGKILL");
      } catch {
        /* gone */
      }
    }
  }
  if (!keepRunDirs()) {
    for (const dir of runDirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        /* best effort */
      }
    }
  }
  runDirs.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  killAllSync(1_000);
  for (const s of SIGNALS) process.off(s, onSignal);
  // Keep the signal's usual effect: if nobody else (vitest) handles it, re-raise it.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => killAllSync(500));
  for (const s of SIGNALS) process.on(s, onSignal);
}

/** A private run directory, removed with the daemons if this process dies before `removeRunDir` (unless POPWATCH_KEEP_SERVER_DIR is set). */
export function addRunDir(dir: string): void {
  installExitHook();
  runDirs.add(dir);
}

/** Removes a run directory added with `addRunDir` (kept when POPWATCH_KEEP_SERVER_DIR is set). */
export function removeRunDir(dir: string): void {
  if (!keepRunDirs()) rmSync(dir, { recursive: true, force: true });
  runDirs.delete(dir);
}

export function spawnDaemon(name: string, cmd: string, args: string[], dir: string): Daemon {
  installExitHook();
  const logFile = join(dir, `${name}.log`);
  const child = spawnDetached([cmd, ...args], { logFile, cwd: dir });
  if (child.pid === undefined) throw new Error(`${name}: spawn ${cmd} failed`);
  const daemon: Daemon = {
    name,
    pid: child.pid,
    logFile,
    child,
    exit: null,
    exited: new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        daemon.exit = { code, signal };
        resolve();
      });
    }),
  };
  live.add(daemon);
  return daemon;
}

async function waitExit(d: Daemon, ms: number): Promise<boolean> {
  if (d.exit) return true;
  let timer: NodeJS.Timeout | undefined;
  const done = await Promise.race([
    d.exited.then(() => true),
    new Promise<boolean>((r) => {
      timer = setTimeout(() => r(false), ms);
    }),
  ]);
  clearTimeout(timer);
  return done;
}

/** SIGTERM the recorded PID, wait, SIGKILL its process group if anything survives. */
export async function stopDaemon(d: Daemon, graceMs = 5_000): Promise<void> {
  if (!live.has(d)) return; // already stopped, or killed by the exit/signal safety net
  if (!d.exit) {
    try {
      process.kill(d.pid, "SIGCONT");
    } catch {
      /* gone */
    }
    try {
      process.kill(d.pid, "SIGTERM");
    } catch {
      /* gone */
    }
    if (!(await waitExit(d, graceMs))) {
      try {
        process.kill(-d.pid, "SIGKILL");
      } catch {
        /* gone */
      }
      await waitExit(d, 2_000);
    }
  }
  // Forked workers (nsd's server/xfrd children, nginx workers) normally leave
  // with their parent; give them a moment, then kill what is left of the group.
  for (let i = 0; i < 20 && groupAlive(d.pid); i++) await sleep(50);
  if (groupAlive(d.pid)) {
    try {
      process.kill(-d.pid, "SIGKILL");
    } catch {
      /* gone */
    }
    for (let i = 0; i < 20 && groupAlive(d.pid); i++) await sleep(50);
  }
  live.delete(d);
}

export class StartupError extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
  ) {
    super(message);
  }
}

/**
 * Polls `probe` until it resolves true, the daemon exits, or the deadline
 * passes; then throws a StartupError with the log's tail, saying whether the
 * port was taken (so the caller can retry on another).
 */
export async function waitReady(d: Daemon, what: string, probe: () => Promise<boolean>, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "";
  while (Date.now() < deadline) {
    if (d.exit) break;
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (d.exit) break;
    await sleep(50);
  }
  const tail = logTail(d.logFile);
  const why = d.exit
    ? `exited (code ${d.exit.code}, signal ${d.exit.signal}) before answering`
    : `did not answer ${what} within ${timeoutMs / 1000} s${lastError ? ` (last error: ${lastError})` : ""}`;
  const portInUse = /address (already )?in use|EADDRINUSE|can't bind|could not bind|cannot bind|bind\(\) to .* failed/i.test(tail);
  throw new StartupError(`${d.name} ${why}; log ${d.logFile}:\n${tail}`, portInUse);
}

/**
 * Starts a daemon on ports picked just before it: `pick` chooses them,
 * `spawn` starts the daemon on them, `ready` waits for it (waitReady). When
 * another process took a port in between, the daemon is stopped and the
 * whole start tried again on fresh ports, three times in all; any other
 * failure stops the daemon and is thrown.
 */
export async function startOnFreePorts<P>(
  pick: () => Promise<P>,
  spawn: (ports: P) => Daemon,
  ready: (daemon: Daemon, ports: P) => Promise<void>,
): Promise<{ daemon: Daemon; ports: P }> {
  for (let attempt = 1; ; attempt++) {
    const ports = await pick();
    const daemon = spawn(ports);
    try {
      await ready(daemon, ports);
      return { daemon, ports };
    } catch (err) {
      await stopDaemon(daemon);
      if (err instanceof StartupError && err.portInUse && attempt < 3) continue;
      throw err;
    }
  }
}
