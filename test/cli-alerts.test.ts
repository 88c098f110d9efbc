// popwatch run --once evaluating SLOs after its round, and popwatch alerts
// reading what the evaluation stored: a page fires once (one notification
// from the stdout sink), a second run does not notify again, and report
// shows the stored state. The probed target is a closed loopback port.
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../packages/cli/src/index";
import { captureIo } from "./support/capture-io";

async function cli(...argv: string[]) {
  const c = captureIo();
  const code = await main(argv, c.io);
  return { code, out: c.out, err: c.err };
}

const MINUTE = 60_000;
const NOW = Math.floor(Date.now() / MINUTE) * MINUTE;
const iso = (ms: number) => new Date(ms).toISOString();

let dir: string;
let dataDir: string;
let configFile: string;
let closedPort: number;

/** A tcp result of the "closed" target as `probe --json` prints it, plus region and time. */
function line(minutesBack: number, ok: boolean): string {
  const ms = NOW - minutesBack * MINUTE;
  return JSON.stringify({
    kind: "tcp",
    target: `127.0.0.1:${closedPort}`,
    address: "127.0.0.1",
    port: closedPort,
    name: "closed",
    ok,
    startedAt: iso(ms),
    timings: ok ? { totalMs: 1.2, connectMs: 1.1 } : { totalMs: 0.4 },
    pop: null,
    failure: ok ? null : { code: "refused", message: "connection refused" },
    region: "laptop",
    time: iso(ms),
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-alerts-"));
  dataDir = join(dir, "data");
  const probe = net.createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  closedPort = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));

  configFile = join(dir, "popwatch.config.json");
  await writeFile(
    configFile,
    JSON.stringify({
      localRegion: "laptop",
      schedule: { rateMinutes: 1, roundsPerInvocation: 6, timeoutMs: 500 },
      targets: [{ name: "closed", address: "127.0.0.1", probes: { tcp: { port: closedPort } } }],
      // 95 %: the page (1h and 5m burn > 14.4) needs > 72 % errors; the tickets need > 15 % over 1d and > 5 % over 3d.
      slos: [{ name: "closed-availability", target: "closed", sli: { type: "availability" }, objective: 0.95, minEvents: 0 }],
    }),
  );
  // 200 good results 7–10 h ago and 5 failures in the last 5 minutes: only the page burns (5/205 < 5 % over 1d and 3d).
  const lines = [...Array.from({ length: 200 }, (_, i) => line(420 + i, true)), ...[1, 2, 3, 4, 5].map((k) => line(k, false))];
  await writeFile(join(dir, "results.jsonl"), `${lines.join("\n")}\n`);
  const imported = await cli("import", "--data-dir", dataDir, join(dir, "results.jsonl"));
  expect(imported.err).toBe("");
  expect(imported.code).toBe(0);
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const notificationsIn = (out: string) =>
  out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { source: string; "detail-type": string; detail: Record<string, any> })
    .filter((event) => event.source === "popwatch");

