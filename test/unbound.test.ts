// Proves the Unbound test server (test/support/unbound.ts) with an outside
// client, Knot's kdig: plain DNS, DoT and DoH answer the test zone with the
// NSID and CHAOS identity the description promises, every other name is
// refused, and the wrong-name and expired variants fail verification.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findBinary } from "./support/daemons";
import { type TestPki, createTestPki } from "./support/pki";
import { type UnboundServer, startUnbound } from "./support/unbound";
import { RECORDS } from "./support/zone-data";

const run = promisify(execFile);
const present = findBinary("unbound") !== null && findBinary("kdig") !== null;
const skip = !present && process.env.CI !== "true";

interface KdigResult {
  ok: boolean;
  output: string;
}

async function kdig(args: string[]): Promise<KdigResult> {
  try {
    const { stdout, stderr } = await run("kdig", ["+timeout=3", "+retry=0", ...args]);
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

describe.skipIf(skip)(`Unbound test server${skip ? " [skipped: unbound or kdig (knot-dnsutils) not installed]" : ""}`, () => {
  let pki: TestPki;
  let valid: UnboundServer;
  let wrongName: UnboundServer;
  let expired: UnboundServer;

  beforeAll(async () => {
    valid = await startUnbound();
    // One CA for the broken variants, so only the certificate's own fault shows.
    pki = createTestPki(join(valid.dir, "shared-pki"));
    [wrongName, expired] = await Promise.all([
      startUnbound(undefined, { certificate: "wrongName", pki }),
      startUnbound(undefined, { certificate: "expired", pki }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([valid?.close(), wrongName?.close(), expired?.close()]);
  });

  const tlsArgs = (s: UnboundServer) => [`+tls-ca=${s.caFile}`, `+tls-hostname=${s.tlsHost}`];

  it("answers plain DNS with the zone, NSID and CHAOS identity", async () => {
    const a = await kdig([`@${valid.address}`, "-p", String(valid.dnsPort), "+nsid", RECORDS.a.name, "A"]);
    expect(a.ok).toBe(true);
    expect(a.output).toContain(RECORDS.a.address);
    expect(a.output).toContain(`"${valid.nsid}"`);
    for (const name of ["id.server", "hostname.bind"]) {
      const ch = await kdig([`@${valid.address}`, "-p", String(valid.dnsPort), "CH", "TXT", name, "+short"]);
      expect(ch.output.trim()).toBe(`"${valid.identity}"`);
    }
  });

  it("refuses names outside the zone instead of resolving them", async () => {
    const r = await kdig([`@${valid.address}`, "-p", String(valid.dnsPort), "example.com", "A"]);
    expect(r.output).toContain("status: REFUSED");
  });

  it("answers DNS over TLS with a certificate the CA verifies, on every address", async () => {
    for (const address of [valid.address, ...(valid.address6 ? [valid.address6] : [])]) {
      const r = await kdig([`@${address}`, "-p", String(valid.dotPort), ...tlsArgs(valid), "+nsid", RECORDS.a.name, "A"]);
      expect(r.ok, r.output).toBe(true);
      expect(r.output).toContain("TLS session");
      expect(r.output).toContain(RECORDS.a.address);
      expect(r.output).toContain(`"${valid.nsid}"`);
    }
  });

  it("answers DNS over HTTPS (HTTP/2 POST to /dns-query)", async () => {
    const r = await kdig([
      `@${valid.address}`,
      "-p",
      String(valid.dohPort),
      `+https=${valid.dohPath}`,
      ...tlsArgs(valid),
      "+nsid",
      RECORDS.aaaa.name,
      "AAAA",
    ]);
    expect(r.ok, r.output).toBe(true);
    expect(r.output).toContain("HTTP/2-POST");
    expect(r.output).toContain(RECORDS.aaaa.address);
    expect(r.output).toContain(`"${valid.nsid}"`);
  });

  it("describes its certificates truthfully", () => {
    expect(valid.certNames).toEqual(["DNS:pop.test", "DNS:localhost", "IP:127.0.0.1"]);
    expect(wrongName.certNames).toEqual(["DNS:wrong-name.invalid"]);
    expect(wrongName.caPem).toBe(expired.caPem);
    expect(new Set([valid.certSha256, wrongName.certSha256, expired.certSha256]).size).toBe(3);
  });

  it("fails verification on the wrong-name and expired variants (and the CA alone passes)", async () => {
    for (const broken of [wrongName, expired]) {
      const r = await kdig([`@${broken.address}`, "-p", String(broken.dotPort), ...tlsArgs(broken), RECORDS.a.name, "A"]);
      expect(r.ok, `${broken.certificate}: ${r.output}`).toBe(false);
      expect(r.output).toMatch(/handshake failed|certificate/i);
    }
    // The expired server's plain port still answers: only the certificate is broken.
    const plain = await kdig([`@${expired.address}`, "-p", String(expired.dnsPort), RECORDS.a.name, "A", "+short"]);
    expect(plain.output.trim()).toBe(RECORDS.a.address);
  });
});
