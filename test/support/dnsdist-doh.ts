// Debian's dnsdist (1.7, built with DoH) as a second DNS-over-HTTPS
// implementation in front of a DNS backend (the Unbound of unbound.ts): it
// speaks HTTP/2 and HTTP/1.1 by ALPN, forwards the query as sent (so the
// backend's NSID and CHAOS answers come back) and adds a response header of
// our choosing, as a CDN-fronted resolver would. Foreground (--supervised),
// no console, no security polling (it would query the Internet), free
// loopback ports, a private directory. No vitest import.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StartupError, addRunDir, removeRunDir, requireBinary, spawnDaemon, stopDaemon, waitReady } from "./daemons";
import { answersWithNsid } from "./dns-client";
import type { TestCert } from "./pki";
import { LOOPBACK4, LOOPBACK6, freePort, hasIpv6Loopback, tcpConnects } from "./ports";

export interface DnsdistDohOptions {
  /** The DNS server dnsdist forwards to (plain DNS over UDP/TCP). */
  backend: { address: string; port: number };
  cert: TestCert;
  /** A name the backend answers, and the NSID it answers with (the readiness check asks for both). */
  readyName: string;
  backendNsid: string;
  /** Added to every DoH response. */
  responseHeaders?: Record<string, string>;
}

export interface DnsdistDohServer {
  address: string;
  address6: string | null;
  dohPort: number;
  dohPath: "/dns-query";
  /** Plain DNS (the readiness check's way in). */
  dnsPort: number;
  pid: number;
  dir: string;
  logFile: string;
  close(): Promise<void>;
}

const DOH_PATH = "/dns-query";

function lua(text: string): string {
  return JSON.stringify(text); // a JSON string is a valid Lua string literal for the ASCII we write
}

function dnsdistConf(o: DnsdistDohOptions, v6: boolean, ports: { dns: number; doh: number }): string {
  const headers = Object.entries(o.responseHeaders ?? {})
    .map(([name, value]) => `[${lua(name)}]=${lua(value)}`)
    .join(", ");
  const dohOptions = `{customResponseHeaders={${headers}}}`;
  const backend = o.backend.address.includes(":") ? `[${o.backend.address}]:${o.backend.port}` : `${o.backend.address}:${o.backend.port}`;
  const lines = [
    `setSecurityPollSuffix("")`,
    `setLocal(${lua(`${LOOPBACK4}:${ports.dns}`)})`,
    `setACL({"127.0.0.0/8", "::1/128"})`,
    `newServer({address=${lua(backend)}, checkName=${lua(`${o.readyName}.`)}, checkInterval=1})`,
    `addDOHLocal(${lua(`${LOOPBACK4}:${ports.doh}`)}, ${lua(o.cert.certFile)}, ${lua(o.cert.keyFile)}, ${lua(DOH_PATH)}, ${dohOptions})`,
  ];
  if (v6) {
    lines.push(
      `addDOHLocal(${lua(`[${LOOPBACK6}]:${ports.doh}`)}, ${lua(o.cert.certFile)}, ${lua(o.cert.keyFile)}, ${lua(DOH_PATH)}, ${dohOptions})`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** Starts dnsdist; throws MissingBinaryError when it is not installed (Debian package dnsdist). */
export async function startDnsdistDoh(options: DnsdistDohOptions): Promise<DnsdistDohServer> {
  const bin = requireBinary("dnsdist", "dnsdist");
  const dir = mkdtempSync(join(tmpdir(), "popwatch-dnsdist-"));
  addRunDir(dir);
  const v6 = await hasIpv6Loopback();
  try {
    for (let attempt = 1; ; attempt++) {
      const ports = { dns: await freePort({ udp: true, ipv6: false }), doh: await freePort({ udp: false, ipv6: v6 }) };
      const conf = join(dir, "dnsdist.conf");
      writeFileSync(conf, dnsdistConf(options, v6, ports));
      const daemon = spawnDaemon("dnsdist", bin, ["--supervised", "--disable-syslog", "-C", conf], dir);
      try {
        await waitReady(daemon, `a UDP query on ${LOOPBACK4}:${ports.dns}`, () =>
          answersWithNsid(LOOPBACK4, ports.dns, options.readyName, options.backendNsid),
        );
        for (const address of [LOOPBACK4, ...(v6 ? [LOOPBACK6] : [])]) {
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
