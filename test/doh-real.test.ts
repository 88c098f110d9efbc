// The doh probe against real DoH servers on loopback: Debian's Unbound
// (HTTP/2 only) and dnsdist in front of it (HTTP/2 and HTTP/1.1), each answer
// compared with what Knot's kdig +https gets from the same server.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { ProbeResult } from "@popwatch/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProbe } from "../packages/probes/src/runner";
import type { DohProbeSpec } from "../packages/probes/src/types";
import { findBinary } from "./support/daemons";
import { type DnsdistDohServer, startDnsdistDoh } from "./support/dnsdist-doh";
import { type TestPki, createTestPki } from "./support/pki";
import { type UnboundServer, startUnbound } from "./support/unbound";
import { RECORDS } from "./support/zone-data";

const run = promisify(execFile);
const present = ["unbound", "dnsdist", "kdig"].every((name) => findBinary(name) !== null);
const skip = !present && process.env.CI !== "true";
const CDN_HEADER = "x-served-by";
const CDN_VALUE = "dnsdist-fra1";

interface Server {
  address: string;
  address6: string | null;
  dohPort: number;
}

async function kdigHttps(server: Server, address: string, pki: TestPki, name: string, type: string, get = false): Promise<string[]> {
  const { stdout } = await run("kdig", [
    "+timeout=3",
    "+retry=0",
    `@${address}`,
    "-p",
    String(server.dohPort),
    get ? "+https-get=/dns-query" : "+https=/dns-query",
    `+tls-ca=${pki.caFile}`,
    "+tls-hostname=pop.test",
    "+short",
    name,
    type,
  ]);
  return stdout.trim().split("\n").filter(Boolean).sort();
}

function doh(result: ProbeResult) {
  if (result.kind !== "doh") throw new Error(`kind ${result.kind}`);
  return result;
}

