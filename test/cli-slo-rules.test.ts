// popwatch slo rules --format prometheus, checked by the real promtool
// (Debian's prometheus 2.42): `check rules` accepts the file, and `test rules`
// fires exactly the alerts popwatch's own evaluator fires on the same counts.
// Each scenario is a probe_slo_good sample sequence (one sample a minute per
// vantage); the test counts every rule window the way Prometheus 2.x selects
// a range (samples at T − W through T, both ends included: checked by
// promql_expr_test on the event-count records), feeds those counts to
// evaluateSlo, and writes promtool's expected alerts from its answer.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  type EventCounts,
  SLO_ALERT_NAME,
  type SloConfigInput,
  type SloEvaluation,
  WINDOW_MS,
  type WindowName,
  alertRulesFor,
  evaluateSlo,
  parseConfig,
  poolCounts,
} from "@popwatch/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { main } from "../packages/cli/src/index";
import { captureIo } from "./support/capture-io";

const run = promisify(execFile);
const PROMTOOL = "/usr/bin/promtool";
const MINUTE = 60_000;

const SLOS: SloConfigInput[] = [
  { name: "edge-30d", target: "edge", sli: { type: "availability" }, objective: 0.99, period: "30d", minEvents: 30 },
  { name: "edge-28d", target: "edge", sli: { type: "availability" }, objective: 0.995, period: "28d", minEvents: 0 },
  { name: "edge-7d", target: "edge", sli: { type: "availability" }, objective: 0.99, period: "7d", minEvents: 0, scopes: ["pooled"] },
];

const CONFIG = {
  regions: ["eu-west-1"],
  targets: [{ name: "edge", address: "127.0.0.1", probes: { tcp: { port: 443 } } }],
  slos: SLOS,
};

/** One sample a minute from minute 0 to `minutes`; 1 good, 0 bad, null no sample (a failed scrape). */
type Samples = (0 | 1 | null)[];

function samples(minutes: number, bad: Iterable<number>, missing: Iterable<number> = []): Samples {
  const values: Samples = Array.from({ length: minutes + 1 }, () => 1);
  for (const i of bad) values[i] = 0;
  for (const i of missing) values[i] = null;
  return values;
}

const range = (from: number, to: number, step = 1) => Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, k) => from + k * step);

/** promtool's expanding notation: a run of one value as `VxN` (N + 1 samples), a gap of N scrapes as `_xN` (N, not N + 1). */
function promtoolValues(values: Samples): string {
  const parts: string[] = [];
  let i = 0;
  while (i < values.length) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[i]) j++;
    const run = j - i + 1;
    if (values[i] === null) parts.push(run === 1 ? "_" : `_x${run}`);
    else parts.push(run === 1 ? String(values[i]) : `${values[i]}x${run - 1}`);
    i = j + 1;
  }
  return parts.join(" ");
}

/** Counts in the range [T − W, T] (Prometheus 2.x includes both ends). */
function countsIn(values: Samples, evalMinute: number, window: WindowName): EventCounts {
  const from = evalMinute - WINDOW_MS[window] / MINUTE;
  let bad = 0;
  let total = 0;
  values.forEach((v, minute) => {
    if (v === null || minute < from || minute > evalMinute) return;
    total++;
    if (v === 0) bad++;
  });
  return { bad, total };
}

interface Scenario {
  name: string;
  slo: string;
  /** Minutes: a multiple of 6 hours (promtool evaluates the rules every 6h, fewer steps over 3-day series). */
  evalMinute: number;
  vantages: Record<string, Samples>;
  /** What the scenario is built to show, checked against popwatch's evaluator (not against Prometheus). */
  intent: (evaluations: Map<string, SloEvaluation>) => void;
}

// 30d at 99 %: page 1h/5m above 0.144, minEvents 30. eu: 9 bad minutes of 61 (0.1475) → page; us: 8 (0.131) → quiet; pooled 17/122 (0.139) → quiet.
const justAboveAndBelowPage: Scenario = {
  name: "30d page: one bad minute above 14.4× (eu) and one below (us, pooled)",
  slo: "edge-30d",
  evalMinute: 360,
  vantages: { eu: samples(360, range(352, 360)), us: samples(360, range(353, 360)) },
  intent: (e) => {
    // Six hours of history are all of 1d and 3d too, so tickets fire as well: only the pages are the point here.
    const pages = (scope: string) => e.get(scope)!.firing.filter((f) => f.severity === "page");
    expect(pages("eu").map((f) => f.long)).toEqual(["1h"]);
    expect(pages("us")).toEqual([]);
    expect(pages("pooled")).toEqual([]);
  },
};

