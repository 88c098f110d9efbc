// Debian's Unbound (1.17, built with libnghttp2) as a loopback DNS server
// speaking plain DNS (UDP/TCP), DNS over TLS (RFC 7858) and DNS over HTTPS
// (RFC 8484) from one process, for the dot/doh probe tests and benchmarks.
//
// It answers from an auth-zone loaded from a zone file (the test zone of
// zone-data.ts unless the caller brings its own) and refuses every other
// name: a `local-zone: "." refuse` keeps it from ever resolving, so it never
// sends a packet off the machine. It runs in the foreground (-d), without
// chroot, without dropping privileges (username ""), with every file in a
// private directory, on free loopback ports (127.0.0.1, and ::1 when the
// kernel has it). No vitest import: benchmarks use it outside the runner.
import { X509Certificate } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addRunDir, removeRunDir, requireBinary, spawnDaemon, startOnFreePorts, stopDaemon, waitReady } from "./daemons";
import { answersWithNsid } from "./dns-client";
import { type TestCert, type TestPki, createTestPki, issueLeaf } from "./pki";
import { LOOPBACK4, LOOPBACK6, freePort, hasIpv6Loopback, tcpConnects } from "./ports";
import { RECORDS, ZONE, zoneFile } from "./zone-data";

/**
 * Which certificate the TLS ports present, all signed by the PKI's CA except
 * `selfSigned`: `valid` (SANs pop.test, localhost, IP 127.0.0.1),
 * `wrongName` (SAN wrong-name.invalid only), `expired` (expired in 2021, the
 * valid leaf's names), `selfSigned` (the valid leaf's names, no CA).
 */
export type UnboundCertificate = "valid" | "wrongName" | "expired" | "selfSigned";

export interface UnboundOptions {
  certificate?: UnboundCertificate;
  /** A PKI to share with other servers (one CA for several instances); created in the run directory otherwise. */
  pki?: TestPki;
  /** EDNS NSID (ASCII); default "pop-unbound". */
  nsid?: string;
  /** CHAOS TXT id.server and hostname.bind answer; default "unbound-pop". */
  identity?: string;
  /** A zone to serve instead of the test zone; `readyName` must have an A record (the readiness check asks for it). */
  zone?: { name: string; text: string; readyName: string };
  /** Extra lines for the `server:` clause (e.g. "module-config: \"validator iterator\""), indented by this module. */
  serverLines?: string[];
}

export interface UnboundServer {
  /** Always "127.0.0.1". */
  address: string;
  /** "::1" when Unbound also listens there, else null. */
  address6: string | null;
  /** Plain DNS, UDP and TCP. */
  dnsPort: number;
  /** DNS over TLS. */
  dotPort: number;
  /** DNS over HTTPS (HTTP/2 only: Unbound speaks no HTTP/1.1) at `dohPath`. */
  dohPort: number;
  dohPath: "/dns-query";
  nsid: string;
  /** CHAOS TXT answer for both id.server and hostname.bind. */
  identity: string;
  certificate: UnboundCertificate;
  /** The CA that signed the certificate (also for `selfSigned`, which it did not sign). */
  caPem: string;
  caFile: string;
  /** The subjectAltName entries of the certificate presented, e.g. ["DNS:pop.test", "DNS:localhost", "IP:127.0.0.1"]. */
  certNames: string[];
  /** SHA-256 of the presented certificate's DER, lowercase hex. */
  certSha256: string;
  /** The name to use as SNI / TLS host for a valid certificate. */
  tlsHost: "pop.test";
  /** Zone served, without trailing dot. */
  zone: string;
  pid: number;
  dir: string;
  logFile: string;
  /** Stops Unbound (and removes the directory when startUnbound made it). Safe to call twice. */
  close(): Promise<void>;
}

const DEFAULT_NSID = "pop-unbound";
const DEFAULT_IDENTITY = "unbound-pop";
const DOH_PATH = "/dns-query";
const WRONG_NAME_SANS = ["DNS:wrong-name.invalid"];

function presentedCertificate(pki: TestPki, kind: UnboundCertificate): TestCert {
  switch (kind) {
    case "valid":
      return pki.leaf;
    case "expired":
      return pki.expired;
    case "selfSigned":
      return pki.selfSigned;
    case "wrongName":
      return issueLeaf(pki, "unbound-wrong-name", WRONG_NAME_SANS);
  }
}

/** subjectAltName entries as openssl writes them ("DNS:x", "IP:127.0.0.1"); Node spells IPs "IP Address:". */
function subjectAltNames(cert: TestCert): string[] {
  const text = new X509Certificate(cert.certPem).subjectAltName ?? "";
  return text
    .split(", ")
    .filter(Boolean)
    .map((entry) => entry.replace(/^IP Address:/, "IP:"));
}

interface ConfInput {
  dir: string;
  v6: boolean;
  ports: { dns: number; dot: number; doh: number };
  cert: TestCert;
  nsid: string;
  identity: string;
  zone: { name: string; file: string };
  serverLines: string[];
}