describe.skipIf(skip)(`doh probe against real servers${skip ? " [skipped: unbound, dnsdist or kdig (knot-dnsutils) missing]" : ""}`, () => {
  let dir: string;
  let pki: TestPki;
  let unbound: UnboundServer;
  let wrongName: UnboundServer;
  let expired: UnboundServer;
  let dnsdist: DnsdistDohServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "popwatch-doh-real-"));
    pki = createTestPki(join(dir, "pki"));
    [unbound, wrongName, expired] = await Promise.all([
      startUnbound(undefined, { pki }),
      startUnbound(undefined, { pki, certificate: "wrongName" }),
      startUnbound(undefined, { pki, certificate: "expired" }),
    ]);
    dnsdist = await startDnsdistDoh({
      backend: { address: unbound.address, port: unbound.dnsPort },
      cert: pki.leaf,
      readyName: RECORDS.a.name,
      backendNsid: unbound.nsid,
      responseHeaders: { [CDN_HEADER]: CDN_VALUE },
    });
  }, 60_000);
  afterAll(async () => {
    await Promise.all([unbound?.close(), wrongName?.close(), expired?.close(), dnsdist?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const spec = (server: Server, over: Partial<DohProbeSpec> = {}): DohProbeSpec => ({
    kind: "doh",
    address: server.address,
    port: server.dohPort,
    host: "pop.test",
    path: "/dns-query",
    method: "POST",
    alpn: ["h2", "http/1.1"],
    qname: RECORDS.a.name,
    qtype: "A",
    qclass: "IN",
    nsid: true,
    chaos: [],
    recursionDesired: true,
    dnssecOk: false,
    udpPayloadSize: 1232,
    ca: [pki.caPem],
    ...over,
  });

  const addressesOf = (server: Server) => [server.address, ...(server.address6 ? [server.address6] : [])];

  it("Unbound: h2 POST and GET on every address, the same answers as kdig +https, NSID and CHAOS identity", async () => {
    for (const address of addressesOf(unbound)) {
      for (const method of ["POST", "GET"] as const) {
        const result = doh(await runProbe(spec(unbound, { address, method, chaos: ["id.server", "hostname.bind"] }), { timeoutMs: 5000 }));
        expect(result.failure, `${address} ${method}`).toBeNull();
        expect(result).toMatchObject({
          transport: "https",
          method,
          status: 200,
          httpVersion: "2",
          rcode: "NOERROR",
          nsid: unbound.nsid,
          identity: { "id.server": unbound.identity, "hostname.bind": unbound.identity },
          tls: { alpn: "h2", verified: true },
        });
        const kdig = await kdigHttps(unbound, address, pki, RECORDS.a.name, "A", method === "GET");
        expect(result.answers?.map((a) => a.data).sort()).toEqual(kdig);
        expect(kdig).toEqual([RECORDS.a.address]);
        for (const phase of ["connectMs", "tlsMs", "ttfbMs", "transferMs"] as const) expect(result.timings[phase]).toBeGreaterThan(0);
      }
    }
  });

  it("Unbound: a big TXT RRset and NXDOMAIN arrive whole and are judged", async () => {
    const big = doh(await runProbe(spec(unbound, { qname: RECORDS.bigTxt.name, qtype: "TXT" }), { timeoutMs: 5000 }));
    expect(big.failure).toBeNull();
    expect(big.truncated).toBe(false);
    expect(big.answers?.map((a) => a.data).sort()).toEqual(
      (await kdigHttps(unbound, unbound.address, pki, RECORDS.bigTxt.name, "TXT")).map((t) => t.replace(/^"|"$/g, "")),
    );
    const missing = doh(await runProbe(spec(unbound, { qname: RECORDS.missing }), { timeoutMs: 5000 }));
    expect(missing.failure).toEqual({ code: "dns_rcode", message: "rcode NXDOMAIN, expected NOERROR" });
  });

  it("Unbound speaks no HTTP/1.1: forcing it, the server hangs up on the request", async () => {
    const result = doh(await runProbe(spec(unbound, { alpn: ["http/1.1"] }), { timeoutMs: 3000 }));
    // The handshake completes without ALPN; Unbound then closes on the HTTP/1.1 request (a reset when it closes with bytes unread).
    expect(["closed", "reset"]).toContain(result.failure?.code);
    expect(result.httpVersion).toBe("1.1");
    expect(result.tls?.alpn ?? null).toBeNull();
  });

  it("Unbound with a certificate for another name, or an expired one: no query is sent", async () => {
    const wrong = doh(await runProbe(spec(wrongName), { timeoutMs: 3000 }));
    expect(wrong.failure?.code).toBe("tls_cert_invalid");
    expect(wrong.status ?? null).toBeNull();
    const old = doh(await runProbe(spec(expired), { timeoutMs: 3000 }));
    expect(old.failure?.code).toBe("tls_cert_expired");
    expect(old.tls?.verifyError).toBe("CERT_HAS_EXPIRED");
  });

  it("dnsdist: h2 and HTTP/1.1, POST and GET, with its response header as PoP evidence and the backend's NSID", async () => {
    const kdig = await kdigHttps(dnsdist, dnsdist.address, pki, RECORDS.a.name, "A");
    for (const address of addressesOf(dnsdist)) {
      for (const alpn of [["h2", "http/1.1"], ["http/1.1"]]) {
        for (const method of ["POST", "GET"] as const) {
          let headers: Record<string, string> | undefined;
          const result = doh(
            await runProbe(spec(dnsdist, { address, alpn, method, chaos: ["id.server"] }), {
              timeoutMs: 5000,
              identifyPop: (_kind, evidence) => {
                headers = evidence.headers;
                return null;
              },
            }),
          );
          const label = `${address} ${alpn.join(",")} ${method}`;
          expect(result.failure, label).toBeNull();
          expect(result.httpVersion, label).toBe(alpn[0] === "h2" ? "2" : "1.1");
          expect(result).toMatchObject({ nsid: unbound.nsid, identity: { "id.server": unbound.identity } });
          expect(result.answers?.map((a) => a.data).sort()).toEqual(kdig);
          expect(headers?.[CDN_HEADER], label).toBe(CDN_VALUE);
        }
      }
    }
  });
});
