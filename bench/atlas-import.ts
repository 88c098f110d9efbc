// `popwatch import --format atlas` of RESULTS (default 1,000,000) RIPE Atlas
// DNS results into the embedded store: results/s, peak RSS of the import
// process, items written.
//
// The input is generated, streamed to a temp file as the Atlas API's JSON
// lines format: two measurements (msm_id 30012345 and 30012346) of
// www.example.com A from PROBES probes (ids spread over 1..1,000,000, as
// Atlas probe ids are), every probe in every round, rounds spread over one
// day; each result's `abuf` is a DNS response built with dns-packet (the
// question, one A answer, an OPT record with the answering PoP's NSID), its
// ID the result's; 1 % are timeouts (`error.timeout`). A probe archive file
// (`objects[]` with id, country_code, asn_v4, asn_v6, geometry) comes with it.
//
// The import runs as production runs it: the bundled CLI
// (`node scripts/build.mjs`) in a child process under /usr/bin/time, whose
// maximum resident set size is the import's peak memory.
//
// Anchors, same run:
// - the parse floor: the file read line by line, JSON.parse of each line and
//   base64 decoding of its abuf, nothing else;
// - the store floor: as many items of the same average size as the import
//   wrote (by key prefix), BatchWriteItem'd 25 per request, 8 requests in
//   flight, into a fresh embedded store (no keys, no validation, no
//   compression): what dynalite itself allows.
//
// Run from the repository root: node bench/run.mjs atlas-import   [env: RESULTS=1000000 PROBES=10000 GENERATE_ONLY=DIR]
import { spawnSync } from "node:child_process";
import { closeSync, createReadStream, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import {
  type AttributeValue,
  BatchWriteItemCommand,
  type BatchWriteItemCommandInput,
  type DynamoDBClient,
  ScanCommand,
} from "@aws-sdk/client-dynamodb";
import { startEmbeddedStore } from "@popwatch/store";
import dnsPacket from "dns-packet";
import { BENCH_POPS } from "./support/pops";
import { fmt } from "./support/stats";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const RESULTS = Number(process.env.RESULTS ?? "1000000");
const PROBES = Number(process.env.PROBES ?? "10000");
const MEASUREMENTS = [30012345, 30012346];
const QNAME = "www.example.com";
const POPS = BENCH_POPS;
const COUNTRIES = ["DE", "NL", "GB", "FR", "ES", "PL", "SE", "US", "US", "US", "US", "US", "BR", "JP", "SG", "AU", "IN", "ZA", "HK", "CA"];
const DAY_START_S = Math.floor(Date.now() / 86_400_000) * 86_400 - 2 * 86_400;

/** Probe ids over 1..1,000,000 (deterministic, distinct). */
const probeId = (p: number) => 1 + ((p * 7919) % 999_983);

/** One DNS response per PoP with ID 0: each result copies its PoP's and writes its own ID. */
const RESPONSES = POPS.map((pop, i) =>
  dnsPacket.encode({
    type: "response",
    id: 0,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.AUTHORITATIVE_ANSWER,
    questions: [{ type: "A", name: QNAME, class: "IN" }],
    answers: [{ type: "A", name: QNAME, class: "IN", ttl: 300, data: `198.51.100.${10 + i}` }],
    additionals: [
      {
        type: "OPT",
        name: ".",
        udpPayloadSize: 4096,
        flags: 0,
        options: [{ code: 3, data: Buffer.from(`${pop}${1 + (i % 3)}.ns.example`) }],
      },
    ],
  } as unknown as dnsPacket.Packet),
);

function atlasLine(n: number, rounds: number): string {
  const perRound = PROBES * MEASUREMENTS.length;
  const round = Math.floor(n / perRound);
  const p = n % PROBES;
  const msm = MEASUREMENTS[Math.floor((n % perRound) / PROBES)]!;
  const prb = probeId(p);
  const timestamp = DAY_START_S + Math.floor((round * 86_400) / rounds) + (p % 240);
  const id = (n * 40503) & 0xffff;
  const head = {
    fw: 5080,
    lts: 10 + (p % 50),
    dst_addr: "198.51.100.53",
    dst_port: "53",
    af: 4,
    src_addr: `10.${p % 256}.0.2`,
    proto: "UDP",
  };
  const tail = {
    msm_id: msm,
    prb_id: prb,
    timestamp,
    msm_name: "Tdig",
    from: `203.0.113.${p % 256}`,
    type: "dns",
    group_id: msm,
    stored_timestamp: timestamp + 40,
  };
  if ((n * 31) % 100 === 7) return JSON.stringify({ ...head, error: { timeout: 5000 }, ...tail });
  const abuf = Buffer.from(RESPONSES[p % POPS.length]!);
  abuf.writeUInt16BE(id, 0);
  const rt = 2 + ((p * 13 + round * 7) % 2000) / 10;
  return JSON.stringify({
    ...head,
    result: { rt, size: abuf.length, abuf: abuf.toString("base64"), ID: id, ANCOUNT: 1, QDCOUNT: 1, NSCOUNT: 0, ARCOUNT: 1 },
    ...tail,
  });
}

function writeResultsFile(path: string): void {
  const rounds = Math.ceil(RESULTS / (PROBES * MEASUREMENTS.length));
  const fd = openSync(path, "w");
  try {
    let chunk: string[] = [];
    for (let n = 0; n < RESULTS; n++) {
      chunk.push(atlasLine(n, rounds));
      if (chunk.length === 10_000 || n === RESULTS - 1) {
        writeSync(fd, `${chunk.join("\n")}\n`);
        chunk = [];
      }
    }
  } finally {
    closeSync(fd);
  }
}

function writeProbeArchive(path: string): void {
  const objects = Array.from({ length: PROBES }, (_, p) => ({
    id: probeId(p),
    country_code: COUNTRIES[p % COUNTRIES.length],
    asn_v4: 64496 + (p % 16),
    asn_v6: p % 3 === 0 ? null : 64512 + (p % 16),
    geometry: { type: "Point", coordinates: [-170 + ((p * 37) % 340), -50 + ((p * 11) % 110)] },
    status: { id: 1, name: "Connected" },
    is_anchor: false,
  }));
  writeFileSync(path, JSON.stringify({ count: objects.length, objects }));
}

/** The parse floor: read, JSON.parse, base64-decode abuf. */
async function parseFloor(path: string): Promise<{ seconds: number; lines: number; abufBytes: number }> {
  const t0 = performance.now();
  let lines = 0;
  let abufBytes = 0;
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY })) {
    if (line === "") continue;
    const parsed = JSON.parse(line) as { result?: { abuf?: string } };
    if (parsed.result?.abuf !== undefined) abufBytes += Buffer.from(parsed.result.abuf, "base64").length;
    lines++;
  }
  return { seconds: (performance.now() - t0) / 1000, lines, abufBytes };
}

