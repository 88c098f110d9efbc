// What a finished TLS handshake established, in the one shape every kind that
// makes a handshake reports (tls, https, dot, doh), and the certMinDays
// verdict over the certificates the server sent.
import { X509Certificate } from "node:crypto";
import type tls from "node:tls";
import type { CertificateFacts, Failure, TlsSessionFacts } from "@popwatch/core";
import { certificateFacts } from "./certificate";
import type { PeerLeaf, TrustPlan, Verdict } from "./trust";

// A chain longer than this is no real deployment; stop walking rather than follow a hostile one.
const MAX_CHAIN_LENGTH = 16;

/**
 * The certificates of the peer's chain, leaf first. Node's detailed peer
 * certificate links each certificate to its issuer; the walk stops at a
 * self-issued certificate, a repeat or MAX_CHAIN_LENGTH.
 */
export function readPeerChain(socket: tls.TLSSocket, nowMs: number = Date.now()): CertificateFacts[] {
  const chain: CertificateFacts[] = [];
  const seen = new Set<string>();
  let current: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (current?.raw && current.raw.length > 0 && chain.length < MAX_CHAIN_LENGTH) {
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(current.raw);
    } catch {
      break; // DER Node parsed but X509Certificate refuses: keep what was read
    }
    const facts = certificateFacts(x509, nowMs);
    if (seen.has(facts.fingerprint256)) break;
    seen.add(facts.fingerprint256);
    chain.push(facts);
    const issuer: tls.DetailedPeerCertificate | undefined = current.issuerCertificate;
    if (issuer === undefined || issuer === current) break;
    current = issuer;
  }
  return chain;
}

/** The session facts of a completed handshake, judged by `verdict`. */
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
