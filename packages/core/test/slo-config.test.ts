// The `slos` config section (defaults, cross-checks against targets, paths in
// every message) and OpenSLO v1 documents mapped onto it.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { parseConfig } from "../src/index";
import { parseSlo } from "../src/slo/model";
import { parseOpenSlo } from "../src/slo/openslo";
import { configIssues } from "./support/config-issues";

const examples = fileURLToPath(new URL("../../../examples/", import.meta.url));
const sampleYaml = readFileSync(`${examples}openslo-slo.yaml`, "utf8");
const anycastDns = JSON.parse(readFileSync(`${examples}anycast-dns.json`, "utf8")) as Record<string, unknown>;

const targets = [
  { name: "edge", address: "127.0.0.1", probes: { dns: {}, tcp: {} } },
  { name: "web", address: "::1", probes: { http: { scheme: "http" } } },
];
const availability = { name: "edge-up", target: "edge", sli: { type: "availability" }, objective: 0.999 };

const issuesOf = configIssues;

describe("slos in the config", () => {
  it("defaults to none, and fills each SLO's defaults", () => {
    expect(parseConfig({ targets }).slos).toEqual([]);
    const [slo] = parseConfig({ targets, slos: [availability] }).slos;
    expect(slo).toEqual({
      name: "edge-up",
      target: "edge",
      sli: { type: "availability" },
      objective: 0.999,
      period: "30d",
      scopes: ["region", "pooled"],
      minEvents: 30,
      exhaustionRule: false,
    });
  });

  it("accepts a percentage string as the objective, as the same number", () => {
    expect(parseSlo({ ...availability, objective: "99.9%" }).objective).toBe(0.999);
    expect(parseSlo({ ...availability, objective: "99.95 %" }).objective).toBe(0.9995);
  });

  const cases: [string, unknown[], RegExp][] = [
    ["unknown target", [{ ...availability, target: "edgy" }], /^slos\.0\.target: no target named "edgy" \(targets: edge, web\)$/],
    [
      "kind the target does not probe",
      [{ ...availability, kinds: ["dns", "http"] }],
      /^slos\.0\.kinds\.1: target "edge" does not probe http \(it probes dns, tcp\)$/,
    ],
    [
      "duplicate name",
      [availability, { ...availability, target: "web" }],
      /^slos\.1\.name: duplicate SLO name "edge-up" \(also slos\.0\.name\)$/,
    ],
    ["objective of 1", [{ ...availability, objective: 1 }], /^slos\.0\.objective: must be between 0 and 1 exclusive/],
    ["objective of 100%", [{ ...availability, objective: "100%" }], /^slos\.0\.objective: must be between 0 and 1 exclusive/],
    ["objective not a number", [{ ...availability, objective: true }], /^slos\.0\.objective: must be between 0 and 1 exclusive/],
    ["unknown key", [{ ...availability, objectve: 0.99 }], /^slos\.0\.objectve: unknown key$/],
    ["latency without threshold", [{ ...availability, sli: { type: "latency" } }], /^slos\.0\.sli\.thresholdMs: /],
    ["unknown SLI type", [{ ...availability, sli: { type: "throughput" } }], /^slos\.0\.sli\.type: /],
    ["empty kinds", [{ ...availability, kinds: [] }], /^slos\.0\.kinds: /],
    ["duplicate scope", [{ ...availability, scopes: ["region", "region"] }], /^slos\.0\.scopes\.1: duplicate scope "region"$/],
    ["unknown period", [{ ...availability, period: "90d" }], /^slos\.0\.period: /],
    ["negative minEvents", [{ ...availability, minEvents: -1 }], /^slos\.0\.minEvents: /],
  ];
  for (const [what, slos, expected] of cases) {
    it(`rejects ${what}, naming the field`, () => {
      const issues = issuesOf(() => parseConfig({ targets, slos }));
      expect(
        issues.some((issue) => expected.test(issue)),
        issues.join("\n"),
      ).toBe(true);
    });
  }
});

