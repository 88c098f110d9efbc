// Atlas `sslcert` results: the certificates a server sent in a TLS handshake
// (PEM, leaf first) become a tls result with the same certificate facts a tls
// probe records, and the leaf's fingerprint as PoP evidence. Atlas does not
// verify the chain, so neither can an import: verification is `none`, and
// only what the certificates say about themselves at the measurement's time
// (expiry) is judged.

import { X509Certificate } from "node:crypto";
import type { CertificateFacts, DetailsByKind, Failure } from "@popwatch/core";
import { certificateFacts } from "../tls/certificate";
import {
  type AtlasEnvelope,
  type JsonObject,
  describe,
  field,
  finiteNumber,
  isObject,
  readDestination,
  readTime,
  roundMs,
  text,
} from "./envelope";
import { type AtlasMapOptions, baseResult, popOf } from "./result";
import type { AtlasMapping } from "./types";

const HTTPS_PORT = 443;

export function mapSslcert(raw: JsonObject, envelope: AtlasEnvelope, options: AtlasMapOptions, out: AtlasMapping): void {
  const at = readTime(field(raw, "timestamp"), envelope);
  if (!at.ok) {
    out.unmapped.push(at.reason);
    return;
  }
  const destination = readDestination(raw, raw, HTTPS_PORT);
  if (!destination.ok) {
    out.unmapped.push(destination.reason);
    return;
  }
  const atMs = Date.parse(at.value);
  const pems = field(raw, "cert");
  const chain: CertificateFacts[] = [];
  let leafUnreadable = false;
  if (Array.isArray(pems)) {
    for (const [index, pem] of pems.entries()) {
      const facts = readCertificate(pem, atMs);
      if (facts !== null) chain.push(facts);
      else if (index === 0) leafUnreadable = true;
    }
  }
  const leaf = leafUnreadable ? null : (chain[0] ?? null);
  const rt = finiteNumber(field(raw, "rt"));
  const ttc = finiteNumber(field(raw, "ttc"));
  const result = baseResult(
    "tls",
    envelope,
    destination.value,
    at.value,
    rt === null ? 0 : roundMs(rt),
    judge(raw, leaf, leafUnreadable, atMs),
  );
  if (ttc !== null) result.timings.connectMs = roundMs(ttc);
  if (rt !== null && ttc !== null && rt >= ttc) result.timings.tlsMs = roundMs(rt - ttc);
  const details: DetailsByKind["tls"] = {
    sni: text(field(raw, "server_name")) ?? destination.value.name,
    protocol: protocolOf(text(field(raw, "method")), text(field(raw, "ver"))),
    cipher: null,
    alpn: null,
    alpnOffered: [],
    certificate: leaf,
    chain,
    verification: "none",
    verified: false,
    verifyError: null,
  };
  Object.assign(result, details);
  result.pop = leaf === null ? null : popOf("tls", { tlsFingerprint: leaf.fingerprint256 }, options);
  out.results.push(result);
}

/** Facts of one PEM, with days left counted from the measurement; null when node:crypto cannot read it. */
function readCertificate(pem: unknown, atMs: number): CertificateFacts | null {
  if (typeof pem !== "string") return null;
  try {
    return certificateFacts(new X509Certificate(pem), atMs);
  } catch {
    return null;
  }
}

/** Node's protocol names: `TLSv1.2`, `TLSv1`, `SSLv3`. */
function protocolOf(method: string | null, version: string | null): string | null {
  if (method === null || version === null) return null;
  if (method.toUpperCase() === "SSL") return `SSLv${version.split(".")[0]}`;
  if (method.toUpperCase() === "TLS") return version === "1.0" ? "TLSv1" : `TLSv${version}`;
  return null;
}

/**
 * The handshake failed when Atlas recorded an `alert`, or an error (`error`,
 * or `err` in some firmware, text only: the key decides, the text is the
 * message); the leaf must be readable and valid at the measurement's time.
 */
function judge(raw: JsonObject, leaf: CertificateFacts | null, leafUnreadable: boolean, atMs: number): Failure | null {
  const alert = field(raw, "alert");
  if (alert !== undefined) {
    const description = isObject(alert) ? finiteNumber(field(alert, "description") ?? field(alert, "decription")) : null;
    return { code: "tls_handshake", message: `TLS alert${description === null ? "" : ` ${description}`} (RIPE Atlas)` };
  }
  const error = field(raw, "error") ?? field(raw, "err");
  if (error !== undefined) return { code: "closed", message: `RIPE Atlas error: ${describe(error)}` };
  if (leafUnreadable) return { code: "tls_cert_invalid", message: "the leaf certificate Atlas recorded cannot be read" };
  if (leaf === null) return { code: "tls_handshake", message: "RIPE Atlas recorded no certificate" };
  const notBefore = Date.parse(leaf.notBefore);
  if (!(leaf.daysLeft >= 0) || !(notBefore <= atMs)) {
    return {
      code: "tls_cert_expired",
      message: `leaf valid ${leaf.notBefore} to ${leaf.notAfter}, measured ${new Date(atMs).toISOString()}`,
    };
  }
  return null;
}
