// What a finished TLS handshake established, in the one shape every kind that
// makes a handshake reports (tls, https, dot, doh), and the certMinDays
// verdict over the certificates the server sent.
import type { X509Certificate } from "node:crypto";
import type tls from "node:tls";
import type { CertificateFacts, Failure, TlsSessionFacts } from "@popwatch/core";
import { certificateFacts } from "./certificate";
import type { PeerLeaf, TrustPlan, Verdict } from "./trust";

// A chain longer than this is no real deployment; report this many and stop.
export const MAX_CHAIN_LENGTH = 16;

// What readPeerChain read, per socket: reading consumes Node's record (below).
const chainsRead = new WeakMap<tls.TLSSocket, CertificateFacts[]>();

/**
 * The certificates the peer sent, leaf first, in the order sent, each listed
 * once, at most MAX_CHAIN_LENGTH of them.
 *
 * Read from getPeerX509Certificate() and its issuerCertificate links, which
 * Node builds from OpenSSL's list of the certificates received. Not from
 * getPeerCertificate(true): that walk appends issuers found in the client's
 * trust store (a root the server never sent), reorders what was sent into
 * issuer order and drops what does not link, so certMinDays would judge a
 * root the operator does not serve (test/http2-chain.test.ts shows both).
 *
 * Call it after everything else that reads the peer certificate (readPeerLeaf,
 * judgePeer): on Node 20 getPeerX509Certificate empties the socket's peer
 * chain as it reads it, so later getPeerCertificate calls see nothing. A
 * second call for the same socket returns the first one's result.
 */
export function readPeerChain(socket: tls.TLSSocket, nowMs: number = Date.now()): CertificateFacts[] {
  const known = chainsRead.get(socket);
  if (known) return known;
  const chain: CertificateFacts[] = [];
  const seen = new Set<string>();
  let current: X509Certificate | undefined;
  try {
    current = socket.getPeerX509Certificate();
  } catch {
    current = undefined; // a socket torn down under us: nothing to report
  }
  // Bounded by OpenSSL's limit on the size of the certificate list it
  // accepts, and here by MAX_CHAIN_LENGTH (and as many steps again for repeats).
  for (let steps = 0; current !== undefined && chain.length < MAX_CHAIN_LENGTH && steps < 2 * MAX_CHAIN_LENGTH; steps++) {
    const facts = certificateFacts(current, nowMs);
    if (!seen.has(facts.fingerprint256)) {
      seen.add(facts.fingerprint256);
      chain.push(facts);
    }
    current = current.issuerCertificate;
  }
  chainsRead.set(socket, chain);
  return chain;
}

/**
 * The session facts of a completed handshake, judged by `verdict`. Reads the
 * chain (readPeerChain), so call it after readPeerLeaf and judgePeer.
 */
export function tlsSessionFacts(
  socket: tls.TLSSocket,
  sni: string | null,
  leaf: PeerLeaf | null,
  plan: TrustPlan,
  verdict: Verdict,
  nowMs: number = Date.now(),
): TlsSessionFacts {
  const cipher = socket.getCipher();
  const chain = readPeerChain(socket, nowMs);
  return {
    sni,
    protocol: socket.getProtocol() ?? null,
    cipher: cipher ? cipher.standardName || cipher.name : null,
    alpn: typeof socket.alpnProtocol === "string" ? socket.alpnProtocol : null,
    certificate: leaf ? certificateFacts(leaf.x509, nowMs) : (chain[0] ?? null),
    chain,
    verification: plan.mode,
    verified: verdict.verified,
    verifyError: verdict.verifyError,
  };
}

/**
 * `tls_cert_expiring` naming the certificate of `chain` that expires first,
 * when it expires within `minDays`; null when none does or no minimum is set.
 * An intermediate that expires before the leaf is named, not the leaf.
 */
export function certificateExpiryFailure(chain: readonly CertificateFacts[], minDays: number | undefined): Failure | null {
  if (minDays === undefined || chain.length === 0) return null;
  let first = -1;
  for (let i = 0; i < chain.length; i++) {
    const daysLeft = chain[i]!.daysLeft;
    if (Number.isFinite(daysLeft) && (first === -1 || daysLeft < chain[first]!.daysLeft)) first = i;
  }
  if (first === -1) return null;
  const cert = chain[first]!;
  if (cert.daysLeft >= minDays) return null;
  const role = first === 0 ? "leaf" : `chain certificate ${first}`;
  return {
    code: "tls_cert_expiring",
    message: `${role} "${cert.subject}" expires ${cert.notAfter} (${cert.daysLeft} days left, certMinDays ${minDays})`,
  };
}
