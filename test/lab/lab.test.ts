// Smoke test of the anycast lab (lab.ts) on real routing software: BIRD,
// ExaBGP, NSD/Knot/BIND and nginx in network namespaces. Needs root; skipped
// with the reason when namespaces cannot be created. Runs its own lab
// ("pwtest") so a developer's `npm run lab` lab is left alone. All traffic
// stays inside the namespaces it creates (198.51.100.0/24, 203.0.113.0/24).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANYCAST_ADDRESS, LAB_HOSTNAME, LAB_NODES, LAB_ZONE, Lab, PREFERRED_POP, REPO_ROOT } from "./lab";
import { listRecords, run } from "./procs";
import { canCreateNamespaces } from "./setup";

const capability = await canCreateNamespaces();
const skipReason = capability.ok ? "" : capability.reason;
if (skipReason) process.stdout.write(`test/lab/lab.test.ts: anycast lab smoke test skipped: ${skipReason}\n`);

interface ProbeLine {
  kind: string;
  ok: boolean;
  pop: { id: string } | null;
  nsid?: string;
  identity?: Record<string, string>;
  verified?: boolean;
  headers?: Record<string, string>;
}

describe.skipIf(!capability.ok)(`anycast lab${skipReason ? ` [skipped: ${skipReason}]` : ""}`, () => {
  const lab = new Lab({ name: "pwtest" });
  let labPids: number[] = [];

  beforeAll(async () => {
    await lab.up();
    labPids = listRecords(lab.stateDir).map((r) => r.pid);
  }, 90_000);

  afterAll(async () => {
    await lab.down();
  }, 60_000);

  async function chaos(name: "id.server" | "hostname.bind"): Promise<string> {
    const result = await lab.exec("client", ["dig", `@${ANYCAST_ADDRESS}`, "CH", "TXT", name, "+short", "+time=1", "+tries=1"]);
    return result.stdout.trim().replace(/^"|"$/g, "");
  }

  it("answers every kind of probe from the preferred PoP, with its identities", async () => {
    expect(await lab.queryNsid("client")).toBe(PREFERRED_POP);
    expect(await lab.queryNsid("client", { tcp: true })).toBe(PREFERRED_POP);
    expect(await chaos("id.server")).toBe(PREFERRED_POP);
    expect(await chaos("hostname.bind")).toBe(PREFERRED_POP);
    expect(await lab.httpServedBy("client")).toBe(PREFERRED_POP);

    // popwatch's own probes, as `npm run lab` runs them from the client.
    const bundle = join(REPO_ROOT, "packages/cli/dist/popwatch.mjs");
    expect(existsSync(bundle), `${bundle} missing: run npm run build`).toBe(true);
    const probe = await lab.exec("client", [
      process.execPath,
      join(REPO_ROOT, "packages/cli/bin/popwatch.mjs"),
      "probe",
      ANYCAST_ADDRESS,
      "--sni",
      LAB_HOSTNAME,
      "--qname",
      LAB_ZONE,
      "--qtype",
      "SOA",
      "--chaos",
      "--ca",
      lab.caFile,
      "--timeout",
      "2000",
      "--json",
    ]);
    expect(probe.code, probe.stderr).toBe(0);
    const lines = probe.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as ProbeLine);
    const byKind = new Map(lines.map((l) => [l.kind, l]));
    expect([...byKind.keys()].sort()).toEqual(["dns", "http", "tcp", "tls"]);
    expect(lines.every((l) => l.ok)).toBe(true);
    expect(byKind.get("dns")).toMatchObject({
      nsid: PREFERRED_POP,
      identity: { "id.server": PREFERRED_POP, "hostname.bind": PREFERRED_POP },
    });
    expect(byKind.get("tls")?.verified).toBe(true);
    expect(byKind.get("http")?.headers?.["x-served-by"]).toBe(PREFERRED_POP);
  });

  it("moves to pop-b when pop-a's DNS stops, and back when it is healed", async () => {
    const fault = await lab.fail(PREFERRED_POP, "dns-stop");
    const away = await lab.waitForRoute("pop-b", { afterMs: fault.atMs, timeoutMs: 10_000 });
    const convergenceMs = away.atMs - fault.atMs;
    process.stdout.write(`lab: dns-stop at ${PREFERRED_POP}: router moved to pop-b after ${convergenceMs.toFixed(1)} ms\n`);
    expect(convergenceMs).toBeGreaterThan(0);
    expect(away.previousPop).toBe(PREFERRED_POP);
    expect(await lab.queryNsid("client")).toBe("pop-b");
    expect(await lab.httpServedBy("client")).toBe("pop-b");

    const heal = await lab.heal(PREFERRED_POP);
    const back = await lab.waitForRoute(PREFERRED_POP, { afterMs: heal.atMs, timeoutMs: 15_000 });
    expect(back.previousPop).toBe("pop-b");
    expect(await lab.queryNsid("client")).toBe(PREFERRED_POP);

    // The events log and the truth log agree on order: fault, move, heal, return.
    const events = readFileSync(lab.eventsFile, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { event: string; atMs: number });
    expect(events.filter((e) => e.atMs >= fault.atMs).map((e) => e.event)).toEqual(["fail", "heal"]);
    expect(away.atMs).toBeLessThan(heal.atMs);
    expect(back.atMs).toBeGreaterThan(heal.atMs);
  }, 40_000);

  it("black-holes DNS at pop-a while its route stays (the health check asks locally and keeps passing)", async () => {
    const fault = await lab.fail(PREFERRED_POP, "blackhole");
    expect(await lab.queryNsid("client")).toBeNull();
    expect(await lab.queryNsid(PREFERRED_POP)).toBe(PREFERRED_POP);
    expect(await lab.httpServedBy("client")).toBe(PREFERRED_POP);
    expect(lab.truth().filter((c) => c.atMs >= fault.atMs)).toEqual([]);
    expect((await lab.status()).pops.find((p) => p.name === PREFERRED_POP)?.blackhole).toBe(true);
    await lab.heal(PREFERRED_POP);
    expect(await lab.queryNsid("client")).toBe(PREFERRED_POP);
  }, 20_000);

  it("up on a running lab keeps the same processes; down leaves no process and no namespace; down again is harmless", async () => {
    const before = listRecords(lab.stateDir)
      .map((r) => `${r.name}:${r.pid}`)
      .sort();
    await lab.up();
    const after = listRecords(lab.stateDir)
      .map((r) => `${r.name}:${r.pid}`)
      .sort();
    expect(after).toEqual(before);

    const pids = [...new Set([...labPids, ...listRecords(lab.stateDir).map((r) => r.pid)])];
    await lab.down();
    const alive = pids.filter((pid) => {
      try {
        const state = readFileSync(`/proc/${pid}/stat`, "utf8");
        return !/\) [ZX] /.test(state);
      } catch {
        return false;
      }
    });
    expect(alive).toEqual([]);
    const namespaces = (await run(["ip", "netns", "list"])).stdout;
    for (const node of LAB_NODES) expect(namespaces).not.toContain(lab.ns(node));
    await expect(lab.down()).resolves.toBeUndefined();
  }, 60_000);
});
