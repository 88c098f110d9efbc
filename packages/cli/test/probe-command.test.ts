import { execFile } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureIo } from "../../../test/support/capture-io";
import { probeCommand } from "../src/commands/probe";
import { main } from "../src/index";

let server: net.Server;
let openPort: number;
let closedPort: number;

beforeAll(async () => {
  server = net.createServer((socket) => socket.destroy());
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  openPort = (server.address() as net.AddressInfo).port;
  const probe = net.createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  closedPort = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
});
afterAll(() => new Promise((r) => server.close(r)));

describe("popwatch probe: usage errors exit 2 with a message naming the problem", () => {
  const cases: [string[], RegExp][] = [
    [["probe"], /missing target/],
    [["probe", "127.0.0.1", "--port", "70000"], /--port: expected an integer/],
    [["probe", "127.0.0.1", "--bogus"], /bogus/],
    [["probe", "not a host!"], /neither an IP address nor a hostname/],
    [["probe", "127.0.0.1", "--ca", "/nonexistent/ca.pem"], /--ca: cannot read "\/nonexistent\/ca.pem": ENOENT/],
    [["probe", "127.0.0.1", "--qclass", "HS"], /--qclass: expected IN or CH/],
    [["probe", "127.0.0.1", "--pin", "abcd"], /--pin: expected a SHA-256 fingerprint/],
    [["probe", "127.0.0.1", "--plain", "--tls"], /contradict/],
    [["probe", "127.0.0.1", "--timeout", "0"], /--timeout/],
    [["nonsense"], /unknown command "nonsense"/],
  ];
  it.each(cases)("%j", async (argv, message) => {
    const c = captureIo();
    expect(await main(argv, c.io)).toBe(2);
    expect(c.err).toMatch(message);
  });

  it("rejects a --ca file that holds no certificate", async () => {
    const dir = mkdtempSync(join(tmpdir(), "popwatch-cli-"));
    writeFileSync(join(dir, "junk.pem"), "not a certificate");
    const c = captureIo();
    expect(await main(["probe", "127.0.0.1", "--ca", join(dir, "junk.pem")], c.io)).toBe(2);
    expect(c.err).toMatch(/holds no PEM certificate/);
  });
});

describe("popwatch probe: results and exit status", () => {
  it("prints a table and exits 0 when every probe succeeds", async () => {
    const c = captureIo();
    expect(await main(["probe", "127.0.0.1", "--tcp", "--port", String(openPort)], c.io)).toBe(0);
    expect(c.out).toMatch(/^KIND\s+TARGET\s+OK\s+POP/m);
    expect(c.out).toMatch(new RegExp(`^tcp\\s+127\\.0\\.0\\.1:${openPort}\\s+ok\\s`, "m"));
    expect(c.out).toMatch(/connect \d+\.\d+/);
  });

  it("prints one JSON object per line and exits 1 when a probe fails", async () => {
    const c = captureIo();
    const code = await main(["probe", "127.0.0.1", "--tcp", "--port", String(closedPort), "--json"], c.io);
    expect(code).toBe(1);
    const lines = c.out.trim().split("\n");
    expect(lines).toHaveLength(1);
    const result = JSON.parse(lines[0]!);
    expect(result).toMatchObject({ kind: "tcp", target: `127.0.0.1:${closedPort}`, ok: false, pop: null, failure: { code: "refused" } });
    expect(typeof result.timings.totalMs).toBe("number");
  });

  it("reports an unresolvable hostname as a classified failure per kind, sending nothing", async () => {
    const c = captureIo();
    const resolve = async () => {
      throw Object.assign(new Error("getaddrinfo ENOTFOUND nowhere.test"), { code: "ENOTFOUND" });
    };
    const code = await probeCommand(["nowhere.test", "--tcp", "--dns", "--json"], c.io, { resolve });
    expect(code).toBe(1);
    const results = c.out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(results.map((r) => [r.kind, r.failure.code])).toEqual([
      ["dns", "name_resolution"],
      ["tcp", "name_resolution"],
    ]);
    expect(results[0].target).toBe("nowhere.test:53");
  });

  it("runs from the built binary as `npx popwatch` would", async () => {
    const bin = join(import.meta.dirname, "..", "bin", "popwatch.mjs");
    const { stdout } = await promisify(execFile)(process.execPath, [
      bin,
      "probe",
      "127.0.0.1",
      "--tcp",
      "--port",
      String(openPort),
      "--json",
    ]);
    expect(JSON.parse(stdout.trim())).toMatchObject({ kind: "tcp", ok: true });
  });
});
