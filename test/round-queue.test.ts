// Queued rounds without Lambda: the entries the scheduled invocation sends,
// the message format, and the SQS adapter through the real SDK client against
// a loopback endpoint that speaks SendMessageBatch.
import { SQSClient } from "@aws-sdk/client-sqs";
import { ROLLUP_SETTLE_MS, RoundMessageError, SqsRoundQueue, parseRoundMessage, roundQueueEntries, sqsRecordsOf } from "@popwatch/agent";
import { parseConfig } from "@popwatch/core";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SqsEndpoint, startSqsEndpoint } from "./support/sqs-endpoint";

const config = parseConfig({
  schedule: { rateMinutes: 1, roundsPerInvocation: 6, timeoutMs: 2000, dispatch: "queue" },
  targets: [{ name: "a", address: "127.0.0.1", probes: { tcp: { port: 9 } } }],
});
const SCHEDULED = "2026-11-22T10:00:00.000Z";
const T = Date.parse(SCHEDULED);

describe("round queue entries", () => {
  it("one entry per later round, delayed to its slot rounded up to a second", () => {
    const entries = roundQueueEntries(config, { region: "eu-west-1", scheduledAt: SCHEDULED, invocationId: "inv" }, T + 300);
    expect(entries.map((e) => [e.id, e.delaySeconds])).toEqual([
      ["r1", 10],
      ["r2", 20],
      ["r3", 30],
      ["r4", 40],
      ["r5", 50],
    ]);
    expect(entries.map((e) => parseRoundMessage(e.body))).toEqual(
      [1, 2, 3, 4, 5].map((round) => ({ v: 1, region: "eu-west-1", scheduledAt: SCHEDULED, invocationId: "inv", round })),
    );
  });

  it("a slot already passed is sent without delay; a round never starts before its slot", () => {
    const late = roundQueueEntries(config, { region: "r", scheduledAt: SCHEDULED, invocationId: "i" }, T + 25_000);
    expect(late.map((e) => e.delaySeconds)).toEqual([0, 0, 5, 15, 25]);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 59_999 }), (offset) => {
        const now = T + offset;
        for (const entry of roundQueueEntries(config, { region: "r", scheduledAt: SCHEDULED, invocationId: "i" }, now)) {
          const slot = T + Number(entry.id.slice(1)) * 10_000;
          expect(now + entry.delaySeconds * 1000).toBeGreaterThanOrEqual(Math.min(slot, now + 900_000));
          expect(now + entry.delaySeconds * 1000 - Math.max(slot, now)).toBeLessThan(1000);
        }
      }),
    );
  });

  it("queue dispatch is refused when the last round would wait longer than SQS allows", () => {
    expect(() =>
      parseConfig({ schedule: { rateMinutes: 20, roundsPerInvocation: 5, timeoutMs: 2000, dispatch: "queue" }, targets: config.targets }),
    ).toThrow(/schedule\.dispatch: "queue" delays the last round by 960 s, more than SQS allows \(900 s\)/);
    expect(() =>
      parseConfig({ schedule: { rateMinutes: 20, roundsPerInvocation: 4, timeoutMs: 2000, dispatch: "queue" }, targets: config.targets }),
    ).not.toThrow();
    expect(() =>
      parseConfig({ schedule: { rateMinutes: 30, roundsPerInvocation: 2, timeoutMs: 2000, dispatch: "queue" }, targets: config.targets }),
    ).not.toThrow();
  });
});

