// Cost per region-month of the scheduled probe function, from measured
// per-invocation figures and public us-east-1 prices.
//
// Measured here, per scenario: real invocations of @popwatch/agent's
// runInvocation (what functions/probe.ts runs) against loopback NSD and nginx
// (test/support/servers.ts), writing through the real DynamoResultStore into
// dynalite, which accounts capacity units the way DynamoDB does
// (ReturnConsumedCapacity=TOTAL is set on every request by a client
// middleware). Per invocation: write and read request units, requests, item
// sizes, log bytes. The clock is virtual (the waits between rounds take no
// real time). Store v2 builds an hour's rollup once, in the invocation whose
// period closes the hour, and a day's in the one closing the day, so three
// kinds of invocation are measured: an ordinary one (after a warm-up), the
// one closing an hour, the one closing a day; a month has
// invocations − hours ordinary ones, hours − days closing an hour, and days
// closing a day.
//
// Assumed (constants below, with reasons): Lambda wall time beyond the
// schedule (internet round time, round trip to the home region), bytes a probe
// sends, prices. Lambda bills the waits between rounds: duration ≈
// (rounds − 1) × interval + last round + writes + rollup rebuild.
//
// Run: npx tsx bench/cost-model.ts
//      npx tsx bench/cost-model.ts --targets 10 --kinds dns,tcp,tls,http --rounds 6 --rate 1 --memory 256
// Goal: ≤ $1 per region-month.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import {
  type RoundQueueEntry,
  SQS_BATCH_LIMIT,
  parseRoundMessage,
  probeSpecsOf,
  runQueuedRound,
  runScheduled,
  storeRetention,
} from "@popwatch/agent";
import { type PopwatchConfig, type PopwatchConfigInput, parseConfig } from "@popwatch/core";
import { startEmbeddedStore } from "@popwatch/store";
import { deploymentProblems, maxEventAgeSeconds, probeTimeoutSeconds } from "../stacks/settings";
import { requireServer, startTestServers } from "../test/support/servers";

// ---------------------------------------------------------------------------
// Prices: us-east-1, public list prices as of 2025-06 (DynamoDB on-demand after
// the 2024-11-01 reduction). No free tier applied (it is per account, shared by
// every region and function). Check https://aws.amazon.com/{lambda,dynamodb,
// cloudwatch,ec2}/pricing/ before relying on them.
const PRICES = {
  date: "2025-06 (us-east-1 list prices)",
  lambdaArmGbSecond: 0.0000133334,
  lambdaX86GbSecond: 0.0000166667,
  lambdaRequest: 0.2 / 1e6,
  dynamoWriteRequestUnit: 0.625 / 1e6,
  dynamoReadRequestUnit: 0.125 / 1e6,
  dynamoStorageGbMonth: 0.25,
  dynamoPitrGbMonth: 0.2,
  logsIngestGb: 0.5,
  logsStoreGbMonth: 0.03,
  transferInterRegionGb: 0.02,
  transferInternetOutGb: 0.09,
  // SQS standard queue: every API action is a request (per 64 KB chunk).
  sqsRequest: 0.4 / 1e6,
  // EventBridge: a scheduled rule's events are AWS-generated events on the
  // default bus, which are not charged (custom events are $1/M).
  eventBridgeScheduledEvent: 0,
};

