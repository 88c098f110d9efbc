// certificateExpiryFailure over any chain a server could make us read: total,
// and naming exactly the certificate that expires first.
import type { CertificateFacts } from "@popwatch/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { certificateExpiryFailure } from "../src/tls/session";

const cert = (subject: string, daysLeft: number): CertificateFacts => ({
  subject,
  issuer: "CN=issuer",
  sans: [],
  notBefore: "2026-01-01T00:00:00.000Z",
  notAfter: "2027-01-01T00:00:00.000Z",
  daysLeft,
  fingerprint256: "00".repeat(32),
  serialNumber: "01",
});

describe("certificateExpiryFailure", () => {
  it("names the intermediate when it expires before the leaf, and the leaf when it goes first", () => {
    const chain = [cert("CN=leaf", 60), cert("CN=intermediate", 5)];
    expect(certificateExpiryFailure(chain, 10)).toEqual({
      code: "tls_cert_expiring",
      message: expect.stringMatching(
        /^chain certificate 1 "CN=intermediate" expires 2027-01-01T00:00:00.000Z \(5 days left, certMinDays 10\)$/,
      ),
    });
    expect(certificateExpiryFailure(chain, 5)).toBeNull();
    expect(certificateExpiryFailure([cert("CN=leaf", 3), cert("CN=intermediate", 5)], 10)?.message).toMatch(/^leaf "CN=leaf"/);
    expect(certificateExpiryFailure(chain, undefined)).toBeNull();
    expect(certificateExpiryFailure([], 10)).toBeNull();
  });

  it("never throws, and fails exactly when the first finite expiry is under the minimum, naming that certificate", () => {
    const days = fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.constantFrom(Number.NaN, Infinity, -Infinity));
    fc.assert(
      fc.property(fc.array(days, { maxLength: 20 }), fc.double({ min: 0, max: 3650, noNaN: true }), (left, minDays) => {
        const chain = left.map((d, i) => cert(`CN=c${i}`, d));
        const failure = certificateExpiryFailure(chain, minDays);
        const finite = left.filter(Number.isFinite);
        const first = finite.length > 0 ? Math.min(...finite) : null;
        if (first === null || first >= minDays) {
          expect(failure).toBeNull();
          return;
        }
        expect(failure?.code).toBe("tls_cert_expiring");
        const named = /"CN=c(\d+)"/.exec(failure!.message);
        // === rather than toBe: 0 and -0 are the same expiry.
        expect(left[Number(named![1])] === first).toBe(true);
      }),
    );
  });
});
