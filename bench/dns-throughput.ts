// DNS probe throughput against a local NSD (RRL off), next to dnsperf in the
// same run. popwatch's figure counts probes whose full result (rcode, flags,
// answers, NSID, RTT, PoP) was recorded through the runner, not packets sent.
//
// Run from the repository root: node bench/run.mjs dns-throughput  [env: PROBES=200000 CONCURRENCY=200 SECONDS=10]
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createPopIdentifier } from "@popwatch/core";
import { type DnsProbeSpec, runProbes } from "@popwatch/probes";
import { startDns } from "../test/support/servers";
import { RECORDS } from "../test/support/zone-data";
import { fmt } from "./support/stats";

const PROBES = Number(process.env.PROBES ?? "200000");
const CONCURRENCY = Number(process.env.CONCURRENCY ?? "200");
const SECONDS = Number(process.env.SECONDS ?? "10");

async function dnsperf(port: number, dir: string): Promise<number> {
  const queries = join(dir, "queries.txt");
  writeFileSync(queries, `${RECORDS.a.name} A\n`);
  // EDNS with an NSID option as popwatch sends (dnsperf cannot send an empty
  // option value; NSD answers a one-byte one with its NSID all the same).
  const { stdout } = await promisify(execFile)(
    "dnsperf",
    ["-s", "127.0.0.1", "-p", String(port), "-d", queries, "-c", "4", "-l", String(SECONDS), "-E", "3:00"],
    { maxBuffer: 1 << 20 },
  );
  const qps = /Queries per second:\s+([\d.]+)/.exec(stdout);
  const lost = /Queries lost:\s+(\d+)/.exec(stdout);
  if (!qps) throw new Error(`dnsperf printed no rate:\n${stdout}`);
  console.error(`dnsperf: ${qps[1]} q/s, lost ${lost?.[1] ?? "?"}`);
  return Number(qps[1]);
}

async function popwatch(port: number, count: number): Promise<{ rate: number; ok: number; withPop: number }> {
  const spec: DnsProbeSpec = {
    kind: "dns",
    address: "127.0.0.1",
    port,
    transport: "udp",
    qname: RECORDS.a.name,
    qtype: "A",
    qclass: "IN",
    nsid: true,
    chaos: [],
    recursionDesired: false,
    dnssecOk: false,
    udpPayloadSize: 1232,
    tcpFallback: true,
  };
  const specs = Array.from({ length: count }, () => spec);
  const identifyPop = createPopIdentifier();
  const started = process.hrtime.bigint();
  const results = await runProbes(specs, { concurrency: CONCURRENCY, timeoutMs: 2000, identifyPop });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  let ok = 0;
  let withPop = 0;
  for (const r of results) {
    if (r.ok) ok++;
    if (r.pop?.id === "pop-nsd") withPop++;
  }
  return { rate: results.length / seconds, ok, withPop };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "popwatch-bench-"));
  const nsd = await startDns("nsd", join(dir, "nsd"));
  try {
    await popwatch(nsd.info.port, 20_000); // warm-up
    const anchor = await dnsperf(nsd.info.port, dir);
    const ours = await popwatch(nsd.info.port, PROBES);
    const anchorAfter = await dnsperf(nsd.info.port, dir);
    const anchorMean = (anchor + anchorAfter) / 2;
    console.log(`node ${process.version}, NSD 127.0.0.1, ${PROBES} probes, concurrency ${CONCURRENCY}`);
    console.log("| popwatch probes/s | ok | PoP identified | dnsperf q/s (before, after) | ratio |");
    console.log("|---|---|---|---|---|");
    console.log(
      `| ${fmt(ours.rate, 0)} | ${ours.ok} | ${ours.withPop} | ${fmt(anchor, 0)}, ${fmt(anchorAfter, 0)} | ${fmt(ours.rate / anchorMean, 2)} |`,
    );
  } finally {
    await nsd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
