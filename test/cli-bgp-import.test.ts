// popwatch bgp import, events and state on the embedded store: a real RIS
// update file (checked against Debian's bgpdump), importing it twice, a
// truncated file, RIS Live JSON lines, and the configuration errors.
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBgpFile } from "../packages/cli/src/commands/bgp-file";
import { main } from "../packages/cli/src/index";
import { captureIo } from "./support/capture-io";

async function cli(...argv: string[]) {
  const c = captureIo();
  const code = await main(argv, c.io);
  return { code, out: c.out, err: c.err };
}

/** RIPE RIS rrc00 (the mrt branch's fixtures, provenance in their README): 2010-07-22 20:15-20:20 UTC. */
const ARCHIVE = join(import.meta.dirname, "fixtures/mrt/updates.20100722.2015.gz");
/** Minute-aligned, an hour back: the archive's records are moved here, inside the store's retention. */
const FILE_START_MS = Math.floor(Date.now() / 60_000) * 60_000 - 60 * 60_000;
const FILE_START = new Date(FILE_START_MS - 60_000).toISOString();
const FILE_END = new Date(FILE_START_MS + 30 * 60_000).toISOString();

/**
 * The MRT records of `mrt` with their timestamps moved so that the first is
 * `startSeconds` (record header: timestamp 4, type 2, subtype 2, length 4).
 * The store keeps events for the retention only (at most ten years), so a
 * 2010 archive is replayed as if recorded an hour ago; nothing else changes.
 */
function shiftMrtTimes(mrt: Buffer, startSeconds: number): Buffer {
  const out = Buffer.from(mrt);
  const first = out.readUInt32BE(0);
  for (let at = 0; at + 12 <= out.length; at += 12 + out.readUInt32BE(at + 8)) {
    out.writeUInt32BE(out.readUInt32BE(at) - first + startSeconds, at);
  }
  return out;
}
const WATCHED = [
  { prefix: "92.241.96.0/24", origins: [44265] },
  { prefix: "193.105.235.0/24", origins: [50798] },
];

const BASE_CONFIG = { targets: [{ name: "anycast-dns", address: "198.51.100.53", probes: { dns: {} } }] };

/** bgpdump -m's route events of the watched prefixes: the oracle for what the import must store. */
function bgpdumpEvents(
  file: string,
  prefixes: readonly string[],
): { type: string; time: number; peer: string; prefix: string; asPath: number[] }[] {
  const text = execFileSync("bgpdump", ["-m", file], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  return text
    .split("\n")
    .map((line) => line.split("|"))
    .filter((fields) => (fields[2] === "A" || fields[2] === "W") && prefixes.includes(fields[5] ?? ""))
    .map((fields) => ({
      type: fields[2]!,
      time: Number(fields[1]),
      peer: fields[3]!,
      prefix: fields[5]!,
      asPath: fields[2] === "A" ? fields[6]!.split(" ").map(Number) : [],
    }));
}

type StoredEvent = { type: string; time: number; source: string; peer: string; prefix?: string; asPath?: number[] };

/** `bgp events --json` over [since, until), parsed. */
async function storedEvents(dataDir: string, since = FILE_START, until = FILE_END): Promise<StoredEvent[]> {
  const result = await cli("bgp", "events", "--config", configFile, "--data-dir", dataDir, "--since", since, "--until", until, "--json");
  expect(result.code).toBe(0);
  return result.out
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as StoredEvent);
}

