// Real DNS (NSD, Knot, BIND) and HTTP (nginx) servers for integration tests.
//
// Everything runs on loopback (127.0.0.1, and ::1 when the kernel has it) on
// free ports picked at run time, from a private temp directory, in the
// foreground, without systemd and without touching shared paths (/run, /var,
// /etc). Each daemon is spawned in its own session/process group; stopping
// sends SIGTERM to the recorded PID, waits, then SIGKILLs the recorded group.
// Nothing is ever killed by name.
//
// The vitest global setup (global-setup.ts) starts everything once per run and
// hands the serializable `TestServers` description to tests; a test gets it
// with `useTestServers()`.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import dgram from "node:dgram";
import {
  accessSync, closeSync, constants as fsConstants, existsSync, mkdirSync, mkdtempSync, openSync,
  readdirSync, readFileSync, rmSync, writeFileSync,
} from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { inject } from "vitest";
import { bindConfText, knotConfText } from "./dns-configs";
import { createTestPki, type TestPki } from "./pki";

// ---------------------------------------------------------------------------
// Public shape

export type DnsServerKind = "nsd" | "knot" | "bind";

export interface DnsServerInfo {
  available: true;
  kind: DnsServerKind;
  /** Always "127.0.0.1". */
  address: string;
  /** "::1" when the server also listens on IPv6 loopback, else null. */
  address6: string | null;
  /** UDP and TCP port (same number for both, and for both address families). */
  port: number;
  /** EDNS NSID the server returns (ASCII). */
  nsid: string;
  /** CHAOS TXT id.server answer. */
  identity: string;
  /** CHAOS TXT hostname.bind answer. */
  hostnameBind: string;
  pid: number;
}

export interface NginxInfo {
  available: true;
  /** Always "127.0.0.1". */
  address: string;
  address6: string | null;
  /** TLS with the valid leaf (SAN pop.test, localhost, IP 127.0.0.1), ALPN h2 and http/1.1. */
  httpsPort: number;
  /** Plain HTTP/1.1. */
  httpPort: number;
  /** TLS with a leaf signed by the CA that expired in 2021. */
  expiredHttpsPort: number;
  /** TLS with a self-signed leaf (not signed by the CA). */
  selfSignedHttpsPort: number;
  caFile: string;
  caPem: string;
  /** SHA-256 of the valid leaf's DER, lowercase hex. */
  leafSha256: string;
  expiredSha256: string;
  selfSignedSha256: string;
  /** SNI / Host name the certificate is for. */
  host: "pop.test";
  /** Value of the X-Served-By response header (on every response, errors too). */
  popHeader: "pop-nginx";
  alpn: string[];
  paths: {
    /** 200, body `popwatch test page\n`. */
    ok: "/";
    okBody: string;
    /** 503. */
    fail: "/fail";
    /** 200, a small static file (text/plain, has ETag and Last-Modified). */
    small: "/static/small.txt";
    smallBody: string;
  };
  pid: number;
}

export interface Unavailable {
  available: false;
  /** Why the server is not running, e.g. "knotd not found (install the knot package)". */
  reason: string;
}

/** A server that is running (`available: true`, with its details) or not (with the reason). */
export type Slot<T extends { available: true }> = T | Unavailable;

export interface ZoneRecords {
  /** `www.popwatch.test. A 198.51.100.10` */
  a: { name: string; address: string };
  /** `www.popwatch.test. AAAA 2001:db8::10` */
  aaaa: { name: string; address: string };
  /** `txt.popwatch.test. TXT "popwatch test record"` */
  txt: { name: string; text: string };
  /** A TXT RRset too big for 512-byte UDP: TC=1 without EDNS, fits in a 1232-byte EDNS buffer and over TCP. */
  bigTxt: { name: string; count: number; texts: string[] };
  /** Many A records at one name, also > 512 bytes (TC=1 without EDNS). */
  manyA: { name: string; count: number; addresses: string[] };
  /** A name that does not exist (NXDOMAIN). */
  missing: string;
}

