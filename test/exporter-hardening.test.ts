// The exporter under hostile input and load: random query strings (always 400
// or 200, never a crash, the server answering afterwards), a flood of scrapes
// against a probe that only times out (never more probes in flight than the
// limit, the rest 503 at once), and SIGTERM to the built CLI while a probe is
// in flight (it finishes, nothing new is accepted, the process exits 0).
import { type ChildProcess, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseConfig } from "@popwatch/core";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningExporter, startExporter } from "../packages/exporter/src/index";
import { parseProbeQuery } from "../packages/exporter/src/query";

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
const POPWATCH_BIN = join(REPO_ROOT, "packages/cli/bin/popwatch.mjs");
const POPWATCH_BUNDLE = join(REPO_ROOT, "packages/cli/dist/popwatch.mjs");

/** A loopback UDP port that takes queries and never answers: only the timeout ends a DNS probe to it. */
async function silentUdpPort(): Promise<{ port: number; close: () => void }> {
  const socket = createSocket("udp4");
  await new Promise<void>((done) => socket.bind(0, "127.0.0.1", done));
  return { port: (socket.address() as { port: number }).port, close: () => socket.close() };
}

/** GET with a raw path (fetch would normalise hostile ones), resolving to the status and body. */
function rawGet(url: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

describe("exporter under hostile queries and floods", () => {
  let exporter: RunningExporter;
  let silent: { port: number; close: () => void };
  const errors: unknown[] = [];
  const LIMIT = 4;

  beforeAll(async () => {
    silent = await silentUdpPort();
    const config = parseConfig({
      targets: [{ name: "silent", address: "127.0.0.1", probes: { dns: { port: silent.port } } }],
      exporter: { maxConcurrentProbes: LIMIT, maxTimeoutMs: 1500, modules: { dns_tcp: { kind: "dns", transport: "tcp", port: 9 } } },
    });
    exporter = await startExporter({
      config,
      listen: { host: "127.0.0.1", port: 0 },
      onError: (err) => errors.push(err),
      // Hostname targets resolve to nothing here: the test must not ask a real resolver.
      resolve: async (hostname) => {
        throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
      },
    });
  });
  afterAll(async () => {
    await exporter?.close();
    silent?.close();
  });

  it("refuses each kind of bad query with a 400 naming the reason", async () => {
    const cases: [string, RegExp][] = [
      ["/probe", /missing parameter "target"/],
      ["/probe?target=silent", /missing parameter "module"/],
      ["/probe?target=silent&module=nope", /unknown module "nope" \(known: dns, tcp, tls, http, dot, doh, dns_tcp\)/],
      ["/probe?target=silent&module=dns&module=tcp", /"module" given 2 times/],
      ["/probe?target=a&target=b&module=dns", /"target" given 2 times/],
      ["/probe?target=silent&module=dns&debug=yes", /debug: expected "true" or "false"/],
      [`/probe?target=${"a".repeat(2000)}&module=dns`, /target longer than 1024/],
      [`/probe?target=x&module=dns&pad=${"b".repeat(5000)}`, /query string longer than 4096/],
      ["/probe?target=%00evil&module=dns", /control characters/],
      ["/probe?target=bad%20host&module=dns", /neither an IP address nor a hostname/],
      ["/probe?target=127.0.0.1:99999&module=dns", /bad port/],
      ["/probe?target=http://127.0.0.1/&module=dns", /a URL needs an http or doh module, not dns/],
      ["/probe?target=[fe80::zz]:53&module=dns", /not an IPv6 address/],
    ];
    for (const [path, reason] of cases) {
      const { status, body } = await rawGet(exporter.url, path);
      expect(status, path).toBe(400);
      expect(body, path).toMatch(reason);
    }
    const header = await rawGet(exporter.url, "/probe?target=silent&module=dns", { "X-Prometheus-Scrape-Timeout-Seconds": "-1" });
    expect(header.status).toBe(400);
  });

  it("a hostname that does not resolve is a failed probe (name_resolution), as blackbox reports it, not a 400", async () => {
    const { status, body } = await rawGet(exporter.url, "/probe?target=no-such-host.invalid&module=dns");
    expect(status).toBe(200);
    expect(body).toMatch(/^probe_success 0$/m);
    expect(body).toMatch(/^probe_failure_info\{code="name_resolution"\} 1$/m);
    expect(body).toMatch(/^probe_ip_protocol 0$/m);
  });

  it("random query strings: always 400 or 200 (never a crash, never a 5xx), and the server answers afterwards", async () => {
    // Queries aimed at the parser: known parameter names with arbitrary values, percent-escapes, repeats, garbage.
    const value = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom(
        "silent",
        "127.0.0.1",
        "[::1]:9",
        "http://127.0.0.1:9/x",
        "dns",
        "dns_tcp",
        "true",
        "false",
        "%",
        "%zz",
        "%00",
        "::",
        "[",
        "]:",
      ),
      fc.string({ unit: "binary", maxLength: 20 }).map(encodeURIComponent),
    );
    const param = fc.tuple(fc.constantFrom("target", "module", "debug", "x", "", "target[]"), value);
    const query = fc.oneof(
      fc.array(param, { maxLength: 5 }).map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join("&")),
      fc.string({ maxLength: 80 }).map((text) => text.replace(/[#\s]/g, "")),
    );
    // Probes that reach the network go to a closed TCP port (dns_tcp) or time out fast: keep the module list in reach.
    await fc.assert(
      fc.asyncProperty(query, async (q) => {
        let path = `/probe?${q}`;
        // node:http refuses to send some characters at all; those never reach a server either.
        path = path.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c));
        const { status } = await rawGet(exporter.url, path, { "X-Prometheus-Scrape-Timeout-Seconds": "0.7" });
        // One request at a time, so the concurrency limit never answers 503 here.
        expect([200, 400]).toContain(status);
      }),
      { numRuns: 150 },
    );
    const after = await rawGet(exporter.url, "/metrics");
    expect(after.status).toBe(200);
    expect(errors).toEqual([]);
  });

  it("random X-Prometheus-Scrape-Timeout-Seconds values: 200 with a timeout within the cap, or 400", async () => {
    const header = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.double({ noNaN: false }).map(String),
      fc.constantFrom("0", "0.5", "1e3", "-0", "Infinity", " 1 ", "1.", ".5", "99999999999"),
    );
    await fc.assert(
      fc.asyncProperty(header, async (value) => {
        // Only what HTTP can carry in a header value reaches a server.
        const sendable = value.replace(/[^\x20-\x7e]/g, "");
        const { status, body } = await rawGet(exporter.url, "/probe?target=127.0.0.1:9&module=dns_tcp", {
          "X-Prometheus-Scrape-Timeout-Seconds": sendable,
        });
        expect([200, 400]).toContain(status);
        if (status === 200) {
          const timeout = Number(/^probe_timeout_seconds (\S+)$/m.exec(body)?.[1]);
          expect(timeout).toBeGreaterThan(0);
          expect(timeout).toBeLessThanOrEqual(1.5);
        } else expect(body).toMatch(/X-Prometheus-Scrape-Timeout-Seconds/);
      }),
      { numRuns: 100 },
    );
  });

  it("parseProbeQuery never throws and accepts only one of each parameter", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (search) => {
        const parsed = parseProbeQuery(search);
        if (parsed.ok) {
          const params = new URLSearchParams(search);
          expect(params.getAll("target")).toEqual([parsed.query.target]);
          expect(params.getAll("module")).toEqual([parsed.query.module]);
        } else expect(parsed.reason.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });

  it("a flood of scrapes: at most maxConcurrentProbes probes in flight, the rest 503 at once, all answered", async () => {
    let inFlight = 0;
    let peak = 0;
    const sampler = setInterval(async () => {
      const text = (await rawGet(exporter.url, "/metrics")).body;
      const match = /^popwatch_exporter_probes_in_flight (\d+)$/m.exec(text);
      if (match) peak = Math.max(peak, Number(match[1]));
    }, 20);
    const started = Date.now();
    const statuses = await Promise.all(
      Array.from({ length: 40 }, async () => {
        inFlight++;
        const t0 = Date.now();
        const { status, body } = await rawGet(exporter.url, "/probe?target=silent&module=dns", {
          "X-Prometheus-Scrape-Timeout-Seconds": "1.5",
        });
        inFlight--;
        return { status, body, ms: Date.now() - t0 };
      }),
    );
    clearInterval(sampler);
    const ok = statuses.filter((s) => s.status === 200);
    const busy = statuses.filter((s) => s.status === 503);
    expect(ok.length + busy.length).toBe(40);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(busy.length).toBeGreaterThanOrEqual(40 - LIMIT * 2); // a probe slot may free up while the flood is still arriving
    for (const s of ok) expect(s.body).toMatch(/^probe_failure_info\{code="timeout"\} 1$/m);
    for (const s of busy) {
      expect(s.body).toMatch(/exporter\.maxConcurrentProbes/);
      expect(s.ms).toBeLessThan(900); // refused at once, not after waiting for a slot
    }
    expect(peak).toBeLessThanOrEqual(LIMIT);
    expect(Date.now() - started).toBeLessThan(6000);
    expect(inFlight).toBe(0);
    const metrics = (await rawGet(exporter.url, "/metrics")).body;
    expect(metrics).toMatch(/^popwatch_exporter_probes_in_flight 0$/m);
    expect(metrics).toMatch(new RegExp(`^popwatch_exporter_rejected_requests_total\\{reason="overloaded"\\} ${busy.length}$`, "m"));
  });
});