// ---------------------------------------------------------------------------
// Assumptions that loopback cannot measure.
const ASSUME = {
  hoursPerMonth: 730,
  /** Wall time of the last round against internet targets (HTTPS = TCP + TLS + request ≈ 4 RTT to the nearest PoP, plus slow answers). */
  lastRoundMs: 500,
  /** One DynamoDB request from a probe region to the home region: in-region ≈ 10 ms; cross-region 80 ms (e.g. us-east-1 → eu-west-1); far 250 ms (ap-southeast-2 → eu-west-1). */
  homeRttMs: { same: 10, cross: 80, far: 250 },
  /** Bytes a probe sends to the internet, by kind (headers included): DNS query; SYN/ACK/FIN; + ClientHello and Finished; + GET and ACKs of a ≤64 KB body. */
  probeBytesOut: { dns: 100, tcp: 180, tls: 1300, http: 2200 } as Record<string, number>,
  /** Request bytes on the wire per byte of item data written (JSON with attribute types, HTTP and TLS framing). */
  wireOverhead: 1.4,
  /** Per-item storage overhead DynamoDB adds. */
  itemOverheadBytes: 100,
  /** Lambda platform log lines per invocation (START, END, REPORT). */
  platformLogBytes: 400,
  /** Log retention of the probe log group (stacks/ProbeStack.ts). */
  logRetentionDays: 14,
  /** Cold starts per day and init time billed for each (INIT is billed since 2025-08). */
  coldStartsPerDay: 24,
  initSeconds: 0.3,
  /**
   * dispatch "queue": Lambda's SQS event source long-polls the queue with
   * five pollers at 20 s each whether or not messages arrive (15
   * ReceiveMessage a minute), plus one receive and one delete per message.
   */
  sqsIdleReceivesPerMinute: 15,
  sqsRequestsPerMessage: 2,
  /** SendMessageBatch from the probe function to its own region's queue. */
  sqsRttMs: 10,
};

interface Scenario {
  name: string;
  targets: number;
  kinds: string[];
  rounds: number;
  rateMinutes: number;
  memoryMb: number;
  dispatch: "inline" | "queue";
}

const { values: args } = parseArgs({
  options: {
    targets: { type: "string" },
    kinds: { type: "string" },
    rounds: { type: "string" },
    rate: { type: "string" },
    memory: { type: "string" },
    dispatch: { type: "string" },
  },
});

const ALL_KINDS = ["dns", "tcp", "tls", "http"];
const scenarios: Scenario[] =
  args.targets || args.kinds || args.rounds || args.rate || args.memory || args.dispatch
    ? [
        {
          name: "custom",
          targets: Number(args.targets ?? 10),
          kinds: (args.kinds ?? ALL_KINDS.join(",")).split(","),
          rounds: Number(args.rounds ?? 6),
          rateMinutes: Number(args.rate ?? 1),
          memoryMb: Number(args.memory ?? 256),
          dispatch: args.dispatch === "queue" ? "queue" : "inline",
        },
      ]
    : [
        {
          name: "A: 10×4 every 10 s, 256 MB, inline rounds",
          targets: 10,
          kinds: ALL_KINDS,
          rounds: 6,
          rateMinutes: 1,
          memoryMb: 256,
          dispatch: "inline",
        },
        {
          name: "B: 10×4 every 10 s, 128 MB, inline rounds",
          targets: 10,
          kinds: ALL_KINDS,
          rounds: 6,
          rateMinutes: 1,
          memoryMb: 128,
          dispatch: "inline",
        },
        {
          name: "Q: 10×4 every 10 s, 256 MB, queued rounds (brief default)",
          targets: 10,
          kinds: ALL_KINDS,
          rounds: 6,
          rateMinutes: 1,
          memoryMb: 256,
          dispatch: "queue",
        },
        {
          name: "R: 10×4 every 10 s, 128 MB, queued rounds",
          targets: 10,
          kinds: ALL_KINDS,
          rounds: 6,
          rateMinutes: 1,
          memoryMb: 128,
          dispatch: "queue",
        },
        { name: "C: 10×4 every 60 s, 256 MB", targets: 10, kinds: ALL_KINDS, rounds: 1, rateMinutes: 1, memoryMb: 256, dispatch: "inline" },
        { name: "D: 10×dns every 60 s, 256 MB", targets: 10, kinds: ["dns"], rounds: 1, rateMinutes: 1, memoryMb: 256, dispatch: "inline" },
        {
          name: "E: 10×4 every 5 min, 256 MB",
          targets: 10,
          kinds: ALL_KINDS,
          rounds: 1,
          rateMinutes: 5,
          memoryMb: 256,
          dispatch: "inline",
        },
        {
          name: "F: 10×4 every 10 min, 256 MB",
          targets: 10,
          kinds: ALL_KINDS,
          rounds: 1,
          rateMinutes: 10,
          memoryMb: 256,
          dispatch: "inline",
        },
      ];

