// popwatch's routing end to end on the anycast lab (issue 11): the real CLI in
// the lab's client namespace — `popwatch run` probing once a second with fast
// routing notifications to a webhook sink, and `popwatch bgp listen` taking
// the FRR router's BMP into the same store (through the endpoint `run`
// publishes) — checked against the router's own record (MRT dump, FIB log):
// pop-a's withdrawal stored and correlated with the failover, its M2 next to
// the router's, the pop-change notification's delay, and a rogue origin
// hijack and more-specific seen, paged and recovered.
//
// Needs root (network namespaces) and FRR; skipped with the reason otherwise.
// Its own lab ("pwrte"). About a minute (up to 3 under load).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RouteFinding } from "@popwatch/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SLOT_SKEW_MS } from "./convergence";
import { Lab } from "./lab";
import { PopwatchRun, ROUND_INTERVAL_MS, ensureCliBuilt, writeConfigFile } from "./popwatch-run";
import {
  BMP_STAMP_GRANULARITY_MS,
  BURST_GAP_SECONDS,
  BgpListen,
  ClientWebhookSink,
  POP_ORIGINS,
  WATCHED_PREFIX,
  popwatchIn,
  routingEpisode,
  routingLabConfig,
  storedBgpEvents,
} from "./routing-run";
import { canCreateNamespaces } from "./setup";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const capability = await canCreateNamespaces();
const skipReason = capability.ok ? "" : capability.reason;
if (skipReason) process.stdout.write(`test/lab/routing-e2e.test.ts: routing end-to-end tests on the anycast lab skipped: ${skipReason}\n`);

/** One round plus the slot skew: how far apart popwatch's and the router's stamps of one event may be. */
const ROUND = ROUND_INTERVAL_MS + SLOT_SKEW_MS;
const ROGUE_ASN = 65666;
const MORE_SPECIFIC = "203.0.113.48/28";

function report(line: string): void {
  process.stdout.write(`routing-e2e: ${line}\n`);
}

