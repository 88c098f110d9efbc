// PowerDNS dnsdist as a second DNS-over-TLS implementation for tests: its
// own TLS listener (addTLSLocal, OpenSSL provider) and RFC 7766 framing in
// front of a plain-DNS backend on loopback (the Unbound test server's plain
// port, for instance). Answers, NSID and CHAOS identity come from the
// backend; the TLS session and the stream handling are dnsdist's. On request
// also a DNS-over-HTTPS listener (addDOHLocal: HTTP/2 and HTTP/1.1 by ALPN)
// that adds response headers of the test's choosing, as a CDN-fronted
// resolver would.
//
// Foreground (--supervised), no syslog, no console, security polling off (it
// would send a query to the Internet), every file in `dir`, free loopback
// ports. No vitest import: benchmarks use it outside the runner.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { requireBinary, spawnDaemon, startOnFreePorts, stopDaemon, waitReady } from "./daemons";
import type { TestCert } from "./pki";
import { LOOPBACK4, LOOPBACK6, freePort, hasIpv6Loopback, tcpConnects } from "./ports";

export interface DnsdistOptions {
  /** Plain DNS (UDP and TCP) server dnsdist forwards every query to. */
  backend: { address: string; port: number };
  /** Certificate and key the TLS listener presents. */
  cert: TestCert;
  /** Also listen for DNS over HTTPS at /dns-query, adding these headers to every response. */
  doh?: { responseHeaders?: Record<string, string> };
}

export interface DnsdistServer {
  /** Always "127.0.0.1". */
  address: string;
  /** "::1" when dnsdist also listens there, else null. */
  address6: string | null;
  /** DNS over TLS. */
  dotPort: number;
  /** DNS over HTTPS at `dohPath`, when asked for. */
  dohPort: number | null;
  dohPath: "/dns-query";
  pid: number;
  logFile: string;
  close(): Promise<void>;
}

const DOH_PATH = "/dns-query";

function dnsdistConf(opts: DnsdistOptions, port: number, dohPort: number | null, v6: boolean): string {
  const addresses = [LOOPBACK4, ...(v6 ? [`[${LOOPBACK6}]`] : [])];
  const tls = (address: string) =>
    `addTLSLocal("${address}:${port}", "${opts.cert.certFile}", "${opts.cert.keyFile}", { provider="openssl", reusePort=false })`;
  // A JSON string is a valid Lua string literal for the ASCII tests use.
  const headers = Object.entries(opts.doh?.responseHeaders ?? {})
    .map(([name, value]) => `[${JSON.stringify(name)}]=${JSON.stringify(value)}`)
    .join(", ");
  const doh = (address: string) =>
    // dnsdist 1.7 refuses an empty customResponseHeaders table (boost::bad_get), so none is given without headers.
    `addDOHLocal("${address}:${dohPort}", "${opts.cert.certFile}", "${opts.cert.keyFile}", "${DOH_PATH}"${headers ? `, { customResponseHeaders={${headers}} }` : ""})`;
  return [
    'setSecurityPollSuffix("")',
    'setACL({"127.0.0.0/8", "::1/128"})',
    ...addresses.map(tls),
    ...(dohPort !== null ? addresses.map(doh) : []),
    // dnsdist 1.7 has no healthCheckMode (1.8+) and checks a.root-servers.net by default, which a recursive
    // backend would try to resolve on the Internet: check localhost., which every backend answers at once
    // (any answer, REFUSED included, counts as up without mustResolve).
    `newServer({address="${opts.backend.address}:${opts.backend.port}", name="backend", checkName="localhost."})`,
    "",
  ].join("\n");
}

/** Starts dnsdist in `dir` (created). Throws MissingBinaryError when it is not installed (Debian package dnsdist). */
export async function startDnsdist(dir: string, options: DnsdistOptions): Promise<DnsdistServer> {
  const bin = requireBinary("dnsdist", "dnsdist");
  mkdirSync(dir, { recursive: true });
  const v6 = await hasIpv6Loopback();
  const { daemon, ports } = await startOnFreePorts(
    async () => ({
      dot: await freePort({ udp: false, ipv6: v6 }),
      doh: options.doh ? await freePort({ udp: false, ipv6: v6 }) : null,
    }),
    (ports) => {
      const conf = join(dir, "dnsdist.conf");
      writeFileSync(conf, dnsdistConf(options, ports.dot, ports.doh, v6));
      return spawnDaemon("dnsdist", bin, ["--supervised", "--disable-syslog", "-C", conf], dir);
    },
    async (daemon, ports) => {
      for (const address of [LOOPBACK4, ...(v6 ? [LOOPBACK6] : [])]) {
        for (const port of [ports.dot, ports.doh]) {
          if (port !== null) await waitReady(daemon, `TCP connections on ${address}:${port}`, () => tcpConnects(address, port));
        }
      }
    },
  );
  return {
    address: LOOPBACK4,
    address6: v6 ? LOOPBACK6 : null,
    dotPort: ports.dot,
    dohPort: ports.doh,
    dohPath: DOH_PATH,
    pid: daemon.pid,
    logFile: daemon.logFile,
    close: () => stopDaemon(daemon),
  };
}
