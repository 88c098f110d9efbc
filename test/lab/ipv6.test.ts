// The anycast lab's IPv6 service (issue 13, item 9): 2001:db8:53::53/128 on lo
// of every PoP beside the IPv4 address, carried over the same BGP sessions
// (MP-BGP, IPv6 next hops on the link /64s), health-checked over IPv6, served
// by NSD/Knot/BIND and nginx. popwatch probes it from the client, names the
// PoP by NSID, and records the failover when pop-a's IPv6 route is withdrawn,
// against the router's own record of its IPv6 FIB (truth6.jsonl). Once with
// each router: BIRD, then FRR.
//
// Needs root (network namespaces); skipped with the reason otherwise. Its own
// labs ("pwv6b", "pwv6f"). Traffic stays inside the namespaces they create
// (198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) and on loopback.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { changeTiming, recordOf, runEpisode, timingProblems } from "./convergence";
import { ANYCAST_ADDRESS_V6, ANYCAST_PREFIX_V6, Lab, PREFERRED_POP, type RouterKind } from "./lab";
import {
  LAB_TARGET_V6,
  PopwatchRun,
  ROUND_INTERVAL_MS,
  ensureCliBuilt,
  fastLabConfig,
  probeOnce,
  queryResults,
  writeConfigFile,
} from "./popwatch-run";
import { canCreateNamespaces } from "./setup";

const capability = await canCreateNamespaces();
const skipReason = capability.ok ? "" : capability.reason;
if (skipReason) process.stdout.write(`test/lab/ipv6.test.ts: anycast lab IPv6 tests skipped: ${skipReason}\n`);

describe.skipIf(!capability.ok).each([
  { router: "bird" as RouterKind, name: "pwv6b" },
  { router: "frr" as RouterKind, name: "pwv6f" },
])(`the lab's IPv6 anycast address, $router router${skipReason ? ` [skipped: ${skipReason}]` : ""}`, ({ router, name }) => {
  // Generous readiness: on a 2-core machine shared with other test runs (load 15-20) nginx's first answer took over 30 s.
  const lab = new Lab({ name, router, readyTimeoutMs: 90_000 });
  let workDir = "";

  beforeAll(async () => {
    await ensureCliBuilt();
    await lab.up();
    workDir = mkdtempSync(join(tmpdir(), "popwatch-v6-"));
  }, 240_000);

  afterAll(async () => {
    await lab.down();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  }, 60_000);

  it("is announced by every PoP over the IPv4 sessions, pop-a's path preferred, and answers from pop-a", async () => {
    const status = await lab.status();
    expect(status.up).toBe(true);
    expect(status.pops.map((p) => p.session)).toEqual(["Established", "Established", "Established"]);
    expect(lab.truth(6).at(-1)).toMatchObject({ prefix: ANYCAST_PREFIX_V6, pop: PREFERRED_POP, nextHop: "2001:db8:100:1::2" });
    expect(await lab.queryNsid("client", { family: 6 })).toBe(PREFERRED_POP);
    expect(await lab.queryNsid("client", { family: 6, tcp: true })).toBe(PREFERRED_POP);
    expect(await lab.httpServedBy("client", 6)).toBe(PREFERRED_POP);

    const byKind = await probeOnce(lab, ANYCAST_ADDRESS_V6);
    expect([...byKind.keys()].sort()).toEqual(["dns", "http", "tcp", "tls"]);
    expect([...byKind.values()].every((l) => l.ok)).toBe(true);
    expect(byKind.get("dns")).toMatchObject({
      nsid: PREFERRED_POP,
      identity: { "id.server": PREFERRED_POP, "hostname.bind": PREFERRED_POP },
    });
    // The shared certificate names the IPv6 address too.
    expect(byKind.get("tls")?.verified).toBe(true);
    expect(byKind.get("http")?.headers?.["x-served-by"]).toBe(PREFERRED_POP);
  }, 30_000);

  it("popwatch run on the IPv6 target fails over to pop-b when pop-a's IPv6 route is withdrawn, and back when healed", async () => {
    const configFile = writeConfigFile(join(workDir, "popwatch.json"), fastLabConfig(lab, {}, [LAB_TARGET_V6]));
    const dataDir = join(workDir, "data");
    const run = PopwatchRun.start(lab, { configFile, dataDir });
    try {
      await run.waitForRounds(2, { timeoutMs: 20_000 });
      // dns-stop: both health checks fail and both families are withdrawn; the IPv6 FIB is the one followed here.
      const episode = await runEpisode(lab, run, PREFERRED_POP, "dns-stop", { family: 6 });
      // previousPop is not asserted: FRR's delete-then-add leaves a 0.1 ms entry without a route in between.
      expect(episode.away).toMatchObject({ prefix: ANYCAST_PREFIX_V6, pop: "pop-b" });
      expect(episode.back).toMatchObject({ prefix: ANYCAST_PREFIX_V6, pop: PREFERRED_POP });
      const results = await queryResults(lab, dataDir, episode, { target: LAB_TARGET_V6 });
      expect(new Set(results.map((r) => `${r.name} ${r.address}`))).toEqual(new Set([`${LAB_TARGET_V6} ${ANYCAST_ADDRESS_V6}`]));
      const dnsOk = results.filter((r) => r.kind === "dns" && r.ok);
      expect(new Set(dnsOk.map((r) => r.pop?.source))).toEqual(new Set(["nsid"]));
      expect(new Set(dnsOk.map((r) => r.pop?.id))).toEqual(new Set([PREFERRED_POP, "pop-b"]));
      for (const kind of ["dns", "http"] as const) {
        const record = recordOf(episode, results, kind);
        expect(
          record.failovers.map((f) => [f.from, f.to, f.failback]),
          kind,
        ).toEqual([
          [PREFERRED_POP, "pop-b", false],
          ["pop-b", PREFERRED_POP, true],
        ]);
        const away = changeTiming(record.away!, episode.fault, episode.away!);
        const back = changeTiming(record.back!, episode.heal, episode.back!);
        // DNS breaks at the fault (its server stopped); nginx keeps answering until the route moves.
        expect(timingProblems(away, ROUND_INTERVAL_MS, kind === "dns"), `${kind} failover ${JSON.stringify(away)}`).toEqual([]);
        expect(timingProblems(back, ROUND_INTERVAL_MS, false), `${kind} failback ${JSON.stringify(back)}`).toEqual([]);
        process.stdout.write(
          `lab ${router} IPv6: ${kind}: router ${away.truthMs.toFixed(1)} ms after the fault, popwatch convergence ${away.convergenceMs} ms; ` +
            `failback: router ${back.truthMs.toFixed(1)} ms, popwatch ${back.convergenceMs} ms\n`,
        );
      }
    } finally {
      await run.stop();
    }
  }, 120_000);
});
