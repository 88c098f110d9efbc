// fetchArchiveUpdates against a loopback archive server and dynalite: every
// way a file can fail is a classified outcome (never a rejection), the cursor
// moves only past finished or given-up files, catch-up is file by file, and
// arbitrary bytes served as an update file never crash the run.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { DynamoRoutingRepository } from "@popwatch/store";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MemoryTable, startMemoryTable } from "../../store/test/support/memory-table";
import { fetchArchiveUpdates } from "../src/bgp-archives";

const at = (iso: string) => Date.parse(iso);
/** At 10:17 the newest RIS file due is 10:05. */
const NOW = at("2026-12-06T10:17:00Z");
const EMPTY_MRT = gzipSync(Buffer.alloc(0));

let table: MemoryTable;
let server: Server;
let base: string;
let handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(404).end();
let collectorSeq = 0;

beforeAll(async () => {
  table = await startMemoryTable("bgp-archives");
  server = createServer((req, res) => handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await table.close();
});

/** A collector of its own per test: cursors do not leak between tests. */
function setup(archiveBase = base) {
  const collector = `rrc${String(++collectorSeq).padStart(2, "0")}`;
  const repo = new DynamoRoutingRepository({ client: table.client, tableName: table.tableName, clock: () => NOW });
  const bgp = {
    prefixes: [{ prefix: "198.51.100.0/24" }],
    collectors: [{ name: collector, archive: "ris" as const }],
    archives: { ris: archiveBase, routeviews: archiveBase },
  };
  const cursor = async () => (await repo.readArchiveCursors()).find((c) => c.collector === collector)?.fileTimeMs;
  return { collector, repo, bgp, cursor };
}

const fileUrl = (collector: string, hhmm: string) => `/${collector}/2026.12/updates.20261206.${hhmm}.gz`;

describe("fetchArchiveUpdates", () => {
  it("catches up file by file from the cursor and stops a collector at its first missing file", async () => {
    const { collector, repo, bgp, cursor } = setup();
    await repo.advanceArchiveCursor({ archive: "ris", collector, fileTimeMs: at("2026-12-06T09:45:00Z") });
    const present = new Set([fileUrl(collector, "0950"), fileUrl(collector, "0955"), fileUrl(collector, "1005")]);
    handle = (req, res) => (present.has(req.url ?? "") ? res.writeHead(200).end(EMPTY_MRT) : res.writeHead(404).end());
    const report = await fetchArchiveUpdates(repo, bgp, { nowMs: NOW, maxFiles: 10 });
    expect(report.files.map((f) => [new Date(f.file.fileTimeMs).toISOString().slice(11, 16), f.status])).toEqual([
      ["09:50", "ingested"],
      ["09:55", "ingested"],
      ["10:00", "retry"],
    ]);
    expect(await cursor()).toBe(at("2026-12-06T09:55:00Z"));
    // An hour later the 10:00 file is still missing: given up on, and the run goes on to 10:05.
    const later = await fetchArchiveUpdates(repo, bgp, { nowMs: at("2026-12-06T11:10:00Z"), maxFiles: 2 });
    expect(later.files.map((f) => f.status)).toEqual(["skipped", "ingested"]);
    expect(later.files[0]).toMatchObject({ failure: { code: "archive_missing" } });
    expect(await cursor()).toBe(at("2026-12-06T10:05:00Z"));
  });

  it("HTTP errors, timeouts and refused connections are retried, never given up on", async () => {
    const lateNow = at("2026-12-06T13:00:00Z");
    const { repo, bgp, cursor } = setup();
    handle = (_req, res) => res.writeHead(503).end("busy");
    let report = await fetchArchiveUpdates(repo, bgp, { nowMs: NOW, giveUpAfterMs: 0 });
    expect(report.files).toMatchObject([{ status: "retry", failure: { code: "archive_http" } }]);

    handle = () => undefined; // accepts, never answers
    report = await fetchArchiveUpdates(repo, bgp, { nowMs: lateNow, giveUpAfterMs: 0, timeoutMs: 200 });
    expect(report.files).toMatchObject([{ status: "retry", failure: { code: "archive_timeout" } }]);
    server.closeAllConnections();

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedBase = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const unreachable = setup(closedBase);
    report = await fetchArchiveUpdates(unreachable.repo, unreachable.bgp, { nowMs: lateNow, giveUpAfterMs: 0 });
    expect(report.files).toMatchObject([{ status: "retry", failure: { code: "archive_unreachable" } }]);
    expect(await cursor()).toBeUndefined();
    expect(await unreachable.cursor()).toBeUndefined();
  });

  it("a file over the size cap is refused, with or without Content-Length", async () => {
    const big = Buffer.alloc(64 * 1024, 1);
    for (const chunked of [false, true]) {
      const { repo, bgp } = setup();
      handle = (_req, res) => {
        if (chunked) {
          res.writeHead(200);
          res.write(big.subarray(0, 32 * 1024));
          res.end(big.subarray(32 * 1024));
        } else res.writeHead(200, { "content-length": big.length }).end(big);
      };
      const report = await fetchArchiveUpdates(repo, bgp, { nowMs: NOW, maxBytes: 16 * 1024 });
      expect(report.files).toMatchObject([{ status: "retry", failure: { code: "archive_too_large" } }]);
    }
  });

  it("starts no file after the deadline", async () => {
    const { repo, bgp } = setup();
    handle = (_req, res) => res.writeHead(200).end(EMPTY_MRT);
    const report = await fetchArchiveUpdates(repo, bgp, { nowMs: NOW, deadlineMs: 1_000, clock: () => 2_000 });
    expect(report.files).toEqual([]);
  });

  it("arbitrary bytes (plain, gzip'd, or gzip cut short) served as an update file end in a classified outcome, never a crash", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), fc.constantFrom("plain", "gzip", "cut"), async (bytes, form) => {
        const { repo, bgp, cursor } = setup();
        const gz = gzipSync(bytes);
        const body = form === "plain" ? Buffer.from(bytes) : form === "gzip" ? gz : gz.subarray(0, Math.max(1, gz.length >> 1));
        handle = (_req, res) => res.writeHead(200).end(body);
        const report = await fetchArchiveUpdates(repo, bgp, { nowMs: NOW });
        expect(report.files).toHaveLength(1);
        const [outcome] = report.files;
        if (outcome!.status === "ingested") {
          expect(await cursor()).toBe(outcome!.file.fileTimeMs);
        } else {
          expect(outcome).toMatchObject({ status: "retry", failure: { code: "archive_corrupt" } });
          expect(outcome!.status === "retry" && typeof outcome!.failure.offset).toBe("number");
          expect(await cursor()).toBeUndefined();
        }
      }),
      { numRuns: 30 },
    );
  });
});