let dir: string;
let configFile: string;
/** The archive, moved in time and gzip'd again. */
let UPDATES: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-bgp-import-"));
  UPDATES = join(dir, "updates.20100722.2015.gz");
  await writeFile(UPDATES, gzipSync(shiftMrtTimes(gunzipSync(await readFile(ARCHIVE)), FILE_START_MS / 1000)));
  configFile = join(dir, "popwatch.config.json");
  await writeFile(configFile, JSON.stringify({ ...BASE_CONFIG, bgp: { prefixes: WATCHED, minPeers: 1 } }));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("bgp import of an MRT update file", () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = join(dir, "mrt");
  });

  it("stores the watched prefixes' events, as bgpdump decodes them, and says what it wrote", async () => {
    const result = await cli("bgp", "import", "--config", configFile, "--data-dir", dataDir, "--source", "rrc00", UPDATES);
    expect(result.err).toBe("");
    expect(result.code).toBe(0);
    const oracle = bgpdumpEvents(
      UPDATES,
      WATCHED.map((w) => w.prefix),
    );
    expect(oracle.length).toBeGreaterThan(50);
    const counts = /read (\d+) events, (\d+) of watched prefixes, (\d+) written, (\d+) duplicates$/m;
    expect(result.out).toMatch(counts);
    const [, read, matched, written, duplicates] = (counts.exec(result.out) ?? []).map(Number);
    expect(read).toBeGreaterThan(5000);
    // Peer state changes of the file's sessions are kept too: at least the route events.
    expect(matched).toBeGreaterThanOrEqual(oracle.length);
    // The file repeats a few updates within one second: one item each.
    expect(written! + duplicates!).toBe(matched);
    expect(duplicates).toBeLessThan(5);

    const stored = await storedEvents(dataDir);
    const routes = stored.filter((event) => event.type !== "STATE");
    // Same events as bgpdump (the store keeps an update repeated within one second once, and orders a second by key).
    const key = (e: { type: string; time: number; peer: string; prefix?: string; asPath?: number[] }) =>
      JSON.stringify([e.type, Math.floor(e.time), e.peer, e.prefix, e.asPath]);
    expect(new Set(routes.map(key))).toEqual(new Set(oracle.map(key)));
    expect(routes.length).toBeGreaterThanOrEqual(oracle.length - duplicates!);
    expect(routes.every((e) => e.source === "rrc00")).toBe(true);
    const times = stored.map((e) => e.time);
    expect(times).toEqual([...times].sort((a, b) => a - b));

    const only = await cli(
      "bgp",
      "events",
      "--config",
      configFile,
      "--data-dir",
      dataDir,
      "--since",
      FILE_START,
      "--until",
      FILE_END,
      "--prefix",
      "193.105.235.0/24",
    );
    expect(only.code).toBe(0);
    const rows = only.out.trim().split("\n");
    expect(rows[0]).toMatch(/^TIME\s+SOURCE\s+PEER\s+PEER AS\s+TYPE\s+PREFIX\s+AS PATH\s+ORIGIN$/);
    const routeRows = rows.slice(1).filter((row) => /\s(A|W)\s/.test(row));
    expect(routeRows.length).toBe(routes.filter((e) => e.prefix === "193.105.235.0/24").length);
    expect(routeRows.every((row) => row.includes("193.105.235.0/24"))).toBe(true);
    expect(rows.some((row) => row.includes("92.241.96.0/24"))).toBe(false);
  });

  it("writes nothing when the same file is imported again, and says so", async () => {
    const again = await cli("bgp", "import", "--config", configFile, "--data-dir", dataDir, "--source", "rrc00", UPDATES);
    expect(again.code).toBe(0);
    const [, matched, written, duplicates] = /(\d+) of watched prefixes, (\d+) written, (\d+) duplicates/.exec(again.out) ?? [];
    expect(Number(written)).toBe(0);
    expect(Number(duplicates)).toBe(Number(matched));
    expect(again.out).toContain("nothing new (already imported)");
  });

  it("shows each watched prefix's state: visibility, the expected origin, upstreams, no hijack", async () => {
    const state = await cli("bgp", "state", "--config", configFile, "--data-dir", dataDir, "--json");
    expect(state.err).toBe("");
    expect(state.code).toBe(0);
    const document = JSON.parse(state.out) as {
      prefixes: {
        prefix: string;
        visibility: { peersSeeing: number; peersReporting: number };
        origins: { asn: number; expected: boolean }[];
        upstreams: { asn: number }[];
        findings: { condition: string }[];
      }[];
    };
    expect(document.prefixes.map((p) => p.prefix)).toEqual(["92.241.96.0/24", "193.105.235.0/24"]);
    const first = document.prefixes[0]!;
    expect(first.visibility.peersSeeing).toBeGreaterThan(0);
    expect(first.visibility.peersReporting).toBeGreaterThanOrEqual(first.visibility.peersSeeing);
    expect(first.origins).toEqual([expect.objectContaining({ asn: 44265, expected: true })]);
    // bgpdump's paths for the prefix: every AS next to 44265 in them is an upstream seen.
    const oracleUpstreams = new Set(
      bgpdumpEvents(UPDATES, ["92.241.96.0/24"])
        .filter((e) => e.type === "A")
        .map((e) => e.asPath[e.asPath.length - 2]),
    );
    for (const { asn } of first.upstreams) expect(oracleUpstreams.has(asn)).toBe(true);
    expect(first.findings.filter((f) => f.condition.endsWith("hijack"))).toEqual([]);

    const text = await cli("bgp", "state", "--config", configFile, "--data-dir", dataDir);
    expect(text.code).toBe(0);
    const day = new Date(FILE_START_MS).toISOString().slice(0, 10);
    expect(text.out).toMatch(
      new RegExp(`^92\\.241\\.96\\.0/24 {2}\\(as of ${day} \\d\\d:\\d\\d:\\d\\dZ; expected origin AS44265\\)$`, "m"),
    );
    expect(text.out).toMatch(/^ {2}visibility {2}\d+ of \d+ reporting peers see it/m);
    expect(text.out).toMatch(/^ {2}origins {5}AS44265 \d+ peers?$/m);
  });
});

