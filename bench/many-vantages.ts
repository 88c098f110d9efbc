// 10,000 vantages × 1 day at one probe a minute on the embedded store:
// `catchment --since 24h`, `report --since 1h` and `results --since 1h` (with
// and without --limit), each run as the CLI runs it (the command function,
// which opens the embedded store on the data directory itself), in a child
// process of its own so its peak RSS is the command's. Every DynamoDB request
// the command's client sends is counted by wrapping the SDK client's `send`
// (queries, items returned), and recorded.
//
// Anchor, same run, same data directory: the recorded Query requests replayed
// bare through the SDK client, 16 in flight (no decoding, no analysis): what
// reading those partitions costs dynalite itself, the floor of any command
// that reads them.
//
// The dataset (see writeDatasetV3 and bench/RESULTS.md): every vantage probes
// one DNS target once a minute. Writing 14.4 M raw results through putResults
// and rolling them up would take hours here, so minute rollups are written
// directly, for the whole day (catchment over 24 h reads minutes), packed as
// `popwatch import` packs them (a batch of vantages per item, through the
// store's own minute writer); compact builds the hour and day buckets from
// them; raw results are written only for the last RAW_MINUTES (what `results
// --since 1h` and the report's findings read), through putResults with a
// `writer`. The "before" figures (layout v2) were measured by this file as of
// commit f7b3ecb, which wrote v2's per-vantage items instead.
//
// Run from the repository root: node bench/run.mjs many-vantages
//   env: VANTAGES=1000,2000 (one dataset each; 10000 takes ~80 min to write on a busy 2-core machine), BATCH_VANTAGES=1000, RAW_MINUTES=70
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient, QueryCommand, type QueryCommandInput } from "@aws-sdk/client-dynamodb";
import { DAY_MS, HOUR_MS, MINUTE_MS, type Rollup, type RollupOf, periodKey, sketchFromLatencies } from "@popwatch/core";
import { type DynamoResultStore, type StoredResult, startEmbeddedStore } from "@popwatch/store";
import { catchmentCommand } from "../packages/cli/src/commands/catchment";
import { reportCommand } from "../packages/cli/src/commands/report";
import { resultsCommand } from "../packages/cli/src/commands/results";
import { writerOf } from "../packages/store/src/results";
import { compareRollupOrder } from "../packages/store/src/rollup-payload";
import { BENCH_POPS } from "./support/pops";
import { fmt } from "./support/stats";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const TARGET = "anycast-dns";
const ADDRESS = "198.51.100.53";
const POPS = BENCH_POPS;
const RAW_MINUTES = Number(process.env.RAW_MINUTES ?? "70");
const LIMIT = 1000;
/** Vantages per import batch (one writer): what `popwatch import` packs into one minute item. */
const BATCH_VANTAGES = Number(process.env.BATCH_VANTAGES ?? "1000");
// "now" of every command: 20 s into a minute, 37 minutes into an hour (partial hours at both ends of every window).
const NOW = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - HOUR_MS + 37 * MINUTE_MS + 20_000;
const END = Math.floor(NOW / MINUTE_MS) * MINUTE_MS; // minutes before this one are complete
const START = END - DAY_MS;

const CONFIG = {
  targets: [{ name: TARGET, address: ADDRESS, probes: { dns: {} } }],
  slos: [{ name: `${TARGET}-availability`, target: TARGET, sli: { type: "availability" }, objective: 0.999 }],
};

const vantageName = (v: number) => `atlas-${1000 + v * 7}`;

/** One probe of vantage v in minute m (index from START): deterministic, 1 % failures, a PoP change for one vantage in 10. */
function probe(v: number, m: number): { ok: boolean; ms: number; pop: string } {
  const switched = v % 10 === 0 && m >= 600 + (v % 300);
  return { ok: (v * 31 + m) % 100 !== 0, ms: 4 + ((v * 7 + m * 13) % 180), pop: POPS[(v + (switched ? 1 : 0)) % POPS.length]! };
}

function minuteRollup(v: number, m: number): RollupOf<"minute"> {
  const { ok, ms, pop } = probe(v, m);
  return {
    granularity: "minute",
    minute: periodKey("minute", START + m * MINUTE_MS)!,
    target: TARGET,
    kind: "dns",
    region: vantageName(v),
    total: 1,
    good: ok ? 1 : 0,
    failures: ok ? {} : { timeout: 1 },
    latency: ok ? sketchFromLatencies([ms]) : {},
    pops: ok ? { [pop]: 1 } : {},
    popChanges: 0,
    firstPop: ok ? pop : null,
    lastPop: ok ? pop : null,
    truncated: 0,
    tcpFallback: 0,
  } as RollupOf<"minute">;
}

