// popwatch exporter beside blackbox_exporter, both scraped by Debian's
// Prometheus with the scrape config the README prints (its YAML block, only
// the exporter's address replaced), probing the loopback NSD and nginx. Every
// assertion goes through Prometheus's HTTP API: the targets are up, the same
// PromQL answers for both jobs with the same labels, popwatch's own series
// name the PoP, and every panel of dashboards/*.json parses and returns data.
// The exporter runs with a store seeded by `popwatch import`, so the panels
// over its SLO, catchment and failover metrics have data too, and Prometheus
// loads the rules `popwatch slo rules --format prometheus` writes, as the
// README says to.
import { execFile } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { PROBE_INFO_METRICS, SCRAPE_LABELS, STORE_METRICS } from "@popwatch/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BlackboxHandle, blackboxDnsModule, blackboxHttpModule, blackboxTlsModule, startBlackbox } from "./support/blackbox";
import { type Daemon, addRunDir, findBinary, removeRunDir, spawnDaemon, stopDaemon, waitReady } from "./support/daemons";
import { type Dashboard, parseLabelValues, readDashboard, substituteVariables, variablesUsed } from "./support/grafana-dashboards";
import { LOOPBACK4 } from "./support/ports";
import { type PrometheusHandle, fastGlobalYaml, startPrometheus } from "./support/prometheus";
import { requireServer, skipUnless, useTestServers } from "./support/servers";

const execFileAsync = promisify(execFile);
const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
const POPWATCH_BIN = join(REPO_ROOT, "packages/cli/bin/popwatch.mjs");
const POPWATCH_BUNDLE = join(REPO_ROOT, "packages/cli/dist/popwatch.mjs");
const DASHBOARD_DIR = join(REPO_ROOT, "dashboards");

const servers = useTestServers();
const nsdSlot = skipUnless(servers.dns.nsd);
const nginxSlot = skipUnless(servers.nginx);
// Without Debian's prometheus and prometheus-blackbox-exporter the test is skipped with the reason, as for a
// missing DNS server; under CI=true it runs and fails on the missing binary instead.
const missingPeers = ["prometheus", "prometheus-blackbox-exporter"].filter((bin) => findBinary(bin) === null);
const peersNote = missingPeers.length > 0 && process.env.CI !== "true" ? ` [skipped: ${missingPeers.join(", ")} not found]` : "";
const skip = nsdSlot.skip || nginxSlot.skip || peersNote !== "";

/** The exporter's address as the README's scrape config spells it. */
const README_EXPORTER = /popwatch-exporter:\d+/g;

