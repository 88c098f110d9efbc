// Processes the lab starts: each runs in its own session inside its namespace,
// outlives the command that started it, and is known only by the PID file it
// leaves under <state>/pids. Nothing is ever signalled by name.
//
// A PID file records the kernel's start time of the process too, so a PID
// reused after a crash or reboot is never mistaken for ours.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isLive, liveProcesses, readProcStat, sleep, spawnDetached } from "../support/daemons";
import { LabError } from "./errors";

export interface ProcessRecord {
  /** Unique within the lab, e.g. "pop-a.dns"; names the PID file. */
  name: string;
  /** Namespace it runs in, or null for the host namespace. */
  namespace: string | null;
  pid: number;
  /** Field 22 of /proc/PID/stat: clock ticks after boot when the process started. */
  startTime: string;
  argv: string[];
  logFile: string;
  startedAt: string;
}

export type ProcessState = "running" | "stopped" | "gone";

export function processState(record: Pick<ProcessRecord, "pid" | "startTime">): ProcessState {
  const stat = readProcStat(record.pid);
  if (!isLive(stat) || stat.startTime !== record.startTime) return "gone";
  return stat.state === "T" ? "stopped" : "running";
}

/** Live processes in `pid`'s process group or descended from any of `roots`. */
function treeOf(pid: number, roots: ReadonlyMap<number, string>): Map<number, string> {
  const stats = liveProcesses();
  const members = new Map<number, string>();
  for (const [p, startTime] of roots) {
    if (stats.get(p)?.startTime === startTime) members.set(p, startTime);
  }
  for (const [p, stat] of stats) if (stat.pgrp === pid) members.set(p, stat.startTime);
  // Children may have left the group (setsid/setpgrp); follow parent links to a fixed point.
  let grew = true;
  while (grew) {
    grew = false;
    for (const [p, stat] of stats) {
      if (!members.has(p) && members.has(stat.ppid)) {
        members.set(p, stat.startTime);
        grew = true;
      }
    }
  }
  return members;
}

function signalAll(members: ReadonlyMap<number, string>, signal: NodeJS.Signals): void {
  for (const [p, startTime] of members) {
    if (readProcStat(p)?.startTime !== startTime) continue;
    try {
      process.kill(p, signal);
    } catch {
      // exited meanwhile
    }
  }
}

function pidDir(stateDir: string): string {
  return join(stateDir, "pids");
}

function pidFile(stateDir: string, name: string): string {
  return join(pidDir(stateDir), `${name}.json`);
}

export function readRecord(stateDir: string, name: string): ProcessRecord | null {
  try {
    return JSON.parse(readFileSync(pidFile(stateDir, name), "utf8")) as ProcessRecord;
  } catch {
    return null;
  }
}

export function listRecords(stateDir: string): ProcessRecord[] {
  if (!existsSync(pidDir(stateDir))) return [];
  return readdirSync(pidDir(stateDir))
    .filter((f) => f.endsWith(".json"))
    .flatMap((f) => {
      const record = readRecord(stateDir, f.slice(0, -".json".length));
      return record ? [record] : [];
    });
}

export function removeRecord(stateDir: string, name: string): void {
  rmSync(pidFile(stateDir, name), { force: true });
}