function rawResult(v: number, m: number): StoredResult {
  const { ok, ms, pop } = probe(v, m);
  const at = new Date(START + m * MINUTE_MS).toISOString();
  return {
    kind: "dns",
    target: `${ADDRESS}:53`,
    address: ADDRESS,
    port: 53,
    name: TARGET,
    ok,
    startedAt: at,
    slotAt: at,
    timings: ok ? { totalMs: ms, rttMs: ms - 1 } : { totalMs: 3000 },
    failure: ok ? null : { code: "timeout", message: "no answer within 3000 ms" },
    pop: ok ? { id: pop, source: "nsid", raw: `${pop}1`, iata: pop } : null,
    rcode: ok ? "NOERROR" : null,
    answers: ok ? [{ name: "www.example.com", type: "A", class: "IN", ttl: 300, data: "198.51.100.10" }] : [],
    region: vantageName(v),
    seq: 0,
  } as StoredResult;
}

async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/**
 * Layout v3, as `popwatch import` writes: vantages in import batches of BATCH_VANTAGES (one writer each), each
 * batch's minute rollups of a minute in one item (the store's own minute writer, which also marks the hour pending
 * for compact), raw results per batch and minute through putResults with `writer`; then compact builds the hour
 * and day buckets of every vantage.
 */
async function writeDatasetV3(store: DynamoResultStore, vantages: number): Promise<{ items: number; compactS: number }> {
  const minuteWriter = (store as unknown as { rollups: { writeMinutes: (...args: unknown[]) => Promise<void> } }).rollups;
  const batches = Array.from({ length: Math.ceil(vantages / BATCH_VANTAGES) }, (_, b) => ({
    writer: `bench-batch-${b}`,
    members: Array.from({ length: Math.min(BATCH_VANTAGES, vantages - b * BATCH_VANTAGES) }, (_, i) => b * BATCH_VANTAGES + i),
  }));
  await store.putVantages(
    Array.from({ length: vantages }, (_, v) => ({
      name: vantageName(v),
      source: "atlas" as const,
      claimed: { lat: -50 + ((v * 11) % 110), lon: -170 + ((v * 37) % 340) },
      country: ["DE", "NL", "US", "JP", "BR"][v % 5]!,
      asn: 64496 + (v % 16),
      atlasProbeId: 1000 + v * 7,
    })),
  );
  const minutes = DAY_MS / MINUTE_MS;
  const hours = Array.from({ length: 25 }, (_, h) => h);
  const firstHourStart = Math.floor(START / HOUR_MS) * HOUR_MS;
  let items = 0;
  // One writeMinutes call per (hour, batch): the hour's minutes of every vantage of the batch, one item per minute.
  const jobs = hours.flatMap((h) => batches.map((batch) => ({ h, batch })));
  await inParallel(jobs, 2, async ({ h, batch }) => {
    const computed: { minute: string; rollups: Rollup[] }[] = [];
    for (let m = 0; m < minutes; m++) {
      const at = START + m * MINUTE_MS;
      if (at < firstHourStart + h * HOUR_MS || at >= firstHourStart + (h + 1) * HOUR_MS) continue;
      const rollups = batch.members.map((v) => minuteRollup(v, m)).sort(compareRollupOrder);
      computed.push({ minute: periodKey("minute", at)!, rollups });
    }
    if (computed.length === 0) return;
    items += await idempotently(async () => {
      const report = { written: [], kept: [], items: { written: 0, kept: 0 } };
      await minuteWriter.writeMinutes(writerOf({ writer: batch.writer }), computed, report);
      return report.items.written;
    });
  });
  for (let m = minutes - RAW_MINUTES; m < minutes; m++) {
    await inParallel(batches, 2, async (batch) => {
      const results = batch.members.map((v) => rawResult(v, m));
      await idempotently(() => store.putResults({ writer: batch.writer, invocationId: `bench-${m}`, results }));
    });
  }
  items += RAW_MINUTES * batches.length;
  const t0 = performance.now();
  const compacted = await store.compact({ now: NOW });
  items += compacted.hours + compacted.days;
  return { items, compactS: (performance.now() - t0) / 1000 };
}

/**
 * Writes again after a failure: every write here is idempotent (same keys, same bytes). dynalite under this
 * machine's load resets a connection now and then, and the store gives up on a reset after one attempt.
 */
async function idempotently<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (attempt >= 4) throw err;
      process.stderr.write(`write failed (${(err as Error).message}); writing again\n`);
    }
  }
}

// ---- measuring one command, in a child process ----

interface Measured {
  command: string;
  exit: number;
  ms: number;
  queries: number;
  items: number;
  otherRequests: Record<string, number>;
  outputBytes: number;
  rssBeforeMb: number;
  maxRssMb: number;
  floorMs: number;
  floorItems: number;
}

const COMMANDS: Record<string, (dataDir: string, configFile: string) => string[]> = {
  "catchment --since 24h": (d) => ["catchment", "--since", "24h", "--data-dir", d],
  "report --since 1h": (d, c) => ["report", "--since", "1h", "--config", c, "--data-dir", d],
  "results --since 1h": (d) => ["results", "--since", "1h", "--data-dir", d],
  [`results --since 1h --limit ${LIMIT}`]: (d) => ["results", "--since", "1h", "--limit", String(LIMIT), "--data-dir", d],
};