describe("bgp import of a truncated MRT file", () => {
  it("exits 1 naming the file and the byte offset, and keeps the events before it", async () => {
    const whole = gunzipSync(await readFile(UPDATES));
    const cut = Math.floor(whole.length * 0.6);
    const truncated = join(dir, "updates.truncated");
    await writeFile(truncated, whole.subarray(0, cut));
    const dataDir = join(dir, "truncated");

    const result = await cli("bgp", "import", "--config", configFile, "--data-dir", dataDir, truncated);
    expect(result.code).toBe(1);
    const [, offset] = /updates\.truncated: truncated at byte (\d+)/.exec(result.err) ?? [];
    expect(Number(offset)).toBeGreaterThan(0);
    expect(Number(offset)).toBeLessThan(cut);
    expect(result.err).toMatch(/the \d+ events before it were imported/);

    const kept = await storedEvents(dataDir);
    const all = bgpdumpEvents(
      UPDATES,
      WATCHED.map((w) => w.prefix),
    );
    const keptRoutes = kept.filter((e) => e.type !== "STATE").length;
    expect(keptRoutes).toBeGreaterThan(0);
    expect(keptRoutes).toBeLessThan(all.length);
  });

  it("an unreadable file is named, exit 1, and the other files are still imported", async () => {
    const dataDir = join(dir, "missing");
    const result = await cli("bgp", "import", "--config", configFile, "--data-dir", dataDir, join(dir, "no-such-file"), UPDATES);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/no-such-file: cannot read the file \(ENOENT\)/);
    expect(result.out).toMatch(/updates\.20100722\.2015\.gz: read \d+ events, \d+ of watched prefixes, [1-9]\d* written/);
  });
});

