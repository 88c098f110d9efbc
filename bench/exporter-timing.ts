// Timing agreement of `popwatch exporter` and Debian's blackbox_exporter
// against a DNS server that answers after a known delay (20 ms, then 100 ms):
// bench/support/delay-dns-server.ts, in its own process, which reports over
// IPC how long it really held each query. Both exporters probe it through
// /probe with the same module (a TXT query), one scrape at a time,
// alternating, and each reported time is compared with the known delay (and
// with the hold the server measured for that very query, which takes the
// server's own timer lateness out).
//
// What blackbox 0.23 measures where (prober/dns.go, prober/utils.go):
// - `probe_dns_lookup_time_seconds` is chooseProtocol's resolution of the
//   *target's* hostname to an address, before any query (Go's resolver; a
//   few µs for an IP target), also reported as probe_dns_duration_seconds{phase="resolve"};
// - the query's round trip is `probe_dns_duration_seconds{phase="request"}`:
//   miekg/dns Client.Exchange's rtt (packing, write, wait, read, unpacking).
// So the bench has two parts: an address target (the query's round trip,
// duration{request}), and a hostname target looked up through the same
// delayed server (lookup_time). For the second, each exporter runs in a
// private mount namespace whose /etc/resolv.conf names the delayed server on
// port 53 of a random 127/8 address (needs root and unshare; skipped
// otherwise). In the first part a bare node:dgram query from this process
// after each pair of scrapes shows the floor Node itself sets on the machine
// (wake-up after a sleep in epoll), the anchor of bench/timing-accuracy.ts.
//
// Run from the repository root: npx tsx bench/exporter-timing.ts
//   env: SAMPLES=200 (scrapes per exporter, per delay and part) DELAYS_MS=20,100
import { type ChildProcess, fork } from "node:child_process";
import dgram from "node:dgram";
import { once } from "node:events";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import dnsPacket from "dns-packet";
import { addRunDir, removeRunDir } from "../test/support/daemons";
import {
  type Exporter,
  type StartOptions,
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
const HOSTNAME = "delayed.bench";
const MODULE = "timing";

interface Series {
  label: string;
  name: string;
  labels: Record<string, string>;
  /** Which of the server's held times the series should match. */
  held: "lookup" | "query";
}
const LOOKUP: Series = { label: "lookup_time", name: "probe_dns_lookup_time_seconds", labels: {}, held: "lookup" };
const REQUEST: Series = { label: "duration{request}", name: "probe_dns_duration_seconds", labels: { phase: "request" }, held: "query" };
const SERIES = [LOOKUP, REQUEST];

interface Report {
  heldMs: number;
  qtype: string;
}

interface DelayServer {
  address: string;
  port: number;
  child: ChildProcess;
  reports: Report[];
  setDelay(ms: number): Promise<void>;
}

/** The delayed server on `address`:`port`; null when it could not bind (port 53 needs root). */
async function startDelayServer(address: string, port: number): Promise<DelayServer | null> {
  const child = fork(resolve("bench/support/delay-dns-server.ts"), {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, BIND_ADDRESS: address, BIND_PORT: String(port), ANSWER_A: address, JITTER_MS: "0", REPORT_HELD: "1" },
    stdio: ["ignore", "ignore", "ignore", "ipc"],
  });
  const first = await Promise.race([once(child, "message") as Promise<[{ port: number }]>, once(child, "exit").then(() => null)]);
  if (first === null) return null;
  const server: DelayServer = {
    address,
    port: first[0].port,
    child,
    reports: [],
    async setDelay(ms) {
      const acked = once(child, "message");
      child.send({ delayMs: ms });
      await acked;
    },
  };
  child.on("message", (m: { heldNs?: number; qtype?: string }) => {
    if (m.heldNs !== undefined) server.reports.push({ heldMs: m.heldNs / 1e6, qtype: m.qtype ?? "" });
  });
  return server;
}

/** The server's reports for one scrape: its TXT query is the last to be answered (waits up to a second for the IPC). */
async function reportsOfScrape(server: DelayServer, from: number): Promise<Report[]> {
  for (let waited = 0; waited < 1000; waited += 5) {
    const reports = server.reports.slice(from);
    if (reports.some((r) => r.qtype === "TXT")) return reports;
    await new Promise((r) => setTimeout(r, 5));
  }
  return server.reports.slice(from);
}

