import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  certificateFactsFromFields,
  formatDistinguishedName,
  normalizeFingerprint,
  parseCertificateTime,
  parseSubjectAltNames,
} from "../src/tls/certificate";
import { certificateFailureCode } from "../src/tls/trust";

const anyString = fc.string({ unit: "binary", maxLength: 200 });
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** The way OpenSSL (and so Node) prints an ASN.1 time: day padded with a space. */
function opensslTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, " ")} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${d.getUTCFullYear()} GMT`;
}

describe("certificate facts", () => {
  it("never throw on arbitrary field text and always have the declared shape", () => {
    fc.assert(
      fc.property(
        fc.record({
          subject: anyString,
          issuer: anyString,
          subjectAltName: fc.option(anyString, { nil: undefined }),
          validFrom: anyString,
          validTo: anyString,
          serialNumber: anyString,
          raw: fc.uint8Array({ maxLength: 64 }),
        }),
        fc.integer({ min: 0, max: 2 ** 42 }),
        (fields, nowMs) => {
          const facts = certificateFactsFromFields(fields, nowMs);
          expect(typeof facts.subject).toBe("string");
          expect(facts.subject).not.toMatch(/\n/);
          expect(facts.sans.every((s) => typeof s === "string")).toBe(true);
          expect(facts.fingerprint256).toMatch(/^[0-9a-f]{64}$/);
          expect(typeof facts.daysLeft).toBe("number");
          expect(typeof facts.notAfter).toBe("string");
        },
      ),
    );
  });

  it("read OpenSSL times exactly, and nothing else as a time", () => {
    const min = Date.UTC(1950, 0, 1);
    const max = Date.UTC(9999, 11, 31, 23, 59, 59);
    fc.assert(
      fc.property(fc.integer({ min: min / 1000, max: max / 1000 }), (s) => {
        expect(parseCertificateTime(opensslTime(s * 1000))).toBe(s * 1000);
      }),
    );
    fc.assert(
      fc.property(anyString, (text) => {
        const ms = parseCertificateTime(text);
        expect(Number.isNaN(ms) || Number.isFinite(ms)).toBe(true);
      }),
    );
    expect(parseCertificateTime("Jan  1 00:00:00 2021 GMT")).toBe(Date.UTC(2021, 0, 1));
    expect(parseCertificateTime("Foo  1 00:00:00 2021 GMT")).toBeNaN();
  });

  it("expose daysLeft as fractional days, negative once expired, NaN when notAfter is unreadable", () => {
    const base = { subject: "CN=a", issuer: "CN=b", subjectAltName: undefined, serialNumber: "01", raw: new Uint8Array() };
    const now = Date.UTC(2025, 0, 1);
    const inThirtySixHours = certificateFactsFromFields(
      { ...base, validFrom: opensslTime(now - 86_400_000), validTo: opensslTime(now + 36 * 3_600_000) },
      now,
    );
    expect(inThirtySixHours.daysLeft).toBe(1.5);
    expect(inThirtySixHours.notAfter).toBe("2025-01-02T12:00:00.000Z");
    const expired = certificateFactsFromFields({ ...base, validFrom: "x", validTo: opensslTime(now - 6 * 3_600_000) }, now);
    expect(expired.daysLeft).toBe(-0.25);
    expect(expired.notBefore).toBe("x");
    expect(certificateFactsFromFields({ ...base, validFrom: "?", validTo: "?" }, now).daysLeft).toBeNaN();
  });

  it("split SANs like Node prints them, including JSON-quoted values holding separators", () => {
    expect(parseSubjectAltNames("DNS:pop.test, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1")).toEqual([
      "DNS:pop.test",
      "DNS:localhost",
      "IP:127.0.0.1",
      "IP:0:0:0:0:0:0:0:1",
    ]);
    expect(parseSubjectAltNames('DNS:"a, b", URI:"x\\"y", DNS:c')).toEqual(["DNS:a, b", 'URI:x"y', "DNS:c"]);
    expect(parseSubjectAltNames(undefined)).toEqual([]);

    const type = fc.constantFrom("DNS", "URI", "email", "IP Address", "othername");
    fc.assert(
      fc.property(fc.array(fc.tuple(type, anyString), { maxLength: 6 }), (entries) => {
        const text = entries.map(([t, v]) => `${t}:${JSON.stringify(v)}`).join(", ");
        expect(parseSubjectAltNames(text)).toEqual(entries.map(([t, v]) => `${t === "IP Address" ? "IP" : t}:${v}`));
      }),
    );
    fc.assert(
      fc.property(anyString, (text) => {
        expect(Array.isArray(parseSubjectAltNames(text))).toBe(true);
      }),
    );
  });

  it("flatten distinguished names to one line", () => {
    expect(formatDistinguishedName("C=US\nO=Acme\\, Inc.\nCN=pop.test")).toBe("C=US, O=Acme\\, Inc., CN=pop.test");
    fc.assert(
      fc.property(anyString, (text) => {
        expect(formatDistinguishedName(text)).not.toMatch(/\n/);
      }),
    );
  });

  it("normalize pins from any common spelling, idempotently", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        const hex = Buffer.from(bytes).toString("hex");
        const colons = hex.toUpperCase().match(/../g)!.join(":");
        expect(normalizeFingerprint(colons)).toBe(hex);
        expect(normalizeFingerprint(` ${hex.toUpperCase()} `)).toBe(hex);
      }),
    );
    fc.assert(
      fc.property(anyString, (pin) => {
        expect(normalizeFingerprint(normalizeFingerprint(pin))).toBe(normalizeFingerprint(pin));
      }),
    );
  });

  it("classify every verify code as a certificate failure", () => {
    expect(certificateFailureCode("CERT_HAS_EXPIRED")).toBe("tls_cert_expired");
    expect(certificateFailureCode("CERT_NOT_YET_VALID")).toBe("tls_cert_expired");
    expect(certificateFailureCode("DEPTH_ZERO_SELF_SIGNED_CERT")).toBe("tls_cert_invalid");
    expect(certificateFailureCode("ERR_TLS_PIN_MISMATCH")).toBe("tls_cert_invalid");
    fc.assert(
      fc.property(anyString, (code) => {
        expect(["tls_cert_expired", "tls_cert_invalid"]).toContain(certificateFailureCode(code));
      }),
    );
  });
});