// ---------------------------------------------------------------------------
// DynamoDB item size as DynamoDB counts it: attribute names + values (UTF-8 strings, numbers ≈ digits/2 + 1).
function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return Math.ceil(value.N.replace(/^-|\.|^0+/g, "").length / 2) + 1;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.B !== undefined) return value.B.length;
  if (value.M !== undefined) return 3 + itemSize(value.M);
  if (value.L !== undefined) return 3 + value.L.reduce((sum, v) => sum + 1 + valueSize(v), 0);
  return 0;
}
function itemSize(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + valueSize(value), 0);
}
const ITEM_CLASSES = ["raw", "minute", "hour", "day", "series"] as const;
type ItemClass = (typeof ITEM_CLASSES)[number];
function itemClass(item: Record<string, AttributeValue>): ItemClass {
  const pk = item.pk?.S ?? "";
  if (pk === "S") return "series";
  return ({ R: "raw", M: "minute", H: "hour", D: "day" } as const)[pk.slice(0, 1) as "R" | "M" | "H" | "D"] ?? "raw";
}

interface Meter {
  wcu: number;
  rcu: number;
  requests: Record<string, number>;
  items: Record<ItemClass, { count: number; bytes: number; wcu: number }>;
  logBytes: number;
  /** SendMessageBatch requests (dispatch "queue"). */
  enqueueRequests: number;
}
function emptyMeter(): Meter {
  return {
    wcu: 0,
    rcu: 0,
    requests: {},
    items: Object.fromEntries(ITEM_CLASSES.map((c) => [c, { count: 0, bytes: 0, wcu: 0 }])) as Meter["items"],
    logBytes: 0,
    enqueueRequests: 0,
  };
}

function loopbackConfig(s: Scenario, servers: Awaited<ReturnType<typeof startTestServers>>["info"]): PopwatchConfig {
  const nsd = requireServer(servers.dns.nsd);
  const nginx = requireServer(servers.nginx);
  const kinds = new Set(s.kinds);
  const input: PopwatchConfigInput = {
    regions: ["eu-west-1"],
    schedule: {
      rateMinutes: s.rateMinutes,
      roundsPerInvocation: s.rounds,
      timeoutMs: 5000,
      concurrency: Math.max(32, s.targets * s.kinds.length),
      dispatch: s.dispatch,
    },
    targets: Array.from({ length: s.targets }, (_, i) => ({
      name: `target-${String(i).padStart(2, "0")}`,
      address: "127.0.0.1",
      hostname: nginx.host,
      probes: {
        ...(kinds.has("dns") ? { dns: { port: nsd.port, qname: servers.records.a.name, qtype: "A", chaos: ["id.server" as const] } } : {}),
        ...(kinds.has("tcp") ? { tcp: { port: nginx.httpsPort } } : {}),
        ...(kinds.has("tls") ? { tls: { port: nginx.httpsPort, ca: [nginx.caPem] } } : {}),
        ...(kinds.has("http") ? { http: { port: nginx.httpsPort, path: "/", ca: [nginx.caPem] } } : {}),
      },
    })),
  };
  return parseConfig(input);
}

interface Measured {
  /** An ordinary invocation (no hour or day ends with its period). */
  meter: Meter;
  /** The invocation whose period closes an hour, and the one closing a day. */
  closingHour: Meter;
  closingDay: Meter;
  results: number;
  rounds: number;
  probeWallMs: number;
  rollupRequests: number;
  /** Series (target × kind) whose rollups the invocation rebuilds. */
  series: number;
}