export interface SpawnOptions {
  stateDir: string;
  name: string;
  /** Namespace to run in (through `ip netns exec`), or null for the host namespace. */
  namespace: string | null;
  argv: string[];
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Starts a daemon in its own session, records its PID file, and lets it outlive this process. */
export function spawnTracked(options: SpawnOptions): ProcessRecord {
  const { stateDir, name, namespace, argv, logFile } = options;
  mkdirSync(pidDir(stateDir), { recursive: true });
  const command = namespace === null ? argv : ["ip", "netns", "exec", namespace, ...argv];
  // `ip netns exec` execs the command in place, so the PID is the daemon's.
  const { pid } = spawnDetached(command, { logFile, cwd: options.cwd ?? stateDir, env: options.env ?? process.env });
  if (pid === undefined) throw new LabError("command_failed", `${name}: could not spawn ${command.join(" ")}`);
  return trackProcess({ stateDir, name, namespace, pid, argv: command, logFile });
}

/** Writes the PID file of a process started elsewhere (a foreground child), so `down` finds it after a crash. */
export function trackProcess(options: {
  stateDir: string;
  name: string;
  namespace: string | null;
  pid: number;
  argv: string[];
  logFile: string;
}): ProcessRecord {
  const { stateDir, name, namespace, pid, argv, logFile } = options;
  mkdirSync(pidDir(stateDir), { recursive: true });
  const record: ProcessRecord = {
    name,
    namespace,
    pid,
    startTime: readProcStat(pid)?.startTime ?? "",
    argv,
    logFile,
    startedAt: new Date().toISOString(),
  };
  writeFileSync(pidFile(stateDir, name), `${JSON.stringify(record)}\n`);
  return record;
}

/** Sends `signal` to the recorded process only (SIGSTOP/SIGCONT for freezing a speaker). */
export function signalRecord(record: ProcessRecord, signal: NodeJS.Signals): boolean {
  if (processState(record) === "gone") return false;
  try {
    process.kill(record.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops a recorded process and everything it started: CONT (a frozen daemon
 * cannot handle TERM), TERM to the daemon so it can stop its workers, then
 * KILL whatever of its group or descendants survives `graceMs`. With
 * `signal: "SIGKILL"` it kills the whole tree at once (a crash). Removes the
 * PID file.
 */
export async function stopTracked(
  stateDir: string,
  record: ProcessRecord,
  options: { graceMs?: number; signal?: "SIGTERM" | "SIGKILL" } = {},
): Promise<void> {
  const graceMs = options.graceMs ?? 3_000;
  if (processState(record) !== "gone") {
    // Taken before the daemon exits: afterwards its children are re-parented and lose the link.
    const roots = new Map([[record.pid, record.startTime]]);
    let members = treeOf(record.pid, roots);
    if (options.signal === "SIGKILL") {
      signalAll(members, "SIGKILL");
    } else {
      signalAll(members, "SIGCONT");
      signalRecord(record, "SIGTERM");
      const deadline = Date.now() + graceMs;
      while (processState(record) !== "gone" && Date.now() < deadline) await sleep(20);
      // Workers normally leave with their parent; give them a moment before KILL.
      const settle = Date.now() + 300;
      while (Date.now() < settle) {
        members = treeOf(record.pid, members);
        if (members.size === 0) break;
        await sleep(20);
      }
    }
    for (let round = 0; round < 50; round++) {
      members = treeOf(record.pid, members);
      if (members.size === 0) break;
      signalAll(members, "SIGKILL");
      await sleep(20);
    }
  }
  removeRecord(stateDir, record.name);
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; never throws for a non-zero exit. */
export function run(argv: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(
      argv[0]!,
      argv.slice(1),
      { timeout: options.timeoutMs ?? 20_000, maxBuffer: 16 * 1024 * 1024, env: options.env ?? process.env },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 127) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr || (error && !stdout ? error.message : "")) });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Runs a setup command; a non-zero exit is a lab fault. */
export async function runChecked(argv: string[], options: { timeoutMs?: number; input?: string } = {}): Promise<string> {
  const result = await run(argv, options);
  if (result.code !== 0) {
    throw new LabError("command_failed", `${argv.join(" ")} exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
  }
  return result.stdout;
}

/** Kills every process still inside a namespace (TERM, then KILL): the last sweep before deleting it. */
export async function emptyNamespace(namespace: string): Promise<void> {
  const pids = async (): Promise<number[]> => {
    const result = await run(["ip", "netns", "pids", namespace]);
    if (result.code !== 0) return [];
    return result.stdout
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .filter((p) => isLive(readProcStat(p)));
  };
  let left = await pids();
  if (left.length === 0) return;
  for (const signal of ["SIGCONT", "SIGTERM"] as const) {
    for (const p of left) {
      try {
        process.kill(p, signal);
      } catch {
        // gone
      }
    }
  }
  const deadline = Date.now() + 2_000;
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(50);
    left = await pids();
  }
  for (let round = 0; round < 20 && left.length > 0; round++) {
    for (const p of left) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        // gone
      }
    }
    await sleep(50);
    left = await pids();
  }
}
