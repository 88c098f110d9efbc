// popwatch end to end on the anycast lab (issue 6): the real CLI (`popwatch
// run`, `results`, `probe`) probing once a second from the lab's client
// namespace into the embedded store, core's failover analysis over what it
// stored, checked against the router's own record of its route changes; then
// a burn-rate page from the agent's evaluation cycle, delivered through the
// real EventBridge client to a loopback endpoint.
//
// Needs root (network namespaces); skipped with the reason otherwise. One lab
// ("pwe2e") for every test, so a developer's `npm run lab` lab and the smoke
// test's are left alone. Traffic stays inside the namespaces the lab creates
// (198.51.100.0/24, 203.0.113.0/24) and on loopback. About 8 minutes, most of
// it the five clean minutes a page needs before it may resolve.
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runEvaluationCycle } from "@popwatch/agent";
import {
  type PopEvidence,
  type PopIdentificationConfig,
  type PopwatchConfig,
  type ProbeKind,
  type SloConfigInput,
  createPopIdentifier,
  parseConfig,
} from "@popwatch/core";
import { type CreateSinksOptions, DETAIL_TYPE_FIRING, DETAIL_TYPE_RESOLVED, EVENT_SOURCE, createSinks } from "@popwatch/notify";
import { DynamoAlertStateStore, startEmbeddedStore } from "@popwatch/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../support/daemons";
import { type EventBridgeEndpoint, startEventBridgeEndpoint } from "../support/eventbridge-endpoint";
import {
  type Episode,
  type EpisodeOptions,
  type KindRecord,
  POP_KINDS,
  SLOT_SKEW_MS,
  breaksAtFault,
  changeTiming,
  recordOf,
  runEpisode,
  timingProblems,
} from "./convergence";
import { type FailureMode, Lab, POP_NAMES, PREFERRED_POP, REPO_ROOT } from "./lab";
import {
  FAST_SCHEDULE,
  LAB_TARGET,
  PopwatchRun,
  ROUND_INTERVAL_MS,
  ensureCliBuilt,
  fastLabConfig,
  probeOnce,
  queryResults,
  writeConfigFile,
} from "./popwatch-run";
import { canCreateNamespaces } from "./setup";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const capability = await canCreateNamespaces();
const skipReason = capability.ok ? "" : capability.reason;
if (skipReason) process.stdout.write(`test/lab/e2e.test.ts: popwatch end-to-end tests on the anycast lab skipped: ${skipReason}\n`);

type NotifyEventBridgeClient = ReturnType<NonNullable<CreateSinksOptions["eventBridgeClient"]>>;
// @popwatch/notify has its own copy of the SDK client (the root's is an older one, sst's):
// the sinks take a client of that copy, so it is loaded from there.
const { EventBridgeClient } = createRequire(join(REPO_ROOT, "packages/notify/package.json"))("@aws-sdk/client-eventbridge") as {
  EventBridgeClient: new (config: object) => NotifyEventBridgeClient;
};

type PopRuleSource = NonNullable<PopIdentificationConfig["rules"]>[number]["source"];

/** The round plus the slot skew: how far apart popwatch's and the router's stamps of one event may be. */
const ROUND = ROUND_INTERVAL_MS + SLOT_SKEW_MS;

function report(line: string): void {
  process.stdout.write(`e2e: ${line}\n`);
}

