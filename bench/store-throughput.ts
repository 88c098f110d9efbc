// Results per second into the embedded store (dynalite on LevelDB, in-process,
// as `popwatch run` uses it), and DynamoDB items written per probe. One batch
// = one invocation of 40 series × 6 rounds (240 results), written as the agent
// writes them (one putResults per round: one packed item each), then the
// region's minutes rolled up with the hour/day cascade (store v2: one item
// per region and period). Anchor, same run, same store: BatchWriteItem of as
// many items of the same size, one request per item as putResults sends
// them, straight through the SDK client (no keys, no validation, no
// compression, no series index): what dynalite itself allows.
//
// Run from the repository root: node bench/run.mjs store-throughput  [env: INVOCATIONS=20]

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AttributeValue, BatchWriteItemCommand, type DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import type { ProbeKind } from "@popwatch/core";
import { type StoredResult, startEmbeddedStore } from "@popwatch/store";
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
          kind,
          target: `198.51.100.${t}:53`,
          address: `198.51.100.${t}`,
          port: 53,
          name: `target-${t}`,
          ok,
          startedAt: new Date(base + round * 10_000 + 3).toISOString(),
          slotAt,
          timings: { totalMs: 10 + ((round * 7 + t) % 40), rttMs: 9 },
          failure: ok ? null : { code: "timeout", message: "no answer within 3000 ms" },
          pop: { id: ["fra", "ams", "lhr"][(t + round) % 3]!, source: "nsid", raw: "pop", iata: null },
          rcode: "NOERROR",
          answers: [{ name: "example.com", type: "A", class: "IN", ttl: 300, data: "198.51.100.10" }],
          region: "local",
          seq: results.length,
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
    const started = process.hrtime.bigint();
    for (let minute = 0; minute < INVOCATIONS; minute++) {
      const batch = invocationResults(minute);
      for (let round = 0; round < ROUNDS; round++) {
        const roundResults = batch.slice(round * TARGETS * KINDS.length, (round + 1) * TARGETS * KINDS.length);
        await store.putResults({ region: "local", invocationId: `local#${minute}`, results: roundResults });
      }
      results += batch.length;
    }
    const putSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const raw = await scanItems(client, "R#");
    const rawBytes = raw.reduce((sum, item) => sum + (item.data?.B?.length ?? 0), 0);

    const rollupStarted = process.hrtime.bigint();
    const from = "2026-11-01T00:00:00Z";
    const to = new Date(Date.parse(from) + INVOCATIONS * 60_000).toISOString();
    let rollupItems = 0;
    for (const region of await store.listRegions()) {
      rollupItems += (await store.rollUp({ region, granularity: "minute", from, to, cascade: true })).items.written;
    }
    const rollupSeconds = Number(process.hrtime.bigint() - rollupStarted) / 1e9;

    // Anchor: as many items of the same average size, one request each as putResults sends them, straight to dynalite.
    const avgItemBytes = Math.round(rawBytes / raw.length);
    const anchorStarted = process.hrtime.bigint();
    for (let i = 0; i < raw.length; i++) {
      const item = { pk: { S: `A#${i % 40}` }, sk: { S: String(i).padStart(8, "0") }, data: { B: new Uint8Array(avgItemBytes).fill(i) } };
      await client.send(new BatchWriteItemCommand({ RequestItems: { popwatch: [{ PutRequest: { Item: item } }] } }));
    }
    const anchorSeconds = Number(process.hrtime.bigint() - anchorStarted) / 1e9;

    const all = (await scanItems(client, "")).filter((item) => !item.pk?.S?.startsWith("A#"));
    const avgJson = Math.round(JSON.stringify(invocationResults(0)).length / (TARGETS * KINDS.length * ROUNDS));
    console.log(
      `node ${process.version}; ${INVOCATIONS} invocations × ${ROUNDS} rounds × ${TARGETS * KINDS.length} results ` +
        `(avg result ${avgJson} B as JSON, ${fmt(rawBytes / results, 1)} B packed; ${raw.length} raw items of avg ${avgItemBytes} B)`,
    );
    console.log(
      "| results | putResults results/s | putResults items/s | raw BatchWriteItem items/s (anchor) | ratio (items/s) | rollup (s, items) | items in table | items per probe |",
    );
    console.log("|---|---|---|---|---|---|---|---|");
    console.log(
      `| ${results} | ${fmt(results / putSeconds, 0)} | ${fmt(raw.length / putSeconds, 0)} | ${fmt(raw.length / anchorSeconds, 0)} | ${fmt(anchorSeconds / putSeconds, 2)} | ` +
        `${fmt(rollupSeconds, 2)}, ${rollupItems} | ${all.length} | ${fmt(all.length / results, 4)} |`,
    );
  } finally {
    await embedded.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function scanItems(client: DynamoDBClient, prefix: string): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: "popwatch",
        ExclusiveStartKey: startKey,
        ...(prefix === "" ? {} : { FilterExpression: "begins_with(pk, :p)", ExpressionAttributeValues: { ":p": { S: prefix } } }),
      }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

await main();