function unboundConf(c: ConfInput): string {
  const addresses = [LOOPBACK4, ...(c.v6 ? [LOOPBACK6] : [])];
  const interfaces = addresses.flatMap((a) => [c.ports.dns, c.ports.dot, c.ports.doh].map((p) => `  interface: ${a}@${p}`));
  return `server:
  verbosity: 1
  num-threads: 1
  directory: "${c.dir}"
  chroot: ""
  username: ""
  pidfile: "${c.dir}/unbound.pid"
  do-daemonize: no
  use-syslog: no
  logfile: ""
  log-time-ascii: yes
  interface-automatic: no
${interfaces.join("\n")}
  do-ip4: yes
  do-ip6: ${c.v6 ? "yes" : "no"}
  so-reuseport: no
  access-control: 127.0.0.0/8 allow
  access-control: ::1/128 allow
  tls-port: ${c.ports.dot}
  https-port: ${c.ports.doh}
  http-endpoint: "${DOH_PATH}"
  tls-service-key: "${c.cert.keyFile}"
  tls-service-pem: "${c.cert.certFile}"
  incoming-num-tcp: 200
  nsid: "ascii_${c.nsid}"
  identity: "${c.identity}"
  hide-identity: no
  # No validator: it would want a root trust anchor, and validation is not what these tests are about.
  module-config: "iterator"
  # Never resolve: every name outside the zone is refused, so nothing leaves the machine.
  local-zone: "." refuse
  local-zone: "${c.zone.name}." transparent
${c.serverLines.map((l) => `  ${l}`).join("\n")}
auth-zone:
  name: "${c.zone.name}."
  zonefile: "${c.zone.file}"
  for-downstream: yes
  for-upstream: no
  fallback-enabled: no
remote-control:
  control-enable: no
`;
}

/**
 * Starts Unbound in `dir` (created; a fresh temp directory, removed on
 * close, when omitted). Resolves once plain DNS answers the zone with the
 * NSID on every address and the DoT and DoH ports accept connections.
 * Throws MissingBinaryError when unbound is not installed (Debian package unbound).
 */
export async function startUnbound(dir?: string, options: UnboundOptions = {}): Promise<UnboundServer> {
  const bin = requireBinary("unbound", "unbound");
  const ownDir = dir === undefined;
  const runDir = dir ?? mkdtempSync(join(tmpdir(), "popwatch-unbound-"));
  if (ownDir) addRunDir(runDir);
  mkdirSync(runDir, { recursive: true });
  try {
    return await launch(bin, runDir, ownDir, options);
  } catch (err) {
    if (ownDir) removeRunDir(runDir);
    throw err;
  }
}

async function launch(bin: string, dir: string, ownDir: boolean, options: UnboundOptions): Promise<UnboundServer> {
  const certificate = options.certificate ?? "valid";
  const nsid = options.nsid ?? DEFAULT_NSID;
  const identity = options.identity ?? DEFAULT_IDENTITY;
  const zone = options.zone ?? { name: ZONE, text: zoneFile(), readyName: RECORDS.a.name };
  const pki = options.pki ?? createTestPki(join(dir, "pki"));
  const cert = presentedCertificate(pki, certificate);
  const zoneFilePath = join(dir, `${zone.name}.zone`);
  writeFileSync(zoneFilePath, zone.text);
  const v6 = await hasIpv6Loopback();
  const addresses = [LOOPBACK4, ...(v6 ? [LOOPBACK6] : [])];

  const { daemon, ports } = await startOnFreePorts(
    async () => ({
      dns: await freePort({ udp: true, ipv6: v6 }),
      dot: await freePort({ udp: false, ipv6: v6 }),
      doh: await freePort({ udp: false, ipv6: v6 }),
    }),
    (ports) => {
      const conf = join(dir, "unbound.conf");
      writeFileSync(
        conf,
        unboundConf({
          dir,
          v6,
          ports,
          cert,
          nsid,
          identity,
          zone: { name: zone.name, file: zoneFilePath },
          serverLines: options.serverLines ?? [],
        }),
      );
      return spawnDaemon("unbound", bin, ["-d", "-c", conf], dir);
    },
    async (daemon, ports) => {
      for (const address of addresses) {
        await waitReady(daemon, `a UDP query on ${address}:${ports.dns}`, () => answersWithNsid(address, ports.dns, zone.readyName, nsid));
        await waitReady(
          daemon,
          `TCP connections on ${address} ports ${ports.dot} and ${ports.doh}`,
          async () => (await tcpConnects(address, ports.dot)) && (await tcpConnects(address, ports.doh)),
        );
      }
    },
  );
  let closed = false;
  return {
    address: LOOPBACK4,
    address6: v6 ? LOOPBACK6 : null,
    dnsPort: ports.dns,
    dotPort: ports.dot,
    dohPort: ports.doh,
    dohPath: DOH_PATH,
    nsid,
    identity,
    certificate,
    caPem: pki.caPem,
    caFile: pki.caFile,
    certNames: subjectAltNames(cert),
    certSha256: cert.sha256,
    tlsHost: "pop.test",
    zone: zone.name,
    pid: daemon.pid,
    dir,
    logFile: daemon.logFile,
    close: async () => {
      if (closed) return;
      closed = true;
      await stopDaemon(daemon);
      if (ownDir) removeRunDir(dir);
    },
  };
}