describe("bgp import of RIS Live JSON lines", () => {
  /** Ten minutes back, whole seconds: inside the default retention. */
  const T0 = Math.floor(Date.now() / 1000) - 600;
  const frame = (data: Record<string, unknown>) =>
    JSON.stringify({ type: "ris_message", data: { type: "UPDATE", host: "rrc21", ...data } });

  it("stores announcements and withdrawals of the watched prefixes, skips bad lines with their line and offset", async () => {
    const lines = [
      frame({
        timestamp: T0 + 0.5,
        peer: "198.51.100.7",
        peer_asn: "64510",
        path: [64510, 3356, 44265],
        announcements: [{ next_hop: "198.51.100.7", prefixes: ["92.241.96.0/24", "203.0.113.0/24"] }],
      }),
      "{not json",
      // A saved `data` object alone.
      JSON.stringify({
        timestamp: T0 + 1,
        peer: "198.51.100.8",
        peer_asn: "64511",
        host: "rrc21",
        type: "UPDATE",
        path: [64511, 174, 44265],
        announcements: [{ next_hop: "198.51.100.8", prefixes: ["92.241.96.0/24"] }],
      }),
      frame({ timestamp: T0 + 2, peer: "198.51.100.7", peer_asn: "64510", withdrawals: ["92.241.96.0/24"] }),
    ];
    const file = join(dir, "ris-live.jsonl");
    await writeFile(file, `${lines.join("\n")}\n`);
    const dataDir = join(dir, "ris-live");

    const result = await cli("bgp", "import", "--config", configFile, "--data-dir", dataDir, file);
    expect(result.code).toBe(1);
    expect(result.err).toContain(`ris-live.jsonl: line 2 (byte ${lines[0]!.length + 1}): invalid_json`);
    expect(result.out).toContain("ris-live.jsonl: read 4 events, 3 of watched prefixes, 3 written, 0 duplicates");

    const stored = await storedEvents(dataDir, "1h", new Date(Date.now() + 60_000).toISOString());
    expect(stored).toEqual([
      expect.objectContaining({
        type: "A",
        time: T0 + 0.5,
        source: "rrc21",
        peer: "198.51.100.7",
        peerAs: 64510,
        prefix: "92.241.96.0/24",
        asPath: [64510, 3356, 44265],
        origin: 44265,
      }),
      expect.objectContaining({ type: "A", time: T0 + 1, peer: "198.51.100.8", origin: 44265 }),
      expect.objectContaining({ type: "W", time: T0 + 2, peer: "198.51.100.7", asPath: [], origin: null }),
    ]);

    const again = await cli("bgp", "import", "--config", configFile, "--data-dir", dataDir, file);
    expect(again.out).toContain("read 4 events, 3 of watched prefixes, 0 written, 3 duplicates: nothing new (already imported)");
  });
});

