// popwatch report with a `bgp` config, on the embedded store: probe results
// loaded with popwatch import, BGP events written with the routing
// repository's putEvents. eu-west-1 fails over from pop-a to pop-b 7 s after
// pop-a's withdrawal (M2 = 27 s: the first answer from pop-b comes 20 s
// later); us-east-1 fails over with no BGP change anywhere near (M2 null, "no
// BGP change seen"); ap-southeast-2 has an outage during a BGP burst; an
// IPv6 target fails over after its prefix's session went down. The expected
// figures are computed here from the generated timeline.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { BgpEvent, RouteEvent } from "@popwatch/core";
import { DynamoRoutingRepository, startEmbeddedStore } from "@popwatch/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catchmentCommand } from "../packages/cli/src/commands/catchment";
import { reportCommand } from "../packages/cli/src/commands/report";
import { main } from "../packages/cli/src/index";
import { captureIo } from "./support/capture-io";

const SECOND = 1000;
const MINUTE = 60_000;
const NOW = Math.floor(Date.now() / MINUTE) * MINUTE;
const ROUND = 10 * SECOND;
/** Round k of the last two hours. */
const round = (k: number) => NOW - 120 * MINUTE + k * ROUND;
const iso = (ms: number) => new Date(ms).toISOString();

const TARGETS = {
  "anycast-dns": { address: "198.51.100.53" },
  "anycast-dns6": { address: "2001:db8:53::53" },
  // Outside every watched prefix: its failovers get no routing figures.
  unwatched: { address: "203.0.113.80" },
} as const;
type TargetName = keyof typeof TARGETS;

interface Generated {
  target: TargetName;
  region: string;
  ms: number;
  pop: string | null;
}

/** Tokens per round from round 0: a PoP id answers, "x" fails. */
function series(target: TargetName, region: string, tokens: (k: number) => string): Generated[] {
  const out: Generated[] = [];
  for (let k = 0; k < 700; k++) {
    const token = tokens(k);
    out.push({ target, region, ms: round(k), pop: token === "x" ? null : token });
  }
  return out;
}

// eu-west-1: pop-a until round 300, failures in 301–302, pop-b from 303. pop-a's withdrawal 3 s after round 300.
const WITHDRAWN_MS = round(300) + 3 * SECOND;
// us-east-1: a failover in round 500 with no BGP event within minutes (a black hole moved by hand).
// ap-southeast-2: an outage of syd in rounds 200–201, during a burst that starts 5 s before round 200.
const BURST2_MS = round(200) - 5 * SECOND;
// IPv6: its session down 1 s after round 400; failures 401, dub from 402.
const SESSION_DOWN_MS = round(400) + SECOND;
const DATA: Generated[] = [
  ...series("anycast-dns", "eu-west-1", (k) => (k <= 300 ? "pop-a" : k <= 302 ? "x" : "pop-b")),
  ...series("anycast-dns", "us-east-1", (k) => (k < 500 ? "iad" : k === 500 ? "x" : "ord")),
  ...series("anycast-dns", "ap-southeast-2", (k) => (k === 200 || k === 201 ? "x" : "syd")),
  ...series("anycast-dns6", "eu-west-1", (k) => (k <= 400 ? "ams" : k === 401 ? "x" : "dub")),
  ...series("unwatched", "eu-west-1", (k) => (k < 100 ? "fra" : "lhr")),
];

function line(r: Generated): string {
  const t = TARGETS[r.target];
  const target = t.address.includes(":") ? `[${t.address}]:53` : `${t.address}:53`;
  return JSON.stringify({
    kind: "dns",
    target,
    address: t.address,
    port: 53,
    name: r.target,
    ok: r.pop !== null,
    startedAt: iso(r.ms),
    timings: { totalMs: 12, rttMs: 11 },
    pop: r.pop === null ? null : { id: r.pop, source: "nsid", raw: r.pop },
    failure: r.pop === null ? { code: "timeout", message: "no answer within 2000 ms" } : null,
    region: r.region,
    time: iso(r.ms),
  });
}

