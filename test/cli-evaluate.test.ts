// popwatch evaluate: import → evaluate → alerts on the embedded store. One
// region burns its budget (every other probe of the last hour failed), the
// other is healthy; the evaluation must page for the burning region only,
// print the notification through the default stdout sink, keep the state for
// `popwatch alerts`, and send nothing twice when run again.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluateCommand } from "../packages/cli/src/commands/evaluate";
import { main } from "../packages/cli/src/index";
import { captureIo } from "./support/capture-io";

const MINUTE = 60_000;
const NOW = Math.floor(Date.now() / MINUTE) * MINUTE;

const CONFIG = {
  targets: [{ name: "anycast-dns", address: "198.51.100.53", probes: { dns: {} } }],
  slos: [{ name: "dns-availability", target: "anycast-dns", sli: { type: "availability" }, objective: 0.99 }],
};

function line(region: string, k: number, ok: boolean): string {
  const at = new Date(NOW - k * MINUTE).toISOString();
  return JSON.stringify({
    kind: "dns",
    target: "198.51.100.53:53",
    address: "198.51.100.53",
    port: 53,
    name: "anycast-dns",
    ok,
    startedAt: at,
    timings: { totalMs: 3, rttMs: 2.5 },
    pop: ok ? { id: "lhr", source: "nsid", raw: "lhr1", iata: "lhr" } : null,
    failure: ok ? null : { code: "timeout", message: "no answer within 2000 ms" },
    region,
    time: at,
  });
}

let dir: string;
let dataDir: string;
let configFile: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-evaluate-"));
  dataDir = join(dir, "data");
  configFile = join(dir, "popwatch.config.json");
  await writeFile(configFile, JSON.stringify(CONFIG));
  const lines: string[] = [];
  for (let k = 1; k <= 120; k++) {
    lines.push(line("eu-west-1", k, k > 60 || k % 2 === 0));
    lines.push(line("us-east-1", k, true));
  }
  await writeFile(join(dir, "results.jsonl"), `${lines.join("\n")}\n`);
  expect(await main(["import", "--data-dir", dataDir, join(dir, "results.jsonl")], captureIo().io)).toBe(0);
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

async function evaluate(...flags: string[]) {
  const c = captureIo();
  const code = await evaluateCommand(["--config", configFile, "--data-dir", dataDir, ...flags], c.io, { now: () => NOW + 30_000 });
  return { code, out: c.out, err: c.err };
}

describe("popwatch evaluate", () => {
  it("as of three hours ago, before any data: nothing burns, nothing is sent", async () => {
    const r = await evaluate("--at", "3h");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/over 2 regions \(eu-west-1, us-east-1\)/);
    expect(r.out).toMatch(/^firing: nothing burns$/m);
    expect(r.out).toMatch(/^notifications: 0 planned, 0 delivered, 0 not delivered$/m);
  });

  it("pages for the burning imported region through the stdout sink, and the state is what alerts shows", async () => {
    const r = await evaluate("--json");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const lines = r.out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const summary = lines.at(-1);
    expect(summary).toMatchObject({ regions: ["eu-west-1", "us-east-1"], scopes: 3, undelivered: 0 });
    expect(summary.firing).toContainEqual({ slo: "dns-availability", scope: "eu-west-1", severity: "page" });
    expect(summary.firing.some((f: { scope: string }) => f.scope === "us-east-1")).toBe(false);
    const events = lines.slice(0, -1);
    expect(events.length).toBe(summary.delivered);
    expect(events).toContainEqual(
      expect.objectContaining({
        source: "popwatch",
        "detail-type": "Popwatch Burn-Rate Alert Firing",
        detail: expect.objectContaining({ slo: "dns-availability", severity: "page" }),
      }),
    );

    const alerts = captureIo();
    expect(await main(["alerts", "--json", "--data-dir", dataDir], alerts.io)).toBe(0);
    const states = JSON.parse(alerts.out).states as { slo: string; scope: string; severity: string; status: string }[];
    expect(states).toContainEqual(
      expect.objectContaining({ slo: "dns-availability", scope: "eu-west-1", severity: "page", status: "firing" }),
    );
    expect(states.filter((s) => s.scope === "us-east-1" && s.status === "firing")).toEqual([]);
  });

  it("evaluating the same instant again sends nothing twice", async () => {
    const r = await evaluate();
    expect(r.code).toBe(0);
    expect(r.out).not.toMatch(/"detail-type"/);
    expect(r.out).toMatch(/^notifications: 0 planned, 0 delivered, 0 not delivered$/m);
    expect(r.out).toMatch(/dns-availability eu-west-1 page/);
  });

  it("an empty store: no region, exit 0; a future --at is a usage error", async () => {
    const c = captureIo();
    expect(await evaluateCommand(["--config", configFile, "--data-dir", join(dir, "empty")], c.io)).toBe(0);
    expect(c.out).toMatch(/no region \(nothing stored yet\)/);
    expect(await main(["evaluate", "--config", configFile, "--data-dir", dataDir, "--at", "2999-01-01T00:00:00Z"], captureIo().io)).toBe(2);
  });

  it("a store that cannot open is a classified error, exit 1, nothing written", async () => {
    const notADir = join(dir, "results.jsonl");
    const c = captureIo();
    expect(await evaluateCommand(["--config", configFile, "--data-dir", notADir], c.io, { now: () => NOW + 30_000 })).toBe(1);
    expect(c.out).toBe("");
    expect(c.err).toMatch(/^popwatch evaluate: .+ \(store_[a-z_]+\)\n$/);
  });
});
