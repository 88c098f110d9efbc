// Convergence per failure mode on the anycast lab (test/lab): the router's own
// record of when it moved traffic, next to what popwatch measured from the
// client while probing once a second (the fastest schedule the config allows:
// rateMinutes 1, roundsPerInvocation 60). Each episode fails the preferred
// PoP at a random point of a round, waits for traffic to settle elsewhere,
// heals it and waits for traffic to come back; popwatch's results are then
// analysed with core's analyzeFailovers, window by window.
//
//   router:   fault (or heal) → the router's FIB change (truth.jsonl, µs stamps)
//   popwatch: Failover.convergenceMs, last answer from the old PoP → first from
//             the new; resolutionMs, the gap after that last answer (a round);
//             outageMs, first failure → first success after (null: none failed)
//   blackhole: the route stays; router column = fault → heal, popwatch = outageMs
//
// Run as root from the repository root (builds the CLI first if needed):
//   npx tsx bench/lab-convergence.ts [--repeat N] [--modes dns-stop,bgp-kill,...]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROBE_KINDS, type ProbeKind } from "@popwatch/core";
import { DEFAULT_HEALTH_INTERVAL_S, DEFAULT_TIMERS } from "../test/lab/configs";
import {
  type ChangeTiming,
  type Episode,
  type KindRecord,
  POP_KINDS,
  SLOT_SKEW_MS,
  breaksAtFault,
  changeTiming,
  recordOf,
  runEpisode,
  stats,
  timingProblems,
} from "../test/lab/convergence";
import { Lab, PREFERRED_POP } from "../test/lab/lab";
import { PopwatchRun, ROUND_INTERVAL_MS, fastLabConfig, readStoredResults, writeConfigFile } from "../test/lab/popwatch-run";
import { labBenchSetup } from "./lab-bench-setup";

const BLACKHOLE_MS = 5_000;

const { repeat, modes } = await labBenchSetup("lab-convergence", 5);

interface Measured {
  episode: Episode;
  records: Map<ProbeKind, KindRecord>;
}

const lab = new Lab({ name: "pwbench", log: (m) => process.stderr.write(`lab: ${m}\n`) });
const workDir = mkdtempSync(join(tmpdir(), "popwatch-lab-bench-"));
const dataDir = join(workDir, "data");
const measured: Measured[] = [];
let run: PopwatchRun | null = null;
try {
  await lab.up();
  const configFile = writeConfigFile(join(workDir, "popwatch.json"), fastLabConfig(lab));
  run = PopwatchRun.start(lab, { configFile, dataDir });
  await run.waitForRounds(3, { timeoutMs: 20_000 });
  const episodes: Episode[] = [];
  for (const mode of modes) {
    for (let i = 0; i < repeat; i++) {
      // Anywhere in the round: whether a probe falls between fault and route change is chance, as in production.
      const faultPhaseMs = Math.floor(Math.random() * ROUND_INTERVAL_MS);
      const episode = await runEpisode(lab, run, PREFERRED_POP, mode, { faultPhaseMs, blackholeMs: BLACKHOLE_MS });
      episodes.push(episode);
      const truth = episode.away ? `router moved after ${(episode.away.atMs - episode.fault.atMs).toFixed(1)} ms` : "no route change";
      process.stderr.write(`${mode} #${i + 1}: fault ${faultPhaseMs} ms into a round, ${truth}\n`);
    }
  }
  expectStopped(await run.stop());
  const results = await readStoredResults(dataDir, { fromMs: episodes[0]!.fromMs, toMs: episodes.at(-1)!.toMs + 1 });
  for (const episode of episodes) {
    measured.push({ episode, records: new Map(PROBE_KINDS.map((kind) => [kind, recordOf(episode, results, kind)])) });
  }
} finally {
  if (run?.running) await run.stop();
  await lab.down();
  rmSync(workDir, { recursive: true, force: true });
}

function expectStopped(code: number): void {
  if (code !== 0) throw new Error(`popwatch run exited ${code}`);
}

function ms(value: number): string {
  return value.toFixed(value >= 100 ? 0 : 1);
}

function summary(values: readonly number[]): string {
  const s = stats(values);
  return s === null ? "-" : `${ms(s.median)} (${ms(s.min)}–${ms(s.max)})`;
}