interface ItemGroup {
  items: number;
  bytes: number;
}

/** Items in the table by key prefix (the part of pk before the first #), with their approximate size. */
async function itemsByPrefix(client: DynamoDBClient, tableName: string): Promise<Map<string, ItemGroup>> {
  const groups = new Map<string, ItemGroup>();
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey }));
    for (const item of page.Items ?? []) {
      const prefix = (item.pk?.S ?? "").split("#")[0]!;
      const group = groups.get(prefix) ?? { items: 0, bytes: 0 };
      group.items++;
      group.bytes += itemBytes(item);
      groups.set(prefix, group);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return groups;
}

function itemBytes(item: Record<string, AttributeValue>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) {
    bytes += name.length;
    if (value.S !== undefined) bytes += Buffer.byteLength(value.S);
    else if (value.N !== undefined) bytes += value.N.length;
    else if (value.B !== undefined) bytes += value.B.length;
    else bytes += JSON.stringify(value).length;
  }
  return bytes;
}

async function batchWrite(client: DynamoDBClient, requestItems: BatchWriteItemCommandInput["RequestItems"]): Promise<void> {
  let pending = requestItems;
  for (let attempt = 0; pending && Object.keys(pending).length > 0; attempt++) {
    try {
      pending = (await client.send(new BatchWriteItemCommand({ RequestItems: pending }))).UnprocessedItems;
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((done) => setTimeout(done, 100 * 2 ** attempt));
    }
  }
}

/** The store floor: the same number of items of each group's average size, bare BatchWriteItem into a fresh store. */
async function storeFloor(dir: string, groups: Map<string, ItemGroup>): Promise<number> {
  const embedded = await startEmbeddedStore({ dataDir: join(dir, "floor") });
  try {
    const items: Record<string, AttributeValue>[] = [];
    for (const [prefix, group] of groups) {
      const size = Math.max(1, Math.round(group.bytes / group.items) - 40);
      for (let i = 0; i < group.items; i++) {
        items.push({
          pk: { S: `F${prefix}#${i % 64}` },
          sk: { S: String(i).padStart(9, "0") },
          data: { B: new Uint8Array(size).fill(i & 0xff) },
        });
      }
    }
    const batches: Record<string, AttributeValue>[][] = [];
    for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < batches.length) {
          const batch = batches[next++]!;
          await batchWrite(embedded.client, { [embedded.store.tableName]: batch.map((Item) => ({ PutRequest: { Item } })) });
        }
      }),
    );
    return (performance.now() - t0) / 1000;
  } finally {
    await embedded.close();
  }
}

