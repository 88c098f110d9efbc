// The TLS metrics of one probe, the same for every kind that makes a handshake
// (tls, https, dot, doh), as blackbox_exporter 0.23 registers them once a
// handshake finished (prober/tls.go and the tcp and http probers):
// probe_ssl_earliest_cert_expiry, probe_ssl_last_chain_expiry_timestamp_seconds,
// probe_ssl_last_chain_info and probe_tls_version_info; plus
// probe_tls_cipher_info, which blackbox added in 0.26.
import type { CertificateFacts, TlsSessionFacts } from "@popwatch/core";
import { Gauge, type Registry } from "prom-client";

/** blackbox spells TLS versions as Go's crypto/tls names them ("TLS 1.3"); Node says "TLSv1.3". */
export function tlsVersionLabel(protocol: string): string {
  const match = /^TLSv1(?:\.(\d))?$/.exec(protocol);
  return match === null ? "unknown" : `TLS 1.${match[1] ?? "0"}`;
}

/** Unix seconds of the certificate of `chain` that expires first; null when no date is readable. */
export function earliestExpirySeconds(chain: readonly CertificateFacts[]): number | null {
  let earliest: number | null = null;
  for (const certificate of chain) {
    const ms = Date.parse(certificate.notAfter);
    if (Number.isFinite(ms) && (earliest === null || ms < earliest)) earliest = ms;
  }
  return earliest === null ? null : earliest / 1000;
}

/**
 * A distinguished name as Go's pkix.Name.String() prints it, which is what
 * blackbox's `subject` and `issuer` labels hold: the most specific RDN first,
 * separated by "," without a space (`CN=leaf,O=Acme,C=US`). popwatch's
 * certificate facts keep Node's order joined by ", " (`C=US, O=Acme, CN=leaf`),
 * with commas inside a value escaped as `\,`, so the split below never cuts a value.
 */
export function goDistinguishedName(name: string): string {
  return name
    .split(/(?<!\\), /)
    .filter((part) => part.length > 0)
    .reverse()
    .join(",");
}

/** blackbox's `subjectalternative`: the leaf's DNS names joined by "," (Go's cert.DNSNames; IP SANs are not in it). */
export function dnsNamesLabel(sans: readonly string[]): string {
  return sans
    .filter((san) => san.startsWith("DNS:"))
    .map((san) => san.slice(4))
    .join(",");
}

function infoGauge(registry: Registry, name: string, help: string, labels: Record<string, string>): void {
  new Gauge({ name, help, labelNames: Object.keys(labels), registers: [registry] }).set(labels, 1);
}

function valueGauge(registry: Registry, name: string, help: string, value: number): void {
  new Gauge({ name, help, registers: [registry] }).set(value);
}

/**
 * Adds the TLS metrics of a finished handshake. Nothing is added before one
 * (no protocol and no certificate), as blackbox registers them only then.
 */
export function tlsSessionMetrics(registry: Registry, session: Partial<TlsSessionFacts>): void {
  const leaf = session.certificate ?? session.chain?.[0] ?? null;
  const chain = session.chain && session.chain.length > 0 ? session.chain : leaf ? [leaf] : [];
  const earliest = earliestExpirySeconds(chain);
  if (earliest !== null) {
    valueGauge(registry, "probe_ssl_earliest_cert_expiry", "Returns last SSL chain expiry in unixtime", earliest);
    // blackbox takes the earliest expiry of each verified chain (the latest of them when several verify); popwatch
    // sees the one chain the server sent, so it is that chain's earliest, and only when it verified: blackbox has
    // no verified chain to report otherwise.
    if (session.verified === true) {
      valueGauge(registry, "probe_ssl_last_chain_expiry_timestamp_seconds", "Returns last SSL chain expiry in timestamp", earliest);
    }
  }
  if (leaf) {
    infoGauge(registry, "probe_ssl_last_chain_info", "Contains SSL leaf certificate information", {
      fingerprint_sha256: leaf.fingerprint256,
      subject: goDistinguishedName(leaf.subject),
      issuer: goDistinguishedName(leaf.issuer),
      subjectalternative: dnsNamesLabel(leaf.sans),
    });
  }
  if (session.protocol) {
    infoGauge(registry, "probe_tls_version_info", "Returns the TLS version used or NaN when unknown", {
      version: tlsVersionLabel(session.protocol),
    });
  }
  if (session.cipher) {
    infoGauge(registry, "probe_tls_cipher_info", "Returns the TLS cipher negotiated during handshake", { cipher: session.cipher });
  }
}
