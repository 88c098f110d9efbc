import net from "node:net";
import tls from "node:tls";
import type { PhaseTimings } from "../types";

/** The slice of a ProbeContext that opening a connection needs. */
export interface ConnectContext {
  readonly signal: AbortSignal;
  now(): bigint;
  msSince(startNs: bigint): number;
  readonly timings: PhaseTimings;
}

export interface TlsHandshakeOptions {
  /** SNI to send; null sends none. Callers pass null for IP literals (RFC 6066 forbids them). */
  servername: string | null;
  alpn: readonly string[];
  /** Trust options from handshakeTrustOptions; they must not make the handshake reject. */
  trust: tls.ConnectionOptions;
}

/** What to send as SNI for a configured name: nothing for null or an IP literal. */
export function sniFor(name: string | null): string | null {
  if (name === null || name === "" || net.isIP(name) !== 0) return null;
  return name;
}

/**
 * TCP connect, then (when `handshake` is given) a TLS handshake on that
 * socket: two steps rather than tls.connect(host) so connectMs and tlsMs
 * each time exactly one phase. Records ctx.timings.connectMs/tlsMs as the
 * phases complete, so a failed handshake still reports its connect time.
 *
 * Resolves with the open socket, which the caller then owns (destroying a
 * TLS socket also closes the TCP socket under it). Rejects with the socket
 * error, or with the signal's reason on abort; either way nothing is left
 * open and no listener stays on the signal.
 */
export function openConnection(
  address: string,
  port: number,
  handshake: TlsHandshakeOptions | null,
  ctx: ConnectContext,
): Promise<net.Socket> {
  return new Promise<net.Socket>((resolve, reject) => {
    const { signal } = ctx;
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    let settled = false;
    let secure: tls.TLSSocket | null = null;
    const start = ctx.now();
    const raw = net.connect({ host: address, port, noDelay: true });

    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      secure?.destroy();
      raw.destroy();
      reject(err);
    };
    const onAbort = () => fail(signal.reason);
    const succeed = (socket: net.Socket) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      raw.off("error", fail);
      secure?.off("error", fail);
      resolve(socket);
    };

    signal.addEventListener("abort", onAbort, { once: true });
    raw.on("error", fail);
    raw.once("connect", () => {
      ctx.timings.connectMs = ctx.msSince(start);
      if (!handshake) {
        succeed(raw);
        return;
      }
      const tlsStart = ctx.now();
      secure = tls.connect({
        ...handshake.trust,
        socket: raw,
        ...(handshake.servername !== null ? { servername: handshake.servername } : {}),
        ...(handshake.alpn.length > 0 ? { ALPNProtocols: [...handshake.alpn] } : {}),
      });
      secure.on("error", fail);
      secure.once("secureConnect", () => {
        ctx.timings.tlsMs = ctx.msSince(tlsStart);
        succeed(secure!);
      });
    });
  });
}