describe("bgp state from constructed events", () => {
  /** RIS Live `data` objects of four peers of rrc21, ten minutes back. */
  function routes(t0: number): string[] {
    const announce = (peer: string, peerAs: number, path: number[], prefixes: string[], at: number) =>
      JSON.stringify({
        type: "UPDATE",
        timestamp: t0 + at,
        host: "rrc21",
        peer,
        peer_asn: String(peerAs),
        path,
        announcements: [{ next_hop: peer, prefixes }],
      });
    return [
      announce("198.51.100.11", 64511, [64511, 3356, 44265], ["92.241.96.0/24"], 0),
      announce("198.51.100.12", 64512, [64512, 174, 44265], ["92.241.96.0/24"], 1),
      announce("198.51.100.13", 64513, [64513, 6939, 44265], ["92.241.96.0/24"], 2),
      // Two peers see a more-specific from AS64666, one the prefix itself from AS64666.
      announce("198.51.100.11", 64511, [64511, 3356, 64666], ["92.241.96.128/25"], 3),
      announce("198.51.100.12", 64512, [64512, 64666], ["92.241.96.128/25"], 4),
      announce("198.51.100.14", 64514, [64514, 64666], ["92.241.96.0/24"], 5),
    ];
  }

  it("names the origin hijack, the sub-prefix hijack and the RPKI invalid routes with their ASes and prefixes", async () => {
    const vrpFile = join(dir, "vrps.json");
    await writeFile(vrpFile, JSON.stringify({ roas: [{ asn: "AS44265", prefix: "92.241.96.0/24", maxLength: 24, ta: "ripe" }] }));
    const rpkiConfig = join(dir, "rpki.config.json");
    await writeFile(rpkiConfig, JSON.stringify({ ...BASE_CONFIG, bgp: { prefixes: WATCHED, minPeers: 2, rpki: { vrpFile } } }));
    const file = join(dir, "hijack.jsonl");
    await writeFile(file, `${routes(Math.floor(Date.now() / 1000) - 600).join("\n")}\n`);
    const dataDir = join(dir, "hijack");
    expect((await cli("bgp", "import", "--config", rpkiConfig, "--data-dir", dataDir, file)).code).toBe(0);

    const state = await cli("bgp", "state", "--config", rpkiConfig, "--data-dir", dataDir, "--json");
    expect(state.code).toBe(0);
    const [watched] = (JSON.parse(state.out) as { prefixes: Record<string, unknown>[] }).prefixes;
    expect(watched).toMatchObject({
      prefix: "92.241.96.0/24",
      expected: { origins: [44265], upstreams: null, maxLength: null },
      visibility: { peersSeeing: 4, peersReporting: 4, ratio: 1 },
      origins: [
        { asn: 44265, peers: 3, expected: true },
        { asn: 64666, peers: 1, expected: false },
      ],
    });
    const findings = watched!.findings as { condition: string; asns: number[]; prefixes: string[]; peers: unknown[] }[];
    expect(findings.map((f) => [f.condition, f.asns, f.prefixes, f.peers.length])).toEqual([
      ["origin-hijack", [64666], ["92.241.96.0/24", "92.241.96.128/25"], 3],
      ["sub-prefix-hijack", [64666], ["92.241.96.128/25"], 2],
      ["rpki-invalid", [64666], ["92.241.96.0/24", "92.241.96.128/25"], 3],
    ]);

    const text = await cli("bgp", "state", "--config", rpkiConfig, "--data-dir", dataDir);
    expect(text.out).toContain("  origins     AS44265 3 peers; AS64666 (unexpected) 1 peer\n");
    expect(text.out).toContain(
      "    origin hijack: AS64666 originating 92.241.96.0/24, 92.241.96.128/25 (expected AS44265); seen by 3 peers",
    );
    expect(text.out).toContain("    sub-prefix hijack: 92.241.96.128/25 (longer than /24) originated by AS64666; seen by 2 peers");
    expect(text.out).toContain("    RPKI invalid: 92.241.96.0/24, 92.241.96.128/25 originated by AS64666; seen by 3 peers");
    // The other watched prefix has no data: said so, no findings.
    expect(text.out).toContain("193.105.235.0/24  (no BGP data yet; expected origin AS50798)");
  });

  it("pages the hijacks right after the import that brought them, once, and says when they recovered", async () => {
    const alertConfig = join(dir, "alerts.config.json");
    await writeFile(alertConfig, JSON.stringify({ ...BASE_CONFIG, bgp: { prefixes: WATCHED, minPeers: 2 } }));
    const t0 = Math.floor(Date.now() / 1000) - 600;
    const hijack = join(dir, "alert-hijack.jsonl");
    await writeFile(hijack, `${routes(t0).join("\n")}\n`);
    const dataDir = join(dir, "alerts");
    const notifications = (out: string) =>
      out
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as { "detail-type": string; detail: { slo: string; kind: string; severity: string } })
        .map((n) => `${n.detail.kind} ${n.detail.slo} ${n.detail.severity}`);

    const first = await cli("bgp", "import", "--config", alertConfig, "--data-dir", dataDir, hijack);
    expect(first.code).toBe(0);
    expect(notifications(first.out).sort()).toEqual([
      "firing routing:origin-hijack:92.241.96.0/24 page",
      "firing routing:sub-prefix-hijack:92.241.96.0/24 page",
    ]);
    // The same file again changes nothing: no notification twice.
    const again = await cli("bgp", "import", "--config", alertConfig, "--data-dir", dataDir, hijack);
    expect(notifications(again.out)).toEqual([]);

    // The more-specific is withdrawn and the fourth peer goes back to the right origin: both pages resolve
    // (withdrawing the fourth peer's route instead would leave 3 of 4 peers seeing it: a visibility page).
    const withdraw = (peer: string, peerAs: number, prefixes: string[], at: number) =>
      JSON.stringify({ type: "UPDATE", timestamp: t0 + at, host: "rrc21", peer, peer_asn: String(peerAs), withdrawals: prefixes });
    const recovery = join(dir, "alert-recovery.jsonl");
    await writeFile(
      recovery,
      `${[
        withdraw("198.51.100.11", 64511, ["92.241.96.128/25"], 10),
        withdraw("198.51.100.12", 64512, ["92.241.96.128/25"], 11),
        JSON.stringify({
          type: "UPDATE",
          timestamp: t0 + 12,
          host: "rrc21",
          peer: "198.51.100.14",
          peer_asn: "64514",
          path: [64514, 1299, 44265],
          announcements: [{ next_hop: "198.51.100.14", prefixes: ["92.241.96.0/24"] }],
        }),
      ].join("\n")}\n`,
    );
    const recovered = await cli("bgp", "import", "--config", alertConfig, "--data-dir", dataDir, recovery);
    expect(recovered.code).toBe(0);
    expect(notifications(recovered.out).sort()).toEqual([
      "resolved routing:origin-hijack:92.241.96.0/24 page",
      "resolved routing:sub-prefix-hijack:92.241.96.0/24 page",
    ]);
  });

  it("a VRP file that cannot be read or parsed is a configuration error naming it, exit 2", async () => {
    const broken = join(dir, "broken-vrps.json");
    await writeFile(broken, JSON.stringify({ roas: [{ asn: "AS44265", prefix: "92.241.96.0/33", maxLength: 24 }] }));
    for (const [vrpFile, reason] of [
      [broken, "roas[0]: prefix"],
      [join(dir, "no-vrps.json"), "cannot read"],
    ] as const) {
      const config = join(dir, "bad-rpki.config.json");
      await writeFile(config, JSON.stringify({ ...BASE_CONFIG, bgp: { prefixes: WATCHED, rpki: { vrpFile } } }));
      const result = await cli("bgp", "state", "--config", config, "--data-dir", join(dir, "unused"));
      expect(result.code).toBe(2);
      expect(result.err).toContain(`bgp.rpki.vrpFile`);
      expect(result.err).toContain(vrpFile);
      expect(result.err).toContain(reason);
    }
  });
});