describe.skipIf(!capability.ok)(`popwatch on the anycast lab${skipReason ? ` [skipped: ${skipReason}]` : ""}`, () => {
  const lab = new Lab({ name: "pwe2e" });
  let workDir = "";
  let dataDir = "";
  let run: PopwatchRun | null = null;

  beforeAll(async () => {
    await ensureCliBuilt();
    await lab.up();
    workDir = mkdtempSync(join(tmpdir(), "popwatch-e2e-"));
    dataDir = join(workDir, "data");
    const configFile = writeConfigFile(join(workDir, "popwatch.json"), fastLabConfig(lab));
    run = PopwatchRun.start(lab, { configFile, dataDir });
    await run.waitForRounds(2, { timeoutMs: 20_000 });
  }, 120_000);

  afterAll(async () => {
    if (run?.running) await run.stop();
    await lab.down();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  }, 60_000);

  it("attributes each PoP by its NSID, CHAOS TXT and X-Served-By header, in popwatch probe and in what popwatch run stored", async () => {
    const steps: Array<{ pop: (typeof POP_NAMES)[number]; fromMs: number; toMs: number }> = [];
    // pop-a is preferred; stopping the DNS of every PoP ahead of another makes that one preferred.
    for (const [index, pop] of POP_NAMES.entries()) {
      if (index > 0) {
        const fault = await lab.fail(POP_NAMES[index - 1]!, "dns-stop");
        await lab.waitForRoute(pop, { afterMs: fault.atMs, timeoutMs: 15_000 });
      }
      const fromMs = Date.now();
      // dig and a plain GET, independent of popwatch, say who answers now.
      expect(await lab.queryNsid("client")).toBe(pop);
      expect(await lab.httpServedBy("client")).toBe(pop);

      const probe = await probeOnce(lab);
      const dns = probe.get("dns");
      const http = probe.get("http");
      expect(dns).toMatchObject({
        ok: true,
        nsid: pop,
        identity: { "id.server": pop, "hostname.bind": pop },
        pop: { id: pop, source: "nsid", raw: pop },
      });
      expect(http).toMatchObject({ ok: true, headers: { "x-served-by": pop }, pop: { id: pop, source: "header:x-served-by", raw: pop } });
      expect(probe.get("tls")).toMatchObject({ ok: true, verified: true });

      // Each kind of evidence on its own, through popwatch's identifier with only the lab's rule for it.
      const bySource = (source: PopRuleSource, evidence: PopEvidence, kind: ProbeKind) => {
        const rules: PopIdentificationConfig = { rules: [{ source, regex: "^(pop-[a-z])$", template: "$1" }] };
        return createPopIdentifier(rules)(kind, evidence);
      };
      expect(bySource("nsid", { nsid: dns!.nsid! }, "dns")).toMatchObject({ id: pop, source: "nsid" });
      expect(bySource("id.server", { chaos: { "id.server": dns!.identity!["id.server"]! } }, "dns")).toMatchObject({
        id: pop,
        source: "id.server",
      });
      expect(bySource("hostname.bind", { chaos: { "hostname.bind": dns!.identity!["hostname.bind"]! } }, "dns")).toMatchObject({
        id: pop,
        source: "hostname.bind",
      });
      expect(bySource("header:x-served-by", { headers: { "x-served-by": http!.headers!["x-served-by"]! } }, "http")).toMatchObject({
        id: pop,
        source: "header:x-served-by",
      });

      await run!.waitForRounds(2, { afterMs: fromMs });
      steps.push({ pop, fromMs, toMs: Date.now() });
    }
    // Every PoP back, every session up, traffic on pop-a again: what the failure tests start from.
    await lab.up();

    for (const step of steps) {
      const stored = await queryResults(lab, dataDir, step);
      const dns = stored.filter((r) => r.kind === "dns");
      const http = stored.filter((r) => r.kind === "http");
      expect(dns.length, `dns results while ${step.pop} was preferred`).toBeGreaterThanOrEqual(2);
      expect(http.length).toBeGreaterThanOrEqual(2);
      for (const result of dns) {
        expect(result).toMatchObject({
          ok: true,
          region: "lab",
          nsid: step.pop,
          identity: { "id.server": step.pop, "hostname.bind": step.pop },
          pop: { id: step.pop, source: "nsid" },
        });
      }
      for (const result of http) expect(result).toMatchObject({ ok: true, pop: { id: step.pop, source: "header:x-served-by" } });
    }
    report(`attribution: ${steps.map((s) => `${s.pop} (nsid, id.server, hostname.bind, x-served-by)`).join("; ")}`);
  }, 90_000);

  async function episodeRecords(
    mode: FailureMode,
    options: EpisodeOptions = {},
  ): Promise<{ episode: Episode; records: Map<ProbeKind, KindRecord> }> {
    const episode = await runEpisode(lab, run!, PREFERRED_POP, mode, options);
    const results = await queryResults(lab, dataDir, { fromMs: episode.fromMs, toMs: episode.toMs });
    const records = new Map<ProbeKind, KindRecord>(
      (["dns", "tcp", "tls", "http"] as const).map((kind) => [kind, recordOf(episode, results, kind)]),
    );
    return { episode, records };
  }

  /** A failover away from pop-a and the failback, in every kind that names a PoP, each bracketing the router's change. */
  function expectFailoverAndFailback(episode: Episode, records: Map<ProbeKind, KindRecord>): void {
    const { mode } = episode;
    expect(episode.away).toMatchObject({ previousPop: PREFERRED_POP, pop: "pop-b" });
    expect(episode.back).toMatchObject({ previousPop: "pop-b", pop: PREFERRED_POP });
    for (const kind of POP_KINDS) {
      const record = records.get(kind)!;
      expect(
        record.failovers.map((f) => [f.from, f.to, f.failback]),
        `${mode} ${kind}`,
      ).toEqual([
        [PREFERRED_POP, "pop-b", false],
        ["pop-b", PREFERRED_POP, true],
      ]);
      expect(record.outages, `${mode} ${kind} outages`).toEqual([]);
      expect(record.blips, `${mode} ${kind} blips`).toEqual([]);
      const away = changeTiming(record.away!, episode.fault, episode.away!);
      const back = changeTiming(record.back!, episode.heal, episode.back!);
      expect(
        timingProblems(away, ROUND_INTERVAL_MS, breaksAtFault(mode, kind)),
        `${mode} ${kind} failover ${JSON.stringify(away)}`,
      ).toEqual([]);
      expect(timingProblems(back, ROUND_INTERVAL_MS, false), `${mode} ${kind} failback ${JSON.stringify(back)}`).toEqual([]);
      if (!breaksAtFault(mode, kind)) expectAnswersUntilTheRouteMoves(away, kind);
      expectAnswersUntilTheRouteMoves(back, kind);
      report(
        `${mode} ${kind}: router ${away.truthMs.toFixed(1)} ms after the fault; popwatch convergence ${away.convergenceMs} ms ` +
          `(resolution ${away.resolutionMs} ms, ${away.failedSamples} failed, outage ${away.outageMs ?? "-"} ms); ` +
          `failback: router ${back.truthMs.toFixed(1)} ms after the heal, popwatch ${back.convergenceMs} ms`,
      );
    }
  }

  /**
   * The old PoP kept answering until the route moved: a UDP query cannot be
   * cut by a route change, an HTTPS exchange in flight at that instant can
   * (its next packets reach a PoP that never saw the connection), at most one.
   */
  function expectAnswersUntilTheRouteMoves(timing: ReturnType<typeof changeTiming>, kind: ProbeKind): void {
    if (kind === "dns") expect(timing.failedSamples).toBe(0);
    else expect(timing.failedSamples).toBeLessThanOrEqual(1);
  }

  it("dns-stop: the route is withdrawn and popwatch records the failover within a round of the router at each end; heal → failback", async () => {
    // 30 ms before a round: the router takes longer than that (health check every 0.2 s), so that
    // round's DNS probe normally reaches the stopped server and fails, and the outage is measured too.
    const { episode, records } = await episodeRecords("dns-stop", { faultPhaseMs: ROUND_INTERVAL_MS - 30 });
    expectFailoverAndFailback(episode, records);
    // Only DNS stopped: the TCP and TLS probes to nginx never failed.
    expect(records.get("tcp")!.failed + records.get("tls")!.failed).toBe(0);
    const dns = changeTiming(records.get("dns")!.away!, episode.fault, episode.away!);
    // DNS fails only between the fault and the route change: at most the rounds that fit in it, plus one.
    expect(dns.failedSamples).toBeLessThanOrEqual(Math.ceil(dns.truthMs / ROUND_INTERVAL_MS) + 1);
  }, 60_000);

  it("bgp-kill: the session drops at once, pop-a answers until the route moves, no failure", async () => {
    const { episode, records } = await episodeRecords("bgp-kill");
    expectFailoverAndFailback(episode, records);
    expect(records.get("dns")!.failed).toBe(0);
  }, 60_000);

  it("bgp-freeze: the route moves only when the hold timer expires, and popwatch sees pop-a answer until then", async () => {
    const { episode, records } = await episodeRecords("bgp-freeze");
    expectFailoverAndFailback(episode, records);
    const truthMs = episode.away!.atMs - episode.fault.atMs;
    // Hold time 3 s after the last keepalive, which the speaker sends about once a second (the
    // bench saw 1.8–2.9 s); a killed speaker's session drops within milliseconds.
    expect(truthMs).toBeGreaterThan(1_000);
    expect(truthMs).toBeLessThan(3_000 + SLOT_SKEW_MS);
    for (const kind of POP_KINDS) {
      const away = records.get(kind)!.away!;
      expect(Date.parse(away.lastGoodFromAt) - episode.fault.atMs, `${kind}: pop-a answered after the freeze`).toBeGreaterThan(
        truthMs - ROUND,
      );
    }
    expect(records.get("dns")!.failed).toBe(0);
  }, 60_000);

  it("link-down: packets are dropped from the fault until the route moves, and the failover brackets the router's change", async () => {
    const { episode, records } = await episodeRecords("link-down");
    expectFailoverAndFailback(episode, records);
  }, 60_000);

  it("blackhole: DNS fails while the route stays, recorded as an outage of pop-a without a PoP change", async () => {
    const blackholeMs = 5_000;
    const { episode, records } = await episodeRecords("blackhole", { blackholeMs });
    expect(lab.truth().filter((c) => c.atMs >= episode.fault.atMs && c.atMs < episode.toMs)).toEqual([]);
    const dns = records.get("dns")!;
    expect(dns.failovers).toEqual([]);
    expect(dns.blips).toEqual([]);
    expect(dns.outages).toHaveLength(1);
    const outage = dns.outages[0]!;
    expect(outage).toMatchObject({ pop: PREFERRED_POP, ongoing: false, failedSamples: dns.failed });
    const truthMs = episode.heal.atMs - episode.fault.atMs;
    const firstFailureLagMs = Date.parse(outage.firstFailureAt) - episode.fault.atMs;
    const recoveryLagMs = Date.parse(outage.recoveredAt!) - episode.heal.atMs;
    expect(firstFailureLagMs).toBeGreaterThanOrEqual(-SLOT_SKEW_MS);
    expect(firstFailureLagMs).toBeLessThan(ROUND);
    expect(recoveryLagMs).toBeGreaterThanOrEqual(-SLOT_SKEW_MS);
    expect(recoveryLagMs).toBeLessThan(ROUND);
    expect(Math.abs(outage.outageMs - truthMs)).toBeLessThan(ROUND);
    expect(dns.failed).toBeGreaterThanOrEqual(Math.floor(truthMs / ROUND_INTERVAL_MS) - 1);
    // Only DNS is dropped: the same PoP kept serving HTTPS, and nothing moved.
    for (const kind of ["tcp", "tls", "http"] as const) {
      expect(records.get(kind)!.failed, `${kind} failures`).toBe(0);
      expect(records.get(kind)!.failovers).toEqual([]);
    }
    report(
      `blackhole: ${truthMs.toFixed(1)} ms from fault to heal; popwatch outage ${outage.outageMs} ms, ${outage.failedSamples} failed, resolution ${outage.resolutionMs} ms`,
    );
  }, 60_000);

  describe("burn-rate alerting", () => {
    let endpoint: EventBridgeEndpoint;

    beforeAll(async () => {
      endpoint = await startEventBridgeEndpoint();
    });

    afterAll(async () => {
      await endpoint?.close();
    });

    // With a 30d period the page rules are 1h/5m above 14.4× and 6h/30m above 6× (SRE Workbook).
    // Firing needs more than 14.4 × 5% = 72% of DNS probes failing in the 5m and 1h windows;
    // resolving needs the 6h/30m rule quiet too, i.e. at most 6 × 5% = 30% bad over everything
    // (all of it inside 30 minutes) and no bad result in the last 5 minutes. A black hole of
    // 35–95 s after ~5 s of answers, then 5 clean minutes, is 87–95% bad at the first and
    // 10–24% at the second: 0.95 fires and resolves, 0.99 (6% at the second) would not resolve
    // before half an hour of clean probing.
    const SLO: SloConfigInput = {
      name: "lab-dns",
      target: LAB_TARGET,
      kinds: ["dns"],
      sli: { type: "availability" },
      objective: 0.95,
      period: "30d",
      minEvents: 20,
    };

    function sinksFor(config: PopwatchConfig) {
      return createSinks(config.alerting.sinks, {
        homeRegion: config.homeRegion,
        eventBridgeClient: (region) =>
          new EventBridgeClient({
            endpoint: endpoint.endpoint,
            region: region ?? config.homeRegion,
            credentials: { accessKeyId: "popwatch-lab", secretAccessKey: "popwatch-lab" },
            maxAttempts: 1,
          }),
      });
    }

    function eventsOf(severity: "page" | "ticket") {
      return endpoint.events.filter((e) => (e.Detail as { severity?: unknown }).severity === severity);
    }

    /**
     * Until the minute ending at `boundary` is rolled up and the clock has
     * passed the boundary: the period's last round runs a second before it,
     * and an evaluation (whose windows end at the last whole minute) must not
     * start earlier.
     */
    async function untilRolledUp(child: PopwatchRun, boundary: number): Promise<void> {
      await child.waitForInvocation(boundary - 60_000, { timeoutMs: boundary + 30_000 - Date.now() });
      await sleep(boundary + 100 - Date.now());
    }

    /** One evaluation cycle in this process, on the store of a data directory no popwatch holds. */
    async function evaluate(config: PopwatchConfig, sloDataDir: string) {
      const embedded = await startEmbeddedStore({ dataDir: sloDataDir });
      try {
        const alerts = new DynamoAlertStateStore({ client: embedded.client, tableName: embedded.store.tableName });
        return await runEvaluationCycle({
          config,
          store: embedded.store,
          alerts,
          sinks: sinksFor(config),
          regions: [config.localRegion],
          now: Date.now(),
        });
      } finally {
        await embedded.close();
      }
    }

    it(
      "pages once while a black hole burns the DNS budget, not again on the next evaluation, and resolves the page once after a clean 5 minutes",
      async () => {
        // Its own store: the windows must hold only this scenario, not the failures of the tests before.
        if (run?.running) expect(await run.stop()).toBe(0);
        const sloDataDir = join(workDir, "slo-data");
        const runConfigFile = writeConfigFile(join(workDir, "popwatch-slo-run.json"), fastLabConfig(lab));
        const config = parseConfig(
          fastLabConfig(lab, {
            slos: [SLO],
            alerting: { sinks: [{ type: "eventbridge", busName: "popwatch-lab-alerts", region: "eu-west-1" }] },
          }),
        );
        expect(config.schedule).toMatchObject(FAST_SCHEDULE);

        const burning = PopwatchRun.start(lab, { configFile: runConfigFile, dataDir: sloDataDir });
        const warm = await burning.waitForRounds(5, { timeoutMs: 20_000 });
        expect(warm.every((r) => r.failed === 0)).toBe(true);
        const fault = await lab.fail(PREFERRED_POP, "blackhole");
        // The first minute boundary with at least 35 s of black hole before it; healed just before it,
        // so every result from the boundary on is clean.
        const boundary = Math.ceil((fault.atMs + 35_000) / 60_000) * 60_000;
        await sleep(boundary - 1_500 - Date.now());
        const heal = await lab.heal(PREFERRED_POP);
        expect(heal.atMs).toBeLessThan(boundary);
        await untilRolledUp(burning, boundary);
        expect(await burning.stop()).toBe(0);
        // Every round the black hole covered lost its DNS probe and only that (the rule lands a few ms after the stamp).
        const covered = burning.rounds.filter((r) => r.slotMs >= fault.atMs + SLOT_SKEW_MS && r.slotMs < heal.atMs);
        expect(covered.length).toBeGreaterThanOrEqual(30);
        expect(covered.filter((r) => r.failed !== 1)).toEqual([]);

        const firing = await evaluate(config, sloDataDir);
        expect(firing.slos.endMs).toBe(boundary);
        const scope = firing.slos.scopes.find((s) => s.scope === "lab")!;
        expect(scope.counts["5m"]!.bad).toBeGreaterThanOrEqual(30);
        expect(scope.evaluation.burnRates["5m"]!).toBeGreaterThan(14.4);
        expect(scope.evaluation.burnRates["1h"]!).toBeGreaterThan(14.4);
        expect(scope.evaluation.firing).toContainEqual({ severity: "page", long: "1h", short: "5m", factor: 14.4 });
        // The slow-burn ticket rules (1d/2h above 3×, 3d/6h above 1×) are exceeded as well: a ticket too.
        expect(eventsOf("page").map((e) => e.DetailType)).toEqual([DETAIL_TYPE_FIRING]);
        expect(eventsOf("ticket").map((e) => e.DetailType)).toEqual([DETAIL_TYPE_FIRING]);
        const page = eventsOf("page")[0]!;
        expect(page).toMatchObject({ Source: EVENT_SOURCE, EventBusName: "popwatch-lab-alerts" });
        expect(page.Detail).toMatchObject({ kind: "firing", status: "firing", slo: "lab-dns", severity: "page", regions: ["lab"] });
        report(
          `page fired at ${new Date(firing.slos.endMs).toISOString()}: burn 5m ${scope.evaluation.burnRates["5m"]!.toFixed(1)}, 1h ${scope.evaluation.burnRates["1h"]!.toFixed(1)}`,
        );

        const repeat = await evaluate(config, sloDataDir);
        expect(repeat.slos.scopes.find((s) => s.scope === "lab")!.evaluation.firing).not.toEqual([]);
        expect(repeat.alerts.plan.notifications).toEqual([]);
        expect(endpoint.events).toHaveLength(2);

        // Clean probing until a whole short window after the heal is rolled up.
        const clean = PopwatchRun.start(lab, { configFile: runConfigFile, dataDir: sloDataDir });
        const resolveAt = boundary + 5 * 60_000;
        await untilRolledUp(clean, resolveAt);
        expect(await clean.stop()).toBe(0);
        expect(clean.rounds.every((r) => r.failed === 0)).toBe(true);

        const resolved = await evaluate(config, sloDataDir);
        expect(resolved.slos.endMs).toBe(resolveAt);
        const after = resolved.slos.scopes.find((s) => s.scope === "lab")!;
        expect(after.counts["5m"]).toMatchObject({ bad: 0 });
        expect(after.counts["5m"]!.total).toBeGreaterThan(200);
        expect(after.evaluation.firing.filter((f) => f.severity === "page")).toEqual([]);
        expect(eventsOf("page").map((e) => e.DetailType)).toEqual([DETAIL_TYPE_FIRING, DETAIL_TYPE_RESOLVED]);
        expect(eventsOf("page")[1]!.Detail).toMatchObject({ kind: "resolved", status: "resolved", slo: "lab-dns", severity: "page" });
        // A ticket's windows (6h at the shortest) still hold the black hole: it keeps firing, unannounced again.
        expect(after.evaluation.firing.filter((f) => f.severity === "ticket")).not.toEqual([]);
        expect(eventsOf("ticket")).toHaveLength(1);
        expect(endpoint.rejected).toEqual([]);
        report(
          `page resolved at ${new Date(resolved.slos.endMs).toISOString()}: 5m window ${after.counts["5m"]!.total} DNS results, none bad`,
        );
      },
      9 * 60_000,
    );
  });
});
