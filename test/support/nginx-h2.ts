// Debian's nginx speaking HTTP/2 over TLS with a certificate chain (leaf +
// intermediate from pki-chain.ts), on 127.0.0.1 and, when the kernel has it,
// ::1. Started by the test file that needs it (beforeAll), in a private
// directory, in the foreground, on a free port; stopped by recorded PID.
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import tls from "node:tls";
import { type Daemon, StartupError, logTail, requireBinary, spawnDaemon, startOnFreePorts, stopDaemon, waitReady } from "./daemons";
import { type ChainPki, createChainPki } from "./pki-chain";
import { LOOPBACK4, LOOPBACK6, freePort, hasIpv6Loopback } from "./ports";
import { nginxConfText } from "./server-configs";

export const H2_SERVED_BY = "pop-nginx-h2";
export const H2_OK_BODY = "popwatch http/2 chain page\n";

export interface NginxH2 {
  address: string;
  /** "::1" when nginx also listens there, else null. */
  address6: string | null;
  /** TLS with `http2`: ALPN h2 and http/1.1; the leaf and the intermediate are sent. */
  port: number;
  /** Name in the leaf's SANs (also valid: localhost, 127.0.0.1, ::1). */
  host: string;
  pki: ChainPki;
  /** `/` answers 200 with H2_OK_BODY; `/static/page.txt` is a 32 KiB file. */
  paths: { ok: string; static: string; staticBytes: number };
  stop(): Promise<void>;
}

const STATIC_BYTES = 32 * 1024;

/** Resolves true when a handshake on address:port presents the leaf with this SHA-256 (our nginx, not a stranger). */
function presentsLeaf(address: string, port: number, sha256: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: address, port, rejectUnauthorized: false, servername: "localhost" });
    socket.setTimeout(1000, () => {
      socket.destroy();
      reject(new Error("timeout"));
    });
    socket.once("error", reject);
    socket.once("secureConnect", () => {
      const raw = socket.getPeerCertificate().raw;
      socket.destroy();
      resolve(raw !== undefined && createHash("sha256").update(raw).digest("hex") === sha256);
    });
  });
}

/** Starts nginx in `dir` with a fresh chain PKI (intermediate 5 days, leaf 60 unless told otherwise). */
export async function startNginxH2(dir: string, pkiOptions: Parameters<typeof createChainPki>[1] = {}): Promise<NginxH2> {
  const bin = requireBinary("nginx", "nginx");
  requireBinary("openssl", "openssl");
  mkdirSync(join(dir, "tmp"), { recursive: true });
  mkdirSync(join(dir, "www", "static"), { recursive: true });
  writeFileSync(join(dir, "www", "static", "page.txt"), Buffer.alloc(STATIC_BYTES, "h"));
  const pki = createChainPki(join(dir, "pki"), { names: ["chain.pop.test", "localhost"], ...pkiOptions });
  const v6 = await hasIpv6Loopback();
  const sha = pki.leaf.sha256;
  let started: { daemon: Daemon; ports: number };
  try {
    started = await startOnFreePorts(
      () => freePort({ udp: false, ipv6: v6 }),
      (port) => {
        const listen = [`${LOOPBACK4}:${port}`, ...(v6 ? [`[${LOOPBACK6}]:${port}`] : [])];
        const conf = join(dir, "nginx.conf");
        writeFileSync(
          conf,
          nginxConfText({
            dir,
            runAsRoot: process.getuid?.() === 0,
            accessLog: `${dir}/nginx-access.log`,
            servers: [
              {
                listen,
                tls: { certFile: pki.fullChainFile, keyFile: pki.leaf.keyFile },
                body: `    server_name chain.pop.test localhost;
    add_header X-Served-By ${H2_SERVED_BY} always;
    location = / { return 200 "${H2_OK_BODY.replace("\n", "\\n")}"; }
    location /static/ { root ${dir}/www; }
    location / { return 404; }`,
              },
            ],
          }),
        );
        // -e: error log before the config is read (else /var/log/nginx/error.log); -p: prefix.
        return spawnDaemon("nginx-h2", bin, ["-p", `${dir}/`, "-e", join(dir, "nginx-error.log"), "-c", conf], dir);
      },
      (daemon, port) =>
        waitReady(
          daemon,
          `TLS on ${LOOPBACK4}:${port}`,
          async () => (await presentsLeaf(LOOPBACK4, port, sha)) && (!v6 || (await presentsLeaf(LOOPBACK6, port, sha))),
        ),
    );
  } catch (err) {
    if (err instanceof StartupError) {
      throw new StartupError(`${err.message}\n--- nginx-error.log:\n${logTail(join(dir, "nginx-error.log"))}`, err.portInUse);
    }
    throw err;
  }
  const { daemon, ports: port } = started;
  return {
    address: LOOPBACK4,
    address6: v6 ? LOOPBACK6 : null,
    port,
    host: "chain.pop.test",
    pki,
    paths: { ok: "/", static: "/static/page.txt", staticBytes: STATIC_BYTES },
    stop: () => stopDaemon(daemon),
  };
}
