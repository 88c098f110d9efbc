import { alertEventDetailSchema } from "@popwatch/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type EventBridgeEndpoint, startEventBridgeEndpoint } from "../../../test/support/eventbridge-endpoint";
import { DETAIL_TYPE_FIRING, DETAIL_TYPE_RESOLVED, EVENT_SOURCE, deliver } from "../src/index";
import { EventBridgeSink } from "../src/sinks/eventbridge";
import { eventBridgeClient, firingAndResolved, recordingRuntime } from "./support/fixtures";

let endpoint: EventBridgeEndpoint;
beforeAll(async () => {
  endpoint = await startEventBridgeEndpoint();
});
afterAll(async () => {
  await endpoint.close();
});
beforeEach(async () => {
  await endpoint.start();
  endpoint.events.length = 0;
  endpoint.requests.length = 0;
  endpoint.rejected.length = 0;
});

const RETRY = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000, maxElapsedMs: 10_000 };

function sink(timeoutMs = 2000): EventBridgeSink {
  return new EventBridgeSink({ client: eventBridgeClient(endpoint.endpoint), busName: "popwatch-alerts", id: "sinks.0", timeoutMs });
}

describe("EventBridgeSink with the real SDK client", () => {
  it("puts one event per notification: source, detail types, the detail as validated JSON", async () => {
    const { firing, resolved } = firingAndResolved();
    const outcomes = await deliver([firing, resolved], [sink()], { retry: RETRY, runtime: recordingRuntime() });
    expect(outcomes.map((o) => [o.notificationId, o.ok, o.attempts, o.status])).toEqual([
      [firing.notificationId, true, 1, 200],
      [resolved.notificationId, true, 1, 200],
    ]);
    expect(endpoint.rejected).toEqual([]);
    expect(endpoint.events.map((e) => [e.Source, e.DetailType, e.EventBusName])).toEqual([
      [EVENT_SOURCE, DETAIL_TYPE_FIRING, "popwatch-alerts"],
      [EVENT_SOURCE, DETAIL_TYPE_RESOLVED, "popwatch-alerts"],
    ]);
    expect(endpoint.events[0]!.Detail).toEqual(firing);
    expect(alertEventDetailSchema.safeParse(endpoint.events[1]!.Detail).success).toBe(true);
    expect(endpoint.events[0]!.Time).toBe(Date.parse(firing.at) / 1000);
    expect(DETAIL_TYPE_FIRING).toBe("Popwatch Burn-Rate Alert Firing");
    expect(DETAIL_TYPE_RESOLVED).toBe("Popwatch Burn-Rate Alert Resolved");
  });

  it("treats a failed entry (FailedEntryCount > 0) as retryable, and succeeds on the retry", async () => {
    const { firing } = firingAndResolved();
    endpoint.script({ kind: "fail-entries", errorCode: "InternalFailure" });
    const runtime = recordingRuntime();
    const [outcome] = await deliver([firing], [sink()], { retry: RETRY, runtime });
    expect(outcome).toMatchObject({ ok: true, attempts: 2 });
    expect(runtime.waits).toHaveLength(1);
    expect(endpoint.requests.map((r) => r.behaviour)).toEqual(["fail-entries", "ok"]);
    expect(endpoint.events).toHaveLength(1);
  });

  it("reports a throttled entry as throttled", async () => {
    const { firing } = firingAndResolved();
    endpoint.script(...Array.from({ length: 4 }, () => ({ kind: "fail-entries" as const, errorCode: "ThrottlingException" })));
    const [outcome] = await deliver([firing], [sink()], { retry: RETRY, runtime: recordingRuntime() });
    expect(outcome).toMatchObject({ ok: false, code: "throttled", retryable: true, attempts: 4 });
  });

  it("retries 500s until the endpoint answers", async () => {
    const { firing } = firingAndResolved();
    endpoint.script({ kind: "status", status: 500 }, { kind: "status", status: 503, errorType: "ServiceUnavailableException" });
    const runtime = recordingRuntime();
    const [outcome] = await deliver([firing], [sink()], { retry: RETRY, runtime });
    expect(outcome).toMatchObject({ ok: true, attempts: 3 });
    // Full jitter with random() = 0.5: half of 100, then half of 200.
    expect(runtime.waits).toEqual([50, 100]);
    expect(endpoint.events).toHaveLength(1);
  });

  it("gives up after the attempt budget with the last failure's code", async () => {
    const { firing } = firingAndResolved();
    endpoint.script(...Array.from({ length: 4 }, () => ({ kind: "fail-entries" as const })));
    const [outcome] = await deliver([firing], [sink()], { retry: RETRY, runtime: recordingRuntime() });
    expect(outcome).toMatchObject({ ok: false, code: "eventbridge_failed_entry", retryable: true, attempts: 4 });
    expect(endpoint.events).toEqual([]);
  });

  it("does not retry a client fault", async () => {
    const { firing } = firingAndResolved();
    endpoint.script({ kind: "status", status: 400, errorType: "ResourceNotFoundException" });
    const [outcome] = await deliver([firing], [sink()], { retry: RETRY, runtime: recordingRuntime() });
    expect(outcome).toMatchObject({ ok: false, code: "aws_rejected", retryable: false, attempts: 1, status: 400 });
  });

  it("classifies a refused connection and a hung endpoint", async () => {
    const { firing } = firingAndResolved();
    await endpoint.stop();
    const [refused] = await deliver([firing], [sink()], { retry: { ...RETRY, maxAttempts: 2 }, runtime: recordingRuntime() });
    expect(refused).toMatchObject({ ok: false, code: "connect_refused", retryable: true, attempts: 2 });
    await endpoint.start();
    endpoint.script({ kind: "hang" });
    const started = performance.now();
    const [hung] = await deliver([firing], [sink(300)], { retry: { ...RETRY, maxAttempts: 1 }, runtime: recordingRuntime() });
    expect(hung).toMatchObject({ ok: false, code: "timeout", retryable: true, attempts: 1 });
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("refuses a notification that does not match the detail schema, without sending it", async () => {
    const { firing } = firingAndResolved();
    const [outcome] = await deliver([{ ...firing, severity: "critical" as never }], [sink()], {
      retry: RETRY,
      runtime: recordingRuntime(),
    });
    expect(outcome).toMatchObject({ ok: false, code: "invalid_notification", attempts: 0 });
    expect((outcome as { detail: string }).detail).toMatch(/^severity: /);
    expect(endpoint.requests).toEqual([]);
  });
});