describe.skipIf(!capability.ok)(`popwatch routing on the anycast lab${skipReason ? ` [skipped: ${skipReason}]` : ""}`, () => {
  const lab = new Lab({ name: "pwrte", router: "frr", announce: "covering", rogue: true, bmp: { port: 11_093, at: "client" } });
  let dataDir: string;
  let configFile: string;
  let sink: ClientWebhookSink;
  let run: PopwatchRun;
  let listen: BgpListen;

  beforeAll(async () => {
    await ensureCliBuilt();
    await lab.up();
    dataDir = mkdtempSync(join(tmpdir(), "popwatch-routing-e2e-"));
    sink = await ClientWebhookSink.start(lab);
    configFile = writeConfigFile(join(dataDir, "popwatch.config.json"), routingLabConfig(lab, sink.endpoint));
    // `run` first: it owns the embedded store; `bgp listen` then writes through the endpoint it publishes.
    run = PopwatchRun.start(lab, { configFile, dataDir: join(dataDir, "store") });
    await run.waitForRounds(3, { timeoutMs: 60_000 });
    listen = BgpListen.start(lab, { configFile, dataDir: join(dataDir, "store") });
    report(await listen.waitForRouter(60_000));
    // The session's initial dump must not count as the first fault's BGP burst.
    await new Promise((resolve) => setTimeout(resolve, (BURST_GAP_SECONDS + 1) * 1000));
  }, 240_000);

  afterAll(async () => {
    try {
      await listen?.stop();
      await run?.stop().catch(() => undefined);
      await sink?.stop();
    } finally {
      await lab.down();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);

  const store = () => join(dataDir, "store");

  it("pop-a failing: its withdrawal stored from BMP, correlated with the failover, M2 next to the router's, the pop-change delivered within a round + 2 s", async () => {
    const episode = await routingEpisode({ lab, sink, configFile, dataDir: store(), settleMs: 8_000, notifyTimeoutMs: 20_000 }, "dns-stop");
    const { truth, storedLoss, failovers, notification } = episode;
    report(
      `dns-stop: router first BGP change +${truth.bgpMs?.toFixed(1)} ms, FIB +${truth.installMs?.toFixed(1)} ms (router M2 ${episode.routerM2Ms?.toFixed(1)} ms); ` +
        `stored loss ${storedLoss ? `${storedLoss.type} +${storedLoss.timeMs - episode.fault.atMs} ms from ${storedLoss.source}` : "none"}; ` +
        `popwatch M2 ${failovers.map((f) => `${f.kind} ${f.routing?.m2Ms ?? "-"} ms`).join(", ") || "no failover"}; ` +
        `pop-change notification +${episode.notifyMs ?? "-"} ms`,
    );
    expect(truth.firstBgpChange, "the router saw pop-a's withdrawal").not.toBeNull();
    expect(truth.installed, "the router moved the route").not.toBeNull();

    // (1) the withdrawal, from BMP, in the store: the router's own message; FRR's BMP stamp is whole seconds of its
    // monotonic clock, so it may precede the MRT dump's stamp by up to a second.
    expect(storedLoss, "a withdrawal of pop-a stored by bgp listen").not.toBeNull();
    expect(storedLoss!.source).toMatch(/^bmp:/);
    expect(storedLoss!.timeMs - truth.firstBgpChange!.atMs).toBeGreaterThan(-BMP_STAMP_GRANULARITY_MS - SLOT_SKEW_MS);
    expect(storedLoss!.timeMs - truth.firstBgpChange!.atMs).toBeLessThan(SLOT_SKEW_MS);

    // The report's failover away from pop-a, with the BGP burst and M2.
    expect(failovers.length, "a failover away from pop-a in the report").toBeGreaterThan(0);
    for (const failover of failovers) {
      expect(failover.routing?.prefix).toBe(WATCHED_PREFIX);
      expect(failover.routing!.bgpEvents).toBeGreaterThan(0);
      expect(failover.routing!.m2Ms, `M2 of the ${failover.kind} failover`).not.toBeNull();
      // Its BGP burst starts with pop-a's withdrawal as stored (the session's initial dump is more than a burst gap before).
      expect(Math.abs(Date.parse(failover.routing!.burstFirstAt!) - storedLoss!.timeMs)).toBeLessThan(1);
      // M2 ends at popwatch's first answer from the new PoP: at or after the router's install less the slot skew, within a
      // round after it; it starts at the BMP stamp, up to a second before the MRT one. So [−1 round, +2 rounds].
      const m2 = failover.routing!.m2Ms!;
      expect(m2).toBeGreaterThanOrEqual(episode.routerM2Ms! - ROUND);
      expect(m2).toBeLessThanOrEqual(episode.routerM2Ms! + 2 * ROUND);
    }

    // (3) the fast routing notification: within one round (+2 s) after the router moved the route.
    expect(notification, "a pop-change notification after the fault").not.toBeNull();
    expect(notification!.body.slo).toMatch(/^anycast:(pop-change|outage):lab-anycast$/);
    expect(episode.notifyMs!).toBeLessThanOrEqual(truth.installMs! + ROUND + 2_000);
  }, 120_000);

  it("a rogue origin hijack, then a more-specific: findings with AS65666, one page each, a recovery of each after the withdrawals", async () => {
    const hijacks = () => sink.received.filter((r) => /^routing:(origin-hijack|sub-prefix-hijack):/.test(r.body.slo));
    const sent = () => hijacks().map((r) => `${r.body.slo.split(":")[1]} ${r.body.status}`);
    const startMs = Date.now();

    // The /24 from AS65666: an origin hijack only (same length as the PoPs' routes, so no more-specific).
    const origin = await lab.rogue.announce({ prefix: WATCHED_PREFIX, originAs: ROGUE_ASN });
    await lab.waitForBgpChange((c) => c.pop === "rogue" && c.type === "A" && c.prefix === WATCHED_PREFIX, {
      afterMs: origin.atMs,
      timeoutMs: 15_000,
    });
    const first = await waitForFindings((findings) => findings.some((f) => f.condition === "origin-hijack"));
    expect(first.map((f) => f.condition)).not.toContain("sub-prefix-hijack");
    const originFinding = first.find((f) => f.condition === "origin-hijack") as RouteFinding;
    expect(originFinding.asns).toEqual([ROGUE_ASN]);
    expect(originFinding.expected).toEqual(POP_ORIGINS);
    expect(originFinding.prefixes).toEqual([WATCHED_PREFIX]);
    await evaluateUntil(() => sent().includes("origin-hijack firing"), "the origin-hijack page");
    expect(sent()).toEqual(["origin-hijack firing"]);

    // Then the /28 inside it: a sub-prefix hijack page; the origin hijack (now of both prefixes) pages no second time.
    const moreSpecific = await lab.rogue.announce({ prefix: MORE_SPECIFIC, originAs: ROGUE_ASN });
    await lab.waitForBgpChange((c) => c.pop === "rogue" && c.type === "A" && c.prefix === MORE_SPECIFIC, {
      afterMs: moreSpecific.atMs,
      timeoutMs: 15_000,
    });
    const both = await waitForFindings((findings) => findings.some((f) => f.condition === "sub-prefix-hijack"));
    const subFinding = both.find((f) => f.condition === "sub-prefix-hijack") as RouteFinding;
    report(
      `findings while hijacked: ${JSON.stringify(both.map((f) => ({ condition: f.condition, asns: "asns" in f ? f.asns : [], prefixes: "prefixes" in f ? f.prefixes : [] })))}`,
    );
    expect(subFinding.asns).toEqual([ROGUE_ASN]);
    expect(subFinding.prefixes).toEqual([MORE_SPECIFIC]);
    expect(subFinding.maxLength).toBe(24);
    expect((both.find((f) => f.condition === "origin-hijack") as RouteFinding).prefixes).toEqual([MORE_SPECIFIC, WATCHED_PREFIX].sort());
    const events = await storedBgpEvents(lab, { configFile, dataDir: store(), fromMs: startMs - 1_000 });
    expect(events.some((e) => e.type === "A" && e.prefix === MORE_SPECIFIC && e.origin === ROGUE_ASN && e.source.startsWith("bmp:"))).toBe(
      true,
    );
    await evaluateUntil(() => sent().includes("sub-prefix-hijack firing"), "the sub-prefix-hijack page");
    // One more evaluation with nothing changed: still nothing new.
    await popwatchIn(lab, ["evaluate", "--config", configFile, "--data-dir", store()], { allowExit: [1] });
    expect(sent()).toEqual(["origin-hijack firing", "sub-prefix-hijack firing"]);
    report(
      `pages while hijacked: ${hijacks()
        .map((r) => `${r.body.slo} ${r.body.status} ${r.body.severity}`)
        .join("; ")}`,
    );

    // Both withdrawn: one recovery each ("more-specific withdrawn", "origin restored").
    await lab.rogue.withdraw(MORE_SPECIFIC);
    const lastWithdrawal = await lab.rogue.withdraw(WATCHED_PREFIX);
    await lab.waitForBgpChange((c) => c.pop === "rogue" && c.type === "W", { afterMs: lastWithdrawal.atMs, timeoutMs: 15_000 });
    await waitForFindings((findings) => !findings.some((f) => f.condition === "origin-hijack" || f.condition === "sub-prefix-hijack"));
    await evaluateUntil(() => sent().includes("origin-hijack resolved") && sent().includes("sub-prefix-hijack resolved"), "the recoveries");
    await popwatchIn(lab, ["evaluate", "--config", configFile, "--data-dir", store()], { allowExit: [1] });
    report(
      `after the withdrawals: ${hijacks()
        .map((r) => `${r.body.slo} ${r.body.status}`)
        .join("; ")}`,
    );
    expect([...sent()].sort()).toEqual([
      "origin-hijack firing",
      "origin-hijack resolved",
      "sub-prefix-hijack firing",
      "sub-prefix-hijack resolved",
    ]);
    for (const r of hijacks()) {
      expect(r.body.severity).toBe("page");
      expect(r.body.routing).toMatchObject({ prefix: WATCHED_PREFIX });
    }
    // Distinct notification ids: the sink got no redelivery either.
    expect(new Set(hijacks().map((r) => r.body.notificationId)).size).toBe(4);
  }, 180_000);

  /** `popwatch bgp state --json` until its findings satisfy `done` (the listener batches writes for up to 1 s). */
  async function waitForFindings(done: (findings: (RouteFinding | { condition: string })[]) => boolean): Promise<RouteFinding[]> {
    const deadline = Date.now() + 30_000;
    let last: RouteFinding[] = [];
    while (Date.now() < deadline) {
      const out = await popwatchIn(lab, ["bgp", "state", "--json", "--config", configFile, "--data-dir", store()], { allowExit: [1] });
      const parsed = JSON.parse(out) as { prefixes: { prefix: string; findings: RouteFinding[] }[] };
      last = parsed.prefixes.find((p) => p.prefix === WATCHED_PREFIX)?.findings ?? [];
      if (done(last)) return last;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    throw new Error(`bgp state findings did not settle within 30 s: ${JSON.stringify(last)}`);
  }

  /**
   * `popwatch evaluate` (the evaluation cycle with its routing part) until the sink has what `done` wants; `popwatch
   * run`'s own evaluation after each minute may deliver first, which is the same lifecycle.
   */
  async function evaluateUntil(done: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`no ${what} within 60 s of popwatch evaluate runs`);
      await popwatchIn(lab, ["evaluate", "--config", configFile, "--data-dir", store()], { allowExit: [1] });
      if (!done()) await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
});
