// CPU seconds per 1,000 DNS probes through `/probe`: `popwatch exporter` next
// to Debian's prometheus-blackbox-exporter in the same run, both asking the
// same loopback NSD for the same A record, driven the same way (keep-alive
// HTTP, the same concurrency, as Prometheus scrapes). CPU is each exporter
// process's utime + stime from /proc (all threads), read before and after a
// batch, so the client, NSD and the other exporter do not count. Rounds
// alternate which exporter goes first, so drifting machine load falls on both.
//
// popwatch probes as configured by default (EDNS with an empty NSID option,
// which it decodes into probe_dns_nsid_info); blackbox sends a bare query.
//
// Run from the repository root: npx tsx bench/exporter-cpu.ts
//   env: PROBES=2000 CONCURRENCY=8 ROUNDS=5 WARMUP=1000
//        PROFILE_DIR=dir  (popwatch's exporter runs with node --cpu-prof; the profile lands there on exit)
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { addRunDir, removeRunDir } from "../test/support/daemons";
import { startDns } from "../test/support/servers";
import { RECORDS } from "../test/support/zone-data";
import {
  type Exporter,
  buildCli,
  loadNote,
  processCpuSeconds,
  processRssMiB,
  runConcurrently,
  startBlackboxExporter,
  startPopwatchExporter,
} from "./support/exporters";
import { fmt, percentile } from "./support/stats";

const PROBES = Number(process.env.PROBES ?? "2000");
const CONCURRENCY = Number(process.env.CONCURRENCY ?? "8");
const ROUNDS = Number(process.env.ROUNDS ?? "5");
const WARMUP = Number(process.env.WARMUP ?? "1000");
const PROFILE_DIR = process.env.PROFILE_DIR;
/** A named module in both exporters' configs: an A query for the zone's www name over UDP. */
const MODULE = "nsd_a";

interface Driven {
  exporter: Exporter;
  params: Record<string, string>;
}

/** `count` probes through `/probe`; every one must come back with probe_success 1. */
async function drive({ exporter, params }: Driven, count: number): Promise<void> {
  await runConcurrently(count, CONCURRENCY, async () => {
    const body = await exporter.probe(params);
    if (!/^probe_success 1$/m.test(body)) throw new Error(`${exporter.name}: probe failed:\n${body.slice(0, 1500)}`);
  });
}

/** CPU seconds per 1,000 probes and the wall time of one batch. */
async function measure(driven: Driven): Promise<{ cpuPer1000: number; seconds: number }> {
  const cpuBefore = processCpuSeconds(driven.exporter.pid);
  const started = process.hrtime.bigint();
  await drive(driven, PROBES);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = processCpuSeconds(driven.exporter.pid) - cpuBefore;
  return { cpuPer1000: (cpu / PROBES) * 1000, seconds };
}

async function main() {
  const loadAtStart = loadNote();
  await buildCli();
  const dir = mkdtempSync(join(tmpdir(), "popwatch-bench-exporter-cpu-"));
  addRunDir(dir); // removed on exit or a signal too
  const stops: (() => Promise<void>)[] = [];
  try {
    const nsd = await startDns("nsd", join(dir, "nsd"));
    stops.push(() => nsd.stop());
    const { address, port } = nsd.info;
    const blackbox = await startBlackboxExporter(dir, {
      [MODULE]: {
        prober: "dns",
        timeout: "5s",
        dns: {
          query_name: RECORDS.a.name,
          query_type: "A",
          transport_protocol: "udp",
          preferred_ip_protocol: "ip4",
          ip_protocol_fallback: false,
        },
      },
    });
    stops.push(() => blackbox.stop());
    const popwatchConfig = {
      targets: [{ name: "nsd", address, probes: { dns: { port, qname: RECORDS.a.name, qtype: "A" } } }],
      exporter: { modules: { [MODULE]: { kind: "dns", qname: RECORDS.a.name, qtype: "A" } } },
    };
    const nodeArgs = PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${resolve(PROFILE_DIR)}`] : [];
    const popwatch = await startPopwatchExporter(dir, popwatchConfig, { nodeArgs });
    stops.push(() => popwatch.stop());

    // The same request to both: /probe?target=127.0.0.1:PORT&module=nsd_a
    const params = { target: `${address}:${port}`, module: MODULE };
    const both: Driven[] = [
      { exporter: popwatch, params },
      { exporter: blackbox, params },
    ];
    for (const driven of both) await drive(driven, WARMUP); // JIT, Go's pools, sockets

    const rows: { popwatch: number; blackbox: number; popwatchSeconds: number; blackboxSeconds: number }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? both : [...both].reverse();
      const figures = new Map<string, { cpuPer1000: number; seconds: number }>();
      for (const driven of order) figures.set(driven.exporter.name, await measure(driven));
      const p = figures.get("popwatch")!;
      const b = figures.get("blackbox")!;
      rows.push({ popwatch: p.cpuPer1000, blackbox: b.cpuPer1000, popwatchSeconds: p.seconds, blackboxSeconds: b.seconds });
    }

    console.log(`node ${process.version}, blackbox_exporter 0.23 (Debian), NSD on ${address}:${port}`);
    console.log(
      `${PROBES} probes per exporter per round, concurrency ${CONCURRENCY}, ${ROUNDS} rounds after ${WARMUP} warm-up probes each`,
    );
    console.log(`at the start: ${loadAtStart}; at the end: ${loadNote()}`);
    console.log("| round | popwatch CPU s / 1,000 probes | blackbox CPU s / 1,000 | ratio | popwatch probes/s | blackbox probes/s |");
    console.log("|---|---|---|---|---|---|");
    rows.forEach((r, i) => {
      console.log(
        `| ${i + 1} | ${fmt(r.popwatch)} | ${fmt(r.blackbox)} | ${fmt(r.popwatch / r.blackbox, 2)} | ` +
          `${fmt(PROBES / r.popwatchSeconds, 0)} | ${fmt(PROBES / r.blackboxSeconds, 0)} |`,
      );
    });
    const medianP = percentile(
      rows.map((r) => r.popwatch),
      50,
    );
    const medianB = percentile(
      rows.map((r) => r.blackbox),
      50,
    );
    const ratio = medianP / medianB;
    console.log(`| median | ${fmt(medianP)} | ${fmt(medianB)} | ${fmt(ratio, 2)} | | |`);
    console.log(
      `RSS after the run: popwatch ${fmt(processRssMiB(popwatch.pid), 1)} MiB, blackbox ${fmt(processRssMiB(blackbox.pid), 1)} MiB`,
    );
    console.log(
      ratio <= 1
        ? `goal met: ${fmt(ratio, 2)}× blackbox's CPU (goal ≤ 1.0×)`
        : `goal missed: ${fmt(ratio, 2)}× blackbox's CPU (goal ≤ 1.0×)`,
    );
  } finally {
    for (const stop of stops.reverse()) await stop();
    removeRunDir(dir);
  }
}

await main();