// The minEvents guard: the last 15 minutes fail; eu scrapes every 3 minutes (21 events in 1h, held back), us every 2 (31 events, fires).
const minEventsGuard: Scenario = {
  name: "30d page held back below minEvents 30 (eu: 21 events in 1h) and firing above it (us: 31)",
  slo: "edge-30d",
  evalMinute: 1440,
  vantages: {
    eu: samples(
      1440,
      range(1425, 1440, 3),
      range(0, 1440).filter((m) => m % 3 !== 0),
    ),
    us: samples(
      1440,
      range(1426, 1440, 2),
      range(0, 1440).filter((m) => m % 2 !== 0),
    ),
  },
  intent: (e) => {
    const page1h = (scope: string) => e.get(scope)!.rules.find((r) => r.severity === "page" && r.long === "1h")!;
    expect(page1h("eu")).toMatchObject({ status: "held_back", longEvents: 21 });
    expect(page1h("us")).toMatchObject({ status: "firing", longEvents: 31 });
    // No other page pair fires for eu, so without the guard Prometheus would page where popwatch does not.
    expect(e.get("eu")!.firing.filter((f) => f.severity === "page")).toEqual([]);
  },
};

// 7d at 99 %: the 3d/6h ticket has factor 1. 300 events in 6h with 3 bad and 4200 in 3d with 42 bad is a burn of exactly 1 in both.
const sevenDayBad = [...range(200, 3810, 95), 4060, 4180, 4300];
const sevenDayMissing = [...range(100, 159), ...range(3961, 4021)];
const burnExactlyOne: Scenario = {
  name: "7d: a burn rate of exactly 1 in 3d and 6h does not fire the factor-1 ticket",
  slo: "edge-7d",
  evalMinute: 4320,
  vantages: { eu: samples(4320, sevenDayBad, sevenDayMissing) },
  intent: (e) => {
    expect(e.get("pooled")!.burnRates).toMatchObject({ "3d": 1, "6h": 1 });
    expect(e.get("pooled")!.firing).toEqual([]);
  },
};
const burnJustAboveOne: Scenario = {
  name: "7d: one bad minute more and the factor-1 ticket fires",
  slo: "edge-7d",
  evalMinute: 4320,
  vantages: { eu: samples(4320, [...sevenDayBad, 4310], sevenDayMissing) },
  intent: (e) => expect(e.get("pooled")!.firing).toEqual([{ severity: "ticket", long: "3d", short: "6h", factor: 1 }]),
};

// 28d at 99.5 %: ticket 1d/2h above 0.014. 21 bad of 1441 in 1d (0.01457) fires; 20 (0.01388) does not; 3d stays below 1× (21/4321).
const twentyEightDay = (bad: number): Scenario => ({
  name: `28d: ${bad} bad minutes in a day ${bad > 20 ? "fire" : "do not fire"} the 2.8× ticket`,
  slo: "edge-28d",
  evalMinute: 4320,
  vantages: { us: samples(4320, [...range(2880, 2880 + 68 * (bad - 3), 68), 4260, 4300]) },
  intent: (e) => {
    for (const scope of ["us", "pooled"]) {
      expect(e.get(scope)!.firing).toEqual(bad > 20 ? [{ severity: "ticket", long: "1d", short: "2h", factor: 2.8 }] : []);
    }
  },
});

const SCENARIOS = [justAboveAndBelowPage, minEventsGuard, burnExactlyOne, burnJustAboveOne, twentyEightDay(21), twentyEightDay(20)];

let dir: string;
let rulesYaml: string;

