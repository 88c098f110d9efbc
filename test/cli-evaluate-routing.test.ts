// popwatch evaluate with a bgp section: BGP events ingested into the data
// directory's embedded store through the real ingest (as `popwatch bgp
// import` does), then `popwatch evaluate --json` judges the watched prefix's
// snapshot with the other alerts: the origin hijack pages once through the
// default stdout sink, the summary lists it, and a bad VRP file is reported
// in the summary while the other routing alerts still run.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ingestBgpEvents } from "@popwatch/agent";
import { type BgpEvent, type RouteEvent, parseConfig } from "@popwatch/core";
import { openStore, startEmbeddedStore } from "@popwatch/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluateCommand } from "../packages/cli/src/commands/evaluate";
import { captureIo } from "./support/capture-io";

const MINUTE = 60_000;
const NOW = Math.floor(Date.now() / MINUTE) * MINUTE;
const PREFIX = "2001:db8:100::/48";
const HIJACK = `routing:origin-hijack:${PREFIX}`;
const PEERS = [
  { peer: "2001:db8::1", peerAs: 64601 },
  { peer: "2001:db8::2", peerAs: 64602 },
  { peer: "2001:db8::3", peerAs: 64603 },
];

function config(vrpFile?: string) {
  return {
    targets: [{ name: "edge", address: "198.51.100.53", probes: { dns: {} } }],
    bgp: { prefixes: [{ prefix: PREFIX, origins: [64500] }], ...(vrpFile === undefined ? {} : { rpki: { vrpFile } }) },
  };
}

function announce(atMs: number, origin: number): RouteEvent[] {
  return PEERS.map(({ peer, peerAs }) => ({
    type: "A",
    timeMs: atMs,
    source: "rrc00",
    peer,
    peerAs,
    prefix: PREFIX,
    asPath: [peerAs, origin],
    origin,
  }));
}

async function* stream(events: readonly BgpEvent[]): AsyncIterable<BgpEvent> {
  yield* events;
}

let dir: string;
let dataDir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-evaluate-routing-"));
  dataDir = join(dir, "data");
  const embedded = await startEmbeddedStore({ dataDir });
  try {
    const routing = openStore({ client: embedded.client, tableName: embedded.store.tableName }).routing;
    const events = [...announce(NOW - 10 * MINUTE, 64500), ...announce(NOW - 5 * MINUTE, 64666)];
    const report = await ingestBgpEvents(routing, parseConfig(config()).bgp!, stream(events));
    expect(report.written).toBe(events.length);
  } finally {
    await embedded.close();
  }
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

async function evaluate(configFile: string, ...flags: string[]) {
  const c = captureIo();
  const code = await evaluateCommand(["--config", configFile, "--data-dir", dataDir, ...flags], c.io, { now: () => NOW });
  return { code, out: c.out, err: c.err };
}

describe("popwatch evaluate: routing alerts", { timeout: 60_000 }, () => {
  it("pages the origin hijack once; the summary lists it; a second run sends nothing", async () => {
    const configFile = join(dir, "popwatch.config.json");
    await writeFile(configFile, JSON.stringify(config()));
    const r = await evaluate(configFile, "--json");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const lines = r.out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const summary = lines.at(-1);
    const notifications = lines.slice(0, -1);
    expect(notifications).toHaveLength(1);
    expect(notifications[0].detail).toMatchObject({ slo: HIJACK, severity: "page", kind: "firing" });
    expect(summary).toMatchObject({
      routingObservations: 3,
      routingProblems: [],
      firing: [{ slo: HIJACK, scope: "pooled", severity: "page" }],
      notificationsPlanned: 1,
      delivered: 1,
      undelivered: 0,
    });

    const again = await evaluate(configFile);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/, 3 routing alerts; /);
    expect(again.out).toContain(`firing: ${HIJACK} pooled page`);
    expect(again.out).toMatch(/^notifications: 0 planned, 0 delivered, 0 not delivered$/m);
  });

  it("a VRP file that does not parse: the problem in the summary, rpki-invalid held back, the hijack still judged", async () => {
    const vrps = join(dir, "vrps.json");
    await writeFile(vrps, '{"roas": [{"asn": "AS64500", "prefix": "2001:db8:100::/48", "maxLength": 47}]}');
    const configFile = join(dir, "popwatch.rpki.config.json");
    await writeFile(configFile, JSON.stringify(config(vrps)));
    const r = await evaluate(configFile, "--json");
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out.trim().split("\n").at(-1)!);
    expect(summary.routingObservations).toBe(4);
    expect(summary.routingProblems).toEqual([{ code: "vrp_file_invalid", message: expect.stringContaining("roas[0]: maxLength") }]);
    expect(summary.firing).toEqual([{ slo: HIJACK, scope: "pooled", severity: "page" }]);
    const text = await evaluate(configFile);
    expect(text.out).toMatch(/^routing: bgp\.rpki\.vrpFile: .*\(vrp_file_invalid\); its alerts held back$/m);
  });
});
