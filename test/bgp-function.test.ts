// functions/bgp.ts end to end, minus AWS: real EventBridge scheduled events,
// a loopback HTTP server laid out like the RIS and RouteViews archives serving
// a real RIS update file (test/fixtures/mrt, from bgpdump's test data), the
// real MRT reader, the real store on dynalite. What it must write is taken
// from Debian's `bgpdump -m` of the same file, filtered with core's prefix math.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { DeleteItemCommand } from "@aws-sdk/client-dynamodb";
import type { LogEntry } from "@popwatch/agent";
import { type PopwatchConfigInput, parseConfig, prefixContains, prefixOf } from "@popwatch/core";
import { DynamoAlertStateStore, DynamoRoutingRepository } from "@popwatch/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBgpHandler } from "../functions/bgp";
import { type MemoryTable, startMemoryTable } from "../packages/store/test/support/memory-table";
import { ALERT_STATE_TABLE_ACTIONS, BGP_TABLE_ACTIONS } from "../stacks/settings";

const FIXTURE = join(import.meta.dirname, "fixtures/mrt/updates.20160811.1600.gz");
const WATCHED = ["103.213.0.0/16", "2804:6fc::/32"];
const at = (iso: string) => Date.parse(iso);

const scheduled = (time: string) => ({
  version: "0",
  id: `bgp-${time}`,
  "detail-type": "Scheduled Event",
  source: "aws.events",
  account: "123456789012",
  time,
  region: "eu-west-1",
  resources: ["arn:aws:events:eu-west-1:123456789012:rule/popwatch-test-bgp"],
  detail: {},
});

let table: MemoryTable;
let server: Server;
let base: string;
const requests: string[] = [];
/** The DynamoDB actions the handler's store sent, across every run: what the stack's IAM policy must allow. */
const sentActions = new Set<string>();
const whole = readFileSync(FIXTURE);
/** The same file cut in the middle of its gzip stream, as a half-uploaded archive file looks. */
const truncated = whole.subarray(0, Math.floor(whole.length / 2));
const routes: Record<string, Buffer> = {
  "/rrc00/2016.08/updates.20160811.1600.gz": whole,
  "/rrc00/2016.08/updates.20160811.1605.gz": truncated,
};

/** What the file holds for the watched prefixes, by bgpdump: route lines inside them and every state line. */
function oracle(): { matched: number; distinct: number } {
  const watched = WATCHED.map(prefixOf);
  const lines = execFileSync("bgpdump", ["-m", FIXTURE], { encoding: "utf8", maxBuffer: 64 << 20 })
    .split("\n")
    .filter((line) => {
      const f = line.split("|");
      if (f[2] === "STATE") return true;
      return (f[2] === "A" || f[2] === "W") && watched.some((w) => prefixContains(w, prefixOf(f[5]!)));
    });
  // One event per update as a RouteEvent sees it: bgpdump also prints MED, LOCAL_PREF and AGGREGATOR, which RouteEvent
  // does not carry, so two updates of one second that differ only there are one event (the file has a few).
  const identity = (line: string) => {
    const f = line.split("|");
    if (f[2] === "STATE") return line;
    return [f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], (f[11] ?? "").split(" ").sort().join(" ")].join("|");
  };
  return { matched: lines.length, distinct: new Set(lines.map(identity)).size };
}

