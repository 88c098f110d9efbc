// A self-hosted vantage on a DynamoDB-compatible endpoint: dynalite runs as
// its own HTTP server process (as DynamoDB Local would), and everything goes
// through the CLI with --endpoint or the config's store section: table
// create, run --once probing a loopback server, results, report; the vantage
// registered in the table. Credentials come from the SDK chain (environment).
import { once } from "node:events";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { openStore } from "@popwatch/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../packages/cli/src/index";
import { captureIo } from "./support/capture-io";
import { type DynaliteServer, startDynaliteServer } from "./support/dynalite-server";

const TABLE = "popwatch-shared";
const VANTAGE = "home-lab-1";
const CREDENTIALS = { AWS_ACCESS_KEY_ID: "popwatch-test", AWS_SECRET_ACCESS_KEY: "popwatch-test" } as const;

let dir: string;
let dynalite: DynaliteServer;
let loopback: net.Server;
let loopbackPort: number;
let closedPort: number;
let configFile: string;
const savedEnv: Record<string, string | undefined> = {};

async function cli(...argv: string[]) {
  const c = captureIo();
  const code = await main(argv, c.io);
  return { code, out: c.out, err: c.err };
}

function jsonLines(text: string): Record<string, any>[] {
  return text
    .trim()
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, any>);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-vantage-"));
  await mkdir(join(dir, "dynalite"));
  dynalite = await startDynaliteServer(join(dir, "dynalite"));
  for (const [name, value] of Object.entries(CREDENTIALS)) {
    savedEnv[name] = process.env[name];
    process.env[name] = value;
  }
  // What the vantage probes: a TCP service that accepts and hangs up.
  loopback = net.createServer((socket) => socket.end()).listen(0, "127.0.0.1");
  await once(loopback, "listening");
  loopbackPort = (loopback.address() as net.AddressInfo).port;
  const closed = net.createServer().listen(0, "127.0.0.1");
  await once(closed, "listening");
  closedPort = (closed.address() as net.AddressInfo).port;
  await new Promise((done) => closed.close(done));

  configFile = join(dir, "popwatch.config.json");
  await writeFile(
    configFile,
    JSON.stringify({
      regions: ["eu-central-1"],
      localRegion: "laptop",
      vantage: { name: VANTAGE, location: "FRA", country: "de", asn: 64500 },
      store: { table: TABLE, endpoint: dynalite.endpoint },
      schedule: { rateMinutes: 1, roundsPerInvocation: 6, timeoutMs: 1000 },
      targets: [{ name: "loop", address: "127.0.0.1", probes: { tcp: { port: loopbackPort } } }],
      slos: [{ name: "loop-availability", target: "loop", sli: { type: "availability" }, objective: 0.99 }],
    }),
  );
}, 60_000);

