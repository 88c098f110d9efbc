// Debian's Knot Resolver (kresd 5) as a third DNS-over-HTTPS implementation
// for the doh probe's real-server tests: `net.listen(..., {kind='doh2'})`
// (HTTP/2 only, GET and POST at /dns-query) with its own NSID, a stub
// forwarder to a DNS backend (the Unbound of unbound.ts), so it never
// iterates. The modules that send queries of their own (priming, time
// checks, trust-anchor upkeep) are unloaded and DNSSEC validation is off:
// nothing leaves the machine. Foreground (-n), free loopback ports
// (127.0.0.1, and ::1 when the kernel has it), a private directory with its
// cache. No vitest import.
import dgram from "node:dgram";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as dnsPacket from "dns-packet";
import { addRunDir, removeRunDir, requireBinary, spawnDaemon, startOnFreePorts, stopDaemon, waitReady } from "./daemons";
import type { TestCert } from "./pki";
import { LOOPBACK4, LOOPBACK6, freePort, hasIpv6Loopback, tcpConnects } from "./ports";

export interface KresdOptions {
  /** The DNS server to forward to (plain DNS). */
  backend: { address: string; port: number };
  cert: TestCert;
  /** A name the backend answers (the readiness check asks for it). */
  readyName: string;
  /** kresd's own NSID; default "kresd-pop". */
  nsid?: string;
}

export interface KresdServer {
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

/** Starts kresd; throws MissingBinaryError when it is not installed (Debian package knot-resolver). */
export async function startKresd(options: KresdOptions): Promise<KresdServer> {
  const bin = requireBinary("kresd", "knot-resolver");
  const nsid = options.nsid ?? "kresd-pop";
  const dir = mkdtempSync(join(tmpdir(), "popwatch-kresd-"));
  addRunDir(dir);
  const v6 = await hasIpv6Loopback();
  const addresses = [LOOPBACK4, ...(v6 ? [LOOPBACK6] : [])];
  try {
    const { daemon, ports } = await startOnFreePorts(
      async () => ({ dns: await freePort({ udp: true, ipv6: false }), doh: await freePort({ udp: false, ipv6: v6 }) }),
      (ports) => {
        const conf = join(dir, "kresd.conf");
        writeFileSync(conf, kresdConf(options, nsid, addresses, ports, dir));
        return spawnDaemon("kresd", bin, ["-n", "-c", conf, dir], dir);
      },
      async (daemon, ports) => {
        await waitReady(daemon, `a UDP query on ${LOOPBACK4}:${ports.dns}`, () =>
          resolverAnswers(LOOPBACK4, ports.dns, options.readyName, nsid),
        );
        for (const address of addresses) {
          await waitReady(daemon, `TCP connections on ${address}:${ports.doh}`, () => tcpConnects(address, ports.doh));
        }
      },
    );
    return {
      address: LOOPBACK4,
      address6: v6 ? LOOPBACK6 : null,
      dohPort: ports.doh,
      dohPath: DOH_PATH,
      dnsPort: ports.dns,
      nsid,
      pid: daemon.pid,
      dir,
      logFile: daemon.logFile,
      close: async () => {
        await stopDaemon(daemon);
        removeRunDir(dir);
      },
    };
  } catch (err) {
    removeRunDir(dir);
    throw err;
  }
}