async function measure(config: PopwatchConfig): Promise<Measured> {
  const dataDir = mkdtempSync(join(tmpdir(), "popwatch-cost-"));
  const embedded = await startEmbeddedStore({ dataDir, retentionDays: storeRetention(config) });
  let meter = emptyMeter();
  let phase: "rounds" | "rollups" = "rounds";
  let rollupRequests = 0;
  embedded.client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      input.ReturnConsumedCapacity = "TOTAL";
      const command = context.commandName ?? "?";
      meter.requests[command] = (meter.requests[command] ?? 0) + 1;
      if (phase === "rollups") rollupRequests++;
      const written: Record<string, AttributeValue>[] =
        command === "PutItemCommand"
          ? [input.Item as Record<string, AttributeValue>]
          : command === "BatchWriteItemCommand"
            ? Object.values(input.RequestItems as Record<string, { PutRequest?: { Item: Record<string, AttributeValue> } }[]>)
                .flat()
                .flatMap((r) => (r.PutRequest ? [r.PutRequest.Item] : []))
            : [];
      for (const item of written) {
        const size = itemSize(item);
        const slot = meter.items[itemClass(item)];
        slot.count++;
        slot.bytes += size;
        slot.wcu += Math.ceil(size / 1024);
      }
      const out = await next(args);
      const consumed = (out.output as { ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[] }).ConsumedCapacity;
      const units = [consumed ?? []].flat().reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
      if (command === "QueryCommand") meter.rcu += units;
      else meter.wcu += units;
      return out;
    },
    { step: "initialize", name: "popwatchCostMeter" },
  );
  try {
    const periodMs = config.schedule.rateMinutes * 60_000;
    const hourEnd = Date.parse("2025-06-02T13:00:00.000Z");
    const dayEnd = Date.parse("2025-06-03T00:00:00.000Z");
    // Two warm-up periods (a queued scheduled invocation rolls up the two periods before its own), ordinary, closing the hour, closing the day.
    const schedule = [hourEnd - 4 * periodMs, hourEnd - 3 * periodMs, hourEnd - 2 * periodMs, hourEnd - periodMs, dayEnd - periodMs];
    const meters: Meter[] = [];
    let last: Omit<Measured, "meter" | "closingHour" | "closingDay"> | undefined;
    for (const [i, scheduledMs] of schedule.entries()) {
      meter = emptyMeter();
      rollupRequests = 0;
      phase = "rounds";
      let offset = scheduledMs - Date.now();
      const now = () => Date.now() + offset;
      let probeWallMs = 0;
      const common = {
        config,
        store: embedded.store,
        now,
        sleep: async (ms: number) => {
          offset += ms;
        },
        logger: (entry: object) => {
          meter.logBytes += Buffer.byteLength(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
        },
      };
      const lastRound = config.schedule.dispatch === "queue" ? 0 : config.schedule.roundsPerInvocation - 1;
      // dispatch "queue": the scheduled invocation sends its later rounds here; each then runs as its own invocation at its slot.
      const queued: RoundQueueEntry[] = [];
      const summary = await runScheduled({
        ...common,
        region: "eu-west-1",
        scheduledAt: scheduledMs,
        queue: {
          send: async (entries) => {
            queued.push(...entries);
            return [];
          },
        },
        remainingMs: () => probeTimeoutSeconds(config.schedule) * 1000 - (now() - scheduledMs),
        onRound: (round) => {
          probeWallMs = Math.max(probeWallMs, round.probeMs);
          if (round.round === lastRound) phase = "rollups";
        },
      });
      for (const entry of queued) {
        const message = parseRoundMessage(entry.body);
        phase = "rounds";
        offset = scheduledMs + message.round * (periodMs / config.schedule.roundsPerInvocation) + 100 - Date.now();
        const round = await runQueuedRound(message, {
          ...common,
          remainingMs: () => probeTimeoutSeconds(config.schedule) * 1000,
          onRound: (r) => {
            probeWallMs = Math.max(probeWallMs, r.probeMs);
          },
        });
        summary.results += round.results;
        summary.rounds += round.rounds;
        summary.skippedRounds += round.skippedRounds;
        summary.errors.push(...round.errors);
      }
      meter.enqueueRequests = Math.ceil(queued.length / SQS_BATCH_LIMIT);
      if (summary.errors.length > 0 || summary.skippedRounds > 0) throw new Error(`invocation incomplete: ${JSON.stringify(summary)}`);
      const series = new Set(probeSpecsOf(config).map((spec) => `${spec.name}#${spec.kind}`)).size;
      meters.push(meter);
      if (i === 2) last = { results: summary.results, rounds: summary.rounds, probeWallMs, rollupRequests, series };
    }
    return { ...last!, meter: meters[2]!, closingHour: meters[3]!, closingDay: meters[4]! };
  } finally {
    await embedded.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
interface Costs {
  lines: [string, string, number][];
  total: number;
  durationS: number;
  neededS: number;
  timeoutS: number;
  rollupS: Record<keyof typeof ASSUME.homeRttMs, number>;
  /** Month average, closing invocations included. */
  wruPerProbe: number;
}

function monthly(s: Scenario, config: PopwatchConfig, m: Measured, rtt: keyof typeof ASSUME.homeRttMs): Costs {
  const periods = (ASSUME.hoursPerMonth * 60) / s.rateMinutes;
  const queued = config.schedule.dispatch === "queue" && s.rounds > 1;
  const invocations = queued ? periods * s.rounds : periods;
  const intervalMs = (s.rateMinutes * 60_000) / s.rounds;
  const writeRequestsPerRound = Math.ceil(m.meter.items.raw.count / m.rounds / 25 / 4); // BatchWriteItem chunks of 25, 4 in flight: sequential waves
  const rollupS = Object.fromEntries(
    // One rollUp per invocation; counted as if its requests ran one after another (a few overlap): an upper bound.
    Object.entries(ASSUME.homeRttMs).map(([k, ms]) => [k, (m.rollupRequests * ms) / 1000]),
  ) as Costs["rollupS"];
  const roundS = (ASSUME.lastRoundMs + writeRequestsPerRound * ASSUME.homeRttMs[rtt]) / 1000;
  // Inline: the scheduled invocation waits out every interval. Queued: it runs round 0, enqueues, rolls up; each later round is a short invocation of its own.
  const neededS = queued
    ? roundS + (m.meter.enqueueRequests * ASSUME.sqsRttMs) / 1000 + rollupS[rtt]
    : ((s.rounds - 1) * intervalMs) / 1000 + roundS + rollupS[rtt];
  // Past the timeout Lambda stops the invocation (billed up to the timeout) and retries it.
  const timeoutS = probeTimeoutSeconds(config.schedule);
  const durationS = Math.min(neededS, timeoutS);
  const gb = s.memoryMb / 1024;
  const billedSPerPeriod = durationS + (queued ? (s.rounds - 1) * roundS : 0);
  const gbSeconds = periods * billedSPerPeriod * gb + (ASSUME.hoursPerMonth / 24) * ASSUME.coldStartsPerDay * ASSUME.initSeconds * gb;
  const probesPerMonth = periods * m.results;
  // Every hour one invocation closes it (every day, one of those also closes the day).
  const hours = ASSUME.hoursPerMonth;
  const days = ASSUME.hoursPerMonth / 24;
  const perMonth = (of: (meter: Meter) => number) =>
    (periods - hours) * of(m.meter) + (hours - days) * of(m.closingHour) + days * of(m.closingDay);
  const wru = perMonth((meter) => meter.wcu);
  const rru = perMonth((meter) => meter.rcu);
  const itemsPerInvocation = m.meter.items;
  // Storage in steady state: raw items for rawDays; one item per region and period with data for its retention.
  const rawBytesPerProbe = (itemsPerInvocation.raw.bytes + itemsPerInvocation.raw.count * ASSUME.itemOverheadBytes) / m.results;
  const probesPerDay = (24 * 60 * m.results) / s.rateMinutes;
  const minuteItemsPerDay = (24 * 60 * itemsPerInvocation.minute.count) / s.rateMinutes;
  const avgBytes = (c: { count: number; bytes: number }) => c.bytes / Math.max(1, c.count) + ASSUME.itemOverheadBytes;
  const r = config.retention;
  const storedBytes =
    probesPerDay * r.rawDays * rawBytesPerProbe +
    minuteItemsPerDay * r.minuteDays * avgBytes(itemsPerInvocation.minute) +
    24 * r.hourDays * avgBytes(m.closingHour.items.hour) +
    r.dayDays * avgBytes(m.closingDay.items.day);
  const storedGb = storedBytes / 1e9;
  const logGb = (periods * m.meter.logBytes + invocations * ASSUME.platformLogBytes) / 1e9;
  const writtenBytes = perMonth((meter) => ITEM_CLASSES.reduce((sum, c) => sum + meter.items[c].bytes, 0));
  const interRegionGb = rtt === "same" ? 0 : (writtenBytes * ASSUME.wireOverhead) / 1e9;
  const bytesOutPerRound = config.targets.reduce(
    (sum, t) => sum + Object.entries(t.probes).reduce((acc, [kind, p]) => acc + (p ? (ASSUME.probeBytesOut[kind] ?? 0) : 0), 0),
    0,
  );
  const internetGb = (periods * m.rounds * bytesOutPerRound) / 1e9;
  const sqsRequests = queued
    ? periods * (m.meter.enqueueRequests + (s.rounds - 1) * ASSUME.sqsRequestsPerMessage) +
      ASSUME.hoursPerMonth * 60 * ASSUME.sqsIdleReceivesPerMinute
    : 0;
  const lines: [string, string, number][] = [
    ["Lambda requests", `${fmtN(invocations)} invocations`, invocations * PRICES.lambdaRequest],
    [
      "Lambda compute (arm64)",
      `${fmtN(gbSeconds)} GB-s (${billedSPerPeriod.toFixed(1)} s a period × ${s.memoryMb} MB)`,
      gbSeconds * PRICES.lambdaArmGbSecond,
    ],
    ["EventBridge schedule", `${fmtN(periods)} scheduled events`, periods * PRICES.eventBridgeScheduledEvent],
    ["SQS (queued rounds)", `${fmtN(sqsRequests)} requests`, sqsRequests * PRICES.sqsRequest],
    ["DynamoDB writes", `${fmtN(wru)} WRU (${(wru / probesPerMonth).toFixed(3)} per probe)`, wru * PRICES.dynamoWriteRequestUnit],
    ["DynamoDB reads (rollups)", `${fmtN(rru)} RRU`, rru * PRICES.dynamoReadRequestUnit],
    ["DynamoDB storage", `${storedGb.toFixed(2)} GB`, storedGb * PRICES.dynamoStorageGbMonth],
    ["DynamoDB PITR", `${storedGb.toFixed(2)} GB`, storedGb * PRICES.dynamoPitrGbMonth],
    [
      "CloudWatch Logs",
      `${(logGb * 1000).toFixed(0)} MB ingested`,
      logGb * PRICES.logsIngestGb + logGb * (ASSUME.logRetentionDays / 30) * PRICES.logsStoreGbMonth,
    ],
    ["Transfer to home region", `${interRegionGb.toFixed(2)} GB`, interRegionGb * PRICES.transferInterRegionGb],
    ["Probe traffic out", `${internetGb.toFixed(2)} GB (${fmtN(probesPerMonth)} probes)`, internetGb * PRICES.transferInternetOutGb],
  ];
  return {
    lines,
    total: lines.reduce((sum, [, , usd]) => sum + usd, 0),
    durationS,
    neededS,
    timeoutS,
    rollupS,
    wruPerProbe: wru / probesPerMonth,
  };
}

function fmtN(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0);
}
const usd = (n: number) => `$${n < 0.01 ? n.toFixed(4) : n.toFixed(2)}`;

// ---------------------------------------------------------------------------
const running = await startTestServers();
try {
  console.log(`prices: ${PRICES.date}; month = ${ASSUME.hoursPerMonth} h; no free tier`);
  console.log(
    `assumed: last round ${ASSUME.lastRoundMs} ms; request RTT to the home region ${JSON.stringify(ASSUME.homeRttMs)} ms; probe bytes out ${JSON.stringify(ASSUME.probeBytesOut)}`,
  );
  const summary: string[] = [];
  for (const s of scenarios) {
    const config = loopbackConfig(s, running.info);
    const problems = deploymentProblems(config);
    const m = await measure(config);
    const per = (n: number) => (n / m.results).toFixed(3);
    console.log(`\n## ${s.name}`);
    console.log(
      `config: ${s.targets} targets × ${s.kinds.join("/")}, ${s.rounds} round(s) every ${s.rateMinutes} min, concurrency ${config.schedule.concurrency}; ` +
        `function timeout ${probeTimeoutSeconds(config.schedule)} s, max event age ${maxEventAgeSeconds(config.schedule)} s` +
        (problems.length ? `; NOT DEPLOYABLE: ${problems.join("; ")}` : ""),
    );
    const describeItems = (meter: Meter) =>
      ITEM_CLASSES.filter((c) => meter.items[c].count > 0)
        .map(
          (c) =>
            `${c} ${meter.items[c].wcu} for ${meter.items[c].count} items, avg ${(meter.items[c].bytes / meter.items[c].count).toFixed(0)} B`,
        )
        .join("; ");
    const it = m.meter.items;
    console.log(
      `measured per invocation (${m.results} probes): WCU ${m.meter.wcu} (${describeItems(m.meter)}), ` +
        `RCU ${m.meter.rcu}, items/probe ${per(ITEM_CLASSES.reduce((sum, c) => sum + it[c].count, 0))}, requests ${JSON.stringify(m.meter.requests)}, ` +
        `rollup requests ${m.rollupRequests}, log ${m.meter.logBytes} B, loopback round ≤ ${m.probeWallMs} ms`,
    );
    console.log(`closing an hour: WCU ${m.closingHour.wcu} (${describeItems(m.closingHour)}), RCU ${m.closingHour.rcu}`);
    console.log(`closing a day: WCU ${m.closingDay.wcu} (${describeItems(m.closingDay)}), RCU ${m.closingDay.rcu}`);
    const costs = { same: monthly(s, config, m, "same"), cross: monthly(s, config, m, "cross"), far: monthly(s, config, m, "far") };
    console.log(
      `rollup after the last round: ${costs.same.rollupS.same.toFixed(1)} s in the home region, ${costs.same.rollupS.cross.toFixed(1)} s at 80 ms, ${costs.same.rollupS.far.toFixed(1)} s at 250 ms RTT`,
    );
    for (const [where, c] of Object.entries(costs)) {
      if (c.neededS > c.timeoutS) {
        console.log(
          `WARNING (${where}): an invocation needs ${c.neededS.toFixed(1)} s, past the ${c.timeoutS} s timeout: the rollup rebuild is cut off and the invocation fails and is retried (billed at the timeout, retries not counted)`,
        );
      }
    }
    console.log(`\n| item | quantity (cross-region probe region) | home region | 80 ms away | 250 ms away |`);
    console.log(`|---|---|---:|---:|---:|`);
    costs.cross.lines.forEach(([name, qty, cross], i) => {
      console.log(`| ${name} | ${qty} | ${usd(costs.same.lines[i]![2])} | ${usd(cross)} | ${usd(costs.far.lines[i]![2])} |`);
    });
    console.log(
      `| **total per region-month** | | **${usd(costs.same.total)}** | **${usd(costs.cross.total)}** | **${usd(costs.far.total)}** |`,
    );
    const fits = (c: Costs) => (c.neededS > c.timeoutS ? ` (needs ${c.neededS.toFixed(1)} s > timeout)` : "");
    summary.push(
      `| ${s.name} | ${costs.same.neededS.toFixed(1)} s / ${costs.far.neededS.toFixed(1)} s${fits(costs.far)} | ${costs.same.wruPerProbe.toFixed(3)} | ${usd(costs.same.total)} | ${usd(costs.cross.total)} | ${usd(costs.far.total)} | ${costs.cross.total <= 1 ? "yes" : "no"} |`,
    );
  }
  console.log(`\n## summary (goal ≤ $1 per region-month)\n`);
  console.log(`| scenario | invocation needs (home / 250 ms away) | WRU/probe | home region | 80 ms away | 250 ms away | ≤ $1 at 80 ms |`);
  console.log(`|---|---|---:|---:|---:|---:|---|`);
  for (const line of summary) console.log(line);
} finally {
  await running.stop();
}