interface Row {
  episode: string;
  n: number;
  truth: number[];
  convergence: number[];
  resolution: number[];
  outage: number[];
  failed: number;
  agree: number;
  of: number;
}

const rows: Row[] = [];
for (const mode of modes) {
  const ofMode = measured.filter((m) => m.episode.mode === mode);
  if (mode === "blackhole") {
    const outages = ofMode.map((m) => ({ m, outage: m.records.get("dns")!.outages[0] }));
    rows.push({
      episode: `${mode} (DNS dropped ${BLACKHOLE_MS / 1000} s, route stays)`,
      n: ofMode.length,
      truth: ofMode.map((m) => m.episode.heal.atMs - m.episode.fault.atMs),
      convergence: [],
      resolution: outages.flatMap(({ outage }) => (outage ? [outage.resolutionMs] : [])),
      outage: outages.flatMap(({ outage }) => (outage ? [outage.outageMs] : [])),
      failed: ofMode.reduce((n, m) => n + m.records.get("dns")!.failed, 0),
      // Agreement: one outage of the PoP, no failover, no route change, each end within a round.
      agree: outages.filter(({ m, outage }) => {
        const dns = m.records.get("dns")!;
        if (!outage || dns.failovers.length > 0 || dns.outages.length !== 1) return false;
        const start = Date.parse(outage.firstFailureAt) - m.episode.fault.atMs;
        const end = Date.parse(outage.recoveredAt ?? "") - m.episode.heal.atMs;
        return [start, end].every((d) => d >= -SLOT_SKEW_MS && d < ROUND_INTERVAL_MS + SLOT_SKEW_MS);
      }).length,
      of: ofMode.length,
    });
    continue;
  }
  for (const direction of ["away", "back"] as const) {
    const timings: Array<{ kind: string; timing: ChangeTiming; broken: boolean }> = [];
    for (const m of ofMode) {
      const change = direction === "away" ? m.episode.away : m.episode.back;
      const trigger = direction === "away" ? m.episode.fault : m.episode.heal;
      for (const kind of POP_KINDS) {
        const failover = m.records.get(kind)![direction];
        if (change && failover)
          timings.push({
            kind,
            timing: changeTiming(failover, trigger, change),
            broken: direction === "away" && breaksAtFault(mode, kind),
          });
      }
    }
    const dns = timings.filter((t) => t.kind === "dns").map((t) => t.timing);
    rows.push({
      episode: direction === "away" ? `${mode}: pop-a → pop-b` : `${mode}, heal: pop-b → pop-a`,
      n: ofMode.length,
      truth: ofMode.flatMap((m) => {
        const change = direction === "away" ? m.episode.away : m.episode.back;
        const trigger = direction === "away" ? m.episode.fault : m.episode.heal;
        return change ? [change.atMs - trigger.atMs] : [];
      }),
      convergence: dns.map((t) => t.convergenceMs),
      resolution: dns.map((t) => t.resolutionMs),
      outage: dns.flatMap((t) => (t.outageMs === null ? [] : [t.outageMs])),
      failed: dns.reduce((n, t) => n + t.failedSamples, 0),
      agree: timings.filter((t) => timingProblems(t.timing, ROUND_INTERVAL_MS, t.broken).length === 0).length,
      of: ofMode.length * POP_KINDS.length,
    });
  }
}

const out: string[] = [];
out.push(
  `node ${process.version}; popwatch run every ${ROUND_INTERVAL_MS} ms (timeout 500 ms) from the client namespace; ` +
    `BGP keepalive ${DEFAULT_TIMERS.keepaliveS} s, hold ${DEFAULT_TIMERS.holdS} s; health check every ${DEFAULT_HEALTH_INTERVAL_S} s; ` +
    `${repeat} episodes per mode, faults at random points of a round`,
);
out.push(
  "| episode | n | router: trigger → FIB change, ms, median (min–max) | popwatch DNS convergence, ms | DNS resolution, ms | DNS failed probes | popwatch DNS outage, ms | popwatch brackets the router (DNS+HTTP) |",
);
out.push("|---|---|---|---|---|---|---|---|");
for (const row of rows) {
  out.push(
    `| ${row.episode} | ${row.n} | ${summary(row.truth)} | ${summary(row.convergence)} | ${summary(row.resolution)} | ${row.failed} | ${summary(row.outage)} | ${row.agree}/${row.of} |`,
  );
}
process.stdout.write(`${out.join("\n")}\n`);