describe.skipIf(!existsSync(POPWATCH_BUNDLE))("popwatch exporter (the built CLI): SIGTERM drains", () => {
  let child: ChildProcess | null = null;
  let dir: string;
  let silent: { port: number; close: () => void };

  beforeAll(async () => {
    silent = await silentUdpPort();
    dir = mkdtempSync(join(tmpdir(), "popwatch-exporter-"));
    writeFileSync(
      join(dir, "popwatch.config.json"),
      JSON.stringify({ targets: [{ name: "silent", address: "127.0.0.1", probes: { dns: { port: silent.port } } }] }),
    );
  });
  afterAll(() => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    silent?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("finishes the probe in flight, refuses new scrapes, and exits 0", async () => {
    child = spawn(process.execPath, [POPWATCH_BIN, "exporter", "--config", join(dir, "popwatch.config.json"), "--listen", "127.0.0.1:0"], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    const exited = new Promise<number | null>((done) => child!.on("exit", (code) => done(code)));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line within 20 s: ${stderr}`)), 20_000);
      child!.stderr!.on("data", (chunk: Buffer) => {
        stderr += chunk.toString("utf8");
        const match = /listening on (http:\/\/\S+)/.exec(stderr);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // A probe that takes its whole 1.5 s timeout (2 s scrape timeout less 0.5 s) is in flight when SIGTERM arrives.
    const inFlight = rawGet(url, "/probe?target=silent&module=dns", { "X-Prometheus-Scrape-Timeout-Seconds": "2" });
    // SIGTERM only once the exporter counts the probe as running.
    for (let i = 0; i < 100; i++) {
      if (/^popwatch_exporter_probes_in_flight 1$/m.test((await rawGet(url, "/metrics")).body)) break;
      await new Promise((done) => setTimeout(done, 20));
    }
    child.kill("SIGTERM");
    await new Promise((done) => setTimeout(done, 200));
    const late = await rawGet(url, "/probe?target=silent&module=dns").then(
      (r) => r.status,
      (err: NodeJS.ErrnoException) => err.code,
    );
    expect(["ECONNREFUSED", "ECONNRESET", 503]).toContain(late);
    const answered = await inFlight;
    expect(answered.status).toBe(200);
    expect(answered.body).toMatch(/^probe_failure_info\{code="timeout"\} 1$/m);
    expect(answered.body).toMatch(/^probe_timeout_seconds 1\.5$/m);
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/SIGTERM: draining/);
    expect(stderr).toMatch(/stopped/);
  });
});
