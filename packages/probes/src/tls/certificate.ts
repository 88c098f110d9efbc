import { type X509Certificate, createHash } from "node:crypto";
import { type CertificateFacts, DAY_MS } from "@popwatch/core";

// Everything here is total: a certificate is data sent by the peer, and a
// peer that sends odd names or dates must produce odd facts, not a crash.

/** The fields of a certificate the facts are built from, as node:crypto's X509Certificate spells them. */
export interface CertificateFields {
  subject: string;
  issuer: string;
  /** `DNS:a, DNS:b, IP Address:1.2.3.4`; entries with separators inside come JSON-quoted. */
  subjectAltName: string | undefined;
  /** OpenSSL's `Mon DD HH:MM:SS YYYY GMT`. */
  validFrom: string;
  validTo: string;
  serialNumber: string;
  /** DER bytes; the fingerprint is computed from them rather than trusting a pre-formatted string. */
  raw: Uint8Array;
}

/** SHA-256 of DER bytes, lowercase hex without separators (the form pins and PoP evidence use). */
export function sha256Hex(der: Uint8Array): string {
  return createHash("sha256").update(der).digest("hex");
}

/**
 * A pinned fingerprint in canonical form: lowercase hex, without the colons,
 * spaces or dashes people paste from `openssl x509 -fingerprint`.
 */
export function normalizeFingerprint(pin: string): string {
  return pin.replace(/[\s:-]/g, "").toLowerCase();
}

/**
 * Node prints a distinguished name one RDN per line (`C=US\nO=Acme\, Inc.\nCN=x`);
 * a report wants one line. Escapes Node added stay, so commas inside values
 * remain distinguishable from separators.
 */
export function formatDistinguishedName(name: string): string {
  return name
    .split(/\r?\n/)
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .join(", ");
}

const MONTHS: Readonly<Record<string, number>> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};
const OPENSSL_TIME = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d+)? (\d{4}) GMT$/;

/**
 * Epoch ms of an OpenSSL-printed time, or NaN. Parsed by hand because
 * Date.parse of this format is implementation-defined.
 */
export function parseCertificateTime(text: string): number {
  const m = OPENSSL_TIME.exec(text.trim());
  if (m) {
    const month = MONTHS[m[1]!];
    if (month === undefined) return Number.NaN;
    const ms = Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
    return Number.isFinite(ms) ? ms : Number.NaN;
  }
  // Newer Node versions may print ISO dates; accept those, nothing looser.
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const ms = Date.parse(text);
    return Number.isFinite(ms) ? ms : Number.NaN;
  }
  return Number.NaN;
}

function isoOrRaw(ms: number, raw: string): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : raw;
}

/**
 * Splits Node's subjectAltName string into entries. Node JSON-quotes an entry
 * whose value holds a comma or quote (`DNS:"a, b"`), so a plain split on ", "
 * would cut it in two. `IP Address:` is shortened to `IP:`, matching the
 * openssl config syntax people write SANs in.
 */
export function parseSubjectAltNames(text: string | undefined): string[] {
  if (!text) return [];
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (text[i] === " " || text[i] === ",") i++;
    if (i >= text.length) break;
    const colon = text.indexOf(":", i);
    const comma = text.indexOf(", ", i);
    if (colon === -1 || (comma !== -1 && comma < colon)) {
      // No `type:` prefix: keep the bare item rather than guess a type.
      const end = comma === -1 ? text.length : comma;
      out.push(text.slice(i, end));
      i = end;
      continue;
    }
    const type = text.slice(i, colon);
    let value: string;
    i = colon + 1;
    if (text[i] === '"') {
      const end = quotedEnd(text, i);
      const literal = text.slice(i, end);
      try {
        const parsed: unknown = JSON.parse(literal);
        value = typeof parsed === "string" ? parsed : literal;
      } catch {
        value = literal;
      }
      i = end;
    } else {
      const end = text.indexOf(", ", i);
      value = text.slice(i, end === -1 ? text.length : end);
      i = end === -1 ? text.length : end;
    }
    out.push(`${type === "IP Address" ? "IP" : type}:${value}`);
  }
  return out;
}

/** Index just past the closing quote of a JSON string starting at `start`, or the end of text. */
function quotedEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') return i + 1;
  }
  return text.length;
}

/**
 * Facts about a certificate. `daysLeft` is fractional days from `nowMs` to
 * notAfter, rounded to 3 decimals, negative once expired (alerting wants
 * "expires in 0.4 days" to differ from "expired"); NaN when notAfter cannot
 * be read, and then notBefore/notAfter hold the raw text instead of ISO.
 */
export function certificateFactsFromFields(fields: CertificateFields, nowMs: number): CertificateFacts {
  const notBeforeMs = parseCertificateTime(fields.validFrom);
  const notAfterMs = parseCertificateTime(fields.validTo);
  return {
    subject: formatDistinguishedName(fields.subject),
    issuer: formatDistinguishedName(fields.issuer),
    sans: parseSubjectAltNames(fields.subjectAltName),
    notBefore: isoOrRaw(notBeforeMs, fields.validFrom),
    notAfter: isoOrRaw(notAfterMs, fields.validTo),
    daysLeft: Number.isFinite(notAfterMs) ? Math.round(((notAfterMs - nowMs) / DAY_MS) * 1000) / 1000 : Number.NaN,
    fingerprint256: sha256Hex(fields.raw),
    // As Node and `openssl x509 -serial` print it (uppercase hex), so it can be compared by eye.
    serialNumber: fields.serialNumber,
  };
}

export function certificateFacts(cert: X509Certificate, nowMs: number = Date.now()): CertificateFacts {
  return certificateFactsFromFields(
    {
      subject: cert.subject ?? "",
      issuer: cert.issuer ?? "",
      subjectAltName: cert.subjectAltName,
      validFrom: cert.validFrom ?? "",
      validTo: cert.validTo ?? "",
      serialNumber: cert.serialNumber ?? "",
      raw: cert.raw,
    },
    nowMs,
  );
}