async function measureInChild(label: string, dataDir: string, configFile: string): Promise<void> {
  const recorded: QueryCommandInput[] = [];
  const counts = { queries: 0, items: 0, other: {} as Record<string, number> };
  const send = DynamoDBClient.prototype.send;
  DynamoDBClient.prototype.send = function (
    this: DynamoDBClient,
    command: { input: unknown; constructor: { name: string } },
    ...rest: unknown[]
  ) {
    const sent = (send as (...args: unknown[]) => Promise<{ Count?: number; Items?: unknown[] }>).call(this, command, ...rest);
    if (command instanceof QueryCommand) {
      counts.queries++;
      recorded.push(command.input);
      return sent.then((out) => {
        counts.items += out.Count ?? out.Items?.length ?? 0;
        return out;
      });
    }
    const name = command.constructor.name;
    counts.other[name] = (counts.other[name] ?? 0) + 1;
    return sent;
  } as typeof send;

  let outputBytes = 0;
  const io = {
    stdout: { write: (text: string) => (outputBytes += text.length) },
    stderr: { write: (text: string) => void process.stderr.write(text) },
  };
  const argv = COMMANDS[label]!(dataDir, configFile);
  const run = { catchment: catchmentCommand, report: reportCommand, results: resultsCommand }[argv[0] as "catchment"];
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const exit = await run(argv.slice(1), io as never, { now: () => NOW });
  const ms = performance.now() - t0;
  const maxRss = process.resourceUsage().maxRSS * 1024;
  DynamoDBClient.prototype.send = send;

  // The floor: the same Query requests, bare.
  const embedded = await startEmbeddedStore({ dataDir });
  let floorItems = 0;
  const f0 = performance.now();
  await inParallel(recorded, 16, async (input) => {
    const out = await embedded.client.send(new QueryCommand(input));
    floorItems += out.Count ?? 0;
  });
  const floorMs = performance.now() - f0;
  await embedded.close();
  const measured: Measured = {
    command: label,
    exit,
    ms,
    queries: counts.queries,
    items: counts.items,
    otherRequests: counts.other,
    outputBytes,
    rssBeforeMb: rssBefore / 2 ** 20,
    maxRssMb: maxRss / 2 ** 20,
    floorMs,
    floorItems,
  };
  process.stdout.write(`${JSON.stringify(measured)}\n`);
}

function measure(label: string, dataDir: string, configFile: string): Measured {
  const child = spawnSync(process.execPath, [process.argv[1]!, "--measure", label, dataDir, configFile], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 1 << 26,
  });
  const line = child.stdout.trim().split("\n").pop() ?? "";
  if (child.status !== 0 || !line.startsWith("{")) throw new Error(`measuring ${label} failed (status ${child.status})`);
  return JSON.parse(line) as Measured;
}

async function main(): Promise<void> {
  const scales = (process.env.VANTAGES ?? "1000,2000").split(",").map(Number);
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(" ");
  console.log(
    `node ${process.version}; layout v3 (import batches of ${BATCH_VANTAGES} vantages); one DNS target probed once a minute per vantage; now = ${new Date(NOW).toISOString()}; ` +
      `minute rollups ${new Date(START).toISOString()} .. ${new Date(END).toISOString()}, raw results for the last ${RAW_MINUTES} min`,
  );
  for (const vantages of scales) {
    const dir = mkdtempSync(join(tmpdir(), "popwatch-bench-vantages-"));
    try {
      const dataDir = join(dir, "data");
      const configFile = join(dir, "popwatch.config.json");
      writeFileSync(configFile, JSON.stringify(CONFIG));
      const embedded = await startEmbeddedStore({ dataDir });
      const t0 = performance.now();
      const { items, compactS } = await writeDatasetV3(embedded.store, vantages);
      const writeS = (performance.now() - t0) / 1000;
      await embedded.close();
      console.log(
        `\n${vantages} vantages: ${items} items written in ${fmt(writeS, 1)} s, of which compact ${fmt(compactS, 1)} s; load ${load()}`,
      );
      console.log(
        "| command | exit | wall (ms) | Query requests | items read | other requests | RSS at start / peak (MB) | bare Query replay (ms, anchor) | ratio |",
      );
      console.log("|---|---|---|---|---|---|---|---|---|");
      for (const label of Object.keys(COMMANDS)) {
        const m = measure(label, dataDir, configFile);
        if (m.floorItems !== m.items) throw new Error(`${label}: replay read ${m.floorItems} items, the command ${m.items}`);
        const other = Object.entries(m.otherRequests)
          .map(([name, n]) => `${name.replace(/Command\d*$/, "")} ${n}`)
          .join(", ");
        console.log(
          `| ${m.command} | ${m.exit} | ${fmt(m.ms, 0)} | ${m.queries} | ${m.items} | ${other} | ${fmt(m.rssBeforeMb, 0)} / ${fmt(m.maxRssMb, 0)} | ${fmt(m.floorMs, 0)} | ${fmt(m.ms / m.floorMs, 2)} |`,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

if (process.argv[2] === "--measure") await measureInChild(process.argv[3]!, process.argv[4]!, process.argv[5]!);
else await main();
