// popwatch run against the loopback NSD and nginx: --once as a check, the
// scheduled loop with its status output, and the built binary stopped by
// SIGTERM (results flushed, exit 0, the data directory free for the next run).
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCommand } from "../packages/cli/src/commands/run";
import { main } from "../packages/cli/src/index";
import { captureIo } from "./support/capture-io";
import { requireServer, skipUnless, useTestServers } from "./support/servers";

const servers = useTestServers();
const needs = [skipUnless(servers.dns.nsd), skipUnless(servers.nginx)];
const skip = needs.some((n) => n.skip);
const note = needs.map((n) => n.note).join("");

const ROOT = join(import.meta.dirname, "..");
const BIN = join(ROOT, "packages", "cli", "bin", "popwatch.mjs");

let dir: string;
let closedPort: number;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-run-"));
  const probe = net.createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  closedPort = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  // `npm test` builds the binary first; build it here only when a lone run finds none.
  if (!existsSync(join(ROOT, "packages", "cli", "dist", "popwatch.mjs"))) {
    await promisify(execFile)(process.execPath, [join(ROOT, "scripts", "build.mjs")], { cwd: ROOT });
  }
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

/** A loopback config; `roundsPerInvocation: 60` puts rounds 1 s apart. */
async function writeConfig(name: string, extra: { failing?: boolean; roundsPerInvocation?: number } = {}): Promise<string> {
  const nsd = requireServer(servers.dns.nsd);
  const nginx = requireServer(servers.nginx);
  const targets: unknown[] = [
    {
      name: "nsd",
      address: nsd.address,
      probes: { dns: { port: nsd.port, qname: servers.records.a.name, qtype: "A", chaos: ["id.server"] } },
    },
    { name: "nginx", address: nginx.address, hostname: nginx.host, probes: { http: { port: nginx.httpsPort, ca: [nginx.caPem] } } },
  ];
  if (extra.failing) targets.push({ name: "closed", address: "127.0.0.1", probes: { tcp: { port: closedPort } } });
  const config = {
    regions: ["eu-central-1"],
    localRegion: "laptop",
    schedule: { rateMinutes: 1, roundsPerInvocation: extra.roundsPerInvocation ?? 6, timeoutMs: 500 },
    targets,
  };
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(config));
  return path;
}