export interface TestServers {
  dns: { nsd: Slot<DnsServerInfo>; knot: Slot<DnsServerInfo>; bind: Slot<DnsServerInfo> };
  nginx: Slot<NginxInfo>;
  /** Zone every DNS server serves, without trailing dot. */
  zone: "popwatch.test";
  records: ZoneRecords;
  /** Private directory of this run (configs, logs, certs); removed on stop. */
  dir: string;
}

declare module "vitest" {
  interface ProvidedContext {
    servers: TestServers;
  }
}

/** In a test file: the servers the global setup started. */
export function useTestServers(): TestServers {
  return inject("servers");
}

/** For `describe.skipIf(...)` / `it.skipIf(...)`: whether to skip, and a title suffix saying why. */
export function skipUnless<T extends { available: true }>(slot: Slot<T>): { skip: boolean; note: string } {
  return slot.available ? { skip: false, note: "" } : { skip: true, note: ` [skipped: ${slot.reason}]` };
}

/** Narrows a slot inside a test body; throws (failing the test) if the server is unavailable. */
export function requireServer<T extends { available: true }>(slot: Slot<T>): T {
  if (!slot.available) throw new Error(`server unavailable: ${slot.reason}`);
  return slot;
}

// ---------------------------------------------------------------------------
// Zone data

export const ZONE = "popwatch.test" as const;
const LOOPBACK4 = "127.0.0.1";
const LOOPBACK6 = "::1";
const READY_TIMEOUT_MS = 10_000;

const bigTexts = Array.from({ length: 8 }, (_, i) =>
  `big-${i}-` + "popwatch truncation padding ".repeat(4).slice(0, 92 - String(i).length));
const manyAddresses = Array.from({ length: 40 }, (_, i) => `198.51.100.${100 + i}`);

export const RECORDS: ZoneRecords = {
  a: { name: `www.${ZONE}`, address: "198.51.100.10" },
  aaaa: { name: `www.${ZONE}`, address: "2001:db8::10" },
  txt: { name: `txt.${ZONE}`, text: "popwatch test record" },
  bigTxt: { name: `big.${ZONE}`, count: bigTexts.length, texts: bigTexts },
  manyA: { name: `many.${ZONE}`, count: manyAddresses.length, addresses: manyAddresses },
  missing: `nope.${ZONE}`,
};

function zoneFile(): string {
  return [
    `$ORIGIN ${ZONE}.`,
    "$TTL 300",
    `@ IN SOA ns1.${ZONE}. hostmaster.${ZONE}. ( 2024010101 3600 600 86400 300 )`,
    `@ IN NS ns1.${ZONE}.`,
    `@ IN TXT "popwatch test zone"`,
    "ns1 IN A 127.0.0.1",
    `www IN A ${RECORDS.a.address}`,
    `www IN AAAA ${RECORDS.aaaa.address}`,
    `txt IN TXT "${RECORDS.txt.text}"`,
    ...bigTexts.map((t) => `big IN TXT "${t}"`),
    ...manyAddresses.map((a) => `many IN A ${a}`),
    "",
  ].join("\n");
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

function isCi(): boolean {
  return process.env.CI === "true";
}

class MissingBinaryError extends Error {}

function requireBinary(name: string, pkg: string): string {
  const file = findBinary(name);
  if (!file) throw new MissingBinaryError(`${name} not found in PATH or sbin directories (Debian package ${pkg})`);
  return file;
}

// ---------------------------------------------------------------------------
// Ports

let ipv6Cache: boolean | undefined;

/** Whether ::1 can be bound (the kernel may have IPv6 disabled). */
export async function hasIpv6Loopback(): Promise<boolean> {
  if (ipv6Cache !== undefined) return ipv6Cache;
  ipv6Cache = await new Promise<boolean>((resolve) => {
    const s = dgram.createSocket({ type: "udp6", ipv6Only: true });
    s.once("error", () => { s.close(); resolve(false); });
    s.bind(0, LOOPBACK6, () => { s.close(); resolve(true); });
  });
  return ipv6Cache;
}

const handedOut = new Set<number>();

function tryTcp(port: number, host: string): Promise<number | null> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(null));
    srv.listen({ port, host, exclusive: true, ipv6Only: host === LOOPBACK6 }, () => {
      const addr = srv.address();
      const got = typeof addr === "object" && addr ? addr.port : null;
      srv.close(() => resolve(got));
    });
  });
}

