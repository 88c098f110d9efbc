// Two more DNS-over-HTTPS implementations from Debian, each in front of a DNS
// backend (the Unbound of unbound.ts), for the doh probe's real-server tests:
//
// - dnsdist (1.7, built with DoH): HTTP/2 and HTTP/1.1 by ALPN; forwards the
//   query as sent, so the backend's NSID and CHAOS answers come back; adds
//   response headers of our choosing, as a CDN-fronted resolver would.
//   Security polling (a query to the Internet) is off.
// - Knot Resolver (kresd 5): `net.listen(..., {kind='doh2'})`, HTTP/2 only,
//   with its own NSID; a stub forwarder to the backend, so it never iterates.
//   The modules that send queries of their own (priming, time checks,
//   trust-anchor upkeep) are unloaded and DNSSEC validation is off.
//
// Both run in the foreground on free loopback ports (127.0.0.1, and ::1 when
// the kernel has it) with every file in a private directory. No vitest import.
import dgram from "node:dgram";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as dnsPacket from "dns-packet";
import { StartupError, addRunDir, removeRunDir, requireBinary, spawnDaemon, stopDaemon, waitReady } from "./daemons";
import type { TestCert } from "./pki";
import { LOOPBACK4, LOOPBACK6, freePort, hasIpv6Loopback, tcpConnects } from "./ports";

export interface DohResolverOptions {
  /** The DNS server to forward to (plain DNS). */
  backend: { address: string; port: number };
  cert: TestCert;
  /** A name the backend answers (the readiness check asks for it). */
  readyName: string;
}

export interface DnsdistOptions extends DohResolverOptions {
  /** The backend's NSID, which dnsdist passes through (the readiness check expects it). */
  backendNsid: string;
  /** Added to every DoH response. */
  responseHeaders?: Record<string, string>;
}

export interface KresdOptions extends DohResolverOptions {
  /** kresd's own NSID; default "kresd-pop". */
  nsid?: string;
}

export interface DohResolver {
  address: string;
  address6: string | null;
  dohPort: number;
  dohPath: "/dns-query";
  /** Plain DNS on 127.0.0.1 (the readiness check's way in). */
  dnsPort: number;
  /** The NSID its answers carry. */
  nsid: string;
  pid: number;
  dir: string;
  logFile: string;
  close(): Promise<void>;
}

const DOH_PATH = "/dns-query";
// Loaded by default and each able to send a query of its own (to the root servers or the trust-anchor URL).
const KRESD_UNLOADED_MODULES = ["priming", "detect_time_skew", "detect_time_jump", "ta_signal_query", "ta_sentinel", "ta_update"];

interface Ports {
  dns: number;
  doh: number;
}

/** A JSON string is a valid Lua string literal for the ASCII we write. */
const lua = (text: string): string => JSON.stringify(text);

function hostPort(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

function dnsdistConf(o: DnsdistOptions, addresses: string[], ports: Ports): string {
  const headers = Object.entries(o.responseHeaders ?? {})
    .map(([name, value]) => `[${lua(name)}]=${lua(value)}`)
    .join(", ");
  const tls = `${lua(o.cert.certFile)}, ${lua(o.cert.keyFile)}, ${lua(DOH_PATH)}, {customResponseHeaders={${headers}}}`;
  return [
    `setSecurityPollSuffix("")`,
    `setLocal(${lua(hostPort(LOOPBACK4, ports.dns))})`,
    `setACL({"127.0.0.0/8", "::1/128"})`,
    `newServer({address=${lua(hostPort(o.backend.address, o.backend.port))}, checkName=${lua(`${o.readyName}.`)}, checkInterval=1})`,
    ...addresses.map((a) => `addDOHLocal(${lua(hostPort(a, ports.doh))}, ${tls})`),
    "",
  ].join("\n");
}

function kresdConf(o: KresdOptions, nsid: string, addresses: string[], ports: Ports, dir: string): string {
  return [
    ...KRESD_UNLOADED_MODULES.map((name) => `modules.unload(${lua(name)})`),
    `trust_anchors.remove(".")`,
    `net.listen(${lua(LOOPBACK4)}, ${ports.dns}, {kind="dns"})`,
    ...addresses.map((a) => `net.listen(${lua(a)}, ${ports.doh}, {kind="doh2"})`),
    `net.tls(${lua(o.cert.certFile)}, ${lua(o.cert.keyFile)})`,
    `modules.load("nsid")`,
    `nsid.name(${lua(nsid)})`,
    `policy.add(policy.all(policy.STUB({${lua(`${o.backend.address}@${o.backend.port}`)}})))`,
    `cache.open(10 * MB, ${lua(`lmdb://${join(dir, "cache")}`)})`,
    "",
  ].join("\n");
}

/**
 * True once a recursive (RD=1) query for `name` A gets NOERROR with an answer
 * and `nsid` (so it is our daemon on that port); false on no answer within
 * 300 ms; throws on a wrong answer. dns-client.ts's check wants an
 * authoritative answer, which a resolver in front of a backend does not give.
 */
function resolverAnswers(address: string, port: number, name: string, nsid: string): Promise<boolean> {
  const id = Math.floor(Math.random() * 0xffff);
  const query = dnsPacket.encode({
    id,
    type: "query",
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: "A", class: "IN" }],
    additionals: [{ type: "OPT", name: ".", udpPayloadSize: 1232, flags: 0, options: [{ code: 3, data: Buffer.alloc(0) }] }],
  } as unknown as dnsPacket.Packet);
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(address.includes(":") ? "udp6" : "udp4");
    const finish = (outcome: boolean | Error) => {
      clearTimeout(timer);
      socket.close();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const timer = setTimeout(() => finish(false), 300);
    socket.on("error", () => finish(false));
    socket.on("message", (buf) => {
      if (buf.length < 12 || buf.readUInt16BE(0) !== id) return;
      const rcode = buf.readUInt16BE(2) & 0x0f;
      const answers = buf.readUInt16BE(6);
      if (rcode !== 0 || answers < 1) finish(new Error(`answer rcode=${rcode} ancount=${answers}`));
      else if (!buf.includes(Buffer.from(nsid, "ascii"))) finish(new Error(`answer without NSID "${nsid}": another server on the port?`));
      else finish(true);
    });
    socket.send(query, port, address);
  });
}