describe("parseOpenSlo", () => {
  const sample = () => YAML.parse(sampleYaml) as Record<string, any>;

  it("maps the sample OpenSLO document", () => {
    expect(parseOpenSlo(sample())).toEqual({
      name: "cloudflare-dns-latency",
      target: "cloudflare-dns",
      kinds: ["dns", "tcp"],
      sli: { type: "latency", thresholdMs: 50 },
      objective: 0.995,
      period: "28d",
      scopes: ["region", "pooled"],
      minEvents: 30,
      exhaustionRule: false,
    });
  });

  it("the mapped SLO is valid in the example config it refers to", () => {
    const config = parseConfig({ ...anycastDns, slos: [parseOpenSlo(sample())] });
    expect(config.slos[0]?.target).toBe("cloudflare-dns");
  });

  it("reads targetPercent exactly, and an availability SLI", () => {
    const doc = sample();
    doc.spec.objectives = [{ targetPercent: 99.95 }];
    doc.spec.indicator.spec.ratioMetric.good.metricSource.spec = { target: "cloudflare-dns", kinds: ["dns", "tcp"], sli: "availability" };
    doc.spec.timeWindow = [{ duration: "4w", isRolling: true }];
    expect(parseOpenSlo(doc)).toMatchObject({ objective: 0.9995, sli: { type: "availability" }, period: "28d" });
  });

  const ratio = "spec.indicator.spec.ratioMetric";
  const rejections: [string, (doc: Record<string, any>) => void, RegExp][] = [
    ["Timeslices budgeting", (d) => (d.spec.budgetingMethod = "Timeslices"), /^spec\.budgetingMethod: Timeslices cannot be mapped/],
    [
      "a calendar window",
      (d) => (d.spec.timeWindow = [{ duration: "1M", calendar: { startTime: "2020-01-01 00:00:00", timeZone: "UTC" }, isRolling: false }]),
      /^spec\.timeWindow\.0\.isRolling: calendar-aligned windows cannot be mapped/,
    ],
    [
      "a 90d window",
      (d) => (d.spec.timeWindow = [{ duration: "90d", isRolling: true }]),
      /^spec\.timeWindow\.0\.duration: expected 7d, 28d or 30d/,
    ],
    [
      "a thresholdMetric",
      (d) => (d.spec.indicator.spec = { thresholdMetric: { metricSource: { type: "popwatch", spec: {} } } }),
      /^spec\.indicator\.spec\.thresholdMetric: cannot be mapped/,
    ],
    [
      "a bad/total ratio",
      (d) => (d.spec.indicator.spec.ratioMetric.bad = d.spec.indicator.spec.ratioMetric.good),
      new RegExp(`^${ratio}\\.bad: cannot be mapped`),
    ],
    [
      "another metric source",
      (d) => (d.spec.indicator.spec.ratioMetric.good.metricSource = { type: "Prometheus", spec: { query: "up" } }),
      new RegExp(`^${ratio}\\.good\\.metricSource\\.type: expected "popwatch"`),
    ],
    [
      "total naming another target",
      (d) => (d.spec.indicator.spec.ratioMetric.total.metricSource.spec.target = "k-root"),
      new RegExp(`^${ratio}\\.total\\.metricSource\\.spec\\.target: must name the same target as good`),
    ],
    [
      "an unknown SLI",
      (d) => (d.spec.indicator.spec.ratioMetric.good.metricSource.spec.sli = "throughput"),
      new RegExp(`^${ratio}\\.good\\.metricSource\\.spec\\.sli: expected "availability" or "latency"`),
    ],
    [
      "a latency SLI without threshold",
      (d) => delete d.spec.indicator.spec.ratioMetric.good.metricSource.spec.thresholdMs,
      new RegExp(`^${ratio}\\.good\\.metricSource\\.spec\\.thresholdMs: `),
    ],
    [
      "an unknown kind",
      (d) => {
        d.spec.indicator.spec.ratioMetric.good.metricSource.spec.kinds = ["dns", "icmp"];
        d.spec.indicator.spec.ratioMetric.total.metricSource.spec.kinds = ["dns", "icmp"];
      },
      new RegExp(`^${ratio}\\.good\\.metricSource\\.spec\\.kinds\\.1: `),
    ],
    ["an objective of 1", (d) => (d.spec.objectives = [{ target: 1 }]), /^spec\.objectives\.0\.target: must be between 0 and 1 exclusive/],
    ["two objectives", (d) => d.spec.objectives.push({ target: 0.9 }), /^spec\.objectives: expected a list with exactly one objective/],
    ["a threshold objective", (d) => (d.spec.objectives[0].op = "lt"), /^spec\.objectives\.0\.op: cannot be mapped/],
    ["alert policies", (d) => (d.spec.alertPolicies = [{ kind: "AlertPolicy" }]), /^spec\.alertPolicies: cannot be mapped/],
    [
      "an indicatorRef",
      (d) => {
        d.spec.indicatorRef = "sli";
        delete d.spec.indicator;
      },
      /^spec\.indicatorRef: cannot be mapped/,
    ],
    ["a bad name", (d) => (d.metadata.name = "has spaces"), /^metadata\.name: expected 1–63 letters/],
    ["another kind of document", (d) => (d.kind = "SLI"), /^kind: expected "SLO"/],
    ["another API version", (d) => (d.apiVersion = "openslo/v2alpha"), /^apiVersion: expected "openslo\/v1"/],
    ["an unknown spec key", (d) => (d.spec.budgetMethod = "Occurrences"), /^spec\.budgetMethod: unknown key$/],
  ];
  for (const [what, mutate, expected] of rejections) {
    it(`rejects ${what}, naming the path`, () => {
      const doc = sample();
      mutate(doc);
      const issues = issuesOf(() => parseOpenSlo(doc));
      expect(
        issues.some((issue) => expected.test(issue)),
        issues.join("\n"),
      ).toBe(true);
    });
  }

  it("rejects what is not a document at all", () => {
    expect(issuesOf(() => parseOpenSlo("apiVersion: openslo/v1"))).toEqual([
      ': expected an OpenSLO document (an object), got "apiVersion: openslo/v1"',
    ]);
    expect(issuesOf(() => parseOpenSlo(null))).toEqual([": expected an OpenSLO document (an object), got null"]);
  });
});