function tryUdp(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket({ type: host === LOOPBACK6 ? "udp6" : "udp4", ipv6Only: host === LOOPBACK6 });
    s.once("error", () => { try { s.close(); } catch { /* closed */ } resolve(false); });
    s.bind({ port, address: host, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/**
 * A port the kernel reports free on TCP 127.0.0.1 (and, if asked, UDP, and the
 * same on ::1). Free at the time of the check only: callers retry on a bind failure.
 */
export async function freePort(opts: { udp: boolean; ipv6: boolean }): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await tryTcp(0, LOOPBACK4);
    if (port === null || handedOut.has(port)) continue;
    if (opts.udp && !(await tryUdp(port, LOOPBACK4))) continue;
    if (opts.ipv6) {
      if ((await tryTcp(port, LOOPBACK6)) === null) continue;
      if (opts.udp && !(await tryUdp(port, LOOPBACK6))) continue;
    }
    handedOut.add(port);
    return port;
  }
  throw new Error("could not find a free loopback port");
}

// ---------------------------------------------------------------------------
// Processes

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
const liveDirs = new Set<string>();

// Safety net: if the test process exits or is signalled (Ctrl-C, a CI
// timeout's SIGTERM, a closed terminal's SIGHUP) before teardown, stop the
// daemons synchronously. Only our recorded process groups are signalled.
const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
let exitHookInstalled = false;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** SIGTERM every live daemon's group, wait up to graceMs, SIGKILL what is left, remove run directories. */
function killAllSync(graceMs: number): void {
  const groups = [...live].map((d) => d.pid);
  live.clear();
  for (const g of groups) {
    try { process.kill(-g, "SIGCONT"); } catch { /* gone */ }
    try { process.kill(-g, "SIGTERM"); } catch { /* gone */ }
  }
  const deadline = Date.now() + graceMs;
  while (groups.some(groupAlive) && Date.now() < deadline) sleepSync(25);
  for (const g of groups) {
    if (groupAlive(g)) {
      try { process.kill(-g, "SIGKILL"); } catch { /* gone */ }
    }
  }
  if (!process.env.POPWATCH_KEEP_SERVER_DIR) {
    for (const dir of liveDirs) {
      try { rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
    }
  }
  liveDirs.clear();
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

function spawnDaemon(name: string, cmd: string, args: string[], dir: string): Daemon {
  installExitHook();
  const logFile = join(dir, `${name}.log`);
  const fd = openSync(logFile, "a");
  let child: ChildProcess;
  try {
    // detached: own session and process group (pgid === pid), so a stop can
    // reach workers the daemon forked without knowing their PIDs.
    child = spawn(cmd, args, { cwd: dir, detached: true, stdio: ["ignore", fd, fd] });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`${name}: spawn ${cmd} failed`);
  const daemon: Daemon = {
    name, pid: child.pid, logFile, child, exit: null,
    exited: new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        daemon.exit = { code, signal };
        resolve();
      });
    }),
  };
  child.once("error", () => { /* reported through exit / readiness */ });
  child.unref();
  live.add(daemon);
  return daemon;
}

