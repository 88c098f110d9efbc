// Real DNS (NSD, Knot, BIND) and HTTP (nginx) servers for integration tests:
// which servers run, with which identities, and how the set starts and stops.
// Processes: daemons.ts; ports: ports.ts; configs: server-configs.ts; the
// zone: zone-data.ts.
//
// Everything runs on loopback (127.0.0.1, and ::1 when the kernel has it) on
// free ports picked at run time, from a private temp directory, in the
// foreground, without systemd and without touching shared paths (/run, /var,
// /etc).
//
// The vitest global setup (global-setup.ts) starts everything once per run and
// hands the serializable `TestServers` description to tests; a test gets it
// with `useTestServers()`.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inject } from "vitest";
import {
  type Daemon,
  MissingBinaryError,
  StartupError,
  addRunDir,
  logTail,
  removeRunDir,
  requireBinary,
  spawnDaemon,
  startOnFreePorts,
  stopDaemon,
  waitReady,
} from "./daemons";
import { answersWithNsid } from "./dns-client";
import { type TestPki, createTestPki } from "./pki";
import { LOOPBACK4, LOOPBACK6, freePort, hasIpv6Loopback, tcpConnects } from "./ports";
import { DNS_DAEMONS, type DnsServerKind, bindConfText, knotConfText, nginxConfText, nsdConfText } from "./server-configs";
import { RECORDS, ZONE, type ZoneRecords, zoneFile } from "./zone-data";

// ---------------------------------------------------------------------------
// Public shape

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

function isCi(): boolean {
  return process.env.CI === "true";
}

// ---------------------------------------------------------------------------
// DNS servers

export interface DnsHandle {
  info: DnsServerInfo;
  daemon: Daemon;
  dir: string;
  stop(): Promise<void>;
}

const DNS_IDENT: Record<DnsServerKind, { nsid: string; identity: string; hostnameBind: string }> = {
  nsd: { nsid: "pop-nsd", identity: "nsd-pop", hostnameBind: "nsd-pop" },
  knot: { nsid: "pop-knot", identity: "knot-pop", hostnameBind: "knot-pop" },
  bind: { nsid: "pop-bind", identity: "pop-bind", hostnameBind: "bind-host" },
};

/** Configuration of a DNS server of `kind` on loopback `port` (and ::1 with `v6`). */
function dnsConf(kind: DnsServerKind, dir: string, port: number, v6: boolean): string {
  const id = DNS_IDENT[kind];
  const listen = [`${LOOPBACK4}@${port}`, ...(v6 ? [`${LOOPBACK6}@${port}`] : [])];
  switch (kind) {
    case "nsd":
      return nsdConfText({ identity: id.identity, nsid: id.nsid, dir, listen, zone: ZONE });
    case "knot":
      return knotConfText({ identity: id.identity, nsid: id.nsid, dir, listen, zone: ZONE, runAsRoot: process.getuid?.() === 0 });
    case "bind":
      return bindConfText({
        dir,
        listenV4: `port ${port} { ${LOOPBACK4}; }`,
        listenV6: v6 ? `port ${port} { ${LOOPBACK6}; }` : "{ none; }",
        serverId: id.identity,
        hostname: id.hostnameBind,
        zone: ZONE,
      });
  }
}

