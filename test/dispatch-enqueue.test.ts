// runScheduled's report of queued rounds when the queue itself throws.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RoundQueue, runScheduled } from "@popwatch/agent";
import { parseConfig } from "@popwatch/core";
import { type EmbeddedStore, startEmbeddedStore } from "@popwatch/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let dataDir: string;
let embedded: EmbeddedStore;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "popwatch-dispatch-"));
  embedded = await startEmbeddedStore({ dataDir });
});
afterAll(async () => {
  await embedded?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe("runScheduled with a queue that throws", () => {
  it("reports no round as enqueued and fails the invocation", async () => {
    const config = parseConfig({
      schedule: { rateMinutes: 1, roundsPerInvocation: 6, timeoutMs: 500, dispatch: "queue" },
      targets: [{ name: "closed", address: "127.0.0.1", probes: { tcp: { port: 9 } } }],
    });
    const scheduledMs = Date.parse("2026-11-22T10:00:00.000Z");
    const offered: number[] = [];
    const queue: RoundQueue = {
      send: async (entries) => {
        offered.push(entries.length);
        throw new Error("queue endpoint gone");
      },
    };
    const summary = await runScheduled({
      config,
      region: "eu-west-1",
      scheduledAt: scheduledMs,
      store: embedded.store,
      queue,
      remainingMs: () => 60_000,
      now: () => scheduledMs + 100,
      logger: () => {},
    });
    expect(offered).toEqual([5]);
    expect(summary.rounds).toBe(1);
    expect(summary.errors.filter((e) => e.stage === "enqueue")).toHaveLength(1);
    expect(summary.enqueuedRounds).toBe(0);
  });
});
