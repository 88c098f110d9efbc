import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { NotifyError, createSinks, deliver } from "../src/index";
import { type PagerDutyEvent, type SlackMessage, pagerDutyDedupKey } from "../src/sinks/formats";
import { StdoutSink } from "../src/sinks/stdout";
import { WebhookSink } from "../src/sinks/webhook";
import { type WebhookReceiver, firingAndResolved, recordingRuntime, startWebhookReceiver } from "./support/fixtures";

let receiver: WebhookReceiver;
beforeAll(async () => {
  receiver = await startWebhookReceiver();
});
afterAll(async () => {
  await receiver.close();
});
beforeEach(() => {
  receiver.requests.length = 0;
});

const RETRY = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 5000, maxElapsedMs: 20_000 };

describe("webhook sinks", () => {
  it("json: posts the notification itself, with configured headers", async () => {
    const { firing } = firingAndResolved();
    const sink = new WebhookSink({ url: receiver.url, headers: { "x-team": "net", "content-type": "text/plain" }, id: "sinks.1" });
    const [outcome] = await deliver([firing], [sink], { retry: RETRY, runtime: recordingRuntime() });
    expect(outcome).toMatchObject({ ok: true, attempts: 1, status: 200, sinkId: "sinks.1" });
    const [request] = receiver.requests;
    expect(request!.method).toBe("POST");
    expect(request!.url).toBe("/hooks/secret-path");
    expect(request!.headers["content-type"]).toBe("application/json");
    expect(request!.headers["x-team"]).toBe("net");
    expect(request!.body).toEqual(firing);
    // The description must not leak the secret path.
    expect(sink.description).not.toContain("secret-path");
  });

  it("slack: a text fallback and header, section and context blocks", async () => {
    const { firing, resolved } = firingAndResolved(["eu-west-1", "us-east-1"]);
    const sink = new WebhookSink({ url: receiver.url, format: "slack" });
    await deliver([firing, resolved], [sink], { retry: RETRY, runtime: recordingRuntime() });
    const [fired, cleared] = receiver.requests.map((r) => r.body as SlackMessage);
    expect(fired!.text).toBe(
      "[FIRING] checkout (page) in eu-west-1, us-east-1: burn rate 21.5× over 1h (threshold 14.4×), 62% of the error budget left",
    );
    expect(fired!.blocks.map((b) => b.type)).toEqual(["header", "section", "context"]);
    expect(fired!.blocks[0]).toEqual({ type: "header", text: { type: "plain_text", text: "FIRING: checkout (page)" } });
    const section = (fired!.blocks[1] as { text: { type: string; text: string } }).text;
    expect(section.type).toBe("mrkdwn");
    expect(section.text.split("\n")).toEqual([
      `*eu-west-1* burn 21.5× over 1h (5m: 30×, threshold 14.4×), budget 62% left, since ${firing.startedAt}`,
      `*us-east-1* burn 21.5× over 1h (5m: 30×, threshold 14.4×), budget 62% left, since ${firing.startedAt}`,
    ]);
    expect(JSON.stringify(fired!.blocks[2])).toContain("popwatch report --slo checkout");
    expect(cleared!.text).toBe("[RESOLVED] checkout (page) in eu-west-1, us-east-1");
  });

  it("pagerduty: Events v2 trigger, then resolve once nothing of the group fires", async () => {
    const { firing, resolved } = firingAndResolved(["eu-west-1"]);
    const sink = new WebhookSink({ url: receiver.url, format: "pagerduty", routingKey: "R0UT1NGKEY" });
    await deliver([firing, resolved], [sink], { retry: RETRY, runtime: recordingRuntime() });
    const [trigger, resolve] = receiver.requests.map((r) => r.body as PagerDutyEvent);
    expect(trigger).toEqual({
      routing_key: "R0UT1NGKEY",
      event_action: "trigger",
      dedup_key: "popwatch/checkout/page",
      payload: {
        summary: "[FIRING] checkout (page) in eu-west-1: burn rate 21.5× over 1h (threshold 14.4×), 62% of the error budget left",
        source: "popwatch",
        severity: "critical",
        timestamp: firing.at,
        component: "checkout",
        custom_details: firing,
      },
    });
    expect(resolve).toMatchObject({ event_action: "resolve", dedup_key: "popwatch/checkout/page" });
    const ticket = firingAndResolved(["eu-west-1"], "ticket").firing;
    expect((sink.body(ticket) as PagerDutyEvent).payload.severity).toBe("warning");
    // A resolve while another region of the group still fires keeps the incident open.
    expect((sink.body({ ...resolved, active: ["us-east-1"] }) as PagerDutyEvent).event_action).toBe("trigger");
    expect(pagerDutyDedupKey(ticket)).toBe("popwatch/checkout/ticket");
  });

  it("retries 429 no sooner than Retry-After asks", async () => {
    const { firing } = firingAndResolved();
    receiver.script({ status: 429, headers: { "retry-after": "2" } });
    const runtime = recordingRuntime();
    const [outcome] = await deliver([firing], [new WebhookSink({ url: receiver.url })], { retry: RETRY, runtime });
    expect(outcome).toMatchObject({ ok: true, attempts: 2 });
    expect(runtime.waits).toEqual([2000]);
    expect(receiver.requests).toHaveLength(2);
  });

  it("retries 5xx, then reports http_5xx when the budget is spent", async () => {
    const { firing } = firingAndResolved();
    receiver.script({ status: 502 }, { status: 503 }, { status: 500 });
    const [outcome] = await deliver([firing], [new WebhookSink({ url: receiver.url })], { retry: RETRY, runtime: recordingRuntime() });
    expect(outcome).toMatchObject({ ok: false, code: "http_5xx", retryable: true, attempts: 3, status: 500 });
  });

  it("does not retry a 400", async () => {
    const { firing } = firingAndResolved();
    receiver.script({ status: 400, body: '{"status":"invalid event"}' });
    const [outcome] = await deliver([firing], [new WebhookSink({ url: receiver.url })], { retry: RETRY, runtime: recordingRuntime() });
    expect(outcome).toMatchObject({ ok: false, code: "http_4xx", retryable: false, attempts: 1, status: 400 });
    expect(receiver.requests).toHaveLength(1);
  });

  it("times out a slow receiver within its timeout", async () => {
    const { firing } = firingAndResolved();
    receiver.script({ delayMs: 3000, status: 200 }, { delayMs: 3000, status: 200 });
    const started = performance.now();
    const [outcome] = await deliver([firing], [new WebhookSink({ url: receiver.url, timeoutMs: 250 })], {
      retry: { ...RETRY, maxAttempts: 2 },
      runtime: recordingRuntime(),
    });
    expect(outcome).toMatchObject({ ok: false, code: "timeout", retryable: true, attempts: 2 });
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("reads a huge response body only up to the cap", async () => {
    const { firing } = firingAndResolved();
    receiver.script({ status: 200, hugeBody: 512 * 1024 * 1024 });
    const started = performance.now();
    const [outcome] = await deliver([firing], [new WebhookSink({ url: receiver.url, maxResponseBytes: 64 * 1024 })], {
      retry: RETRY,
      runtime: recordingRuntime(),
    });
    expect(outcome).toMatchObject({ ok: true, attempts: 1 });
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it("refuses a request body over the cap without sending it, and sends one under it", async () => {
    const { firing } = firingAndResolved(Array.from({ length: 40 }, (_, i) => `region-${i}`));
    const body = JSON.stringify(firing);
    const capped = new WebhookSink({ url: receiver.url, maxRequestBytes: Buffer.byteLength(body) - 1 });
    const [refused] = await deliver([firing], [capped], { retry: RETRY, runtime: recordingRuntime() });
    expect(refused).toMatchObject({ ok: false, code: "invalid_notification", retryable: false, attempts: 1 });
    expect(receiver.requests).toHaveLength(0);
    const roomy = new WebhookSink({ url: receiver.url, maxRequestBytes: Buffer.byteLength(body) });
    const [sent] = await deliver([firing], [roomy], { retry: RETRY, runtime: recordingRuntime() });
    expect(sent).toMatchObject({ ok: true });
    expect(receiver.requests).toHaveLength(1);
    expect(() => new WebhookSink({ url: receiver.url, maxRequestBytes: 0 })).toThrow(NotifyError);
  });

  it("reports a refused connection", async () => {
    const closed = await startWebhookReceiver();
    const url = closed.url;
    await closed.close();
    const { firing } = firingAndResolved();
    const [outcome] = await deliver([firing], [new WebhookSink({ url })], {
      retry: { ...RETRY, maxAttempts: 1 },
      runtime: recordingRuntime(),
    });
    expect(outcome).toMatchObject({ ok: false, code: "connect_refused", retryable: true, attempts: 1 });
  });

  it("refuses to build a sink that cannot work", () => {
    expect(() => new WebhookSink({ url: "ftp://127.0.0.1/x" })).toThrow(NotifyError);
    expect(() => new WebhookSink({ url: "not a url" })).toThrow(NotifyError);
    expect(() => new WebhookSink({ url: receiver.url, format: "pagerduty" })).toThrowError(
      expect.objectContaining({ code: "sink_invalid" }),
    );
    const { firing } = firingAndResolved();
    const twins = [new StdoutSink({ id: "x" }), new StdoutSink({ id: "x" })];
    return expect(deliver([firing], twins)).rejects.toMatchObject({ code: "options_invalid" });
  });

  it("stdout writes one JSON line per notification; createSinks numbers sinks by position", async () => {
    const lines: string[] = [];
    const sinks = createSinks(
      [
        { type: "stdout" },
        { type: "webhook", url: receiver.url, format: "json", timeoutMs: 1000 },
        { type: "eventbridge", busName: "default" },
      ],
      { write: (line) => void lines.push(line), homeRegion: "eu-west-1" },
    );
    expect(sinks.map((s) => [s.id, s.description])).toEqual([
      ["sinks.0", "stdout"],
      ["sinks.1", `webhook json ${new URL(receiver.url).origin}`],
      ["sinks.2", "eventbridge default"],
    ]);
    const { firing } = firingAndResolved();
    const outcomes = await deliver([firing], sinks.slice(0, 2), { retry: RETRY, runtime: recordingRuntime() });
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith("\n")).toBe(true);
    expect(JSON.parse(lines[0]!)).toEqual({ source: "popwatch", "detail-type": "Popwatch Burn-Rate Alert Firing", detail: firing });
  });
});