/** Starts one DNS server in `dir` (created). Throws MissingBinaryError if its binary is absent. */
export async function startDns(kind: DnsServerKind, dir: string): Promise<DnsHandle> {
  const id = DNS_IDENT[kind];
  const spec = DNS_DAEMONS[kind];
  const bin = requireBinary(spec.bin, spec.pkg);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${ZONE}.zone`), zoneFile());
  const v6 = await hasIpv6Loopback();
  const { daemon, ports: port } = await startOnFreePorts(
    () => freePort({ udp: true, ipv6: v6 }),
    (port) => {
      const conf = join(dir, `${kind}.conf`);
      writeFileSync(conf, dnsConf(kind, dir, port, v6));
      return spawnDaemon(kind, bin, spec.args(conf), dir);
    },
    async (daemon, port) => {
      await waitReady(daemon, `a UDP query on ${LOOPBACK4}:${port}`, () => answersWithNsid(LOOPBACK4, port, RECORDS.a.name, id.nsid));
      if (v6)
        await waitReady(daemon, `a UDP query on [${LOOPBACK6}]:${port}`, () => answersWithNsid(LOOPBACK6, port, RECORDS.a.name, id.nsid));
    },
  );
  const info: DnsServerInfo = {
    available: true,
    kind,
    address: LOOPBACK4,
    address6: v6 ? LOOPBACK6 : null,
    port,
    nsid: id.nsid,
    identity: id.identity,
    hostnameBind: id.hostnameBind,
    pid: daemon.pid,
  };
  return { info, daemon, dir, stop: () => stopDaemon(daemon) };
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
  dir: string,
  ports: { http: number; https: number; expired: number; self: number },
  pki: TestPki,
  v6: boolean,
  runToken: string,
): string {
  const listen = (port: number): string[] => [`${LOOPBACK4}:${port}`, ...(v6 ? [`[${LOOPBACK6}]:${port}`] : [])];
  const body = `    server_name pop.test localhost;
    add_header X-Served-By pop-nginx always;
    add_header X-Popwatch-Run ${runToken} always;
    location = / { return 200 "${OK_BODY.replace("\n", "\\n")}"; }
    location = /fail { return 503; }
    location /static/ { root ${dir}/www; }
    location / { return 404; }`;
  return nginxConfText({
    dir,
    runAsRoot: process.getuid?.() === 0,
    accessLog: `${dir}/nginx-access.log`,
    servers: [
      { listen: listen(ports.https), tls: pki.leaf, body },
      { listen: listen(ports.expired), tls: pki.expired, body },
      { listen: listen(ports.self), tls: pki.selfSigned, body },
      { listen: listen(ports.http), body },
    ],
  });
}

/** True on a 200 for / that carries this instance's X-Popwatch-Run token. */
function httpGetOk(port: number, runToken: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: LOOPBACK4, port });
    let data = "";
    sock.setTimeout(1000, () => {
      sock.destroy();
      reject(new Error("timeout"));
    });
    sock.on("error", reject);
    sock.on("connect", () => sock.write("GET / HTTP/1.1\r\nHost: pop.test\r\nConnection: close\r\n\r\n"));
    sock.on("data", (c) => {
      data += c.toString("latin1");
    });
    sock.on("end", () => {
      if (!data.startsWith("HTTP/1.1 200")) return resolve(false);
      if (!data.toLowerCase().includes(`\r\nx-popwatch-run: ${runToken}\r\n`)) reject(new Error("another server on the port?"));
      else resolve(true);
    });
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
  const errorLog = join(dir, "nginx-error.log");
  let started: { daemon: Daemon; ports: { http: number; https: number; expired: number; self: number; runToken: string } };
  try {
    started = await startOnFreePorts(
      async () => ({
        http: await freePort({ udp: false, ipv6: v6 }),
        https: await freePort({ udp: false, ipv6: v6 }),
        expired: await freePort({ udp: false, ipv6: v6 }),
        self: await freePort({ udp: false, ipv6: v6 }),
        runToken: randomBytes(8).toString("hex"),
      }),
      (ports) => {
        const conf = join(dir, "nginx.conf");
        writeFileSync(conf, nginxConf(dir, ports, pki, v6, ports.runToken));
        // -e: error log before the config is read (else /var/log/nginx/error.log); -p: prefix.
        return spawnDaemon("nginx", bin, ["-p", `${dir}/`, "-e", errorLog, "-c", conf], dir);
      },
      (daemon, ports) =>
        waitReady(
          daemon,
          `HTTP GET on ${LOOPBACK4}:${ports.http}`,
          async () =>
            (await httpGetOk(ports.http, ports.runToken)) &&
            (await tcpConnects(LOOPBACK4, ports.https)) &&
            (await tcpConnects(LOOPBACK4, ports.expired)) &&
            (await tcpConnects(LOOPBACK4, ports.self)),
        ),
    );
  } catch (err) {
    if (err instanceof StartupError) throw new StartupError(`${err.message}\n--- nginx-error.log:\n${logTail(errorLog)}`, err.portInUse);
    throw err;
  }
  const { daemon, ports } = started;
  const info: NginxInfo = {
    available: true,
    address: LOOPBACK4,
    address6: v6 ? LOOPBACK6 : null,
    httpsPort: ports.https,
    httpPort: ports.http,
    expiredHttpsPort: ports.expired,
    selfSignedHttpsPort: ports.self,
    caFile: pki.caFile,
    caPem: pki.caPem,
    leafSha256: pki.leaf.sha256,
    expiredSha256: pki.expired.sha256,
    selfSignedSha256: pki.selfSigned.sha256,
    host: "pop.test",
    popHeader: "pop-nginx",
    alpn: ["h2", "http/1.1"],
    paths: { ok: "/", okBody: OK_BODY, fail: "/fail", small: "/static/small.txt", smallBody: SMALL_BODY },
    pid: daemon.pid,
  };
  return { info, daemon, dir, pki, stop: () => stopDaemon(daemon) };
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
  const dir = mkdtempSync(join(tmpdir(), "popwatch-servers-"));
  addRunDir(dir);
  const stops: Array<() => Promise<void>> = [];
  let stopped = false;
  const stopAll = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all(stops.map((s) => s().catch(() => undefined)));
    removeRunDir(dir);
  };

  async function slot<T extends { info: { available: true }; stop(): Promise<void> }>(start: () => Promise<T>): Promise<Slot<T["info"]>> {
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