export function logTail(file: string, lines = 30): string {
  try {
    const text = readFileSync(file, "utf8").trimEnd();
    return text.split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * Whether any live (non-zombie) process is left in the process group. Reads
 * /proc: a zombie child re-parented to PID 1 can linger until init reaps it
 * and still counts for kill(-pgid, 0).
 */
function groupAlive(pgid: number): boolean {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${e}/stat`, "utf8");
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] !== "Z" && fields[0] !== "X" && Number(fields[2]) === pgid) return true;
  }
  return false;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitExit(d: Daemon, ms: number): Promise<boolean> {
  if (d.exit) return true;
  let timer: NodeJS.Timeout | undefined;
  const done = await Promise.race([
    d.exited.then(() => true),
    new Promise<boolean>((r) => { timer = setTimeout(() => r(false), ms); }),
  ]);
  clearTimeout(timer);
  return done;
}

/** SIGTERM the recorded PID, wait, SIGKILL its process group if anything survives. */
export async function stopDaemon(d: Daemon, graceMs = 5_000): Promise<void> {
  if (!live.has(d)) return; // already stopped, or killed by the exit/signal safety net
  if (!d.exit) {
    try { process.kill(d.pid, "SIGCONT"); } catch { /* gone */ }
    try { process.kill(d.pid, "SIGTERM"); } catch { /* gone */ }
    if (!(await waitExit(d, graceMs))) {
      try { process.kill(-d.pid, "SIGKILL"); } catch { /* gone */ }
      await waitExit(d, 2_000);
    }
  }
  // Forked workers (nsd's server/xfrd children, nginx workers) normally leave
  // with their parent; give them a moment, then kill what is left of the group.
  for (let i = 0; i < 20 && groupAlive(d.pid); i++) await sleep(50);
  if (groupAlive(d.pid)) {
    try { process.kill(-d.pid, "SIGKILL"); } catch { /* gone */ }
    for (let i = 0; i < 20 && groupAlive(d.pid); i++) await sleep(50);
  }
  live.delete(d);
}

class StartupError extends Error {
  constructor(message: string, readonly portInUse: boolean) {
    super(message);
  }
}

/** Polls `probe` until it resolves true, the daemon exits, or the deadline passes. */
async function waitReady(d: Daemon, what: string, probe: () => Promise<boolean>, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
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

// ---------------------------------------------------------------------------
// Minimal DNS over UDP for readiness (tests use dns-packet / dig)

function encodeName(name: string): Buffer {
  const parts = name.replace(/\.$/, "").split(".").filter(Boolean);
  return Buffer.concat([...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, "ascii")])), Buffer.from([0])]);
}

/** One UDP query with EDNS (1232) asking for NSID; resolves null on timeout. */
function udpQueryOnce(host: string, port: number, name: string, qtype: number, timeoutMs: number): Promise<Buffer | null> {
  const id = Math.floor(Math.random() * 0xffff);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0000, 2); // RD=0
  header.writeUInt16BE(1, 4); // QDCOUNT
  header.writeUInt16BE(1, 10); // ARCOUNT: the OPT record
  const question = Buffer.alloc(4);
  question.writeUInt16BE(qtype, 0);
  question.writeUInt16BE(1, 2); // IN
  // OPT: root name, type 41, payload 1232, ttl 0, rdlen 4, option NSID (3) empty.
  const opt = Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 4, 0, 3, 0, 0]);
  const msg = Buffer.concat([header, encodeName(name), question, opt]);
  return new Promise((resolve) => {
    const sock = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
    const timer = setTimeout(() => finish(null), timeoutMs);
    function finish(v: Buffer | null): void {
      clearTimeout(timer);
      try { sock.close(); } catch { /* closed */ }
      resolve(v);
    }
    sock.on("error", () => finish(null));
    sock.on("message", (buf) => {
      if (buf.length >= 12 && buf.readUInt16BE(0) === id) finish(buf);
    });
    sock.send(msg, port, host);
  });
}

/**
 * True once the server gives an authoritative NOERROR answer for www A (the
 * zone is loaded) carrying our NSID (so it is our daemon on that port, not a
 * stranger that took the port between the free-port check and the bind).
 */
async function dnsAnswers(host: string, port: number, nsid: string): Promise<boolean> {
  const buf = await udpQueryOnce(host, port, RECORDS.a.name, 1, 300);
  if (!buf) return false;
  const flags = buf.readUInt16BE(2);
  const rcode = flags & 0x0f;
  const aa = (flags & 0x0400) !== 0;
  const ancount = buf.readUInt16BE(6);
  if (rcode !== 0 || !aa || ancount < 1) throw new Error(`answer rcode=${rcode} aa=${aa} ancount=${ancount}`);
  if (!buf.includes(Buffer.from(nsid, "ascii"))) throw new Error(`answer without NSID "${nsid}": another server on the port?`);
  return true;
}

// ---------------------------------------------------------------------------
// DNS servers

export interface DnsHandle {
  info: DnsServerInfo;
  daemon: Daemon;
  dir: string;
  stop(): Promise<void>;
}

const DNS_IDENT: Record<DnsServerKind, { nsid: string; identity: string; hostnameBind: string; bin: string; pkg: string }> = {
  nsd: { nsid: "pop-nsd", identity: "nsd-pop", hostnameBind: "nsd-pop", bin: "nsd", pkg: "nsd" },
  knot: { nsid: "pop-knot", identity: "knot-pop", hostnameBind: "knot-pop", bin: "knotd", pkg: "knot" },
  bind: { nsid: "pop-bind", identity: "pop-bind", hostnameBind: "bind-host", bin: "named", pkg: "bind9" },
};

function nsdConf(dir: string, port: number, v6: boolean): string {
  const id = DNS_IDENT.nsd;
  return `server:
  ip-address: ${LOOPBACK4}@${port}
${v6 ? `  ip-address: ${LOOPBACK6}@${port}\n` : ""}  do-ip4: yes
  do-ip6: ${v6 ? "yes" : "no"}
  port: ${port}
  username: ""
  chroot: ""
  database: ""
  zonesdir: "${dir}"
  zonelistfile: "${dir}/zone.list"
  xfrdfile: "${dir}/xfrd.state"
  xfrdir: "${dir}"
  pidfile: "${dir}/nsd.pid"
  identity: "${id.identity}"
  nsid: "ascii_${id.nsid}"
  hide-version: no
  server-count: 1
  reuseport: no
  verbosity: 1
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: "${ZONE}"
  zonefile: "${dir}/${ZONE}.zone"
`;
}

function knotConf(dir: string, port: number, v6: boolean): string {
  const id = DNS_IDENT.knot;
  const listen = [`${LOOPBACK4}@${port}`, ...(v6 ? [`${LOOPBACK6}@${port}`] : [])];
  return knotConfText({ identity: id.identity, nsid: id.nsid, dir, listen, zone: ZONE, runAsRoot: process.getuid?.() === 0 });
}


function bindConf(dir: string, port: number, v6: boolean): string {
  const id = DNS_IDENT.bind;
  return bindConfText({
    dir,
    listenV4: `port ${port} { ${LOOPBACK4}; }`,
    listenV6: v6 ? `port ${port} { ${LOOPBACK6}; }` : "{ none; }",
    serverId: id.identity,
    hostname: id.hostnameBind,
    zone: ZONE,
  });
}

/** Starts one DNS server in `dir` (created). Throws MissingBinaryError if its binary is absent. */
export async function startDns(kind: DnsServerKind, dir: string): Promise<DnsHandle> {
  const id = DNS_IDENT[kind];
  const bin = requireBinary(id.bin, id.pkg);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${ZONE}.zone`), zoneFile());
  const v6 = await hasIpv6Loopback();
  for (let attempt = 1; ; attempt++) {
    const port = await freePort({ udp: true, ipv6: v6 });
    const conf = join(dir, `${kind}.conf`);
    let args: string[];
    if (kind === "nsd") {
      writeFileSync(conf, nsdConf(dir, port, v6));
      args = ["-d", "-c", conf];
    } else if (kind === "knot") {
      writeFileSync(conf, knotConf(dir, port, v6));
      args = ["-c", conf];
    } else {
      writeFileSync(conf, bindConf(dir, port, v6));
      args = ["-g", "-n", "1", "-c", conf];
    }
    const daemon = spawnDaemon(kind, bin, args, dir);
    try {
      await waitReady(daemon, `a UDP query on ${LOOPBACK4}:${port}`, () => dnsAnswers(LOOPBACK4, port, id.nsid));
      if (v6) await waitReady(daemon, `a UDP query on [${LOOPBACK6}]:${port}`, () => dnsAnswers(LOOPBACK6, port, id.nsid));
    } catch (err) {
      await stopDaemon(daemon);
      if (err instanceof StartupError && err.portInUse && attempt < 3) continue;
      throw err;
    }
    const info: DnsServerInfo = {
      available: true, kind, address: LOOPBACK4, address6: v6 ? LOOPBACK6 : null, port,
      nsid: id.nsid, identity: id.identity, hostnameBind: id.hostnameBind, pid: daemon.pid,
    };
    return { info, daemon, dir, stop: () => stopDaemon(daemon) };
  }
}