const announce = (ms: number, prefix: string, peer: string, asPath: number[], source = "rrc00"): RouteEvent => ({
  type: "A",
  timeMs: ms,
  source,
  peer,
  peerAs: asPath[0]!,
  prefix,
  asPath,
  origin: asPath.at(-1)!,
});
const withdraw = (ms: number, prefix: string, peer: string, peerAs: number, source = "rrc00"): RouteEvent => ({
  type: "W",
  timeMs: ms,
  source,
  peer,
  peerAs,
  prefix,
  asPath: [],
  origin: null,
});

const V4 = "198.51.100.0/24";
const V6 = "2001:db8:53::/48";
const BGP: BgpEvent[] = [
  // The announcements at the start.
  announce(round(10), V4, "198.51.100.250", [64510, 64500]),
  announce(round(10), V4, "198.51.100.251", [64511, 64500]),
  // ap-southeast-2's burst: three updates 10 s apart (BGP convergence 20 s), one a more-specific from a stranger.
  announce(BURST2_MS, V4, "198.51.100.250", [64510, 64520, 64500]),
  announce(BURST2_MS + 10 * SECOND, "198.51.100.0/25", "198.51.100.251", [64511, 64666]),
  announce(BURST2_MS + 20 * SECOND, V4, "198.51.100.250", [64510, 64500]),
  // eu-west-1: pop-a's withdrawal, and the path through pop-b 4 s later (one burst of two).
  withdraw(WITHDRAWN_MS, V4, "198.51.100.250", 64510),
  announce(WITHDRAWN_MS + 4 * SECOND, V4, "198.51.100.250", [64510, 64530, 64500]),
  // IPv6 through the operator's router (BMP): announced, then the session to pop-ams goes down.
  announce(round(10), V6, "2001:db8::a", [64500], "bmp:edge1"),
  { type: "STATE", timeMs: SESSION_DOWN_MS, source: "bmp:edge1", peer: "2001:db8::a", peerAs: 64500, up: false },
];

const CONFIG_BASE = {
  targets: Object.entries(TARGETS).map(([name, t]) => ({ name, address: t.address, probes: { dns: {} } })),
};
const CONFIG = {
  ...CONFIG_BASE,
  bgp: {
    prefixes: [
      { prefix: V4, origins: [64500] },
      { prefix: V6, origins: [64500] },
    ],
  },
};

let dir: string;
let dataDir: string;
let configFile: string;
let plainConfigFile: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-report-routing-"));
  dataDir = join(dir, "data");
  configFile = join(dir, "popwatch.config.json");
  plainConfigFile = join(dir, "plain.config.json");
  await writeFile(configFile, JSON.stringify(CONFIG));
  await writeFile(plainConfigFile, JSON.stringify(CONFIG_BASE));
  await writeFile(join(dir, "results.jsonl"), `${DATA.map(line).join("\n")}\n`);
  const c = captureIo();
  expect(await main(["import", "--data-dir", dataDir, join(dir, "results.jsonl")], c.io), c.err).toBe(0);
  const embedded = await startEmbeddedStore({ dataDir });
  try {
    const routing = new DynamoRoutingRepository({ client: embedded.client, tableName: embedded.store.tableName });
    const put = await routing.putEvents([V4, V6], BGP);
    expect(put.duplicates).toBe(0);
  } finally {
    await embedded.close();
  }
}, 180_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

async function report(config: string, ...flags: string[]) {
  const c = captureIo();
  const code = await reportCommand(["--config", config, "--data-dir", dataDir, "--since", "2h", ...flags], c.io, {
    now: () => NOW + 30_000,
  });
  return { code, out: c.out, err: c.err };
}

async function reportJson(config = configFile): Promise<Record<string, any>> {
  const r = await report(config, "--json");
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.out) as Record<string, any>;
}

const failoverOf = (out: Record<string, any>, target: string, region: string) =>
  out.failovers.find((f: any) => f.target === target && f.region === region);

