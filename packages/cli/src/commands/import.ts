// `popwatch import`: results recorded elsewhere (`popwatch probe --json` plus
// where and when) into the store. Each line's key derives from its content,
// so importing a file again overwrites the same items instead of adding.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { storeRetention } from "@popwatch/agent";
import { DAY_MS, DEFAULT_RETENTION_DAYS, MINUTE_MS, PROBE_KINDS, type RetentionDays, toEpochMs, toIsoInstant } from "@popwatch/core";
import { DEFAULT_DATA_DIR, type ResultStore, type StoredResult } from "@popwatch/store";
import { loadConfig, reportConfigProblem } from "../config-file";
import { UsageError } from "../errors";
import type { Io } from "../io";
import { type OpenStore, openSharedStore } from "../local-store";
import { reportStoreFailure } from "../store-flags";
import { parseFlags } from "./args";

export const IMPORT_USAGE = `Usage: popwatch import [--data-dir DIR] [--region R] [--strict] [--config FILE] FILE.jsonl

Loads results into the embedded store, one JSON object per line: the
"popwatch probe --json" format plus
  "region"   where it was probed from (or pass --region for lines without one)
  "time"     the slot it belongs to, ISO 8601 (default: its startedAt)
("popwatch results --json" output, with slotAt, imports as well.) startedAt is
kept when present, else set to time. Importing the same file again writes
nothing new: a line's key is derived from its content. Identical lines count
once. Afterwards the minute rollups of the touched minutes are rebuilt, and
the hour and day rollups of the hours and days that have ended.

A bad line is reported as FILE:LINE: reason; the good lines are imported and
the exit status is 1. With --strict a single bad line rejects the whole file.

Options:
  --data-dir DIR        embedded store directory (default ${DEFAULT_DATA_DIR})
  --region R            region of lines that name none
  --strict              import nothing unless every line is good
  --config FILE         take retention (expiry of the imported items) from this config
  -h, --help            this help

Exit status: 0 every line imported, 1 bad lines or a store error, 2 usage or configuration error.
`;

const OPTIONS = {
  "data-dir": { type: "string" },
  region: { type: "string" },
  strict: { type: "boolean" },
  config: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const REGION_PATTERN = /^[a-z0-9-]{1,32}$/;
/** putResults calls in flight: each line is its own batch (its own key), so they are many and small. */
const WRITE_CONCURRENCY = 8;

/** A result ready to store, and the content hash its key derives from. */
interface ImportedLine {
  result: Omit<StoredResult, "seq">;
  digest: string;
}

/** Validates one line; returns the result or the reason it cannot be imported. */
export function parseImportLine(text: string, defaultRegion: string | undefined): ImportedLine | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { error: `invalid JSON: ${(err as Error).message}` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { error: "expected a JSON object" };
  const line = value as Record<string, unknown>;
  const problem = (field: string, expected: string) => ({
    error: `${field}: expected ${expected}, got ${JSON.stringify(line[field]) ?? "nothing"}`,
  });

  if (!(PROBE_KINDS as readonly unknown[]).includes(line.kind)) return problem("kind", `one of ${PROBE_KINDS.join(", ")}`);
  if (typeof line.target !== "string" || line.target === "") return problem("target", "an address:port string");
  if (typeof line.address !== "string") return problem("address", "a string");
  if (!(Number.isInteger(line.port) && (line.port as number) >= 0 && (line.port as number) <= 65535))
    return problem("port", "a port number");
  if (!(line.name === undefined || line.name === null || typeof line.name === "string")) return problem("name", "a string or null");
  if (typeof line.ok !== "boolean") return problem("ok", "true or false");
  const timings = line.timings as Record<string, unknown> | null | undefined;
  if (typeof timings !== "object" || timings === null || typeof timings.totalMs !== "number" || !(timings.totalMs >= 0)) {
    return problem("timings", 'an object with "totalMs"');
  }
  const pop = line.pop as Record<string, unknown> | null | undefined;
  if (!(pop === null || pop === undefined || (typeof pop === "object" && typeof pop.id === "string" && typeof pop.source === "string"))) {
    return problem("pop", 'null or an object with "id" and "source"');
  }
  const failure = line.failure as Record<string, unknown> | null | undefined;
  if (line.ok && !(failure === null || failure === undefined)) return problem("failure", "null when ok is true");
  if (
    !line.ok &&
    !(typeof failure === "object" && failure !== null && typeof failure.code === "string" && typeof failure.message === "string")
  ) {
    return problem("failure", 'an object with "code" and "message" when ok is false');
  }
  const region = line.region ?? defaultRegion;
  if (region === undefined) return { error: "region: missing (add a region field or pass --region)" };
  if (typeof region !== "string" || !REGION_PATTERN.test(region)) return problem("region", "lowercase letters, digits and '-'");

  const instant = (field: "time" | "slotAt" | "startedAt") => {
    const raw = line[field];
    if (raw === undefined) return undefined;
    return typeof raw === "string" && /^\d{4}-\d{2}-\d{2}T/.test(raw) ? toIsoInstant(raw) : null;
  };
  const time = instant("time");
  const slotAt = instant("slotAt");
  const startedAt = instant("startedAt");
  for (const [field, parsed] of [
    ["time", time],
    ["slotAt", slotAt],
    ["startedAt", startedAt],
  ] as const) {
    if (parsed === null) return problem(field, "an ISO 8601 time");
  }
  const slot = time ?? slotAt ?? startedAt;
  if (!slot) return { error: "time: missing (or startedAt)" };

  // Keys are ours to derive: drop what a `results --json` export carries over.
  const { time: _time, seq: _seq, invocationId: _invocationId, ...rest } = line;
  const result = {
    ...rest,
    name: (line.name as string | null | undefined) ?? null,
    pop: pop ?? null,
    failure: failure ?? null,
    region,
    slotAt: slot,
    startedAt: startedAt ?? slot,
  } as unknown as Omit<StoredResult, "seq">;
  return { result, digest: createHash("sha256").update(text).digest("hex").slice(0, 32) };
}

export async function importCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseFlags(argv, OPTIONS, true);
  if (values.help) {
    io.stdout.write(IMPORT_USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0 ? "missing FILE: popwatch import FILE.jsonl" : `one FILE expected, got ${positionals.length}`,
    );
  }
  const file = positionals[0]!;
  if (values.region !== undefined && !REGION_PATTERN.test(values.region)) {
    throw new UsageError(`--region: expected lowercase letters, digits and '-', got "${values.region}"`);
  }
  let retentionDays: RetentionDays = { ...DEFAULT_RETENTION_DAYS };
  if (values.config !== undefined) {
    try {
      retentionDays = storeRetention((await loadConfig(values.config)).config);
    } catch (err) {
      return reportConfigProblem("import", err, io);
    }
  }
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read "${file}": ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }

  const good: ImportedLine[] = [];
  const seen = new Set<string>();
  let bad = 0;
  let duplicates = 0;
  text.split("\n").forEach((raw, index) => {
    const content = raw.replace(/\r$/, "").trim();
    if (content === "") return;
    const parsed = parseImportLine(content, values.region);
    if ("error" in parsed) {
      bad++;
      io.stderr.write(`${file}:${index + 1}: ${parsed.error}\n`);
    } else if (seen.has(parsed.digest)) {
      duplicates++;
    } else {
      seen.add(parsed.digest);
      good.push(parsed);
    }
  });
  if (bad > 0 && values.strict) {
    io.stderr.write(`popwatch import: ${bad} bad line${bad === 1 ? "" : "s"}; nothing imported (--strict)\n`);
    return 1;
  }

  let opened: OpenStore;
  try {
    opened = await openSharedStore({ dataDir: values["data-dir"] ?? DEFAULT_DATA_DIR, retentionDays });
  } catch (err) {
    return reportStoreFailure(io, "import", err, "; lines written before the failure stay, importing again completes the rest");
  }
  try {
    const rollups = await writeImported(opened.store, good, Date.now());
    const oldest = Math.min(...good.map((line) => toEpochMs(line.result.slotAt!)!));
    const expired = good.length > 0 && oldest < Date.now() - retentionDays.raw * DAY_MS;
    io.stdout.write(
      `imported ${good.length} result${good.length === 1 ? "" : "s"} from ${file} into ${opened.where}` +
        (duplicates > 0 ? ` (${duplicates} repeated line${duplicates === 1 ? "" : "s"} counted once)` : "") +
        `; ${rollups} rollups rebuilt` +
        (bad > 0 ? `; ${bad} bad line${bad === 1 ? "" : "s"} skipped` : "") +
        "\n",
    );
    if (expired) {
      io.stderr.write(
        `popwatch import: some results are older than the raw retention (${retentionDays.raw} d): ` +
          `the next expiry pass of "popwatch run" deletes them (their rollups stay longer)\n`,
      );
    }
    return bad > 0 ? 1 : 0;
  } catch (err) {
    return reportStoreFailure(io, "import", err, "; lines written before the failure stay, importing again completes the rest");
  } finally {
    await opened.close();
  }
}