// ---------------------------------------------------------------------------
// nginx

export interface NginxHandle {
  info: NginxInfo;
  daemon: Daemon;
  dir: string;
  pki: TestPki;
  stop(): Promise<void>;
}

const OK_BODY = "popwatch test page\n";
const SMALL_BODY = "small static body from pop-nginx\n";

function nginxConf(
  dir: string, ports: { http: number; https: number; expired: number; self: number }, pki: TestPki, v6: boolean, runToken: string,
): string {
  const listen = (port: number, extra: string): string =>
    [`    listen ${LOOPBACK4}:${port}${extra};`, ...(v6 ? [`    listen [${LOOPBACK6}]:${port}${extra};`] : [])].join("\n");
  const body = `    server_name pop.test localhost;
    add_header X-Served-By pop-nginx always;
    add_header X-Popwatch-Run ${runToken} always;
    location = / { return 200 "${OK_BODY.replace("\n", "\\n")}"; }
    location = /fail { return 503; }
    location /static/ { root ${dir}/www; }
    location / { return 404; }`;
  const tls = (port: number, cert: { certFile: string; keyFile: string }): string => `  server {
${listen(port, " ssl http2")}
    ssl_certificate ${cert.certFile};
    ssl_certificate_key ${cert.keyFile};
    ssl_protocols TLSv1.2 TLSv1.3;
${body}
  }`;
  // As root, nginx would switch its workers to "nobody", which cannot enter
  // the private 0700 temp directory to serve the static file: keep them as root.
  const user = process.getuid?.() === 0 ? "user root root;\n" : "";
  return `${user}daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log info;
events { worker_connections 256; }
http {
  access_log ${dir}/nginx-access.log;
  client_body_temp_path ${dir}/tmp/client_body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  types { text/plain txt; }
  default_type text/plain;
  server_tokens off;
  keepalive_timeout 5s;
${tls(ports.https, pki.leaf)}
${tls(ports.expired, pki.expired)}
${tls(ports.self, pki.selfSigned)}
  server {
${listen(ports.http, "")}
${body}
  }
}
`;
}