interface Launch {
  name: string;
  bin: string;
  nsid: string;
  readyName: string;
  /** The config file's text and the command line that reads it. */
  configure(dir: string, addresses: string[], ports: Ports): { text: string; args(conf: string): string[] };
}

async function launch(l: Launch): Promise<DohResolver> {
  const dir = mkdtempSync(join(tmpdir(), `popwatch-${l.name}-`));
  addRunDir(dir);
  const v6 = await hasIpv6Loopback();
  const addresses = [LOOPBACK4, ...(v6 ? [LOOPBACK6] : [])];
  try {
    for (let attempt = 1; ; attempt++) {
      const ports = { dns: await freePort({ udp: true, ipv6: false }), doh: await freePort({ udp: false, ipv6: v6 }) };
      const conf = join(dir, `${l.name}.conf`);
      const config = l.configure(dir, addresses, ports);
      writeFileSync(conf, config.text);
      const daemon = spawnDaemon(l.name, l.bin, config.args(conf), dir);
      try {
        await waitReady(daemon, `a UDP query on ${LOOPBACK4}:${ports.dns}`, () =>
          resolverAnswers(LOOPBACK4, ports.dns, l.readyName, l.nsid),
        );
        for (const address of addresses) {
          await waitReady(daemon, `TCP connections on ${address}:${ports.doh}`, () => tcpConnects(address, ports.doh));
        }
      } catch (err) {
        await stopDaemon(daemon);
        if (err instanceof StartupError && err.portInUse && attempt < 3) continue;
        throw err;
      }
      let closed = false;
      return {
        address: LOOPBACK4,
        address6: v6 ? LOOPBACK6 : null,
        dohPort: ports.doh,
        dohPath: DOH_PATH,
        dnsPort: ports.dns,
        nsid: l.nsid,
        pid: daemon.pid,
        dir,
        logFile: daemon.logFile,
        close: async () => {
          if (closed) return;
          closed = true;
          await stopDaemon(daemon);
          removeRunDir(dir);
        },
      };
    }
  } catch (err) {
    removeRunDir(dir);
    throw err;
  }
}

/** Starts dnsdist; throws MissingBinaryError when it is not installed (Debian package dnsdist). */
export function startDnsdistDoh(options: DnsdistOptions): Promise<DohResolver> {
  return launch({
    name: "dnsdist",
    bin: requireBinary("dnsdist", "dnsdist"),
    nsid: options.backendNsid,
    readyName: options.readyName,
    configure: (_dir, addresses, ports) => ({
      text: dnsdistConf(options, addresses, ports),
      args: (conf) => ["--supervised", "--disable-syslog", "-C", conf],
    }),
  });
}

/** Starts kresd; throws MissingBinaryError when it is not installed (Debian package knot-resolver). */
export function startKresdDoh(options: KresdOptions): Promise<DohResolver> {
  const nsid = options.nsid ?? "kresd-pop";
  return launch({
    name: "kresd",
    bin: requireBinary("kresd", "knot-resolver"),
    nsid,
    readyName: options.readyName,
    configure: (dir, addresses, ports) => ({
      text: kresdConf(options, nsid, addresses, ports, dir),
      args: (conf) => ["-n", "-c", conf, dir],
    }),
  });
}