/**
 * Writes the lines, then rolls up every region-day they touch: from its first
 * touched minute on, with the hours and the day that have ended by now (the
 * current ones are left to the next run or import, as the agent leaves them).
 * Returns the rollups written.
 */
async function writeImported(store: ResultStore, lines: readonly ImportedLine[], nowMs: number): Promise<number> {
  const byInvocation = new Map<string, StoredResult[]>();
  const touched = new Map<string, { region: string; fromMs: number; lastMinuteEndMs: number; dayEndMs: number }>();
  for (const { result, digest } of lines) {
    // One "invocation" per line: its key is the line's own, whatever else the file holds.
    const stored = { ...result, seq: 0 } as StoredResult;
    const invocationId = `import#${digest}`;
    byInvocation.set(invocationId, [stored]);
    const minuteMs = Math.floor(toEpochMs(stored.slotAt!)! / MINUTE_MS) * MINUTE_MS;
    const dayStartMs = Math.floor(minuteMs / DAY_MS) * DAY_MS;
    const key = JSON.stringify([stored.region, dayStartMs]);
    const span = touched.get(key);
    if (span === undefined) {
      touched.set(key, { region: stored.region, fromMs: minuteMs, lastMinuteEndMs: minuteMs + MINUTE_MS, dayEndMs: dayStartMs + DAY_MS });
    } else {
      span.fromMs = Math.min(span.fromMs, minuteMs);
      span.lastMinuteEndMs = Math.max(span.lastMinuteEndMs, minuteMs + MINUTE_MS);
    }
  }
  const pending = [...byInvocation];
  const writeNext = async (): Promise<void> => {
    for (let entry = pending.shift(); entry !== undefined; entry = pending.shift()) {
      const [invocationId, results] = entry;
      await store.putResults({ region: results[0]!.region, invocationId, results });
    }
  };
  await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, pending.length) }, writeNext));

  let rollups = 0;
  for (const span of touched.values()) {
    rollups += (await store.rollUp({ region: span.region, granularity: "minute", from: span.fromMs, to: span.lastMinuteEndMs })).written
      .length;
  }
  // The minute rollUps marked their hours pending: build the hour and day buckets of those that have ended.
  await store.compact({ now: nowMs });
  return rollups;
}
