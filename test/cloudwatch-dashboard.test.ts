// The home stack's CloudWatch dashboard, synthesized offline like
// test/stacks.test.ts, checked against what the functions emit: the metrics
// are not restated here but produced by running the handlers' own metric
// functions (core's probeRoundRecords and evaluationRecords, published as EMF
// lines by the agent's Powertools publisher) over results for every configured
// region, target and kind, and an evaluation with a firing alert. Every metric
// the dashboard graphs must be one of those series (namespace, name, dimension
// names, and the dimension values it names); every SEARCH must find some.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { powertoolsEmfPublisher } from "@popwatch/agent";
import {
  type AlertState,
  type AlertTransition,
  PROBE_CLOUDWATCH_METRICS,
  PROBE_KINDS,
  type PopwatchConfig,
  type PopwatchConfigInput,
  type RegionalResult,
  evaluationRecords,
  parseConfig,
  probeRoundRecords,
  roundIntervalMs,
} from "@popwatch/core";
import { Template } from "aws-cdk-lib/assertions";
import { App } from "sst/constructs";
import { initProject } from "sst/project.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dashboardName } from "../stacks/dashboard";
import { addPopwatchStacks } from "../stacks/index";
import { type EmfSeries, emfSeries, parseEmf, seriesShape } from "./support/emf";

const ACCOUNT = "123456789012";
const HOME = "eu-west-1";
const REGIONS = ["eu-west-1", "us-east-1", "ap-southeast-2"];
const CONFIG: PopwatchConfigInput = {
  homeRegion: HOME,
  regions: REGIONS,
  targets: [
    { name: "cf-resolver", address: "1.1.1.1", probes: { dns: { chaos: ["id.server"] }, tcp: {} } },
    { name: "edge", address: "151.101.1.57", hostname: "www.example.org", probes: { http: { path: "/health" } } },
  ],
  slos: [{ name: "dns-availability", target: "cf-resolver", kinds: ["dns"], sli: { type: "availability" }, objective: 0.999 }],
};

let dir: string;
let config: PopwatchConfig;
let body: { widgets: Widget[] };
let emitted: EmfSeries[];

interface Widget {
  type: string;
  properties: { title?: string; region?: string; metrics?: unknown[][] };
}

/** What the functions would print for this config: two rounds of results per region, target and kind, and one evaluation. */
function emittedByTheFunctions(cfg: PopwatchConfig): EmfSeries[] {
  const lines: string[] = [];
  const emf = powertoolsEmfPublisher({ write: (line) => lines.push(line) });
  const slot = Date.now() - 10 * 60_000;
  const interval = roundIntervalMs(cfg.schedule);
  for (const region of cfg.regions) {
    let memory = new Map<string, { pop: string; slotMs: number }>();
    for (const [n, pop] of ["fra", "ams"].entries()) {
      const at = new Date(slot + n * interval).toISOString();
      const results = cfg.targets.flatMap((target) =>
        PROBE_KINDS.filter((kind) => target.probes[kind] !== undefined).flatMap((kind): RegionalResult[] => {
          const base = {
            kind,
            target: `${target.address}:53`,
            address: target.address,
            port: 53,
            name: target.name,
            startedAt: at,
            slotAt: at,
            region,
          };
          return [
            {
              ...base,
              ok: true,
              timings: { totalMs: 12 },
              pop: { id: pop, source: "nsid", raw: pop, iata: pop },
              failure: null,
              // A DNS answer retried over TCP after TC=1, so ProbeTruncated is emitted too.
              ...(kind === "dns" ? { truncated: true, tcpFallback: true } : {}),
            },
            { ...base, ok: false, timings: { totalMs: 2000 }, pop: null, failure: { code: "timeout", message: "no answer" } },
          ] as RegionalResult[];
        }),
      );
      const out = probeRoundRecords(results, memory, { roundIntervalMs: interval });
      memory = out.memory;
      emf.publish(out.records);
    }
  }
  const slo = cfg.slos[0]!.name;
  const firing = { slo, severity: "page", scope: HOME, status: "firing", startedAt: new Date(slot).toISOString() } as AlertState;
  const transition = {
    id: "t",
    slo,
    severity: "page",
    scope: HOME,
    from: "inactive",
    to: "firing",
    at: firing.startedAt,
    suppressedBy: null,
  };
  emf.publish(
    evaluationRecords({
      endMs: slot,
      scopes: ["pooled", ...cfg.regions].map((scope) => ({
        slo,
        scope,
        evaluation: { burnRates: { "5m": 20, "1h": 15, "6h": 3, "30d": 1 } as never, budgetRemaining: 0.4 },
      })),
      plan: { next: [firing], transitions: [transition as unknown as AlertTransition] },
    }),
  );
  return emfSeries(parseEmf(lines.join("")));
}