async function sloRules(...argv: string[]) {
  const c = captureIo();
  const code = await main(["slo", "rules", ...argv], c.io);
  return { code, out: c.out, err: c.err };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-slo-rules-"));
  await writeFile(join(dir, "popwatch.config.json"), JSON.stringify(CONFIG));
  const r = await sloRules(
    "--format",
    "prometheus",
    "--config",
    join(dir, "popwatch.config.json"),
    "--runbook-url",
    "https://runbooks.example/slo",
  );
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  rulesYaml = r.out;
  await writeFile(join(dir, "rules.yaml"), rulesYaml);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface AlertRule {
  alert: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** popwatch's answer for a scenario: evaluations per region and pooled, and the alerts promtool must see. */
function expected(scenario: Scenario) {
  const slo = parseConfig(CONFIG).slos.find((s) => s.name === scenario.slo)!;
  const windows = [...new Set(alertRulesFor(slo.period).flatMap((r) => [r.long, r.short])), slo.period];
  const perVantage = Object.entries(scenario.vantages).map(([vantage, values]) => ({
    vantage,
    counts: Object.fromEntries(windows.map((w) => [w, countsIn(values, scenario.evalMinute, w)])) as Record<WindowName, EventCounts>,
  }));
  const evaluate = (counts: Partial<Record<WindowName, EventCounts>>) =>
    evaluateSlo({ objective: slo.objective, period: slo.period, counts, minEvents: slo.minEvents });
  const evaluations = new Map<string, SloEvaluation>();
  const scopes: { scope: string; labels: Record<string, string>; counts: Record<WindowName, EventCounts> }[] = [];
  if (slo.scopes.includes("region")) {
    for (const v of perVantage) scopes.push({ scope: v.vantage, labels: { scope: "region", vantage: v.vantage }, counts: v.counts });
  }
  if (slo.scopes.includes("pooled")) {
    const pooled = Object.fromEntries(windows.map((w) => [w, poolCounts(perVantage.map((v) => v.counts[w]))])) as Record<
      WindowName,
      EventCounts
    >;
    scopes.push({ scope: "pooled", labels: { scope: "pooled" }, counts: pooled });
  }
  const alertRules = (parse(rulesYaml) as { groups: { name: string; rules: AlertRule[] }[] }).groups
    .find((g) => g.name === `popwatch-slo-${slo.name}`)!
    .rules.filter((r) => r.alert !== undefined);
  const alerts: { exp_labels: Record<string, string>; exp_annotations: Record<string, string> }[] = [];
  for (const s of scopes) {
    const evaluation = evaluate(s.counts);
    evaluations.set(s.scope, evaluation);
    for (const severity of new Set(evaluation.firing.map((f) => f.severity))) {
      const rule = alertRules.find((r) => r.labels.severity === severity && r.labels.scope === s.labels.scope)!;
      alerts.push({ exp_labels: { ...rule.labels, ...s.labels }, exp_annotations: rule.annotations });
    }
  }
  return { slo, windows, scopes, evaluations, alerts };
}

describe("popwatch slo rules --format prometheus", () => {
  it("writes a rule file promtool check rules accepts: recording and alert groups per SLO, only configured scopes", async () => {
    const { stdout } = await run(PROMTOOL, ["check", "rules", join(dir, "rules.yaml")]);
    expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
    expect(rulesYaml.startsWith("# Generated by popwatch slo rules from ")).toBe(true);
    const groups = (parse(rulesYaml) as { groups: { name: string; rules: { record?: string; labels: Record<string, string> }[] }[] })
      .groups;
    expect(groups.map((g) => g.name)).toEqual(SLOS.map((s) => `popwatch-slo-${s.name}`));
    const scopesOf = (name: string) => new Set(groups.find((g) => g.name === name)!.rules.map((r) => r.labels.scope));
    expect(scopesOf("popwatch-slo-edge-7d")).toEqual(new Set(["pooled"]));
    expect(scopesOf("popwatch-slo-edge-30d")).toEqual(new Set(["region", "pooled"]));
  });

  it("--help shows the usage; without SLOs the file has no groups and says why", async () => {
    const help = await sloRules("--help");
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^Usage: popwatch slo rules --format prometheus/);
    const top = captureIo();
    await main(["slo", "--help"], top.io);
    expect(top.out).toMatch(/\n {2}rules\s+Prometheus recording and alerting rules/);
    const empty = join(dir, "empty.json");
    await writeFile(empty, JSON.stringify({ ...CONFIG, slos: [] }));
    const r = await sloRules("--format", "prometheus", "--config", empty);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^# Generated by popwatch slo rules from .*\n# The configuration has no slos: no rules\.\n/);
    expect(parse(r.out)).toEqual({ groups: [] });
  });

  it("an SLO with the exhaustion rule gets a comment saying it is not generated", async () => {
    const file = join(dir, "exhaustion.json");
    await writeFile(file, JSON.stringify({ ...CONFIG, slos: [{ ...SLOS[0], exhaustionRule: true }] }));
    const r = await sloRules("--format", "prometheus", "--config", file);
    expect(r.code).toBe(0);
    expect(r.out.split("\n")[1]).toMatch(/^# SLO edge-30d: exhaustionRule .* is not generated/);
  });

  const usage: [string, string[], RegExp][] = [
    ["no --format", [], /--format is required/],
    ["another format", ["--format", "sloth"], /--format: expected prometheus, got "sloth"/],
    ["a runbook URL that is not one", ["--format", "prometheus", "--runbook-url", "runbooks"], /--runbook-url: not a URL/],
    ["an unknown flag", ["--format", "prometheus", "--alerts"], /--alerts/],
  ];
  for (const [what, args, message] of usage) {
    it(`exits 2 naming the problem for ${what}`, async () => {
      const r = await sloRules(...args);
      expect(r.code).toBe(2);
      expect(r.out).toBe("");
      expect(r.err).toMatch(message);
    });
  }

  it("exits 2 for an invalid configuration, naming the field", async () => {
    const file = join(dir, "invalid.json");
    await writeFile(file, JSON.stringify({ ...CONFIG, slos: [{ ...SLOS[0], period: "90d" }] }));
    const r = await sloRules("--format", "prometheus", "--config", file);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toMatch(/^popwatch slo rules: .*invalid\.json.*\n.*slos\.0\.period/s);
  });

  it("promtool test rules: Prometheus fires exactly what popwatch's evaluator fires, scenario by scenario", async () => {
    const tests = SCENARIOS.map((scenario) => {
      expect(scenario.evalMinute % 360).toBe(0);
      const { scopes, windows, evaluations, alerts } = expected(scenario);
      scenario.intent(evaluations);
      const evalTime = `${scenario.evalMinute}m`;
      const ruleWindows = windows.filter((w) => w !== expected(scenario).slo.period);
      return {
        name: scenario.name,
        interval: "1m",
        input_series: Object.entries(scenario.vantages).map(([vantage, values]) => ({
          series: `probe_slo_good{slo="${scenario.slo}", vantage="${vantage}"}`,
          values: promtoolValues(values),
        })),
        // The counting model behind popwatch's expectations is Prometheus's own: every window's event count matches.
        promql_expr_test: ruleWindows.map((w) => ({
          expr: `slo:sli_events:count${w}{slo="${scenario.slo}"}`,
          eval_time: evalTime,
          exp_samples: scopes.map((s) => ({
            labels: `slo:sli_events:count${w}{${Object.entries({ slo: scenario.slo, ...s.labels })
              .map(([k, v]) => `${k}="${v}"`)
              .join(", ")}}`,
            value: s.counts[w].total,
          })),
        })),
        alert_rule_test: [{ eval_time: evalTime, alertname: SLO_ALERT_NAME, exp_alerts: alerts }],
      };
    });
    const firing = tests.reduce((n, t) => n + t.alert_rule_test[0]!.exp_alerts.length, 0);
    expect(firing).toBeGreaterThan(0);
    await writeFile(join(dir, "tests.yaml"), stringify({ rule_files: ["rules.yaml"], evaluation_interval: "6h", tests }));
    const result = await run(PROMTOOL, ["test", "rules", "tests.yaml"], { cwd: dir }).then(
      ({ stdout }) => ({ code: 0, output: stdout }),
      (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, output: `${err.stdout}${err.stderr}` }),
    );
    expect(result.output).toMatch(/SUCCESS/);
    expect(result.code, result.output).toBe(0);
  }, 60_000);
});
