import { X509Certificate } from "node:crypto";
import tls from "node:tls";
import type { Failure, FailureCode } from "@popwatch/core";
import { classifyError } from "../classify";
import { ProbeSpecError } from "../errors";
import type { TrustOptions } from "../types";
import { normalizeFingerprint, sha256Hex } from "./certificate";

/** Our own verify code for a leaf whose fingerprint matches none of the pins. */
export const PIN_MISMATCH = "ERR_TLS_PIN_MISMATCH";

/**
 * How a probe will judge the peer. The handshake itself never rejects a
 * certificate (rejectUnauthorized: false), so the facts are always reported;
 * the verdict comes afterwards from this plan.
 */
export interface TrustPlan {
  mode: "ca" | "pin";
  /** Canonical pins (pin mode only). */
  pins: ReadonlySet<string>;
  /**
   * System roots plus the spec's CAs, when the spec has any; undefined means
   * Node's default store. Only the chain is judged with it.
   */
  secureContext: tls.SecureContext | undefined;
}

export interface Verdict {
  verification: "ca" | "pin";
  verified: boolean;
  /** OpenSSL verify code, ERR_TLS_CERT_ALTNAME_INVALID or ERR_TLS_PIN_MISMATCH. */
  verifyError: string | null;
  failure: Failure | null;
}

// Building a context from ~150 root PEMs costs ~30 ms, which a probe run
// with hundreds of targets sharing one CA list should not pay each time.
// A context holds no sessions Node would resume on its own, so sharing one
// does not turn later probes into abbreviated handshakes.
const CONTEXT_CACHE_LIMIT = 16;
const contextCache = new Map<string, tls.SecureContext>();

function secureContextFor(ca: readonly string[]): tls.SecureContext {
  const key = ca.join("\0");
  const cached = contextCache.get(key);
  if (cached) {
    contextCache.delete(key);
    contextCache.set(key, cached);
    return cached;
  }
  let context: tls.SecureContext;
  try {
    context = tls.createSecureContext({ ca: [...tls.rootCertificates, ...ca] });
  } catch (err) {
    throw new ProbeSpecError("ca", `cannot load CA certificates: ${classifyError(err).message}`, { cause: err });
  }
  contextCache.set(key, context);
  if (contextCache.size > CONTEXT_CACHE_LIMIT) contextCache.delete(contextCache.keys().next().value!);
  return context;
}

export function trustPlan(trust: TrustOptions): TrustPlan {
  const pins = new Set((trust.pinSha256 ?? []).map(normalizeFingerprint).filter((p) => p.length > 0));
  if (pins.size > 0) return { mode: "pin", pins, secureContext: undefined };
  const ca = trust.ca ?? [];
  return { mode: "ca", pins, secureContext: ca.length > 0 ? secureContextFor(ca) : undefined };
}

/** Client options that let every handshake complete so the certificate can be reported, then judged by `judgePeer`. */
export function handshakeTrustOptions(plan: TrustPlan): tls.ConnectionOptions {
  return {
    rejectUnauthorized: false,
    // The hostname is checked in judgePeer against the name we chose, so
    // authorizationError only ever speaks about the chain.
    checkServerIdentity: () => undefined,
    ...(plan.secureContext ? { secureContext: plan.secureContext } : {}),
  };
}

/** Certificate problems are never anything but expired or invalid, even for verify codes classify.ts has not met. */
export function certificateFailureCode(verifyCode: string): FailureCode {
  const code = classifyError({ code: verifyCode }).code;
  return code === "tls_cert_expired" ? "tls_cert_expired" : "tls_cert_invalid";
}

function authorizationCode(socket: tls.TLSSocket): string {
  // Typed as Error, but Node stores the OpenSSL verify code as a string.
  const err: unknown = socket.authorizationError;
  if (typeof err === "string" && err) return err;
  if (err && typeof err === "object") {
    const { code, message } = err as { code?: unknown; message?: unknown };
    if (typeof code === "string") return code;
    if (typeof message === "string" && message) return message;
  }
  return "CERT_UNTRUSTED";
}

/** The peer's leaf certificate in both of Node's shapes. */
export interface PeerLeaf {
  /** What tls.checkServerIdentity reads. */
  legacy: tls.PeerCertificate;
  x509: X509Certificate;
}

/**
 * The leaf the peer sent, or null. Built from getPeerCertificate().raw and
 * never from getPeerX509Certificate(): on Node 20 the latter removes the leaf
 * from the socket's peer chain, so any later call (ours, or a name check)
 * sees the issuer or nothing.
 */
export function readPeerLeaf(socket: tls.TLSSocket): PeerLeaf | null {
  const legacy = socket.getPeerCertificate();
  if (!legacy?.raw || legacy.raw.length === 0) return null;
  try {
    return { legacy, x509: new X509Certificate(legacy.raw) };
  } catch {
    // DER Node itself parsed but X509Certificate refuses: report no facts rather than fail the probe.
    return null;
  }
}

/**
 * Judges a completed handshake. Pin mode: the leaf's SHA-256 must be one of
 * the pins; chain and name are not consulted, since the pin already names
 * the exact certificate (self-signed origins are what pins are for).
 * CA mode: the chain as OpenSSL verified it, then the name `identity` (the
 * SNI, or the address when no SNI was sent) against the leaf's SANs.
 */
export function judgePeer(socket: tls.TLSSocket, leaf: PeerLeaf | null, plan: TrustPlan, identity: string): Verdict {
  const reject = (verifyError: string, message: string): Verdict => ({
    verification: plan.mode,
    verified: false,
    verifyError,
    failure: { code: certificateFailureCode(verifyError), message },
  });

  if (plan.mode === "pin") {
    const fingerprint = leaf ? sha256Hex(leaf.x509.raw) : null;
    if (fingerprint && plan.pins.has(fingerprint)) {
      return { verification: "pin", verified: true, verifyError: null, failure: null };
    }
    return reject(
      PIN_MISMATCH,
      `${PIN_MISMATCH}: leaf certificate sha256 ${fingerprint ?? "(none sent)"} matches none of ${plan.pins.size} pin(s)`,
    );
  }

  if (!socket.authorized) {
    const code = authorizationCode(socket);
    const about = leaf ? ` for ${leaf.x509.subject.replace(/\n/g, ", ")} (valid ${leaf.x509.validFrom} to ${leaf.x509.validTo})` : "";
    return reject(code, `${code}: certificate chain verification failed${about}`);
  }
  if (!leaf) return reject("CERT_UNTRUSTED", "CERT_UNTRUSTED: no certificate to check the name against");
  let nameError: Error | undefined;
  try {
    nameError = tls.checkServerIdentity(identity, leaf.legacy);
  } catch (err) {
    // Node throws (ERR_TLS_CERT_ALTNAME_FORMAT) on a SAN list it cannot split: still a verdict on the certificate.
    nameError = err instanceof Error ? err : new Error(String(err));
  }
  if (nameError) {
    const raw: unknown = (nameError as { code?: unknown }).code;
    const code = typeof raw === "string" ? raw : "ERR_TLS_CERT_ALTNAME_INVALID";
    return reject(code, `${code}: ${nameError.message}`);
  }
  return { verification: "ca", verified: true, verifyError: null, failure: null };
}