describe("reading any file given to bgp import", () => {
  it("never throws: a file of arbitrary bytes ends in events and classified failures with offsets", async () => {
    const file = join(dir, "arbitrary");
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          // MRT-looking: a plausible header in front of arbitrary bytes.
          fc.tuple(fc.uint8Array({ minLength: 12, maxLength: 12 }), fc.uint8Array({ maxLength: 200 })).map(([head, rest]) => {
            const bytes = Uint8Array.from([...head, ...rest]);
            bytes.set([0, 16, 0, 4], 4);
            return bytes;
          }),
          fc.string({ maxLength: 200 }).map((text) => new TextEncoder().encode(`{${text}\n${text}`)),
        ),
        async (bytes) => {
          await writeFile(file, bytes);
          const reading = readBgpFile(file);
          let events = 0;
          for await (const _event of reading.events) events++;
          expect(events).toBe(reading.eventsRead());
          for (const failure of reading.failures()) {
            expect(failure.code).toMatch(/^[a-z_-]+$/);
            expect(failure.offset).toBeGreaterThanOrEqual(0);
            expect(failure.offset).toBeLessThanOrEqual(bytes.length);
            expect(failure.message).not.toBe("");
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("bgp configuration and usage errors", () => {
  it("a config without a bgp section is a configuration error, exit 2", async () => {
    const plain = join(dir, "plain.config.json");
    await writeFile(plain, JSON.stringify(BASE_CONFIG));
    for (const sub of ["import", "events", "state", "watch", "listen"]) {
      const result = await cli("bgp", sub, "--config", plain, "--data-dir", join(dir, "unused"), ...(sub === "import" ? [UPDATES] : []));
      expect(result.code).toBe(2);
      expect(result.err).toContain(`popwatch bgp ${sub}: ${plain}: has no "bgp" section`);
    }
  });

  it("flags are checked and named; unknown subcommands print the family's usage", async () => {
    const since = await cli("bgp", "events", "--config", configFile, "--since", "yesterday");
    expect(since.code).toBe(2);
    expect(since.err).toContain("--since: expected a duration");
    expect(since.err).toContain("Usage: popwatch bgp events");
    const prefix = await cli("bgp", "events", "--config", configFile, "--prefix", "10.0.0.0/8");
    expect(prefix.code).toBe(2);
    expect(prefix.err).toContain("--prefix: 10.0.0.0/8 is neither inside nor around a watched prefix");
    const none = await cli("bgp", "import", "--config", configFile);
    expect(none.code).toBe(2);
    expect(none.err).toContain("missing FILE");
    const unknown = await cli("bgp", "frobnicate");
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('unknown subcommand "frobnicate"');
    expect(unknown.err).toContain("Usage: popwatch bgp <subcommand>");
  });
});