afterAll(async () => {
  for (const [name, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  loopback?.close();
  await dynalite?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("a self-hosted vantage on a DynamoDB-compatible endpoint (dynalite as its own server)", () => {
  it("table create makes the table with the stack's keys, and says so when it is already there", async () => {
    const created = await cli("table", "create", "--table", TABLE, "--endpoint", dynalite.endpoint);
    expect(created.err).toBe("");
    expect(created.code).toBe(0);
    expect(created.out).toContain(
      `table ${TABLE} (${dynalite.endpoint}): created with partition key pk, sort key sk (S), on-demand billing`,
    );
    // dynalite has no TTL: the command says what that means instead of failing.
    expect(created.out).toContain("this endpoint has no TTL");

    const again = await cli("table", "create", "--table", TABLE, "--endpoint", dynalite.endpoint);
    expect(again.code).toBe(0);
    expect(again.out).toContain(`table ${TABLE} (${dynalite.endpoint}): already exists with partition key pk`);
  });

  it("table create refuses a table that exists with other keys (exit 1, store_misconfigured)", async () => {
    const client = new DynamoDBClient({ endpoint: dynalite.endpoint, region: "us-east-1" });
    await client.send(
      new CreateTableCommand({
        TableName: "not-popwatch",
        BillingMode: "PAY_PER_REQUEST",
        KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
        AttributeDefinitions: [{ AttributeName: "id", AttributeType: "N" }],
      }),
    );
    client.destroy();
    const r = await cli("table", "create", "--table", "not-popwatch", "--endpoint", dynalite.endpoint);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toBe(
      `popwatch table create: table not-popwatch exists with partition key id (N) and sort key none; ` +
        "popwatch needs partition key pk (S) and sort key sk (S) (store_misconfigured)\n",
    );
  });

  it("run --once writes to the config's store as the configured vantage and registers it", async () => {
    const r = await cli("run", "--once", "--json", "--config", configFile);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const printed = jsonLines(r.out);
    expect(printed.map((result) => [result.name, result.kind, result.region, result.ok])).toEqual([["loop", "tcp", VANTAGE, true]]);

    const client = new DynamoDBClient({ endpoint: dynalite.endpoint, region: "us-east-1" });
    try {
      const vantages = await openStore({ client, tableName: TABLE }).results.listVantages();
      expect(vantages).toEqual([{ name: VANTAGE, source: "self-hosted", claimed: { iata: "FRA" }, country: "DE", asn: 64500 }]);
    } finally {
      client.destroy();
    }
  });

  it("results --table --endpoint reads what the vantage wrote", async () => {
    const r = await cli("results", "--table", TABLE, "--endpoint", dynalite.endpoint, "--json", "--since", "10m");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const stored = jsonLines(r.out);
    expect(stored.map((result) => [result.name, result.kind, result.region, result.ok, result.port])).toEqual([
      ["loop", "tcp", VANTAGE, true, loopbackPort],
    ]);
    expect(typeof stored[0]!.slotAt).toBe("string");
  });

  it("report --table --endpoint shows the vantage beside the configured AWS regions; the config's store section alone does too", async () => {
    const scopes = async (...flags: string[]) => {
      const r = await cli("report", "--config", configFile, "--json", "--since", "1h", ...flags);
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      const report = JSON.parse(r.out) as { slos: { slo: string; scope: string; total?: number }[] };
      return report.slos.map((row) => `${row.slo}/${row.scope}`);
    };
    const expected = ["eu-central-1", VANTAGE, "pooled"].map((scope) => `loop-availability/${scope}`);
    expect(await scopes("--table", TABLE, "--endpoint", dynalite.endpoint)).toEqual(expected);
    expect(await scopes()).toEqual(expected);
  });

  it("--data-dir picks the embedded store even with a store section: the shared table is left alone", async () => {
    const dataDir = join(dir, "embedded");
    const r = await cli("results", "--data-dir", dataDir, "--since", "10m");
    expect(r.code).toBe(0);
    expect(r.out).toBe("");
    expect(r.err).toMatch(/^popwatch results: no results from .* in .*\/embedded\n$/);
  });

  it("--endpoint without --table is a usage error naming the flag; so is an endpoint that is no URL", async () => {
    for (const command of ["results", "catchment", "alerts"]) {
      const r = await cli(command, "--endpoint", dynalite.endpoint);
      expect({ command, code: r.code }).toEqual({ command, code: 2 });
      expect(r.err).toMatch(new RegExp(`^popwatch ${command}: --endpoint: only meaningful with --table\\n`));
    }
    const bad = await cli("results", "--table", TABLE, "--endpoint", "dynalite:8000");
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^popwatch results: --endpoint: expected an http:\/\/ or https:\/\/ URL, got "dynalite:8000"\n/);
  });

  it("a dead endpoint is a classified store error (exit 1), not a stack trace", async () => {
    const dead = `http://127.0.0.1:${closedPort}`;
    const where = `table ${TABLE} \\(${dead.replace(/\./g, "\\.")}\\)`;
    const cases: [string[], RegExp][] = [
      [["results", "--table", TABLE, "--endpoint", dead], /^popwatch results: .*ECONNREFUSED.* \(store_unavailable\)\n$/],
      [
        ["table", "create", "--table", TABLE, "--endpoint", dead],
        /^popwatch table create: DescribeTable popwatch-shared failed: .* \(store_unavailable\)\n$/,
      ],
      // The vantage registers itself before the first round: a dead endpoint stops the run there.
      [
        ["run", "--once", "--config", configFile, "--table", TABLE, "--endpoint", dead],
        new RegExp(`^popwatch run: cannot register vantage "${VANTAGE}" in ${where}: .* \\(store_unavailable\\)\\n$`),
      ],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(...argv);
      expect({ argv, code: r.code }).toEqual({ argv, code: 1 });
      expect(r.err).toMatch(message);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  }, 150_000);
});
