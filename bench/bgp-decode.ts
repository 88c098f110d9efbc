// popwatch bgp decode (the bundled CLI, a fresh node per run) against Debian's
// bgpdump -m on the same MRT update file in the same run, both writing to
// /dev/null; then peak RSS of popwatch on a ~100 MB file.
//
// The files are real RIS records (test/fixtures/mrt/updates.20160811.1600.gz:
// rrc BGP4MP MESSAGE_AS4, IPv4 and IPv6, with their OPENs and KEEPALIVEs)
// repeated with fresh timestamps (one second per pass) up to the record count.
//
// Run from the repository root: node bench/run.mjs bgp-decode [--records N] [--runs N] [--rss-mb N]
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { gunzipSync } from "node:zlib";
import { fmt, percentile } from "./support/stats";

const { values: args } = parseArgs({
  options: {
    records: { type: "string", default: "200000" },
    runs: { type: "string", default: "5" },
    "rss-mb": { type: "string", default: "100" },
  },
});
const RECORDS = Number(args.records);
const RUNS = Number(args.runs);
const RSS_BYTES = Number(args["rss-mb"]) * 1024 * 1024;

const source = gunzipSync(readFileSync("test/fixtures/mrt/updates.20160811.1600.gz"));

/** Record start offsets of the source file (MRT header: length at byte 8). */
function recordStarts(bytes: Buffer): number[] {
  const starts: number[] = [];
  for (let at = 0; at < bytes.length; at += 12 + bytes.readUInt32BE(at + 8)) starts.push(at);
  return starts;
}

/** Writes `source`'s records over and over, each pass an hour later, until `records` records or `bytes` bytes. */
function assemble(file: string, limit: { records?: number; bytes?: number }): { records: number; bytes: number } {
  const starts = recordStarts(source);
  const fd = openSync(file, "w");
  let records = 0;
  let bytes = 0;
  for (let pass = 0; ; pass++) {
    const copy = Buffer.from(source);
    for (const start of starts) copy.writeUInt32BE(copy.readUInt32BE(start) + pass * 3600, start);
    let end = copy.length;
    if (limit.records !== undefined && records + starts.length > limit.records) end = starts[limit.records - records] as number;
    writeSync(fd, copy.subarray(0, end));
    records += limit.records !== undefined ? Math.min(starts.length, limit.records - records) : starts.length;
    bytes += end;
    if ((limit.records !== undefined && records >= limit.records) || (limit.bytes !== undefined && bytes >= limit.bytes)) break;
  }
  closeSync(fd);
  return { records, bytes };
}

// CPU time (user + system) of the child, from GNU time when the machine has it:
// on a shared machine wall time also measures the neighbours.
const GNU_TIME = existsSync("/usr/bin/time") ? "/usr/bin/time" : null;