beforeAll(async () => {
  table = await startMemoryTable("bgp-function");
  server = createServer((req, res) => {
    requests.push(req.url ?? "");
    const body = routes[req.url ?? ""];
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  // Every action sent is granted, and every routing action granted was needed; the alert state store's actions (the
  // routing alerts after ingest) are granted as a set (test/routing-alerts-functions.test.ts delivers through them).
  const granted = new Set<string>([...BGP_TABLE_ACTIONS, ...ALERT_STATE_TABLE_ACTIONS]);
  expect([...sentActions].filter((action) => !granted.has(action))).toEqual([]);
  expect([...sentActions].filter((action) => (BGP_TABLE_ACTIONS as readonly string[]).includes(action)).sort()).toEqual([
    ...BGP_TABLE_ACTIONS,
  ]);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await table?.close();
});

function handlerAt(clockIso: string) {
  const config: PopwatchConfigInput = {
    homeRegion: "eu-west-1",
    regions: ["eu-west-1"],
    targets: [{ name: "edge", address: "127.0.0.1", probes: { tcp: { port: 443 } } }],
    bgp: {
      prefixes: WATCHED.map((prefix) => ({ prefix, origins: [64496] })),
      collectors: [
        { name: "rrc00", archive: "ris" },
        { name: "route-views2", archive: "routeviews" },
      ],
      archives: { ris: base, routeviews: `${base}/rv` },
    },
  };
  const logs: LogEntry[] = [];
  const client = table.newClient();
  client.middlewareStack.add(
    (next, context) => (args) => {
      sentActions.add(`dynamodb:${String(context.commandName).replace(/Command$/, "")}`);
      return next(args);
    },
    { step: "initialize" },
  );
  const routing = new DynamoRoutingRepository({ client, tableName: table.tableName, clock: () => at(clockIso) });
  const alerts = new DynamoAlertStateStore({ client, tableName: table.tableName });
  const handler = createBgpHandler({ config: parseConfig(config), routing, alerts, sinks: [], logger: (entry) => logs.push(entry) });
  return { handler, logs, routing };
}

// Each run decodes a 41 000-event file and writes hundreds of conditional puts to dynalite.
describe("functions/bgp.ts", { timeout: 120_000 }, () => {
  const expected = oracle();

  it("reads the newest RIS file into the store; a retry writes nothing; RouteViews not yet published is retried next run", async () => {
    expect(expected.matched).toBeGreaterThan(400);
    const { handler, logs, routing } = handlerAt("2016-08-11T16:30:00Z");
    const first = await handler(scheduled("2016-08-11T16:10:00Z"), { awsRequestId: "r1" });
    expect(first).toMatchObject({ files: 2, ingested: 1, retry: 1, skipped: 0, matched: expected.matched });
    expect(first.written).toBe(expected.distinct);
    expect(first.written + first.duplicates).toBe(expected.matched);
    expect(first.failures).toEqual([
      {
        collector: "route-views2",
        fileTimeMs: at("2016-08-11T15:45:00Z"),
        status: "retry",
        code: "archive_missing",
        message: `${base}/rv/bgpdata/2016.08/UPDATES/updates.20160811.1545.bz2: 404, not published yet`,
      },
    ]);
    expect(logs.find((entry) => entry.msg === "bgp archives")).toMatchObject({
      level: "info",
      msg: "bgp archives",
      requestId: "r1",
      written: expected.distinct,
    });
    // The run folded snapshots, so the routing alerts were judged right after (the watched origins are not the real ones).
    expect(logs.at(-1)).toMatchObject({ msg: "routing alerts", requestId: "r1", problems: [] });
    expect(await routing.readArchiveCursors()).toEqual([{ archive: "ris", collector: "rrc00", fileTimeMs: at("2016-08-11T16:00:00Z") }]);
    // Folded: every watched prefix has a snapshot and minutes for the file's five minutes.
    for (const prefix of WATCHED) {
      expect((await routing.getSnapshot(prefix))?.routes.length).toBeGreaterThan(0);
      expect((await routing.readMinutes(prefix, at("2016-08-11T16:00:00Z"), at("2016-08-11T16:10:00Z"))).length).toBeGreaterThanOrEqual(5);
    }

    // Lambda retries the same event: the cursor says the RIS file is done, RouteViews is asked again.
    requests.length = 0;
    const retry = await handler(scheduled("2016-08-11T16:10:00Z"), {});
    expect(retry).toMatchObject({ files: 1, ingested: 0, retry: 1, written: 0 });
    expect(requests).toEqual(["/rv/bgpdata/2016.08/UPDATES/updates.20160811.1545.bz2"]);

    // A run that died after writing but before moving the cursor reads the file again: nothing new.
    await table.client.send(new DeleteItemCommand({ TableName: table.tableName, Key: { pk: { S: "BC" }, sk: { S: "ris#rrc00" } } }));
    const reread = await handlerAt("2016-08-11T16:30:00Z").handler(scheduled("2016-08-11T16:10:00Z"), {});
    expect(reread).toMatchObject({ ingested: 1, matched: expected.matched, written: 0, duplicates: expected.matched });
  });

  it("a truncated file keeps the events before the cut, is retried, and is given up on an hour after it was due", async () => {
    const { handler, routing } = handlerAt("2016-08-11T16:30:00Z");
    const cut = await handler(scheduled("2016-08-11T16:15:00Z"), {});
    const failure = cut.failures.find((f) => f.collector === "rrc00");
    expect(failure).toMatchObject({ status: "retry", code: "archive_corrupt", fileTimeMs: at("2016-08-11T16:05:00Z") });
    expect(failure?.offset).toBeGreaterThan(0);
    // The cut file starts like the whole one: everything it held before the cut was read, and was already stored.
    expect(cut.read).toBeGreaterThan(1000);
    expect(cut.matched).toBeGreaterThan(0);
    expect(cut.written).toBe(0);
    expect(cut.duplicates).toBe(cut.matched);
    expect((await routing.readArchiveCursors()).find((c) => c.collector === "rrc00")?.fileTimeMs).toBe(at("2016-08-11T16:00:00Z"));

    // 17:15 is an hour past its publication (16:05 + 5 min interval + 5 min delay): skipped, the cursor moves on.
    const later = await handlerAt("2016-08-11T17:30:00Z").handler(scheduled("2016-08-11T17:15:00Z"), {});
    expect(later.failures.find((f) => f.collector === "rrc00")).toMatchObject({ status: "skipped", code: "archive_corrupt" });
    const cursors = await routing.readArchiveCursors();
    expect(cursors.find((c) => c.collector === "rrc00")?.fileTimeMs).toBe(at("2016-08-11T16:05:00Z"));
  });
});
