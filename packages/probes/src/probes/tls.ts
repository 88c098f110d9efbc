import type tls from "node:tls";
import { certificateFacts } from "../tls/certificate";
import { openConnection, sniFor } from "../tls/connect";
import { handshakeTrustOptions, judgePeer, readPeerLeaf, trustPlan } from "../tls/trust";
import type { ProbeFn } from "../types";

/**
 * TCP connect and TLS handshake to address:port, then a verdict on the
 * certificate. The handshake accepts any certificate so subject, SANs,
 * expiry and fingerprint are reported even when verification fails; the
 * verdict (chain + name, or pin) becomes a tls_cert_* failure. Transport and
 * handshake errors reject and are classified by the runner from their code.
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
    const cipher = socket.getCipher();
    ctx.facts.protocol = socket.getProtocol() ?? null;
    ctx.facts.cipher = cipher ? cipher.standardName || cipher.name : null;
    ctx.facts.alpn = typeof socket.alpnProtocol === "string" ? socket.alpnProtocol : null;
    const leaf = readPeerLeaf(socket);
    ctx.facts.certificate = leaf ? certificateFacts(leaf.x509) : null;
    if (ctx.facts.certificate) ctx.evidence.tlsFingerprint = ctx.facts.certificate.fingerprint256;

    // An IP-literal SNI is not sent but is still the identity asked for.
    const verdict = judgePeer(socket, leaf, plan, spec.sni || spec.address);
    ctx.facts.verified = verdict.verified;
    ctx.facts.verifyError = verdict.verifyError;
    return verdict.failure;
  } finally {
    socket.destroy();
  }
};