/** The dashboard body as CloudFormation will hand it to CloudWatch (the stack's own region filled in). */
function dashboardBody(template: Template): { widgets: Widget[] } {
  const dashboards = Object.values(template.findResources("AWS::CloudWatch::Dashboard")) as {
    Properties: { DashboardName: string; DashboardBody: unknown };
  }[];
  expect(dashboards).toHaveLength(1);
  expect(dashboards[0]!.Properties.DashboardName).toBe(dashboardName("popwatch", "test"));
  const resolve = (part: unknown): string => {
    if (typeof part === "string") return part;
    if (JSON.stringify(part) === JSON.stringify({ Ref: "AWS::Region" })) return HOME;
    const join = (part as { "Fn::Join"?: [string, unknown[]] })["Fn::Join"];
    if (join) return join[1].map(resolve).join(join[0]);
    throw new Error(`unexpected token in the dashboard body: ${JSON.stringify(part)}`);
  };
  return JSON.parse(resolve(dashboards[0]!.Properties.DashboardBody)) as { widgets: Widget[] };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "popwatch-dashboard-"));
  config = parseConfig(CONFIG);
  writeFileSync(join(dir, "popwatch.config.json"), JSON.stringify(CONFIG));
  await initProject({ stage: "test", region: HOME });
  const app = new App({ mode: "deploy", stage: "test", name: "popwatch", region: HOME, account: ACCOUNT });
  const stacks = await addPopwatchStacks(app, config, {
    handler: "test/fixtures/probe-handler.handler",
    evaluateHandler: "test/fixtures/evaluate-handler.handler",
  });
  body = dashboardBody(Template.fromStack(stacks.evaluate!));
  emitted = emittedByTheFunctions(config);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A metric row of a graph widget: [namespace, name, dim, value, ..., {options}], or [{expression, ...}]. */
type Row = (string | Record<string, unknown>)[];

function rows(): { widget: string; row: Row }[] {
  return body.widgets.flatMap((w) => (w.properties.metrics ?? []).map((row) => ({ widget: w.properties.title ?? "", row: row as Row })));
}

describe("CloudWatch dashboard", () => {
  it("is in the home stack, laid out as the executive and on-call views", () => {
    const titles = body.widgets.map((w) => w.properties.title ?? (w.properties as { markdown?: string }).markdown?.split("\n")[0]);
    expect(titles).toEqual([
      "## Executive",
      "Availability by region",
      "Latency p95 by region and kind (ms)",
      "SLO burn rate (1h, 6h)",
      "Incidents opened",
      "## On-call",
      "Answers per PoP",
      "Failures by class",
      "Recent failovers (PoP changes)",
      "Availability by target and kind",
      "Truncated DNS answers (TC=1)",
    ]);
  });

  it("every plain metric is a series the functions emit, read from the region that emits it", () => {
    const plain = rows().filter(({ row }) => typeof row[0] === "string");
    expect(plain.length).toBeGreaterThan(0);
    const shapes = new Set(emitted.map((s) => seriesShape(s.namespace, s.name, Object.keys(s.dimensions))));
    const keyed = new Set(emitted.map((s) => JSON.stringify([s.namespace, s.name, Object.entries(s.dimensions).sort()])));
    for (const { widget, row } of plain) {
      const options = (typeof row.at(-1) === "object" ? row.at(-1) : {}) as { region?: string; stat?: string };
      const [namespace, name, ...rest] = row.filter((c): c is string => typeof c === "string");
      const dims: [string, string][] = [];
      for (let i = 0; i < rest.length; i += 2) dims.push([rest[i]!, rest[i + 1]!]);
      const dimensions = Object.fromEntries(dims);
      expect(shapes, widget).toContain(seriesShape(namespace!, name!, Object.keys(dimensions)));
      expect(keyed, `${widget}: ${JSON.stringify(row)}`).toContain(JSON.stringify([namespace, name, dims.sort()]));
      // A probe region's metrics live in that region's CloudWatch; CDK leaves the dashboard's own region implicit.
      const region = options.region ?? HOME;
      if (dimensions.Region !== undefined) expect(region, widget).toBe(dimensions.Region);
      else expect(region, widget).toBe(HOME);
    }
  });

  it("every SEARCH names an emitted dimension set exactly and finds emitted series", () => {
    const searches = rows().filter(({ row }) => typeof row[0] === "object" && "expression" in (row[0] as object));
    expect(searches.length).toBeGreaterThan(0);
    for (const { widget, row } of searches) {
      const { expression, region } = row[0] as { expression: string; region?: string };
      const m = /^SEARCH\('\{([^}]*)\} MetricName="([^"]+)"((?: \w+="[^"]*")*)', '(\w+)', (\d+)\)$/.exec(expression);
      expect(m, expression).not.toBeNull();
      const [namespace, ...names] = m![1]!.split(",");
      const filter = Object.fromEntries([...m![3]!.matchAll(/(\w+)="([^"]*)"/g)].map((f) => [f[1]!, f[2]!]));
      const found = emitted.filter(
        (s) =>
          s.namespace === namespace &&
          s.name === m![2] &&
          seriesShape("", "", Object.keys(s.dimensions)) === seriesShape("", "", names) &&
          Object.entries(filter).every(([k, v]) => s.dimensions[k] === v),
      );
      expect(found.length, `${widget}: ${expression}`).toBeGreaterThan(0);
      if (filter.Region !== undefined) expect(region ?? HOME, widget).toBe(filter.Region);
    }
  });

  it("graphs every probe metric the functions publish", () => {
    const graphed = new Set(
      rows().flatMap(({ row }) =>
        typeof row[0] === "string" ? [row[1] as string] : [/MetricName="([^"]+)"/.exec((row[0] as { expression: string }).expression)![1]!],
      ),
    );
    for (const metric of Object.values(PROBE_CLOUDWATCH_METRICS)) expect(graphed).toContain(metric.name);
    expect(graphed).toContain("BurnRate");
    expect(graphed).toContain("AlertTransitions");
  });
});