async function storedResults(dataDir: string): Promise<Record<string, unknown>[]> {
  const c = captureIo();
  expect(await main(["results", "--data-dir", dataDir, "--json", "--since", "10m"], c.io)).toBe(0);
  return c.out.trim() === ""
    ? []
    : c.out
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe.skipIf(skip)(`popwatch run${note}`, () => {
  it("--once probes every target once, stores the results under localRegion, exits 0 when all are ok", async () => {
    const config = await writeConfig("once.json");
    const dataDir = join(dir, "once-data");
    const c = captureIo();
    const code = await main(["run", "--once", "--config", config, "--data-dir", dataDir], c.io);
    expect(c.err).toBe("");
    expect(code).toBe(0);
    expect(c.out).toMatch(/^TIME\s+REGION\s+KIND\s+TARGET\s+OK\s+POP/);
    expect(c.out).toMatch(/laptop\s+dns\s+nsd \(127\.0\.0\.1:\d+\)\s+ok\s+pop-nsd\s+nsid/);
    expect(c.out).toMatch(/laptop\s+http\s+nginx \(127\.0\.0\.1:\d+\)\s+ok\s+pop-nginx\s+header:x-served-by/);
    const stored = await storedResults(dataDir);
    expect(stored.map((r) => [r.name, r.kind, r.region, r.ok])).toEqual([
      ["nsd", "dns", "laptop", true],
      ["nginx", "http", "laptop", true],
    ]);
    expect(stored.every((r) => typeof r.slotAt === "string" && typeof r.seq === "number")).toBe(true);
    expect(existsSync(join(dataDir, "endpoint.json"))).toBe(false);
  });

  it("--once exits 1 when a probe fails, and --json prints one stored result per line", async () => {
    const config = await writeConfig("failing.json", { failing: true });
    const c = captureIo();
    const code = await main(["run", "--once", "--json", "--config", config, "--data-dir", join(dir, "failing-data")], c.io);
    expect(code).toBe(1);
    const lines = c.out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((r) => [r.name, r.ok])).toEqual([
      ["nsd", true],
      ["nginx", true],
      ["closed", false],
    ]);
    expect(lines[2]).toMatchObject({ region: "laptop", seq: 2, failure: { code: "refused" } });
  });

  it("reports a data directory held by another process as a store error, exit 1", async () => {
    const config = await writeConfig("locked.json");
    const dataDir = join(dir, "locked-data");
    const controller = new AbortController();
    const first = captureIo();
    const running = runCommand(["--config", config, "--data-dir", dataDir], first.io, { signal: controller.signal, isTTY: false });
    await waitFor(() => existsSync(join(dataDir, "endpoint.json")));
    const { startEmbeddedStore } = await import("@popwatch/store");
    const second = await startEmbeddedStore({ dataDir }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(second).toMatchObject({ code: "store_locked" });
    controller.abort();
    expect(await running).toBe(0);
  });

  it("loops on the schedule: one line per round when not a terminal, a status line rewritten in place on one", async () => {
    const config = await writeConfig("loop.json", { roundsPerInvocation: 60 });
    for (const isTTY of [false, true]) {
      const dataDir = join(dir, `loop-data-${isTTY}`);
      const controller = new AbortController();
      const c = captureIo();
      const running = runCommand(["--config", config, "--data-dir", dataDir], c.io, { signal: controller.signal, isTTY });
      await waitFor(() => (c.out.match(/round \d+\/60/g) ?? []).length >= 2);
      controller.abort();
      expect(await running).toBe(0);
      expect(c.out).toMatch(
        /\d\d:\d\d:\d\dZ round \d+\/60: 2 ok, 0 failed \| total \d+ ok, 0 failed \| pops: nsd\/dns pop-nsd, nginx\/http pop-nginx/,
      );
      // biome-ignore lint/suspicious/noControlCharactersInRegex: a TTY redraw starts with the ANSI erase-line escape
      if (isTTY) expect(c.out).toMatch(/^\r\x1b\[K/);
      else
        expect(
          c.out
            .split("\n")
            .filter(Boolean)
            .every((line) => /round \d+\/60/.test(line)),
        ).toBe(true);
      const stopped = /stopped after (\d+) rounds; (\d+) results written/.exec(c.err);
      expect(stopped).not.toBeNull();
      expect((await storedResults(dataDir)).length).toBe(Number(stopped![2]));
    }
  });

  it("the built binary stops on SIGTERM: results flushed, exit 0, data directory free for the next run", async () => {
    const config = await writeConfig("sigterm.json", { roundsPerInvocation: 60 });
    const dataDir = join(dir, "sigterm-data");
    const child = spawn(process.execPath, [BIN, "run", "--config", config, "--data-dir", dataDir], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let out = "";
    let err = "";
    child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (err += chunk.toString()));
    const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
    await waitFor(() => (out.match(/round \d+\/60/g) ?? []).length >= 2, 15_000);

    // `results` works while `run` holds the data directory, through the endpoint it publishes.
    const during = await storedResults(dataDir);
    expect(during.length).toBeGreaterThanOrEqual(2);

    child.kill("SIGTERM");
    const [code, signal] = await exited;
    expect({ code, signal, err }).toMatchObject({ code: 0, signal: null });
    expect(err).toMatch(/SIGTERM: stopping probes, writing the results taken/);
    const stopped = /stopped after (\d+) rounds; (\d+) results written/.exec(err);
    expect(stopped).not.toBeNull();
    expect(existsSync(join(dataDir, "endpoint.json"))).toBe(false);

    const again = await promisify(execFile)(process.execPath, [BIN, "run", "--once", "--config", config, "--data-dir", dataDir]).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: "" });
    expect((await storedResults(dataDir)).length).toBe(Number(stopped![2]) + 2);
  });

  it("usage and configuration errors exit 2", async () => {
    const c = captureIo();
    expect(await main(["run", "--onse"], c.io)).toBe(2);
    expect(c.err).toMatch(/--onse/);
    await writeFile(join(dir, "invalid.json"), JSON.stringify({ targets: [] }));
    const d = captureIo();
    expect(await main(["run", "--once", "--config", join(dir, "invalid.json"), "--data-dir", join(dir, "never")], d.io)).toBe(2);
    expect(d.err).toMatch(/invalid configuration:\n {2}targets: /);
    expect(existsSync(join(dir, "never"))).toBe(false);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out waiting for a condition");
    await new Promise((r) => setTimeout(r, 25));
  }
}