describe("popwatch report with a bgp config", () => {
  it("each failover lists the BGP events of its prefix within ±120 s and its M2", async () => {
    const out = await reportJson();
    expect(out.routing).toBeDefined();
    const eu = failoverOf(out, "anycast-dns", "eu-west-1");
    expect(eu).toMatchObject({ from: "pop-a", to: "pop-b", at: iso(round(303)) });
    // The failover began at the first failure (round 301); both updates of the burst lie within 120 s of it.
    expect(eu.routing).toEqual({
      prefix: V4,
      bgpEvents: 2,
      firstBgpEvent: {
        type: "W",
        at: iso(WITHDRAWN_MS),
        source: "rrc00",
        peer: "198.51.100.250",
        peerAs: 64510,
        prefix: V4,
        asPath: [],
        origin: null,
      },
      burstFirstAt: iso(WITHDRAWN_MS),
      burstEvents: 2,
      m2Ms: round(303) - WITHDRAWN_MS,
    });
    expect(eu.routing.m2Ms).toBe(27 * SECOND);

    const us = failoverOf(out, "anycast-dns", "us-east-1");
    expect(us.routing).toEqual({ prefix: V4, bgpEvents: 0, firstBgpEvent: null, burstFirstAt: null, burstEvents: 0, m2Ms: null });

    const v6 = failoverOf(out, "anycast-dns6", "eu-west-1");
    expect(v6.routing).toMatchObject({
      prefix: V6,
      bgpEvents: 1,
      firstBgpEvent: { type: "STATE", peer: "2001:db8::a", up: false, prefix: null },
      m2Ms: round(402) - SESSION_DOWN_MS,
    });

    const unwatched = failoverOf(out, "unwatched", "eu-west-1");
    expect(unwatched.routing).toEqual({ prefix: null, bgpEvents: 0, firstBgpEvent: null, burstFirstAt: null, burstEvents: 0, m2Ms: null });
  });

  it("the Routing section: per prefix events, withdrawals, bursts with BGP convergence, origins; M2 per region; the outage BGP came with", async () => {
    const { routing } = await reportJson();
    expect(routing.correlationWindowMs).toBe(120_000);
    expect(routing.burstGapMs).toBe(30_000);
    const v4 = routing.prefixes.find((p: any) => p.prefix === V4);
    expect(v4).toEqual({
      prefix: V4,
      events: 7,
      announcements: 6,
      withdrawals: 1,
      origins: [64500, 64666],
      unexpectedOrigins: [64666],
      moreSpecifics: ["198.51.100.0/25"],
      bursts: [
        { firstAt: iso(round(10)), lastAt: iso(round(10)), convergenceMs: 0, events: 2, withdrawals: 0 },
        { firstAt: iso(BURST2_MS), lastAt: iso(BURST2_MS + 20 * SECOND), convergenceMs: 20 * SECOND, events: 3, withdrawals: 0 },
        { firstAt: iso(WITHDRAWN_MS), lastAt: iso(WITHDRAWN_MS + 4 * SECOND), convergenceMs: 4 * SECOND, events: 2, withdrawals: 1 },
      ],
    });
    const v6 = routing.prefixes.find((p: any) => p.prefix === V6);
    expect(v6).toMatchObject({ events: 2, announcements: 1, withdrawals: 1, origins: [64500], unexpectedOrigins: [] });

    // M2 per region over the failovers of targets in watched prefixes (the unwatched target's is not counted).
    expect(routing.m2).toEqual([
      { region: "eu-west-1", failovers: 2, measured: 2, p50Ms: Math.min(27 * SECOND, round(402) - SESSION_DOWN_MS), maxMs: 27 * SECOND },
      { region: "us-east-1", failovers: 1, measured: 0, p50Ms: null, maxMs: null },
    ]);

    // ap-southeast-2's outage began in round 200, 5 s after the burst's first update: all three updates within the window.
    expect(routing.correlated).toEqual([
      expect.objectContaining({
        type: "outage",
        target: "anycast-dns",
        region: "ap-southeast-2",
        at: iso(round(200)),
        fromPop: "syd",
        toPop: "syd",
        prefix: V4,
        bgpEvents: 3,
        firstBgpEvent: expect.objectContaining({ type: "A", at: iso(BURST2_MS), asPath: [64510, 64520, 64500] }),
      }),
    ]);
  });

  it("the table shows the Routing section, the failovers' BGP columns and M2", async () => {
    const r = await report(configFile);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Routing since .*: BGP events of the watched prefixes/);
    expect(r.out).toMatch(/BGP EVENTS\s+\|?\s*FIRST BGP EVENT\s+\|?\s*M2/);
    expect(r.out).toContain(`W ${V4} AS64510`);
    expect(r.out).toContain("no BGP change seen");
    expect(r.out).toContain("27 s");
    expect(r.out).toContain("Route convergence (M2) per region");
    expect(r.out).toContain("AS64666");
    const csv = await report(configFile, "--format", "csv");
    expect(csv.out).toContain("m2_region,failovers,measured,m2_p50_ms,m2_max_ms");
    expect(csv.out).toContain(`eu-west-1,2,2,`);
  });

  it("without a bgp config the report is as before: no routing key, no BGP columns", async () => {
    const out = await reportJson(plainConfigFile);
    expect(out.routing).toBeUndefined();
    for (const f of out.failovers) expect(f.routing).toBeUndefined();
    const r = await report(plainConfigFile);
    expect(r.out).not.toContain("Routing since");
    expect(r.out).not.toContain("FIRST BGP EVENT");
  });

  it("popwatch catchment --config with a bgp section shows M2 per target and region", async () => {
    const run = async (config: string, ...flags: string[]) => {
      const c = captureIo();
      const code = await catchmentCommand(["--config", config, "--data-dir", dataDir, "--since", "2h", ...flags], c.io, {
        now: () => NOW + 30_000,
      });
      expect(c.err).toBe("");
      expect(code).toBe(0);
      return c.out;
    };
    const lines = (await run(configFile, "--json"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const m2 = (target: string, region: string) => lines.find((l) => l.target === target && l.region === region)?.m2;
    expect(m2("anycast-dns", "eu-west-1")).toEqual({ failovers: 1, measured: 1, p50Ms: 27 * SECOND, maxMs: 27 * SECOND });
    expect(m2("anycast-dns", "us-east-1")).toEqual({ failovers: 1, measured: 0, p50Ms: null, maxMs: null });
    expect(m2("anycast-dns", "ap-southeast-2")).toEqual({ failovers: 0, measured: 0, p50Ms: null, maxMs: null });
    const v6 = round(402) - SESSION_DOWN_MS;
    expect(m2("anycast-dns6", "eu-west-1")).toEqual({ failovers: 1, measured: 1, p50Ms: v6, maxMs: v6 });
    const table = await run(configFile);
    expect(table).toContain("route convergence (M2, first BGP change to first answer from the new PoP):");
    expect(table).toContain("  eu-west-1  27 s p50, 27 s max (1 of 1 failover with a BGP change)");
    expect(table).toContain("  us-east-1  no BGP change seen (1 failover)");
    expect(await run(configFile, "--format", "csv")).toContain("m2_failovers,m2_measured,m2_p50_ms,m2_max_ms");
    // Without a bgp section: as before.
    for (const line of (await run(plainConfigFile, "--json")).trim().split("\n")) expect(JSON.parse(line).m2).toBeUndefined();
    expect(await run(plainConfigFile)).not.toContain("route convergence");
  });

  describe("--html", () => {
    let html: string;
    let htmlFile: string;
    beforeAll(async () => {
      htmlFile = join(dir, "routing.html");
      const r = await report(configFile, "--html", htmlFile);
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      html = await readFile(htmlFile, "utf8");
    }, 60_000);

    const pageData = (page: string): any =>
      JSON.parse(/<script type="application\/json" id="report-data">([^<]*)<\/script>/.exec(page)![1]!);

    it("draws, per region, the PoP changes and the BGP events of the prefix on the charts' time axis", () => {
      const data = pageData(html);
      const routingCharts = data.charts.filter((c: any) => c.kind === "routing");
      const figure = (id: string) =>
        new RegExp(`<figure class="chart" id="${id}" data-chart-kind="routing" data-scope="([^"]+)" data-prefix="([^"]+)"`).exec(html);
      const scopes = routingCharts.map((c: any) => figure(c.id)!.slice(1, 3).join(" "));
      // Targets in watched prefixes only, per region that probed them.
      expect(scopes.sort()).toEqual([`ap-southeast-2 ${V4}`, `eu-west-1 ${V4}`, `eu-west-1 ${V6}`, `us-east-1 ${V4}`]);
      const euV4 = routingCharts.find((c: any) => figure(c.id)![1] === "eu-west-1" && figure(c.id)![2] === V4);
      // The same time axis as the other charts (epoch seconds of the buckets).
      const latency = data.charts.find((c: any) => c.kind === "latency");
      expect(euV4.x).toEqual(latency.x);
      expect(euV4.routing.pops).toEqual(["pop-a", "pop-b"]);
      expect(euV4.routing.changes).toEqual([{ at: round(301) / 1000, type: "failover", from: "pop-a", to: "pop-b" }]);
      // The PoP per bucket: the one answering most of the bucket's generated probes (a tie: the smaller id).
      const endsAt = Date.parse(data.report.endsAt);
      const expected = euV4.x.map((seconds: number) => {
        const from = seconds * 1000;
        const inBucket = DATA.filter(
          (r) => r.target === "anycast-dns" && r.region === "eu-west-1" && r.ms >= from && r.ms < Math.min(from + data.bucketMs, endsAt),
        );
        const a = inBucket.filter((r) => r.pop === "pop-a").length;
        const b = inBucket.filter((r) => r.pop === "pop-b").length;
        return a + b === 0 ? null : b > a ? 1 : 0;
      });
      expect(euV4.lines[0].values).toEqual(expected);
      expect(expected).toContain(0);
      expect(expected).toContain(1);
      // The BGP markers of each prefix: every event in the window, at its second.
      const apV4 = routingCharts.find((c: any) => figure(c.id)![1] === "ap-southeast-2");
      expect(apV4.routing.changes).toEqual([{ at: round(200) / 1000, type: "outage", from: "syd", to: "syd" }]);
      expect(data.bgp[V4]).toEqual([
        [round(10) / 1000, "A"],
        [round(10) / 1000, "A"],
        [BURST2_MS / 1000, "A"],
        [(BURST2_MS + 10 * SECOND) / 1000, "A"],
        [(BURST2_MS + 20 * SECOND) / 1000, "A"],
        [WITHDRAWN_MS / 1000, "W"],
        [(WITHDRAWN_MS + 4 * SECOND) / 1000, "A"],
      ]);
      expect(data.bgp[V6]).toEqual([
        [round(10) / 1000, "A"],
        [SESSION_DOWN_MS / 1000, "down"],
      ]);
    });

    it("has the Routing section and M2 beside the catchment", () => {
      expect(html).toContain('<section id="routing">');
      expect(html).toContain('<section id="routing-timeline">');
      const catchment = /<section id="catchment">(.*?)<\/section>/s.exec(html)![1]!;
      expect(catchment).toContain("Route convergence (M2) per region");
      expect(catchment).toMatch(/<tr><td>eu-west-1<\/td><td>2<\/td><td>2<\/td><td>[^<]+<\/td><td>27 s<\/td><\/tr>/);
      expect(catchment).toMatch(/<tr><td>us-east-1<\/td><td>1<\/td><td>0<\/td><td>-<\/td><td>-<\/td><\/tr>/);
    });

    const CHROMIUM = "/usr/bin/chromium";
    it.skipIf(!existsSync(CHROMIUM))(
      "renders in headless Chromium: every chart, the routing timelines too, reports it drew",
      async () => {
        const profile = await mkdtemp(join(tmpdir(), "popwatch-chromium-"));
        try {
          const dom = await new Promise<string>((resolve, reject) => {
            execFile(
              CHROMIUM,
              [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-dev-shm-usage",
                "--proxy-server=http://127.0.0.1:9",
                "--host-resolver-rules=MAP * ~NOTFOUND",
                `--user-data-dir=${profile}`,
                "--virtual-time-budget=5000",
                "--window-size=1280,900",
                "--dump-dom",
                pathToFileURL(htmlFile).href,
              ],
              { timeout: 90_000, maxBuffer: 64 * 1024 * 1024, killSignal: "SIGKILL" },
              (err, stdout) => (err ? reject(err) : resolve(stdout)),
            );
          });
          const body = /<body\b[^>]*>/.exec(dom)![0];
          const expected = pageData(html).charts.length;
          expect(body).toContain(`data-charts-expected="${expected}"`);
          expect(body).toContain(`data-charts-drawn="${expected}"`);
          expect(body).not.toContain("data-page-error");
          const routingFigures = dom.match(/<figure\b[^>]*data-chart-kind="routing"[^>]*>/g) ?? [];
          expect(routingFigures).toHaveLength(4);
          for (const f of routingFigures) {
            expect(f).toContain('data-drawn="true"');
            expect(f).not.toContain("data-chart-error");
          }
        } finally {
          await rm(profile, { recursive: true, force: true });
        }
      },
      120_000,
    );
  });
});
