// Timing accuracy of the DNS probe's RTT. A responder in another process holds
// each query for a known delay and reports, in the answer, how long it really
// held it. Measurement error = measured RTT − held time (so it includes the two
// loopback transits, a few microseconds, and everything the client adds).
// Anchor, same run: a bare node:dgram client with no runner and no decoding
// before its timestamp: the floor Node itself sets on this machine.
//
// Run from the repository root: node bench/run.mjs timing-accuracy  [env: PROBES=2000 DELAY_MS=20 JITTER_MS=10]
import { fork } from "node:child_process";
import dgram from "node:dgram";
import { once } from "node:events";
import { resolve } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { type DnsProbeSpec, runProbes } from "@popwatch/probes";
import dnsPacket from "dns-packet";
import { fmt, percentile } from "./support/stats";

const PROBES = Number(process.env.PROBES ?? "2000");
const DELAY_MS = process.env.DELAY_MS ?? "20";
const JITTER_MS = process.env.JITTER_MS ?? "10";

function heldMsFromTxt(data: string): number | null {
  const match = /held_ns=(\d+)/.exec(data);
  return match ? Number(match[1]) / 1e6 : null;
}

async function popwatchErrors(port: number, concurrency: number, count: number): Promise<number[]> {
  const spec: DnsProbeSpec = {
    kind: "dns",
    address: "127.0.0.1",
    port,
    transport: "udp",
    qname: "timing.bench",
    qtype: "TXT",
    qclass: "IN",
    nsid: true,
    chaos: [],
    recursionDesired: false,
    dnssecOk: false,
    udpPayloadSize: 1232,
    tcpFallback: false,
  };
  const results = await runProbes(
    Array.from({ length: count }, () => spec),
    { concurrency, timeoutMs: 2000 },
  );
  const errors: number[] = [];
  for (const r of results) {
    if (r.kind !== "dns" || !r.ok || r.timings.rttMs === undefined) continue;
    const held = heldMsFromTxt(r.answers?.[0]?.data ?? "");
    if (held !== null) errors.push(r.timings.rttMs - held);
  }
  if (errors.length < count * 0.99) throw new Error(`only ${errors.length}/${count} popwatch probes answered`);
  return errors;
}

async function anchorErrors(port: number, concurrency: number, count: number): Promise<number[]> {
  const errors: number[] = [];
  let issued = 0;
  const worker = async () => {
    const socket = dgram.createSocket("udp4");
    socket.connect(port, "127.0.0.1");
    await once(socket, "connect");
    while (issued < count) {
      issued++;
      const id = Math.floor(Math.random() * 65536);
      const query = dnsPacket.encode({ id, type: "query", questions: [{ name: "timing.bench", type: "TXT", class: "IN" }] });
      const answered = once(socket, "message", { signal: AbortSignal.timeout(2000) });
      const sent = process.hrtime.bigint();
      socket.send(query);
      const [message] = (await answered) as [Buffer];
      const rttMs = Number(process.hrtime.bigint() - sent) / 1e6;
      const answer = dnsPacket.decode(message);
      const txt = answer.answers?.[0];
      const data = txt && txt.type === "TXT" ? Buffer.concat((txt.data as Buffer[]).map((b) => Buffer.from(b))).toString() : "";
      const held = heldMsFromTxt(data);
      if (answer.id === id && held !== null) errors.push(rttMs - held);
    }
    socket.close();
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return errors;
}

async function main() {
  // Resolved from the repository root, so this works run through tsx or bundled by bench/run.mjs.
  const server = fork(resolve("bench/support/delay-dns-server.ts"), {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, DELAY_MS, JITTER_MS },
  });
  const [{ port }] = (await once(server, "message")) as [{ port: number }];
  try {
    await popwatchErrors(port, 10, 200); // warm-up: JIT, socket paths
    await anchorErrors(port, 10, 200);
    const rows: string[] = [];
    const loopDelays: string[] = [];
    for (const concurrency of [1, 200]) {
      const count = concurrency === 1 ? Math.min(PROBES, 1000) : PROBES * 5;
      const anchor = await anchorErrors(port, concurrency, count);
      // Event-loop delay while popwatch runs: how late any callback (a receive among them) could start.
      const loop = monitorEventLoopDelay({ resolution: 1 });
      loop.enable();
      const ours = await popwatchErrors(port, concurrency, count);
      loop.disable();
      loopDelays.push(`c=${concurrency}: loop delay p50 ${fmt(loop.percentile(50) / 1e6)} ms, p99 ${fmt(loop.percentile(99) / 1e6)} ms`);
      rows.push(
        `| ${concurrency} | ${ours.length} | ${fmt(percentile(ours, 50))} | ${fmt(percentile(ours, 99))} | ${fmt(Math.max(...ours))} | ` +
          `${fmt(percentile(anchor, 50))} | ${fmt(percentile(anchor, 99))} | ${fmt(percentile(ours, 50) / percentile(anchor, 50), 2)} | ${fmt(percentile(ours, 99) / percentile(anchor, 99), 2)} |`,
      );
    }
    console.log(`delay ${DELAY_MS} ms + uniform jitter 0–${JITTER_MS} ms, node ${process.version}`);
    console.log("| concurrency | probes | popwatch error p50 (ms) | p99 | max | bare dgram p50 | p99 | ratio p50 | ratio p99 |");
    console.log("|---|---|---|---|---|---|---|---|---|");
    for (const row of rows) console.log(row);
    console.log(`popwatch client ${loopDelays.join("; ")}`);
  } finally {
    server.kill();
  }
}

await main();
