// Results per second into the embedded store (dynalite on LevelDB, in-process,
// as `popwatch run` uses it), and DynamoDB items written per probe. One batch
// = one invocation of 40 series × 6 rounds (240 results), written as the agent
// writes them, then the minute rollups rebuilt with hour/day cascade.
// Anchor, same run, same store: BatchWriteItem of the same number of
// equally-sized items straight through the SDK client (no keys, no
// validation, no series index): what dynalite itself allows.
//
// Run from the repository root: node bench/run.mjs store-throughput  [env: INVOCATIONS=20]
import { type AttributeValue, BatchWriteItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ProbeKind } from "@popwatch/core";
import { startEmbeddedStore, type StoredResult } from "@popwatch/store";
import { fmt } from "./support/stats";

const INVOCATIONS = Number(process.env.INVOCATIONS ?? "20");
const KINDS: ProbeKind[] = ["dns", "tcp", "tls", "http"];
const TARGETS = 10;
const ROUNDS = 6;

function invocationResults(minute: number): StoredResult[] {
  const results: StoredResult[] = [];
  const base = Date.parse("2026-11-01T00:00:00Z") + minute * 60_000;
  for (let round = 0; round < ROUNDS; round++) {
    const slotAt = new Date(base + round * 10_000).toISOString();
    for (let t = 0; t < TARGETS; t++) {
      for (const kind of KINDS) {
        const ok = (minute + round + t) % 17 !== 0;
        results.push({
          kind, target: `198.51.100.${t}:53`, address: `198.51.100.${t}`, port: 53, name: `target-${t}`, ok,
          startedAt: new Date(base + round * 10_000 + 3).toISOString(), slotAt,
          timings: { totalMs: 10 + ((round * 7 + t) % 40), rttMs: 9 }, failure: ok ? null : { code: "timeout", message: "no answer within 3000 ms" },
          pop: { id: ["fra", "ams", "lhr"][(t + round) % 3]!, source: "nsid", raw: "pop", iata: null },
          rcode: "NOERROR", answers: [{ name: "example.com", type: "A", class: "IN", ttl: 300, data: "198.51.100.10" }],
          region: "local", seq: results.length,
        } as StoredResult);
      }
    }
  }
  return results;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "popwatch-bench-store-"));
  const embedded = await startEmbeddedStore({ dataDir: dir });
  try {
    const { store, client } = embedded;
    let results = 0;
    let written = 0;
    const started = process.hrtime.bigint();
    for (let minute = 0; minute < INVOCATIONS; minute++) {
      const batch = invocationResults(minute);
      const report = await store.putResults({ region: "local", invocationId: `local#${minute}`, results: batch });
      written += report.items;
      results += batch.length;
    }
    const putSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const rollupStarted = process.hrtime.bigint();
    let rollupItems = 0;
    const from = "2026-11-01T00:00:00Z";
    const to = new Date(Date.parse(from) + INVOCATIONS * 60_000).toISOString();
    for (const series of await store.listSeries()) {
      const report = await store.rebuildRollups({ ...series, granularity: "minute", from, to, cascade: true });
      rollupItems += report.written.length;
    }
    const rollupSeconds = Number(process.hrtime.bigint() - rollupStarted) / 1e9;

    // Anchor: the same number of items of the same average size, straight to dynalite.
    const avgBytes = Math.round(JSON.stringify(invocationResults(0)).length / (TARGETS * KINDS.length * ROUNDS));
    const anchorStarted = process.hrtime.bigint();
    for (let i = 0; i < results; i += 25) {
      const items = Array.from({ length: Math.min(25, results - i) }, (_, j) => ({
        PutRequest: { Item: { pk: { S: `A#${(i + j) % 40}` }, sk: { S: String(i + j).padStart(8, "0") }, result: { S: "x".repeat(avgBytes) } } },
      }));
      await client.send(new BatchWriteItemCommand({ RequestItems: { popwatch: items } }));
    }
    const anchorSeconds = Number(process.hrtime.bigint() - anchorStarted) / 1e9;

    let items = 0;
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(new ScanCommand({
        TableName: "popwatch", Select: "COUNT", ExclusiveStartKey: startKey,
        FilterExpression: "NOT begins_with(pk, :a)", ExpressionAttributeValues: { ":a": { S: "A#" } },
      }));
      items += page.Count ?? 0;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    console.log(`node ${process.version}; ${INVOCATIONS} invocations × ${TARGETS * KINDS.length * ROUNDS} results (avg result ${avgBytes} B)`);
    console.log("| results | putResults results/s | raw BatchWriteItem items/s (anchor) | ratio | rollup rebuild (s, items) | items in table | items per probe |");
    console.log("|---|---|---|---|---|---|---|");
    console.log(
      `| ${results} | ${fmt(results / putSeconds, 0)} | ${fmt(results / anchorSeconds, 0)} | ${fmt(anchorSeconds / putSeconds, 2)} | ` +
        `${fmt(rollupSeconds, 2)}, ${rollupItems} | ${items} (raw+index ${written}) | ${fmt(items / results, 3)} |`,
    );
  } finally {
    await embedded.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