interface Imported {
  status: number;
  seconds: number;
  maxRssMb: number;
  cpuSeconds: number;
  stdout: string;
  stderr: string;
}

function runImport(cli: string, dataDir: string, resultsFile: string, probesFile: string): Imported {
  const timeFile = join(dataDir, "..", "time.txt");
  const t0 = performance.now();
  const child = spawnSync(
    "/usr/bin/time",
    [
      "-f",
      "%M %U %S",
      "-o",
      timeFile,
      process.execPath,
      cli,
      "import",
      "--format",
      "atlas",
      "--probes",
      probesFile,
      "--data-dir",
      dataDir,
      resultsFile,
    ],
    { encoding: "utf8", maxBuffer: 1 << 26 },
  );
  const seconds = (performance.now() - t0) / 1000;
  const [maxRssKb, user, sys] = readFileSync(timeFile, "utf8").trim().split("\n").pop()!.split(" ").map(Number);
  return {
    status: child.status ?? -1,
    seconds,
    maxRssMb: maxRssKb! / 1024,
    cpuSeconds: user! + sys!,
    stdout: child.stdout,
    stderr: child.stderr,
  };
}

async function main(): Promise<void> {
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(" ");
  const build = spawnSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" });
  if (build.status !== 0) throw new Error("node scripts/build.mjs failed");
  const cli = join(process.cwd(), "packages/cli/bin/popwatch.mjs");
  const dir = mkdtempSync(join(tmpdir(), "popwatch-bench-atlas-"));
  try {
    const resultsFile = join(dir, "atlas-dns.jsonl");
    const probesFile = join(dir, "probes.json");
    let t0 = performance.now();
    writeResultsFile(resultsFile);
    writeProbeArchive(probesFile);
    const size = statSync(resultsFile).size;
    console.log(
      `node ${process.version}; ${RESULTS} Atlas DNS results from ${PROBES} probes × ${MEASUREMENTS.length} measurements over a day, ` +
        `${fmt(size / 2 ** 20, 1)} MB of JSON lines (avg ${fmt(size / RESULTS, 0)} B), generated in ${fmt((performance.now() - t0) / 1000, 1)} s; load ${load()}`,
    );

    const parse = await parseFloor(resultsFile);
    if (parse.lines !== RESULTS) throw new Error(`parse floor read ${parse.lines} lines`);
    const dataDir = join(dir, "data");
    const imported = runImport(cli, dataDir, resultsFile, probesFile);
    process.stdout.write(imported.stdout);
    process.stderr.write(imported.stderr);
    if (imported.status !== 0) throw new Error(`popwatch import exited ${imported.status}`);

    const embedded = await startEmbeddedStore({ dataDir });
    t0 = performance.now();
    const groups = await itemsByPrefix(embedded.client, embedded.store.tableName);
    await embedded.close();
    const items = [...groups.values()].reduce((sum, g) => sum + g.items, 0);
    const floorSeconds = await storeFloor(dir, groups);
    console.log(`load after: ${load()}`);
    console.log(
      `items written: ${items} (${[...groups].map(([prefix, g]) => `${prefix || "(none)"} ${g.items} of avg ${fmt(g.bytes / g.items, 0)} B`).join(", ")})`,
    );
    console.log(
      "| results | import (s) | results/s | peak RSS (MB) | CPU (s) | items written | parse floor (s, results/s) | store floor: same items bare (s) | import / (parse + store floor) |",
    );
    console.log("|---|---|---|---|---|---|---|---|---|");
    console.log(
      `| ${RESULTS} | ${fmt(imported.seconds, 1)} | ${fmt(RESULTS / imported.seconds, 0)} | ${fmt(imported.maxRssMb, 0)} | ${fmt(imported.cpuSeconds, 1)} | ${items} | ` +
        `${fmt(parse.seconds, 1)}, ${fmt(RESULTS / parse.seconds, 0)} | ${fmt(floorSeconds, 1)} | ${fmt(imported.seconds / (parse.seconds + floorSeconds), 2)} |`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// GENERATE_ONLY=DIR: only write DIR/atlas-dns.jsonl and DIR/probes.json (to profile the import by hand).
if (process.env.GENERATE_ONLY) {
  writeResultsFile(join(process.env.GENERATE_ONLY, "atlas-dns.jsonl"));
  writeProbeArchive(join(process.env.GENERATE_ONLY, "probes.json"));
} else await main();
