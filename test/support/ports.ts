// Loopback addresses and free ports for the test servers. Only loopback is
// ever bound.
import dgram from "node:dgram";
import net from "node:net";

export const LOOPBACK4 = "127.0.0.1";
export const LOOPBACK6 = "::1";

let ipv6Cache: boolean | undefined;

/** Whether ::1 can be bound (the kernel may have IPv6 disabled). */
export async function hasIpv6Loopback(): Promise<boolean> {
  if (ipv6Cache !== undefined) return ipv6Cache;
  ipv6Cache = await new Promise<boolean>((resolve) => {
    const s = dgram.createSocket({ type: "udp6", ipv6Only: true });
    s.once("error", () => {
      s.close();
      resolve(false);
    });
    s.bind(0, LOOPBACK6, () => {
      s.close();
      resolve(true);
    });
  });
  return ipv6Cache;
}

// Two servers starting in parallel must not be handed the same port while
// neither has bound it yet.
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
    s.once("error", () => {
      try {
        s.close();
      } catch {
        /* closed */
      }
      resolve(false);
    });
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

/** Resolves true once a TCP connection to host:port succeeds; rejects on refusal or after a second. */
export function tcpConnects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    sock.setTimeout(1000, () => {
      sock.destroy();
      reject(new Error("timeout"));
    });
    sock.on("error", reject);
    sock.on("connect", () => {
      sock.destroy();
      resolve(true);
    });
  });
}