function timed(command: string, argv: string[]): { ms: number; cpuMs: number; status: number | null; stderr: string } {
  const devNull = openSync("/dev/null", "w");
  const cpuFile = join(dir, "cpu.txt");
  const [file, args] = GNU_TIME ? [GNU_TIME, ["-o", cpuFile, "-f", "%U %S", command, ...argv]] : [command, argv];
  const started = process.hrtime.bigint();
  const run = spawnSync(file, args, { stdio: ["ignore", devNull, "pipe"], encoding: "utf8", maxBuffer: 1 << 24 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  closeSync(devNull);
  const cpuMs = GNU_TIME
    ? readFileSync(cpuFile, "utf8")
        .trim()
        .split(/\s+/)
        .reduce((sum, seconds) => sum + Number(seconds) * 1000, 0)
    : Number.NaN;
  return { ms, cpuMs, status: run.status, stderr: run.stderr };
}

const build = spawnSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" });
if (build.status !== 0) throw new Error("node scripts/build.mjs failed");
const dir = mkdtempSync(join(tmpdir(), "popwatch-bench-bgp-"));

try {
  const updates = join(dir, "updates.mrt");
  const made = assemble(updates, { records: RECORDS });
  const popwatch = [process.execPath, "packages/cli/bin/popwatch.mjs", "bgp", "decode", updates];
  const lines =
    spawnSync(process.execPath, popwatch.slice(1), { maxBuffer: 1 << 30 })
      .stdout.toString()
      .split("\n").length - 1;
  const popwatchMs: number[] = [];
  const bgpdumpMs: number[] = [];
  const popwatchCpu: number[] = [];
  const bgpdumpCpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    // Alternate, so drift in machine load falls on both.
    const ours = timed(popwatch[0] as string, popwatch.slice(1));
    const theirs = timed("bgpdump", ["-q", "-m", updates]);
    if (ours.status !== 0) throw new Error(`popwatch bgp decode failed: ${ours.stderr}`);
    if (theirs.status !== 0) throw new Error(`bgpdump failed: ${theirs.stderr}`);
    popwatchMs.push(ours.ms);
    bgpdumpMs.push(theirs.ms);
    popwatchCpu.push(ours.cpuMs);
    bgpdumpCpu.push(theirs.cpuMs);
  }
  const ours = percentile(popwatchMs, 50);
  const theirs = percentile(bgpdumpMs, 50);
  console.log(
    `node ${process.version}; ${made.records} records (${(made.bytes / 1e6).toFixed(1)} MB, ${lines} events); ${RUNS} runs each, alternating; output to /dev/null`,
  );
  const oursCpu = percentile(popwatchCpu, 50);
  const theirsCpu = percentile(bgpdumpCpu, 50);
  console.log(
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")} on ${availableParallelism()} CPUs`,
  );
  console.log("| tool | wall ms (median) | min | max | CPU ms user+sys (median) | min | max |");
  console.log("|---|---|---|---|---|---|---|");
  console.log(
    `| popwatch bgp decode | ${fmt(ours, 0)} | ${fmt(Math.min(...popwatchMs), 0)} | ${fmt(Math.max(...popwatchMs), 0)} | ${fmt(oursCpu, 0)} | ${fmt(Math.min(...popwatchCpu), 0)} | ${fmt(Math.max(...popwatchCpu), 0)} |`,
  );
  console.log(
    `| bgpdump -m | ${fmt(theirs, 0)} | ${fmt(Math.min(...bgpdumpMs), 0)} | ${fmt(Math.max(...bgpdumpMs), 0)} | ${fmt(theirsCpu, 0)} | ${fmt(Math.min(...bgpdumpCpu), 0)} | ${fmt(Math.max(...bgpdumpCpu), 0)} |`,
  );
  // What every popwatch command pays before it reads a byte: loading the CLI bundle.
  const startup = [1, 2, 3].map(() => timed(process.execPath, ["packages/cli/bin/popwatch.mjs", "--version"]));
  console.log(
    `popwatch --version (the bundle's start-up, 3 runs): wall ${fmt(
      percentile(
        startup.map((r) => r.ms),
        50,
      ),
      0,
    )} ms, CPU ${fmt(
      percentile(
        startup.map((r) => r.cpuMs),
        50,
      ),
      0,
    )} ms (medians)`,
  );
  console.log(`ratio popwatch / bgpdump (medians): wall ${fmt(ours / theirs, 2)}, CPU ${fmt(oursCpu / theirsCpu, 2)} (goal ≤ 1.00)`);

  // Peak RSS: the CLI process's own high-water mark (VmHWM, which starts anew at
  // exec; getrusage's maxrss would carry over this process's own peak from the fork),
  // reported at exit by a preloaded hook.
  rmSync(updates);
  const big = join(dir, "big.mrt");
  const bigMade = assemble(big, { bytes: RSS_BYTES });
  const hook = join(dir, "maxrss.cjs");
  writeFileSync(
    hook,
    'process.on("exit", () => { const fs = require("node:fs"); const hwm = /VmHWM:\\s+(\\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8")); fs.writeSync(2, "hwm_kb=" + hwm[1] + "\\n"); });\n',
  );
  const rss = timed(process.execPath, ["--require", hook, "packages/cli/bin/popwatch.mjs", "bgp", "decode", big]);
  const kb = Number(/hwm_kb=(\d+)/.exec(rss.stderr)?.[1]);
  const bgpdumpRss = existsSync("/usr/bin/time")
    ? spawnSync("/usr/bin/time", ["-f", "%M", "bgpdump", "-q", "-m", "-O", "/dev/null", big], { encoding: "utf8" })
        .stderr.trim()
        .split("\n")
        .pop()
    : "n/a";
  console.log(
    `peak RSS on ${(bigMade.bytes / 1e6).toFixed(1)} MB (${bigMade.records} records): popwatch ${fmt(kb / 1024, 1)} MB (goal ≤ 150), ${fmt(rss.ms, 0)} ms; bgpdump ${bgpdumpRss === "n/a" ? "n/a" : `${fmt(Number(bgpdumpRss) / 1024, 1)} MB`}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