/** Per series label: reported ms − known delay, and reported ms − held ms. */
interface Sampled {
  vsDelay: Map<string, number[]>;
  vsHeld: Map<string, number[]>;
  failures: number;
}

const emptySampled = (): Sampled => ({ vsDelay: new Map(), vsHeld: new Map(), failures: 0 });

function push(map: Map<string, number[]>, key: string, value: number): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

async function scrapeOnce(exporter: Exporter, target: string, server: DelayServer, delayMs: number, into: Sampled): Promise<void> {
  const from = server.reports.length;
  const samples = parseExposition(await exporter.probe({ target, module: MODULE }));
  const reports = await reportsOfScrape(server, from);
  if (sample(samples, "probe_success") !== 1) {
    into.failures++;
    return;
  }
  // A lookup ends with the last of its A/AAAA answers (glibc asks both at once).
  const lookups = reports.filter((r) => r.qtype === "A" || r.qtype === "AAAA").map((r) => r.heldMs);
  const held = { lookup: lookups.length > 0 ? Math.max(...lookups) : 0, query: reports.find((r) => r.qtype === "TXT")?.heldMs };
  for (const series of SERIES) {
    const seconds = sample(samples, series.name, series.labels);
    if (seconds === undefined) continue;
    const ms = seconds * 1000;
    const expected = series.held === "lookup" && lookups.length === 0 ? 0 : delayMs;
    push(into.vsDelay, series.label, ms - expected);
    const heldMs = held[series.held];
    if (heldMs !== undefined) push(into.vsHeld, series.label, ms - heldMs);
  }
}

/**
 * The floor Node sets on this machine, same run: one query from this process
 * over a fresh connected node:dgram socket (as each exporter dials one),
 * timed from just before the send to the first line of the receive callback.
 */