/** The README's "Prometheus and Grafana" scrape config, as printed. */
function readmeScrapeConfig(): string {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const section = readme.split(/^## /m).find((s) => s.startsWith("Prometheus and Grafana\n"));
  if (!section) throw new Error('README.md has no "Prometheus and Grafana" section');
  const blocks = [...section.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  const scrape = blocks.filter((b) => b.startsWith("scrape_configs:\n"));
  if (scrape.length !== 1) throw new Error(`expected one scrape_configs YAML block in the section, found ${scrape.length}`);
  return scrape[0]!;
}

/** Runs the built CLI to its end: its stdout, or an error with its exit code and stderr. */
async function popwatch(cwd: string, ...args: string[]): Promise<string> {
  try {
    return (await execFileAsync(process.execPath, [POPWATCH_BIN, ...args], { cwd, timeout: 60_000, maxBuffer: 16 << 20 })).stdout;
  } catch (err) {
    const failed = err as { code?: number; stderr?: string };
    throw new Error(`popwatch ${args.join(" ")} exited ${failed.code}: ${failed.stderr}`);
  }
}

const MINUTE = 60_000;

/** `popwatch import` lines: an hour of anycast-dns from two regions, eu-west-1 failing over dub → lhr with an outage between. */
function seedLines(nowMs: number): string[] {
  const lines: string[] = [];
  const minute = Math.floor(nowMs / MINUTE) * MINUTE;
  const add = (region: string, k: number, pop: string | null) => {
    const at = new Date(minute - k * MINUTE).toISOString();
    lines.push(
      JSON.stringify({
        kind: "dns",
        target: "127.0.0.1:53",
        address: "127.0.0.1",
        port: 53,
        name: "anycast-dns",
        ok: pop !== null,
        startedAt: at,
        timings: { totalMs: 2.5, rttMs: 2 },
        pop: pop === null ? null : { id: pop, source: "nsid", raw: pop, iata: pop },
        failure: pop === null ? { code: "timeout", message: "no answer within 2000 ms" } : null,
        region,
        time: at,
      }),
    );
  };
  for (let k = 1; k <= 60; k++) {
    add("us-east-1", k, "iad");
    if (k > 30) add("eu-west-1", k, "dub");
    else if (k > 25) add("eu-west-1", k, null);
    else add("eu-west-1", k, "lhr");
  }
  return lines;
}

describe.skipIf(skip)(`popwatch exporter and blackbox_exporter scraped by Prometheus${nsdSlot.note}${nginxSlot.note}${peersNote}`, () => {
  let dir: string;
  let exporter: Daemon;
  let exporterAddress: string;
  let blackbox: BlackboxHandle;
  let prometheus: PrometheusHandle;
  let dnsAddress: string;
  let httpsUrl: string;
  let tlsAddress: string;
  let rulesText: string;
  const nsid = servers.dns.nsd.available ? servers.dns.nsd.nsid : "";

  beforeAll(async () => {
    expect(existsSync(POPWATCH_BUNDLE), `${POPWATCH_BUNDLE} is missing: run node scripts/build.mjs first`).toBe(true);
    const nsd = requireServer(servers.dns.nsd);
    const nginx = requireServer(servers.nginx);
    dnsAddress = `${nsd.address}:${nsd.port}`;
    httpsUrl = `https://${nginx.address}:${nginx.httpsPort}/`;
    tlsAddress = `${nginx.address}:${nginx.httpsPort}`;

    dir = await mkdtemp(join(tmpdir(), "popwatch-exporter-prom-"));
    addRunDir(dir);
    const configFile = join(dir, "popwatch.config.json");
    await writeFile(
      configFile,
      JSON.stringify({
        targets: [
          // The README's target names, on the loopback servers.
          { name: "anycast-dns", address: nsd.address, probes: { dns: { port: nsd.port, qname: servers.records.a.name, qtype: "A" } } },
          {
            name: "front-door",
            address: nginx.address,
            hostname: nginx.host,
            probes: { http: { port: nginx.httpsPort, ca: [nginx.caPem] }, tls: { port: nginx.httpsPort, ca: [nginx.caPem] } },
          },
          // Failing on purpose, so the failure panels have data: NXDOMAIN (dns_rcode) and a 503 (http_status).
          { name: "broken-dns", address: nsd.address, probes: { dns: { port: nsd.port, qname: servers.records.missing, qtype: "A" } } },
          {
            name: "broken-http",
            address: nginx.address,
            hostname: nginx.host,
            probes: { http: { port: nginx.httpPort, scheme: "http", path: nginx.paths.fail } },
          },
        ],
        slos: [
          { name: "dns-availability", target: "anycast-dns", sli: { type: "availability" }, objective: 0.99 },
          { name: "front-door-fast", target: "front-door", kinds: ["http"], sli: { type: "latency", thresholdMs: 1000 }, objective: 0.99 },
          // Every event bad, and no low-rate guard: Prometheus's page alert from the generated rules fires within seconds.
          { name: "broken-http-availability", target: "broken-http", sli: { type: "availability" }, objective: 0.99, minEvents: 1 },
        ],
      }),
    );

    // The store the exporter reads its SLO state from: seeded before it starts.
    const dataDir = join(dir, "data");
    await writeFile(join(dir, "seed.jsonl"), `${seedLines(Date.now()).join("\n")}\n`);
    await popwatch(dir, "import", "--data-dir", dataDir, join(dir, "seed.jsonl"));

    // Port 0: the exporter picks a free port and prints where it listens.
    exporter = spawnDaemon(
      "popwatch-exporter",
      process.execPath,
      [POPWATCH_BIN, "exporter", "--config", configFile, "--listen", `${LOOPBACK4}:0`, "--data-dir", dataDir],
      dir,
    );
    await waitReady(
      exporter,
      "listening on … in its log",
      async () => {
        const listening = /listening on http:\/\/([\d.]+:\d+) /.exec(readFileSync(exporter.logFile, "utf8"));
        if (listening) exporterAddress = listening[1]!;
        return listening !== null && (await fetch(`http://${exporterAddress}/metrics`)).ok;
      },
      30_000,
    );

    blackbox = await startBlackbox({
      dns: blackboxDnsModule({ queryName: servers.records.a.name }),
      http: blackboxHttpModule({ caFile: nginx.caFile, serverName: nginx.host }),
      tls: blackboxTlsModule({ caFile: nginx.caFile, serverName: nginx.host }),
    });

    // The README's jobs as printed, then the same relabelling for blackbox_exporter
    // (addresses as targets) and for popwatch's failing targets.
    const relabel = (exporterAt: string) => [
      { source_labels: ["__address__"], target_label: "__param_target" },
      { source_labels: ["__param_target"], target_label: "instance" },
      { source_labels: ["__param_module"], target_label: "module" },
      { target_label: "__address__", replacement: exporterAt },
    ];
    const probeJob = (job: string, exporterAt: string, groups: Array<[string, string]>) => ({
      job_name: job,
      metrics_path: "/probe",
      static_configs: groups.map(([target, module]) => ({ targets: [target], labels: { __param_module: module, vantage: "fra" } })),
      relabel_configs: relabel(exporterAt),
    });
    const extraJobs = [
      probeJob("blackbox", blackbox.address, [
        [dnsAddress, "dns"],
        [httpsUrl, "http"],
        [tlsAddress, "tls"],
      ]),
      probeJob("popwatch-failing", exporterAddress, [
        ["broken-dns", "dns"],
        ["broken-http", "http"],
      ]),
    ];
    const readme = readmeScrapeConfig().replace(README_EXPORTER, exporterAddress);
    const ruleFiles = "rule_files:\n  - {{RULES}}/*.yml\n";
    const config = `${fastGlobalYaml()}${ruleFiles}${readme}${extraJobs.map((j) => `  - ${JSON.stringify(j)}\n`).join("")}`;
    rulesText = await popwatch(dir, "slo", "rules", "--format", "prometheus", "--config", configFile);
    prometheus = await startPrometheus({ config, ruleFiles: { "popwatch-rules.yml": rulesText } });
    // popwatch-probe: 3, popwatch-exporter: 1, blackbox: 3, popwatch-failing: 2.
    await prometheus.waitTargetsUp(9, 30_000);
    // Two scrapes of everything, so range functions have points.
    await prometheus.waitFor("count(count_over_time(up[1m]) >= 2)", (s) => s[0]?.value === 9, 20_000);
  }, 90_000);

  afterAll(async () => {
    await prometheus?.stop();
    await blackbox?.stop();
    if (exporter) await stopDaemon(exporter);
    if (dir) {
      removeRunDir(dir);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("every target of both exporters is up, /probe targets labelled instance, module and vantage", async () => {
    const targets = await prometheus.targets();
    expect(targets.map((t) => `${t.scrapePool} ${t.health} ${t.lastError}`).sort()).toEqual(
      [
        ...Array(3).fill("blackbox up "),
        "popwatch-exporter up ",
        ...Array(2).fill("popwatch-failing up "),
        ...Array(3).fill("popwatch-probe up "),
      ].sort(),
    );
    const probeLabels = [SCRAPE_LABELS.target, "job", SCRAPE_LABELS.module, SCRAPE_LABELS.vantage].sort();
    for (const t of targets.filter((x) => x.scrapePool !== "popwatch-exporter")) {
      expect(Object.keys(t.labels).sort(), t.scrapeUrl).toEqual(probeLabels);
      expect(t.scrapeUrl).toContain(`target=${encodeURIComponent(t.labels.instance!)}`);
      expect(t.scrapeUrl).toContain(`module=${t.labels.module}`);
    }
    const byJob = (job: string) =>
      targets
        .filter((t) => t.scrapePool === job)
        .map((t) => `${t.labels.instance} ${t.labels.module}`)
        .sort();
    expect(byJob("popwatch-probe")).toEqual(["anycast-dns dns", "front-door http", "front-door tls"]);
    expect(byJob("blackbox")).toEqual([`${dnsAddress} dns`, `${httpsUrl} http`, `${tlsAddress} tls`].sort());
    expect(targets.find((t) => t.scrapePool === "popwatch-exporter")?.scrapeUrl).toBe(`http://${exporterAddress}/metrics`);
  });

  it.each([
    ["probe_success", "dns"],
    ["probe_success", "http"],
    ["probe_success", "tls"],
    ["probe_dns_lookup_time_seconds", "dns"],
    ["probe_http_duration_seconds", "http"],
  ])("%s{module=%j} answers for both jobs with the same labels", async (metric, module) => {
    const samples = await prometheus.query(`${metric}{job=~"popwatch-probe|blackbox", module="${module}"}`);
    const jobs = [...new Set(samples.map((s) => s.metric.job))].sort();
    expect(jobs).toEqual(["blackbox", "popwatch-probe"]);
    const shape = (job: string) => [
      ...new Set(samples.filter((s) => s.metric.job === job).map((s) => Object.keys(s.metric).sort().join(","))),
    ];
    expect(shape("popwatch-probe")).toEqual(shape("blackbox"));
    expect(shape("popwatch-probe")).toHaveLength(1);
    if (metric === "probe_success") for (const s of samples) expect(s.value, JSON.stringify(s.metric)).toBe(1);
    if (metric === "probe_http_duration_seconds") {
      const phases = (job: string) => [...new Set(samples.filter((s) => s.metric.job === job).map((s) => s.metric.phase))].sort();
      expect(phases("popwatch-probe")).toEqual(phases("blackbox"));
    }
    for (const s of samples) expect(Number.isFinite(s.value) && s.value >= 0, JSON.stringify(s)).toBe(true);
  });

  it("popwatch-only series: the PoP and NSID NSD answered with, failures by code, SLO good events", async () => {
    const pop = await prometheus.query(`${PROBE_INFO_METRICS.pop.name}{job="popwatch-probe", instance="anycast-dns"}`);
    expect(pop.map((s) => [s.metric.pop, s.metric.source, s.metric.module, s.metric.vantage, s.value])).toEqual([
      [nsid, "nsid", "dns", "fra", 1],
    ]);
    const nsidInfo = await prometheus.query(`${PROBE_INFO_METRICS.nsid.name}{job="popwatch-probe", instance="anycast-dns"}`);
    expect(nsidInfo.map((s) => s.metric.nsid)).toEqual([nsid]);
    const failures = await prometheus.query(`${PROBE_INFO_METRICS.failure.name}{job="popwatch-failing"}`);
    expect(failures.map((s) => `${s.metric.instance} ${s.metric.code}`).sort()).toEqual([
      "broken-dns dns_rcode",
      "broken-http http_status",
    ]);
    expect(await prometheus.query(`${PROBE_INFO_METRICS.failure.name}{job="popwatch-probe"}`)).toEqual([]);
    // blackbox cannot see which PoP answered.
    expect(await prometheus.query(`{job="blackbox", __name__=~"probe_pop_info|probe_dns_nsid_info|probe_failure_info"}`)).toEqual([]);
    const good = await prometheus.query(`probe_slo_good{job="popwatch-probe"}`);
    expect(good.map((s) => `${s.metric.instance} ${s.metric.module} ${s.metric.slo} ${s.value}`).sort()).toEqual([
      "anycast-dns dns dns-availability 1",
      "front-door http front-door-fast 1",
    ]);
  });

  it("the store's SLO state reaches Prometheus through /metrics", async () => {
    const budget = await prometheus.query(`${STORE_METRICS.budgetRemaining.name}{job="popwatch-exporter", slo="dns-availability"}`);
    expect(budget.map((s) => s.metric.scope).sort()).toEqual(expect.arrayContaining(["eu-west-1", "pooled", "us-east-1"]));
    const failovers = await prometheus.query(
      `${STORE_METRICS.failovers.name}{job="popwatch-exporter", target="anycast-dns", region="eu-west-1"}`,
    );
    expect(failovers.map((s) => s.value)).toEqual([1]);
  });

  it("the rules of popwatch slo rules load, evaluate, and page on the failing target only", async () => {
    const loaded = (await prometheus.rules()).flatMap((g) => g.rules);
    expect(loaded.length).toBeGreaterThan(0);
    expect(loaded.length).toBe((rulesText.match(/^\s+- (record|alert):/gm) ?? []).length);
    // Recording rules over probe_slo_good: the healthy SLO's error ratio is 0, per vantage and pooled.
    const ratio = await prometheus.waitFor('slo:sli_error:ratio_rate5m{slo="dns-availability"}', (s) => s.length === 2);
    expect(ratio.map((s) => `${s.metric.scope} ${s.metric.vantage ?? "-"} ${s.value}`).sort()).toEqual(["pooled - 0", "region fra 0"]);
    const firing = await prometheus.waitFor('ALERTS{alertname="PopwatchSloErrorBudgetBurn", alertstate="firing"}', (s) => s.length >= 2);
    expect(firing.map((s) => `${s.metric.slo} ${s.metric.scope} ${s.metric.severity}`)).toEqual(
      expect.arrayContaining(["broken-http-availability pooled page", "broken-http-availability region page"]),
    );
    expect(firing.filter((s) => s.metric.slo !== "broken-http-availability")).toEqual([]);
    const unhealthy = (await prometheus.rules()).flatMap((g) => g.rules).filter((r) => r.health !== "ok");
    expect(unhealthy.map((r) => `${r.name}: ${r.health} ${r.lastError ?? ""}`)).toEqual([]);
  });

  const dashboards: Dashboard[] = readdirSync(DASHBOARD_DIR)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => readDashboard(join(DASHBOARD_DIR, f)));

  it("dashboards: executive, on-call and debug, each with the datasource, job, instance and vantage variables", () => {
    expect(dashboards.map((d) => d.json.uid)).toEqual(["popwatch-debug", "popwatch-executive", "popwatch-on-call"]);
    for (const d of dashboards) {
      expect(d.variables.map((v) => v.name)).toEqual(expect.arrayContaining(["datasource", "job", "instance", "vantage"]));
      expect(d.variables.find((v) => v.name === "datasource")?.type).toBe("datasource");
      expect(d.queries.length).toBeGreaterThan(4);
      for (const q of d.queries)
        for (const name of variablesUsed(q.expr)) expect(name.startsWith("__") || d.variables.some((v) => v.name === name)).toBe(true);
    }
  });

  const panelQueries = dashboards.flatMap((d) => d.queries.map((q) => ({ ...q, variables: d.variables })));
  it.each(panelQueries.map((q) => [`${q.dashboard} / ${q.panel} / ${q.refId}`, q] as const))(
    "%s: parses and returns data",
    async (_, q) => {
      const samples = await prometheus.query(substituteVariables(q.expr, q.variables));
      expect(samples.length, q.expr).toBeGreaterThan(0);
      for (const s of samples) expect(Number.isNaN(s.value), `${q.expr} → ${JSON.stringify(s)}`).toBe(false);
    },
  );

  const variableQueries = dashboards.flatMap((d) =>
    d.variables.flatMap((v) => (v.query === null ? [] : [{ dashboard: d.json.title, v, variables: d.variables }])),
  );
  it.each(variableQueries.map((q) => [`${q.dashboard} / $${q.v.name}`, q] as const))("%s: the variable's values exist", async (_, q) => {
    const parsed = parseLabelValues(q.v.query!);
    expect(parsed, q.v.query!).not.toBeNull();
    const samples = await prometheus.query(substituteVariables(parsed!.selector ?? `{${parsed!.label}!=""}`, q.variables));
    const values = new Set(samples.map((s) => s.metric[parsed!.label]).filter(Boolean));
    expect(values.size, q.v.query!).toBeGreaterThan(0);
  });
});