/** True on a 200 for / that carries this instance's X-Popwatch-Run token. */
function httpGetOk(port: number, runToken: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: LOOPBACK4, port });
    let data = "";
    sock.setTimeout(1000, () => { sock.destroy(); reject(new Error("timeout")); });
    sock.on("error", reject);
    sock.on("connect", () => sock.write("GET / HTTP/1.1\r\nHost: pop.test\r\nConnection: close\r\n\r\n"));
    sock.on("data", (c) => { data += c.toString("latin1"); });
    sock.on("end", () => {
      if (!data.startsWith("HTTP/1.1 200")) return resolve(false);
      if (!data.toLowerCase().includes(`\r\nx-popwatch-run: ${runToken}\r\n`)) reject(new Error("another server on the port?"));
      else resolve(true);
    });
  });
}

function tcpConnects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    sock.setTimeout(1000, () => { sock.destroy(); reject(new Error("timeout")); });
    sock.on("error", reject);
    sock.on("connect", () => { sock.destroy(); resolve(true); });
  });
}

export async function startNginx(dir: string): Promise<NginxHandle> {
  const bin = requireBinary("nginx", "nginx");
  requireBinary("openssl", "openssl");
  mkdirSync(join(dir, "tmp"), { recursive: true });
  mkdirSync(join(dir, "www", "static"), { recursive: true });
  writeFileSync(join(dir, "www", "static", "small.txt"), SMALL_BODY);
  const pki = createTestPki(join(dir, "pki"));
  const v6 = await hasIpv6Loopback();
  for (let attempt = 1; ; attempt++) {
    const ports = {
      http: await freePort({ udp: false, ipv6: v6 }),
      https: await freePort({ udp: false, ipv6: v6 }),
      expired: await freePort({ udp: false, ipv6: v6 }),
      self: await freePort({ udp: false, ipv6: v6 }),
    };
    const conf = join(dir, "nginx.conf");
    const runToken = randomBytes(8).toString("hex");
    writeFileSync(conf, nginxConf(dir, ports, pki, v6, runToken));
    // -e: error log before the config is read (else /var/log/nginx/error.log); -p: prefix.
    const daemon = spawnDaemon("nginx", bin, ["-p", `${dir}/`, "-e", join(dir, "nginx-error.log"), "-c", conf], dir);
    try {
      await waitReady(daemon, `HTTP GET on ${LOOPBACK4}:${ports.http}`, async () =>
        (await httpGetOk(ports.http, runToken))
        && (await tcpConnects(LOOPBACK4, ports.https))
        && (await tcpConnects(LOOPBACK4, ports.expired))
        && (await tcpConnects(LOOPBACK4, ports.self)));
    } catch (err) {
      await stopDaemon(daemon);
      if (err instanceof StartupError && err.portInUse && attempt < 3) continue;
      if (err instanceof StartupError) {
        throw new StartupError(`${err.message}\n--- nginx-error.log:\n${logTail(join(dir, "nginx-error.log"))}`, err.portInUse);
      }
      throw err;
    }
    const info: NginxInfo = {
      available: true, address: LOOPBACK4, address6: v6 ? LOOPBACK6 : null,
      httpsPort: ports.https, httpPort: ports.http, expiredHttpsPort: ports.expired, selfSignedHttpsPort: ports.self,
      caFile: pki.caFile, caPem: pki.caPem,
      leafSha256: pki.leaf.sha256, expiredSha256: pki.expired.sha256, selfSignedSha256: pki.selfSigned.sha256,
      host: "pop.test", popHeader: "pop-nginx", alpn: ["h2", "http/1.1"],
      paths: { ok: "/", okBody: OK_BODY, fail: "/fail", small: "/static/small.txt", smallBody: SMALL_BODY },
      pid: daemon.pid,
    };
    return { info, daemon, dir, pki, stop: () => stopDaemon(daemon) };
  }
}

