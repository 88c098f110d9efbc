// DoH handshake + query time: popwatch's doh probe next to kdig +https
// (Debian knot-dnsutils) against the same Unbound in the same run, samples
// interleaved so both see the same machine load. Each sample is one fresh
// TCP connection, TLS handshake (h2 by ALPN) and one POST of the query.
//
// popwatch: the runner's totalMs (the whole probe: spec, connect, TLS,
// request, response, close) and its phases. kdig: the time it prints ("in X
// ms"), from before its connect to the answer, without process start-up.
// Node's floor: the same exchange with node:net, node:tls and node:http2
// alone (no undici, no facts, no verdict), what any Node client pays.
//
// Run from the repository root: node bench/run.mjs doh-vs-kdig  [env: SAMPLES=200]
import { execFile } from "node:child_process";
import http2 from "node:http2";
import net from "node:net";
import tls from "node:tls";
import { promisify } from "node:util";
import { compileDnsSpec } from "../packages/probes/src/dns/spec";
import { runProbe } from "../packages/probes/src/runner";
import type { DohProbeSpec } from "../packages/probes/src/types";
import { startUnbound } from "../test/support/unbound";
import { RECORDS } from "../test/support/zone-data";
import { fmt, percentile } from "./support/stats";

const SAMPLES = Number(process.env.SAMPLES ?? "200");
const run = promisify(execFile);

async function kdigOnce(address: string, port: number, caFile: string): Promise<number> {
  const { stdout } = await run("kdig", [
    "+timeout=3",
    "+retry=0",
    `@${address}`,
    "-p",
    String(port),
    "+https=/dns-query",
    `+tls-ca=${caFile}`,
    "+tls-hostname=pop.test",
    "+nsid",
    RECORDS.a.name,
    "A",
  ]);
  const ms = /;; From .* in ([\d.]+) ms/.exec(stdout);
  if (!ms || !stdout.includes(RECORDS.a.address)) throw new Error(`kdig gave no answer or time:\n${stdout}`);
  return Number(ms[1]);
}

/** connect + TLS + one h2 POST with Node's own modules; the query bytes are the probe's (ID 0, NSID). */
async function nodeFloorOnce(port: number, secureContext: tls.SecureContext, query: Buffer): Promise<number> {
  const start = performance.now();
  const socket = net.connect({ host: "127.0.0.1", port, noDelay: true });
  await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  const secure = tls.connect({ socket, servername: "pop.test", ALPNProtocols: ["h2"], secureContext });
  await new Promise((resolve, reject) => secure.once("secureConnect", resolve).once("error", reject));
  const session = http2.connect("https://pop.test", { createConnection: () => secure });
  const stream = session.request({ ":method": "POST", ":path": "/dns-query", "content-type": "application/dns-message" });
  stream.end(query);
  let bytes = 0;
  stream.on("data", (chunk: Buffer) => {
    bytes += chunk.length;
  });
  await new Promise((resolve, reject) => stream.once("end", resolve).once("error", reject));
  const ms = performance.now() - start;
  session.destroy();
  if (bytes < 12) throw new Error("node:http2 got no DNS answer");
  return ms;
}

async function main(): Promise<void> {
  const unbound = await startUnbound();
  try {
    const spec: DohProbeSpec = {
      kind: "doh",
      address: unbound.address,
      port: unbound.dohPort,
      host: "pop.test",
      path: "/dns-query",
      method: "POST",
      alpn: ["h2", "http/1.1"],
      qname: RECORDS.a.name,
      qtype: "A",
      qclass: "IN",
      nsid: true,
      chaos: [],
      recursionDesired: true,
      dnssecOk: false,
      udpPayloadSize: 1232,
      ca: [unbound.caPem],
    };
    const popwatch: number[] = [];
    const phases = { connectMs: [] as number[], tlsMs: [] as number[], ttfbMs: [] as number[], sum: [] as number[] };
    const kdig: number[] = [];
    const floor: number[] = [];
    const query = compileDnsSpec(spec).main.template;
    // One context for every connection, as the probe's trust plan caches its own.
    const context = tls.createSecureContext({ ca: unbound.caPem });
    // Warm-up: module loading, the CA context, the first TLS key shares.
    for (let i = 0; i < 5; i++) {
      await runProbe(spec, { timeoutMs: 3000 });
      await kdigOnce(unbound.address, unbound.dohPort, unbound.caFile);
    }
    for (let i = 0; i < SAMPLES; i++) {
      const result = await runProbe(spec, { timeoutMs: 3000 });
      if (!result.ok || result.kind !== "doh" || result.httpVersion !== "2")
        throw new Error(`probe failed: ${JSON.stringify(result.failure)}`);
      popwatch.push(result.timings.totalMs);
      phases.connectMs.push(result.timings.connectMs ?? Number.NaN);
      phases.tlsMs.push(result.timings.tlsMs ?? Number.NaN);
      phases.ttfbMs.push(result.timings.ttfbMs ?? Number.NaN);
      const t = result.timings;
      phases.sum.push((t.connectMs ?? 0) + (t.tlsMs ?? 0) + (t.ttfbMs ?? 0) + (t.transferMs ?? 0));
      kdig.push(await kdigOnce(unbound.address, unbound.dohPort, unbound.caFile));
      floor.push(await nodeFloorOnce(unbound.dohPort, context, query));
    }
    const p50 = (xs: number[]) => percentile(xs, 50);
    const p90 = (xs: number[]) => percentile(xs, 90);
    console.log(`samples: ${SAMPLES} each, interleaved, Unbound DoH (h2 POST) on 127.0.0.1`);
    console.log(`popwatch doh totalMs  p50 ${fmt(p50(popwatch))}  p90 ${fmt(p90(popwatch))}`);
    console.log(
      `  phases p50: connect ${fmt(p50(phases.connectMs))}  tls ${fmt(p50(phases.tlsMs))}  ttfb ${fmt(p50(phases.ttfbMs))}` +
        `  connect+tls+ttfb+transfer ${fmt(p50(phases.sum))}`,
    );
    console.log(`kdig +https time     p50 ${fmt(p50(kdig))}  p90 ${fmt(p90(kdig))}`);
    console.log(`node:http2 floor     p50 ${fmt(p50(floor))}  p90 ${fmt(p90(floor))}`);
    const gap = p50(popwatch) - p50(kdig);
    console.log(`p50 gap popwatch totalMs - kdig: ${fmt(gap)} ms (goal: within 1 ms), ratio ${fmt(p50(popwatch) / p50(kdig), 2)}`);
    const phaseGap = p50(phases.sum) - p50(kdig);
    console.log(`p50 gap popwatch phases - kdig: ${fmt(phaseGap)} ms, ratio ${fmt(p50(phases.sum) / p50(kdig), 2)}`);
  } finally {
    await unbound.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