describe("popwatch run --once with SLOs, then popwatch alerts", () => {
  it("before any evaluation, alerts lists nothing and says so", async () => {
    const r = await cli("alerts", "--data-dir", dataDir);
    expect(r.code).toBe(0);
    expect(r.out).toBe("");
    expect(r.err).toMatch(/no alert states in .*data/);
    expect(JSON.parse((await cli("alerts", "--data-dir", dataDir, "--json")).out)).toEqual({ states: [] });
  });

  it("the first run fires the page and the stdout sink prints exactly one notification", async () => {
    const r = await cli("run", "--once", "--config", configFile, "--data-dir", dataDir);
    expect(r.err).toBe("");
    expect(r.code).toBe(1); // the closed port refused: a failed probe
    expect(r.out).toMatch(/laptop\s+tcp\s+closed \(127\.0\.0\.1:\d+\)\s+FAIL/);
    const notifications = notificationsIn(r.out);
    expect(notifications).toHaveLength(1);
    expect(notifications[0]).toMatchObject({
      "detail-type": "Popwatch Burn-Rate Alert Firing",
      detail: { kind: "firing", status: "firing", slo: "closed-availability", severity: "page", rule: { long: "1h", short: "5m" } },
    });
    expect(notifications[0]!.detail.scopes.map((s: { scope: string }) => s.scope).sort()).toEqual(["laptop", "pooled"]);
  });

  it("alerts shows the firing page per scope; the tickets stayed quiet", async () => {
    const json = JSON.parse((await cli("alerts", "--data-dir", dataDir, "--json")).out) as { states: Record<string, any>[] };
    const firing = json.states.filter((s) => s.status === "firing");
    expect(firing.map((s) => `${s.severity}/${s.scope}`).sort()).toEqual(["page/laptop", "page/pooled"]);
    for (const state of firing)
      expect(state).toMatchObject({ slo: "closed-availability", announced: true, held: null, lastNotifiedAt: expect.any(String) });
    expect(json.states.filter((s) => s.severity === "ticket").every((s) => s.status !== "firing")).toBe(true);

    const table = await cli("alerts", "--data-dir", dataDir);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^SLO\s+SEVERITY\s+SCOPE\s+STATUS\s+SINCE\s+LAST NOTIFIED\s+HELD\s+BURN \(RULE\)\n/);
    expect(table.out).toMatch(
      /closed-availability\s+page\s+laptop\s+FIRING\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+-\s+20× \(1h\/5m > 14\.4×\)/,
    );
  });

  it("a second run does not notify again; history lists the transition with its notification", async () => {
    const r = await cli("run", "--once", "--config", configFile, "--data-dir", dataDir);
    expect(r.err).toBe("");
    expect(notificationsIn(r.out)).toEqual([]);

    const history = JSON.parse((await cli("alerts", "--data-dir", dataDir, "--history", "--json")).out) as {
      history: Record<string, any>[];
    };
    const fired = history.history.filter((t) => t.to === "firing");
    expect(fired.map((t) => `${t.severity}/${t.scope} ${t.from}->${t.to}`).sort()).toEqual([
      "page/laptop inactive->firing",
      "page/pooled inactive->firing",
    ]);
    expect(fired.every((t) => typeof t.notificationId === "string")).toBe(true);

    const table = await cli("alerts", "--data-dir", dataDir, "--history", "--limit", "1");
    expect(table.out).toMatch(/\nhistory \(newest first\):\nAT\s+SLO\s+SEVERITY\s+SCOPE\s+CHANGE\s+NOTIFICATION\n[^\n]+\n$/);
  });

  it("report shows the stored alert state next to the burn rates", async () => {
    const r = await cli("report", "--json", "--config", configFile, "--data-dir", dataDir);
    expect(r.code).toBe(0);
    const rows = (JSON.parse(r.out) as { slos: Record<string, any>[] }).slos;
    expect(rows.map((row) => [row.scope, row.alerts.page, row.alerts.ticket])).toEqual([
      ["laptop", "firing", "inactive"],
      ["pooled", "firing", "inactive"],
    ]);
  });

  it("a sink refusing the notification is logged; the other sink still gets it and the run ends as its probes say", async () => {
    const received: string[] = [];
    const hook = http.createServer((req, res) => {
      req.on("data", (chunk: Buffer) => received.push(chunk.toString()));
      req.on("end", () => res.writeHead(400).end("no"));
    });
    hook.listen(0, "127.0.0.1");
    await once(hook, "listening");
    try {
      const config = JSON.parse(await readFile(configFile, "utf8")) as Record<string, unknown>;
      const url = `http://127.0.0.1:${(hook.address() as net.AddressInfo).port}/hook`;
      const refusing = join(dir, "refusing.json");
      await writeFile(refusing, JSON.stringify({ ...config, alerting: { sinks: [{ type: "webhook", url }, { type: "stdout" }] } }));
      const other = join(dir, "refusing-data");
      expect((await cli("import", "--data-dir", other, join(dir, "results.jsonl"))).code).toBe(0);
      const r = await cli("run", "--once", "--config", refusing, "--data-dir", other);
      expect(r.code).toBe(1);
      expect(received).toHaveLength(1);
      expect(notificationsIn(r.out)).toHaveLength(1);
      expect(r.err).toMatch(/^popwatch run: warn: alert not delivered: \S+ to sinks\.0: http_4xx: HTTP 400\n$/);
    } finally {
      hook.close();
    }
  });

  it("usage errors exit 2", async () => {
    const r = await cli("alerts", "--limit", "5", "--data-dir", dataDir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--limit: only meaningful with --history/);
    expect((await cli("alerts", "--history", "--limit", "0")).err).toMatch(/--limit: expected a positive integer/);
  });
});