// ---------------------------------------------------------------------------
// Everything

export interface RunningServers {
  info: TestServers;
  /** Stops every daemon and removes the private directory. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts NSD, Knot, BIND and nginx in parallel in a fresh private directory.
 * A missing binary makes that server `{ available: false, reason }`, or throws
 * when CI=true. Any other startup failure throws (after stopping what started).
 */
export async function startTestServers(): Promise<RunningServers> {
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), "popwatch-servers-"));
  liveDirs.add(dir);
  const stops: Array<() => Promise<void>> = [];
  let stopped = false;
  const stopAll = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all(stops.map((s) => s().catch(() => undefined)));
    if (!process.env.POPWATCH_KEEP_SERVER_DIR && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
  };

  async function slot<T extends { info: { available: true } ; stop(): Promise<void> }>(
    start: () => Promise<T>,
  ): Promise<Slot<T["info"]>> {
    try {
      const h = await start();
      stops.push(h.stop);
      return h.info;
    } catch (err) {
      if (err instanceof MissingBinaryError && !isCi()) return { available: false, reason: err.message };
      throw err;
    }
  }

  const results = await Promise.allSettled([
    slot(() => startDns("nsd", join(dir, "nsd"))),
    slot(() => startDns("knot", join(dir, "knot"))),
    slot(() => startDns("bind", join(dir, "bind"))),
    slot(() => startNginx(join(dir, "nginx"))),
  ] as const);
  const [nsdR, knotR, bindR, nginxR] = results;
  if (nsdR.status === "rejected" || knotR.status === "rejected" || bindR.status === "rejected" || nginxR.status === "rejected") {
    await stopAll();
    const msg = results
      .flatMap((r) => (r.status === "rejected" ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : []))
      .join("\n\n");
    throw new Error(`test servers failed to start${isCi() ? " (CI=true: missing daemons are errors)" : ""}:\n${msg}`);
  }
  const [nsd, knot, bind, nginx] = [nsdR.value, knotR.value, bindR.value, nginxR.value];
  return {
    info: { dns: { nsd, knot, bind }, nginx, zone: ZONE, records: RECORDS, dir },
    stop: stopAll,
  };
}