describe("round messages", () => {
  it("names the field that is off", () => {
    const good = { v: 1, region: "r", scheduledAt: SCHEDULED, invocationId: "i", round: 2 };
    expect(() => parseRoundMessage("{")).toThrow(/not JSON/);
    expect(() => parseRoundMessage(JSON.stringify({ ...good, v: 2 }))).toThrow(/version 2/);
    expect(() => parseRoundMessage(JSON.stringify({ ...good, region: "" }))).toThrow(/region is missing/);
    expect(() => parseRoundMessage(JSON.stringify({ ...good, scheduledAt: "yesterday" }))).toThrow(/scheduledAt "yesterday"/);
    expect(() => parseRoundMessage(JSON.stringify({ ...good, round: 0 }))).toThrow(/round 0/);
    expect(() => parseRoundMessage(JSON.stringify({ ...good, round: 1.5 }))).toThrow(/round 1.5/);
  });

  it("any body either parses or throws RoundMessageError (fuzz)", () => {
    const body = fc.oneof(
      fc.string(),
      fc.json(),
      fc
        .record({
          v: fc.constantFrom(1, 2, "1"),
          region: fc.string(),
          scheduledAt: fc.string(),
          invocationId: fc.string(),
          round: fc.anything(),
        })
        .map((o) => JSON.stringify(o)),
    );
    fc.assert(
      fc.property(body, (text) => {
        try {
          const message = parseRoundMessage(text);
          expect(Number.isInteger(message.round) && message.round >= 1).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(RoundMessageError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("recognises SQS events and nothing else", () => {
    expect(sqsRecordsOf({ Records: [{ eventSource: "aws:sqs", messageId: "m1", body: "{}" }] })).toEqual([{ messageId: "m1", body: "{}" }]);
    expect(sqsRecordsOf({ source: "aws.events", "detail-type": "Scheduled Event" })).toBeNull();
    expect(sqsRecordsOf({ Records: [] })).toBeNull();
    expect(sqsRecordsOf({ Records: [{ eventSource: "aws:sns", messageId: "m1", body: "{}" }] })).toBeNull();
    expect(ROLLUP_SETTLE_MS).toBeLessThan(10_000);
  });
});

describe("SqsRoundQueue with the real SQS client", () => {
  let endpoint: SqsEndpoint;
  let client: SQSClient;
  const queueUrl = "https://sqs.eu-west-1.amazonaws.com/123456789012/popwatch-prod-probe-rounds";

  beforeAll(async () => {
    endpoint = await startSqsEndpoint();
    client = new SQSClient({
      endpoint: endpoint.url,
      region: "eu-west-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    client?.destroy();
    await endpoint?.close();
  });

  const entriesOf = (rounds: number, invocationId: string) =>
    roundQueueEntries(
      { schedule: { ...config.schedule, roundsPerInvocation: rounds, rateMinutes: 1 } },
      { region: "r", scheduledAt: SCHEDULED, invocationId },
      T,
    );

  it("sends in batches of ten with each entry's delay", async () => {
    endpoint.sent = [];
    const before = endpoint.requests;
    const queue = new SqsRoundQueue({ client, queueUrl, sleep: async () => {} });
    const entries = entriesOf(12, "batches");
    expect(await queue.send(entries)).toEqual([]);
    expect(endpoint.requests - before).toBe(2);
    expect(endpoint.sent.map((m) => [m.id, m.delaySeconds, m.queueUrl])).toEqual(entries.map((e) => [e.id, e.delaySeconds, queueUrl]));
  });

  it("sends failed entries again, gives up at once on sender faults, and survives 500s", async () => {
    endpoint.sent = [];
    endpoint.failEntry = (entry, attempt) => {
      if (entry.id === "r2" && attempt === 1) return { senderFault: false, code: "InternalError", message: "try again" };
      if (entry.id === "r3") return { senderFault: true, code: "InvalidParameterValue", message: "bad" };
      return null;
    };
    endpoint.failNextRequests = 1;
    const waits: number[] = [];
    const queue = new SqsRoundQueue({ client, queueUrl, attempts: 4, backoffMs: 50, sleep: async (ms) => void waits.push(ms) });
    const failures = await queue.send(entriesOf(6, "faults"));
    expect(failures).toEqual([{ round: 3, code: "InvalidParameterValue", message: "bad" }]);
    expect(endpoint.sent.map((m) => m.id).sort()).toEqual(["r1", "r2", "r4", "r5"]);
    expect(waits).toEqual([50, 100]);
    endpoint.failEntry = () => null;
  });

  it("an unreachable queue is reported per round, not thrown", async () => {
    const dead = new SQSClient({
      endpoint: "http://127.0.0.1:9",
      region: "eu-west-1",
      credentials: { accessKeyId: "t", secretAccessKey: "t" },
      maxAttempts: 1,
    });
    const queue = new SqsRoundQueue({ client: dead, queueUrl, attempts: 2, sleep: async () => {} });
    const failures = await queue.send(entriesOf(3, "unreachable"));
    expect(failures.map((f) => f.round)).toEqual([1, 2]);
    expect(failures.every((f) => f.code.length > 0 && f.message.length > 0)).toBe(true);
    dead.destroy();
  });
});
