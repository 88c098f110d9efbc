import { describe, expect, it } from "vitest";
import { parseConfig } from "../src/index";
import { configIssues } from "./support/config-issues";

const minimal = { targets: [{ name: "k-root", address: "193.0.14.129", probes: { dns: {} } }] };

const issuesOf = (alerting: unknown) => configIssues(() => parseConfig({ ...minimal, alerting }));

describe("alerting config", () => {
  it("defaults to a 4-hour renotify and the stdout sink", () => {
    expect(parseConfig(minimal).alerting).toEqual({ renotifyMinutes: 240, maintenance: [], quorum: {}, sinks: [{ type: "stdout" }] });
  });

  it("fills sink defaults and keeps what is given", () => {
    const { alerting } = parseConfig({
      ...minimal,
      alerting: {
        renotifyMinutes: 0,
        quorum: { checkout: 2 },
        maintenance: [
          { start: "2025-03-01T02:00:00+01:00", end: "2025-03-01T03:00:00Z", regions: ["eu-west-1", "pooled"], reason: "BGP work" },
        ],
        sinks: [
          { type: "eventbridge" },
          { type: "webhook", url: "https://hooks.slack.com/services/T/B/x", format: "slack" },
          { type: "webhook", url: "http://127.0.0.1:8080/pd", format: "pagerduty", routingKey: "R0UT1NG", headers: { "x-team": "net" } },
        ],
      },
    });
    expect(alerting.sinks).toEqual([
      { type: "eventbridge" },
      { type: "webhook", url: "https://hooks.slack.com/services/T/B/x", format: "slack", timeoutMs: 5000 },
      {
        type: "webhook",
        url: "http://127.0.0.1:8080/pd",
        format: "pagerduty",
        routingKey: "R0UT1NG",
        headers: { "x-team": "net" },
        timeoutMs: 5000,
      },
    ]);
    expect(alerting.quorum).toEqual({ checkout: 2 });
    expect(alerting.renotifyMinutes).toBe(0);
  });

  const cases: [string, unknown, RegExp][] = [
    ["unknown key", { renotify: 5 }, /^alerting\.renotify: unknown key$/],
    [
      "window ends before it starts",
      { maintenance: [{ start: "2025-03-01T03:00:00Z", end: "2025-03-01T02:00:00Z" }] },
      /^alerting\.maintenance\.0\.end: must be later than start$/,
    ],
    [
      "window without a time zone",
      { maintenance: [{ start: "2025-03-01T02:00:00", end: "2025-03-01T03:00:00Z" }] },
      /^alerting\.maintenance\.0\.start: expected an ISO 8601 date-time with a time zone/,
    ],
    [
      "unknown key in a window",
      { maintenance: [{ start: "2025-03-01T02:00:00Z", end: "2025-03-01T03:00:00Z", region: ["x"] }] },
      /^alerting\.maintenance\.0\.region: unknown key$/,
    ],
    [
      "bad region in a window",
      { maintenance: [{ start: "2025-03-01T02:00:00Z", end: "2025-03-01T03:00:00Z", regions: ["EU West"] }] },
      /^alerting\.maintenance\.0\.regions\.0: expected a region code/,
    ],
    [
      "pagerduty without routing key",
      { sinks: [{ type: "webhook", url: "https://events.pagerduty.com/v2/enqueue", format: "pagerduty" }] },
      /^alerting\.sinks\.0\.routingKey: is required when format is pagerduty$/,
    ],
    [
      "routing key on a slack sink",
      { sinks: [{ type: "webhook", url: "https://x.example/hook", format: "slack", routingKey: "k" }] },
      /^alerting\.sinks\.0\.routingKey: is only used with format pagerduty$/,
    ],
    [
      "ftp url",
      { sinks: [{ type: "webhook", url: "ftp://x.example/hook" }] },
      /^alerting\.sinks\.0\.url: expected an http:\/\/ or https:\/\/ URL$/,
    ],
    ["not a url", { sinks: [{ type: "webhook", url: "hooks" }] }, /^alerting\.sinks\.0\.url: expected an http:\/\/ or https:\/\/ URL$/],
    ["unknown sink type", { sinks: [{ type: "sns" }] }, /^alerting\.sinks\.0\.type: /],
    ["unknown sink key", { sinks: [{ type: "stdout", pretty: true }] }, /^alerting\.sinks\.0\.pretty: unknown key$/],
    [
      "bad header name",
      { sinks: [{ type: "webhook", url: "https://x.example/", headers: { "bad header": "1" } }] },
      /^alerting\.sinks\.0\.headers\.bad header: invalid header name$/,
    ],
    ["bad bus region", { sinks: [{ type: "eventbridge", region: "europe" }] }, /^alerting\.sinks\.0\.region: expected an AWS region code/],
    ["quorum of zero", { quorum: { checkout: 0 } }, /^alerting\.quorum\.checkout: Too small/],
    ["negative renotify", { renotifyMinutes: -1 }, /^alerting\.renotifyMinutes: Too small/],
  ];
  it.each(cases)("%s names the field", (_name, alerting, message) => {
    const issues = issuesOf(alerting);
    expect(
      issues.some((issue) => message.test(issue)),
      issues.join("\n"),
    ).toBe(true);
  });
});
