// Routing on the anycast lab (test/lab), per failure mode of pop-a: M2 route
// convergence as popwatch measures it (the report's, from the BGP events
// `popwatch bgp listen` stored from the FRR router's BMP and the results of
// `popwatch run` probing once a second) next to the router's truth (its first
// BGP change from the MRT dump, its FIB install from truth.jsonl), and the
// time from the fault (events.jsonl stamp) to the fast routing notification
// (pop-change, or outage for a black hole) arriving at a webhook sink in the
// client namespace. Goal: notification ≤ one round + 2 s after the router
// moved the route.
//
//   router M2:    first BGP change → FIB install (what M2 would be with a probe at every instant)
//   popwatch M2:  first BGP change of the burst (BMP) → first answer from the new PoP, per probe kind (median)
//   notify:       fault → the notification's arrival
//
// Run as root from the repository root (builds the CLI first if needed):
//   npx tsx bench/lab-routing.ts [--repeat N] [--modes dns-stop,bgp-kill,...]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stats } from "../test/lab/convergence";
import { Lab } from "../test/lab/lab";
import { PopwatchRun, ROUND_INTERVAL_MS, writeConfigFile } from "../test/lab/popwatch-run";
import {
  BURST_GAP_SECONDS,
  BgpListen,
  ClientWebhookSink,
  type RoutingEpisode,
  routingEpisode,
  routingLabConfig,
} from "../test/lab/routing-run";
import { labBenchSetup } from "./lab-bench-setup";

const { repeat, modes } = await labBenchSetup("lab-routing", 3);

const lab = new Lab({
  name: "pwrtbch",
  router: "frr",
  announce: "covering",
  bmp: { port: 11_094, at: "client" },
  log: (m) => process.stderr.write(`lab: ${m}\n`),
});
const workDir = mkdtempSync(join(tmpdir(), "popwatch-lab-routing-"));
const dataDir = join(workDir, "store");
const episodes: RoutingEpisode[] = [];
let run: PopwatchRun | null = null;
let listen: BgpListen | null = null;
let sink: ClientWebhookSink | null = null;
try {
  await lab.up();
  sink = await ClientWebhookSink.start(lab);
  const configFile = writeConfigFile(join(workDir, "popwatch.json"), routingLabConfig(lab, sink.endpoint));
  run = PopwatchRun.start(lab, { configFile, dataDir });
  await run.waitForRounds(3, { timeoutMs: 60_000 });
  listen = BgpListen.start(lab, { configFile, dataDir });
  await listen.waitForRouter(60_000);
  for (const mode of modes) {
    for (let i = 0; i < repeat; i++) {
      // After the last BGP burst (the heal's re-announcement) has ended, anywhere in the round, as in production.
      const pauseMs = (BURST_GAP_SECONDS + 1) * 1000 + Math.floor(Math.random() * ROUND_INTERVAL_MS);
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
      const episode = await routingEpisode({ lab, sink, configFile, dataDir, settleMs: 6_000, notifyTimeoutMs: 20_000 }, mode);
      episodes.push(episode);
      process.stderr.write(
        `${mode} #${i + 1}: router bgp +${episode.truth.bgpMs?.toFixed(0) ?? "-"} ms, FIB +${episode.truth.installMs?.toFixed(0) ?? "-"} ms; ` +
          `popwatch M2 ${episode.failovers.map((f) => `${f.kind} ${f.routing?.m2Ms ?? "-"}`).join(" ") || "-"}; notify +${episode.notifyMs ?? "-"} ms\n`,
      );
    }
  }
} finally {
  await listen?.stop();
  if (run?.running) await run.stop();
  await sink?.stop();
  await lab.down();
  rmSync(workDir, { recursive: true, force: true });
}

function ms(value: number): string {
  return value.toFixed(0);
}

function summary(values: readonly number[]): string {
  const s = stats(values);
  return s === null ? "-" : `${ms(s.median)} (${ms(s.min)}–${ms(s.max)})`;
}

function median(values: readonly number[]): number | null {
  return stats(values)?.median ?? null;
}

const out: string[] = [];
out.push(
  `node ${process.version}; FRR router, covering /24, BMP to popwatch bgp listen; popwatch run every ${ROUND_INTERVAL_MS} ms; ` +
    `${repeat} episodes per mode of pop-a, at random points of a round`,
);
out.push(
  "| mode | n | router: fault → first BGP change, ms | router M2 (BGP change → FIB), ms | popwatch M2 (median of kinds), ms | popwatch − router M2, ms | fault → notification, ms | goal: ≤ FIB + round + 2 s |",
);
out.push("|---|---|---|---|---|---|---|---|");
for (const mode of modes) {
  const of = episodes.filter((e) => e.mode === mode);
  const popwatchM2 = of.flatMap((e) => {
    const m = median(e.failovers.flatMap((f) => (f.routing?.m2Ms == null ? [] : [f.routing.m2Ms])));
    return m === null ? [] : [m];
  });
  const gaps = of.flatMap((e) => {
    const m = median(e.failovers.flatMap((f) => (f.routing?.m2Ms == null ? [] : [f.routing.m2Ms])));
    return m === null || e.routerM2Ms === null ? [] : [m - e.routerM2Ms];
  });
  // The route moves at the FIB install (or, for a black hole, never: the outage starts at the fault).
  const met = of.filter((e) => e.notifyMs !== null && e.notifyMs <= (e.truth.installMs ?? 0) + ROUND_INTERVAL_MS + 2_000).length;
  out.push(
    `| ${mode} | ${of.length} | ${summary(of.flatMap((e) => (e.truth.bgpMs === null ? [] : [e.truth.bgpMs])))} | ` +
      `${summary(of.flatMap((e) => (e.routerM2Ms === null ? [] : [e.routerM2Ms])))} | ${summary(popwatchM2)} | ${summary(gaps)} | ` +
      `${summary(of.flatMap((e) => (e.notifyMs === null ? [] : [e.notifyMs])))} | ${met}/${of.length} |`,
  );
}
process.stdout.write(`${out.join("\n")}\n`);
