// popwatch store migrate on the embedded store (--data-dir) and on dynalite
// run as its own server, a DynamoDB-compatible endpoint (--table --endpoint): a
// v2 table (packages/store/test/fixtures) copied into layout v3, the summary
// it prints, --dry-run and --delete-v2, and its usage errors.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DAY_MS } from "@popwatch/core";
import { DynamoResultStore, ensureTable, startEmbeddedStore } from "@popwatch/store";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { storeMigrateCommand } from "../packages/cli/src/commands/store";
import { main } from "../packages/cli/src/index";
import { type V2Expected, loadV2Fixture, v2Expected } from "../packages/store/test/support/v2-fixture";
import { captureIo } from "./support/capture-io";
import { type DynaliteServer, startDynaliteServer } from "./support/dynalite-server";

// Each run walks every hour of raw retention per region: seconds on a quiet machine, more on a loaded runner.
const RUN_TIMEOUT_MS = 180_000;

let expected: V2Expected;
let nowMs: number;
beforeAll(async () => {
  expected = await v2Expected();
  nowMs = Date.parse(expected.now);
});

async function migrate(...argv: string[]) {
  const c = captureIo();
  const code = await storeMigrateCommand(argv, c.io, { now: () => nowMs });
  return { code, out: c.out, err: c.err };
}

describe("popwatch store migrate --data-dir", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "popwatch-migrate-"));
    const embedded = await startEmbeddedStore({ dataDir: dir });
    try {
      await loadV2Fixture(embedded.client, embedded.store.tableName);
    } finally {
      await embedded.close();
    }
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it(
    "--dry-run counts what would be migrated and writes nothing",
    async () => {
      const r = await migrate("--dry-run", "--data-dir", dir);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^dry run \(nothing written\): v2 data in .*: 3 regions \(ap-southeast-2, eu-central-1, us-east-1\)\n/);
      expect(r.out).toContain(`would migrate ${expected.results.length} results in 290 batches`);
      expect(r.out).not.toMatch(/compact|deleted|kept/);
      expect(r.err).toMatch(/popwatch store migrate: day: \d+\/\d+ months, \d+ v2 items read, \d+ rollups\n$/);
      const embedded = await startEmbeddedStore({ dataDir: dir });
      try {
        expect(await embedded.store.queryResults({ since: nowMs - 30 * DAY_MS, until: nowMs })).toEqual([]);
      } finally {
        await embedded.close();
      }
    },
    RUN_TIMEOUT_MS,
  );

  it(
    "migrates into v3, prints the summary, and keeps the v2 items",
    async () => {
      const r = await migrate("--data-dir", dir);
      expect(r.code).toBe(0);
      const lines = r.out.trimEnd().split("\n");
      expect(lines[0]).toMatch(/^v2 data in .*: 3 regions/);
      expect(lines[1]).toBe(`  raw      290 v2 items read, migrated ${expected.results.length} results in 290 batches`);
      expect(lines[2]).toMatch(/^ {2}minute {3}165 v2 items read, migrated 495 rollups of 80 periods$/);
      expect(lines[3]).toMatch(/^ {2}hour {5}7 v2 items read, migrated 21 rollups of 4 periods$/);
      expect(lines[4]).toMatch(/^ {2}day {6}8 v2 items read, migrated 24 rollups of 5 periods$/);
      expect(lines[5]).toMatch(/^ {2}compact {2}\d+ hour and \d+ day buckets built \(\d+ rollups\)$/);
      expect(lines[6]).toBe("  v2 items kept (they expire by TTL; --delete-v2 removes them now)");
      const embedded = await startEmbeddedStore({ dataDir: dir });
      try {
        expect(await embedded.store.queryResults({ since: nowMs - 30 * DAY_MS, until: nowMs })).toEqual(expected.results);
      } finally {
        await embedded.close();
      }
    },
    RUN_TIMEOUT_MS,
  );

  it(
    "--delete-v2 deletes the v2 items it migrated",
    async () => {
      const r = await migrate("--delete-v2", "--data-dir", dir);
      expect(r.code).toBe(0);
      expect(r.out).toContain("  deleted  470 v2 items\n");
      const again = await migrate("--dry-run", "--data-dir", dir);
      expect(again.out).toContain("  raw      0 v2 items read, would migrate 0 results in 0 batches");
      expect(again.out).toContain("  minute   0 v2 items read");
    },
    RUN_TIMEOUT_MS,
  );
});

describe("popwatch store migrate --table --endpoint (dynalite as its own server)", () => {
  const tableName = "popwatch-shared";
  let dir: string;
  let server: DynaliteServer;
  let client: DynamoDBClient;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "popwatch-migrate-endpoint-"));
    server = await startDynaliteServer(dir);
    // The SDK's credential chain needs something; dynalite accepts anything.
    vi.stubEnv("AWS_ACCESS_KEY_ID", "popwatch-test");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "popwatch-test");
    client = new DynamoDBClient({ endpoint: server.endpoint, region: "local", maxAttempts: 1 });
    await ensureTable(client, tableName, { pollMs: 10, timeoutMs: 10_000 });
    await loadV2Fixture(client, tableName);
  });
  afterAll(async () => {
    client?.destroy();
    await server?.stop();
    vi.unstubAllEnvs();
    await rm(dir, { recursive: true, force: true });
  });

  it(
    "migrates the table behind the endpoint",
    async () => {
      const r = await migrate("--table", tableName, "--aws-region", "local", "--endpoint", server.endpoint);
      expect(r.err).not.toMatch(/error/i);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`v2 data in table ${tableName} (${server.endpoint}): 3 regions`);
      const store = new DynamoResultStore({ client, tableName, clock: () => nowMs });
      expect(await store.queryResults({ since: nowMs - 30 * DAY_MS, until: nowMs })).toEqual(expected.results);
    },
    RUN_TIMEOUT_MS,
  );
});

describe("popwatch store usage", () => {
  async function cli(...argv: string[]) {
    const c = captureIo();
    const code = await main(argv, c.io);
    return { code, out: c.out, err: c.err };
  }

  it("prints its usage and refuses flag combinations that make no sense", async () => {
    expect((await cli("store", "migrate", "--help")).out).toMatch(/^Usage: popwatch store migrate \[--dry-run\] \[--delete-v2\]/);
    expect((await cli("--help")).out).toMatch(/\n {2}store migrate {9}copy a store written before layout v3 into v3/);
    const cases: [string[], RegExp][] = [
      [["store"], /missing subcommand/],
      [["store", "compact"], /unknown subcommand "compact"/],
      [["store", "migrate", "--dry-run", "--delete-v2"], /--dry-run and --delete-v2 exclude each other/],
      [["store", "migrate", "--endpoint", "http://127.0.0.1:1"], /--endpoint: only meaningful with --table/],
      [
        ["store", "migrate", "--table", "t", "--aws-region", "r", "--endpoint", "ftp://x"],
        /--endpoint: expected an http:\/\/ or https:\/\/ URL/,
      ],
      [["store", "migrate", "--table", "t", "--data-dir", "d"], /exclude each other/],
      [["store", "migrate", "--bogus"], /bogus/],
      [["store", "migrate", "--regions", "eu-central-1,,us-east-1"], /--regions: expected a comma-separated list/],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.err, argv.join(" ")).toMatch(message);
    }
  });
});
