import type tls from "node:tls";
import { openConnection, sniFor } from "../tls/connect";
import { certificateExpiryFailure, tlsSessionFacts } from "../tls/session";
import { handshakeTrustOptions, judgePeer, readPeerLeaf, trustPlan } from "../tls/trust";
import type { ProbeFn } from "../types";

/**
 * TCP connect and TLS handshake to address:port, then a verdict on the
 * certificate. The handshake accepts any certificate so subject, SANs,
 * expiry and fingerprint are reported even when verification fails; the
 * verdict (chain + name, or pin) becomes a tls_cert_* failure, and a trusted
 * chain with a certificate expiring within certMinDays becomes
 * tls_cert_expiring. Transport and handshake errors reject and are
 * classified by the runner from their code.
 */
export const tlsProbe: ProbeFn<"tls"> = async (spec, ctx) => {
  const sni = sniFor(spec.sni);
  const plan = trustPlan(spec);
  ctx.facts.sni = sni;
  ctx.facts.alpnOffered = [...spec.alpn];
  ctx.facts.verification = plan.mode;

  const socket = (await openConnection(
    spec.address,
    spec.port,
    { servername: sni, alpn: spec.alpn, trust: handshakeTrustOptions(plan) },
    ctx,
  )) as tls.TLSSocket;
  try {
    const leaf = readPeerLeaf(socket);
    // An IP-literal SNI is not sent but is still the identity asked for.
    const verdict = judgePeer(socket, leaf, plan, spec.sni || spec.address);
    Object.assign(ctx.facts, tlsSessionFacts(socket, sni, leaf, plan, verdict));
    if (ctx.facts.certificate) ctx.evidence.tlsFingerprint = ctx.facts.certificate.fingerprint256;
    return verdict.failure ?? certificateExpiryFailure(ctx.facts.chain ?? [], spec.certMinDays);
  } finally {
    socket.destroy();
  }
};
