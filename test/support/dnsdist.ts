// PowerDNS dnsdist as a second DNS-over-TLS implementation for tests: its
// own TLS listener (addTLSLocal, OpenSSL provider) and RFC 7766 framing in
// front of a plain-DNS backend on loopback (the Unbound test server's plain
// port, for instance). Answers, NSID and CHAOS identity come from the
// backend; the TLS session and the stream handling are dnsdist's.
//
// Foreground (--supervised), no syslog, no console, security polling off (it
// would send a query to the Internet), every file in `dir`, free loopback
// ports. No vitest import: benchmarks use it outside the runner.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { StartupError, requireBinary, spawnDaemon, stopDaemon, waitReady } from "./daemons";
import type { TestCert } from "./pki";
import { LOOPBACK4, LOOPBACK6, freePort, hasIpv6Loopback, tcpConnects } from "./ports";

export interface DnsdistOptions {
  /** Plain DNS (UDP and TCP) server dnsdist forwards every query to. */
  backend: { address: string; port: number };
  /** Certificate and key the TLS listener presents. */
  cert: TestCert;
}

export interface DnsdistServer {
  /** Always "127.0.0.1". */
  address: string;
  /** "::1" when dnsdist also listens there, else null. */
  address6: string | null;
  /** DNS over TLS. */
  dotPort: number;
  pid: number;
  logFile: string;
  close(): Promise<void>;
}

function dnsdistConf(opts: DnsdistOptions, port: number, v6: boolean): string {
  const tls = (address: string) =>
    `addTLSLocal("${address}:${port}", "${opts.cert.certFile}", "${opts.cert.keyFile}", { provider="openssl", reusePort=false })`;
  return [
    'setSecurityPollSuffix("")',
    'setACL({"127.0.0.0/8", "::1/128"})',
    tls(LOOPBACK4),
    ...(v6 ? [tls(`[${LOOPBACK6}]`)] : []),
    // Always up: no health-check queries to the backend to wait for.
    `newServer({address="${opts.backend.address}:${opts.backend.port}", name="backend", healthCheckMode="up"})`,
    "",
  ].join("\n");
}

/** Starts dnsdist in `dir` (created). Throws MissingBinaryError when it is not installed (Debian package dnsdist). */
export async function startDnsdist(dir: string, options: DnsdistOptions): Promise<DnsdistServer> {
  const bin = requireBinary("dnsdist", "dnsdist");
  mkdirSync(dir, { recursive: true });
  const v6 = await hasIpv6Loopback();
  for (let attempt = 1; ; attempt++) {
    const port = await freePort({ udp: false, ipv6: v6 });
    const conf = join(dir, "dnsdist.conf");
    writeFileSync(conf, dnsdistConf(options, port, v6));
    const daemon = spawnDaemon("dnsdist", bin, ["--supervised", "--disable-syslog", "-C", conf], dir);
    try {
      for (const address of [LOOPBACK4, ...(v6 ? [LOOPBACK6] : [])]) {
        await waitReady(daemon, `TCP connections on ${address}:${port}`, () => tcpConnects(address, port));
      }
    } catch (err) {
      await stopDaemon(daemon);
      if (err instanceof StartupError && err.portInUse && attempt < 3) continue;
      throw err;
    }
    return {
      address: LOOPBACK4,
      address6: v6 ? LOOPBACK6 : null,
      dotPort: port,
      pid: daemon.pid,
      logFile: daemon.logFile,
      close: () => stopDaemon(daemon),
    };
  }
}