async function bareQuery(server: DelayServer, delayMs: number, into: Sampled): Promise<void> {
  const from = server.reports.length;
  const socket = dgram.createSocket("udp4");
  try {
    socket.connect(server.port, server.address);
    await once(socket, "connect");
    const answered = once(socket, "message", { signal: AbortSignal.timeout(5000) });
    const sentNs = process.hrtime.bigint();
    socket.send(dnsPacket.encode({ id: 1, type: "query", questions: [{ name: QNAME, type: "TXT", class: "IN" }] }));
    await answered;
    const ms = Number(process.hrtime.bigint() - sentNs) / 1e6;
    const held = (await reportsOfScrape(server, from)).find((r) => r.qtype === "TXT")?.heldMs;
    push(into.vsDelay, "rtt", ms - delayMs);
    if (held !== undefined) push(into.vsHeld, "rtt", ms - held);
  } finally {
    socket.close();
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const abs = (xs: number[]) => xs.map(Math.abs);

interface Part {
  name: string;
  target: string;
  /** The series that should carry the known delay here. */
  measured: Series;
}

async function main() {
  const loadAtStart = loadNote();
  await buildCli();
  const dir = mkdtempSync(join(tmpdir(), "popwatch-bench-exporter-timing-"));
  addRunDir(dir); // removed on exit or a signal too
  const stops: (() => Promise<void> | void)[] = [];
  const lines: string[] = [];
  const verdicts: string[] = [];
  try {
    // Port 53 (resolv.conf cannot name another) on a 127/8 address of its own, so no other server's port is in the way.
    const octet = () => 1 + Math.floor(Math.random() * 254);
    let server = await startDelayServer(`127.88.${octet()}.${octet()}`, 53);
    let options: StartOptions = {};
    if (server) {
      const resolvConf = join(dir, "resolv.conf");
      writeFileSync(resolvConf, `nameserver ${server.address}\noptions timeout:2 attempts:1\n`);
      options = { resolvConf };
    } else {
      server = await startDelayServer("127.0.0.1", 0);
      if (!server) throw new Error("the delayed DNS server did not start");
    }
    const delayed = server;
    stops.push(() => void delayed.child.kill());

    const blackboxModules = {
      [MODULE]: {
        prober: "dns",
        timeout: "5s",
        // blackbox's default ip protocol settings (prefer ip6, fall back to ip4): its lookup asks A and AAAA, as popwatch's getaddrinfo does.
        dns: { query_name: QNAME, query_type: "TXT", transport_protocol: "udp" },
      },
    };
    const popwatchConfig = {
      targets: [{ name: "delayed", address: delayed.address, probes: { dns: { port: delayed.port, qname: QNAME, qtype: "TXT" } } }],
      exporter: { modules: { [MODULE]: { kind: "dns", qname: QNAME, qtype: "TXT" } } },
    };
    const start = async (opts: StartOptions) =>
      Promise.all([startBlackboxExporter(dir, blackboxModules, opts), startPopwatchExporter(dir, popwatchConfig, opts)]);
    let exporters: Exporter[];
    let namespaced = options.resolvConf !== undefined;
    try {
      exporters = await start(options);
    } catch (err) {
      if (!namespaced) throw err;
      console.error(`hostname part skipped: the exporters did not start in a mount namespace (${(err as Error).message.split("\n")[0]})`);
      namespaced = false;
      exporters = await start({});
    }
    for (const exporter of exporters) stops.push(() => exporter.stop());

    const parts: Part[] = [{ name: "address target", target: `${delayed.address}:${delayed.port}`, measured: REQUEST }];
    if (namespaced) parts.push({ name: `hostname target (${HOSTNAME})`, target: `${HOSTNAME}:${delayed.port}`, measured: LOOKUP });

    for (const delayMs of DELAYS_MS) {
      await delayed.setDelay(delayMs);
      for (const part of parts) {
        const results = new Map<string, Sampled>(exporters.map((e) => [e.name, emptySampled()]));
        const floor = part.measured === REQUEST ? emptySampled() : null;
        const discard = emptySampled();
        for (let i = 0; i < WARMUP; i++) for (const e of exporters) await scrapeOnce(e, part.target, delayed, delayMs, discard);
        for (let i = 0; i < SAMPLES; i++) {
          const order = i % 2 === 0 ? exporters : [...exporters].reverse();
          for (const e of order) await scrapeOnce(e, part.target, delayed, delayMs, results.get(e.name)!);
          if (floor) await bareQuery(delayed, delayMs, floor);
        }
        if (floor) results.set("bare node:dgram", floor);
        lines.push(`delay ${delayMs} ms, ${part.name}: target=${part.target}`);
        lines.push(
          "| exporter | series | n | mean error (ms) | p50 abs error | mean abs error | p95 abs error | max abs | mean abs vs held |",
        );
        lines.push("|---|---|---|---|---|---|---|---|---|");
        const summary = new Map<string, { meanAbs: number; p95: number }>();
        for (const [name, sampled] of results) {
          for (const [label, errors] of sampled.vsDelay) {
            const a = abs(errors);
            lines.push(
              `| ${name} | ${label} | ${errors.length} | ${fmt(mean(errors))} | ${fmt(percentile(a, 50))} | ${fmt(mean(a))} | ` +
                `${fmt(percentile(a, 95))} | ${fmt(Math.max(...a))} | ${fmt(mean(abs(sampled.vsHeld.get(label) ?? [])))} |`,
            );
            if (label === part.measured.label) summary.set(name, { meanAbs: mean(a), p95: percentile(a, 95) });
          }
          if (sampled.failures > 0) lines.push(`| ${name} | probe_success 0 | ${sampled.failures} | | | | | | |`);
        }
        lines.push("");
        const p = summary.get("popwatch");
        const b = summary.get("blackbox");
        if (p && b) {
          const met = p.meanAbs <= b.meanAbs && p.p95 <= b.p95;
          verdicts.push(
            `delay ${delayMs} ms, ${part.name}, ${part.measured.label}: popwatch mean |error| ${fmt(p.meanAbs)} ms, p95 ${fmt(p.p95)} ms; ` +
              `blackbox ${fmt(b.meanAbs)} ms, p95 ${fmt(b.p95)} ms: ${met ? "no larger (goal met)" : "larger (goal missed)"}`,
          );
        }
      }
    }
    console.log(
      `node ${process.version}, blackbox_exporter 0.23 (Debian); ${SAMPLES} sequential scrapes per exporter per delay and part, alternating`,
    );
    console.log(`at the start: ${loadAtStart}; at the end: ${loadNote()}`);
    console.log(
      "error = reported time − known delay (lookup_time of an address target: − 0); 'vs held' = reported − the server's hold of that very query\n",
    );
    for (const line of lines) console.log(line);
    for (const verdict of verdicts) console.log(verdict);
  } finally {
    for (const stop of stops.reverse()) await stop();
    removeRunDir(dir);
  }
}

await main();
