// Timing agreement of `popwatch exporter` and Debian's blackbox_exporter: a
// loopback DNS server in its own process (bench/support/delay-dns-server.ts)
// answers every TXT query after a known delay (20 ms, then 100 ms) and reports
// over IPC how long it really held each one; both exporters probe it through
// /probe?module=dns, one scrape at a time, alternating, and each reported
// time is compared with the known delay (and with the held time the server
// measured, which takes the server's timer lateness out).
//
// Which series carries the query's round trip differs: in blackbox 0.23
// `probe_dns_lookup_time_seconds` is the time to resolve the *target's* address
// before the query (prober/utils.go chooseProtocol; microseconds for an IP
// target) and the query's round trip is `probe_dns_duration_seconds{phase="request"}`
// (miekg/dns Client.Exchange's rtt: packing, write, wait, read, unpacking).
// The bench prints every such series either exporter emits.
//
// Run from the repository root: npx tsx bench/exporter-timing.ts
//   env: SAMPLES=200 (scrapes per exporter per delay) DELAYS_MS=20,100
import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  type Exporter,
  buildCli,
  loadNote,
  parseExposition,
  sample,
  startBlackboxExporter,
  startPopwatchExporter,
} from "./support/exporters";
import { fmt, percentile } from "./support/stats";

const SAMPLES = Number(process.env.SAMPLES ?? "200");
const WARMUP = 20;
const DELAYS_MS = (process.env.DELAYS_MS ?? "20,100").split(",").map(Number);
const QNAME = "timing.bench";
const TARGET = "delayed";

/** The series read from each scrape, by what they measure. */
const SERIES = [
  { label: "lookup_time", name: "probe_dns_lookup_time_seconds", labels: {} },
  { label: "duration{request}", name: "probe_dns_duration_seconds", labels: { phase: "request" } },
  { label: "probe_duration", name: "probe_duration_seconds", labels: {} },
] as const;

interface DelayServer {
  port: number;
  child: ChildProcess;
  held: number[];
}

async function startDelayServer(delayMs: number): Promise<DelayServer> {
  const child = fork(resolve("bench/support/delay-dns-server.ts"), {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, DELAY_MS: String(delayMs), JITTER_MS: "0", REPORT_HELD: "1" },
  });
  const [{ port }] = (await once(child, "message")) as [{ port: number }];
  const server: DelayServer = { port, child, held: [] };
  child.on("message", (m: { heldNs?: number }) => {
    if (m.heldNs !== undefined) server.held.push(m.heldNs / 1e6);
  });
  return server;
}

/** Waits (up to a second) for the server's IPC report of the answer an exporter has already used. */
async function heldTimeOfAnswer(server: DelayServer, index: number): Promise<number | null> {
  for (let waited = 0; server.held.length <= index && waited < 1000; waited += 5) await new Promise((r) => setTimeout(r, 5));
  return server.held[index] ?? null;
}

interface Sampled {
  /** Per series: reported ms − known delay. */
  vsDelay: Map<string, number[]>;
  /** Per series: reported ms − the time the server really held that query. */
  vsHeld: Map<string, number[]>;
  failures: number;
}

async function scrapeOnce(exporter: Exporter, params: Record<string, string>, server: DelayServer, delayMs: number, into: Sampled) {
  const before = server.held.length;
  const body = await exporter.probe(params);
  const samples = parseExposition(body);
  if (sample(samples, "probe_success") !== 1) {
    into.failures++;
    return;
  }
  const held = await heldTimeOfAnswer(server, before);
  if (server.held.length !== before + 1)
    throw new Error(`${exporter.name}: expected one query per scrape, the server answered ${server.held.length - before}`);
  for (const series of SERIES) {
    const seconds = sample(samples, series.name, series.labels);
    if (seconds === undefined) continue;
    const ms = seconds * 1000;
    if (!into.vsDelay.has(series.label)) {
      into.vsDelay.set(series.label, []);
      into.vsHeld.set(series.label, []);
    }
    into.vsDelay.get(series.label)!.push(ms - delayMs);
    if (held !== null) into.vsHeld.get(series.label)!.push(ms - held);
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const abs = (xs: number[]) => xs.map(Math.abs);

async function main() {
  await buildCli();
  const dir = mkdtempSync(join(tmpdir(), "popwatch-bench-exporter-timing-"));
  const stops: (() => Promise<void> | void)[] = [];
  const lines: string[] = [];
  try {
    const blackbox = await startBlackboxExporter(dir, {
      dns: {
        prober: "dns",
        timeout: "5s",
        dns: { query_name: QNAME, query_type: "TXT", transport_protocol: "udp", preferred_ip_protocol: "ip4", ip_protocol_fallback: false },
      },
    });
    stops.push(() => blackbox.stop());
    for (const delayMs of DELAYS_MS) {
      const server = await startDelayServer(delayMs);
      stops.push(() => void server.child.kill());
      const popwatch = await startPopwatchExporter(dir, {
        targets: [{ name: TARGET, address: "127.0.0.1", probes: { dns: { port: server.port, qname: QNAME, qtype: "TXT" } } }],
      });
      stops.push(() => popwatch.stop());
      const runs = [
        { exporter: popwatch, params: { target: TARGET, module: "dns" } },
        { exporter: blackbox, params: { target: `127.0.0.1:${server.port}`, module: "dns" } },
      ];
      const results = new Map<string, Sampled>(runs.map((r) => [r.exporter.name, { vsDelay: new Map(), vsHeld: new Map(), failures: 0 }]));
      const discard: Sampled = { vsDelay: new Map(), vsHeld: new Map(), failures: 0 };
      for (let i = 0; i < WARMUP; i++) for (const r of runs) await scrapeOnce(r.exporter, r.params, server, delayMs, discard);
      for (let i = 0; i < SAMPLES; i++) {
        const order = i % 2 === 0 ? runs : [...runs].reverse();
        for (const r of order) await scrapeOnce(r.exporter, r.params, server, delayMs, results.get(r.exporter.name)!);
      }
      await popwatch.stop();
      server.child.kill();
      lines.push(`| delay ${delayMs} ms | series | n | mean error (ms) | mean abs error | p95 abs error | max abs | mean abs vs held |`);
      lines.push("|---|---|---|---|---|---|---|---|");
      for (const [name, sampled] of results) {
        for (const [label, errors] of sampled.vsDelay) {
          const held = sampled.vsHeld.get(label)!;
          lines.push(
            `| ${name} | ${label} | ${errors.length} | ${fmt(mean(errors))} | ${fmt(mean(abs(errors)))} | ` +
              `${fmt(percentile(abs(errors), 95))} | ${fmt(Math.max(...abs(errors)))} | ${fmt(mean(abs(held)))} |`,
          );
        }
        if (sampled.failures > 0) lines.push(`| ${name} | probe_success 0 | ${sampled.failures} | | | | | |`);
      }
      lines.push("");
    }
    console.log(
      `node ${process.version}, blackbox_exporter 0.23 (Debian); ${SAMPLES} sequential scrapes per exporter per delay, alternating`,
    );
    console.log(`${loadNote()} (at the end of the run)`);
    console.log("error = reported time − known delay; 'vs held' = reported − the server's measured hold of that very query\n");
    for (const line of lines) console.log(line);
  } finally {
    for (const stop of stops.reverse()) await stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
