// `popwatch store <subcommand>`: maintenance of the store itself. `migrate`
// copies a table written before layout v3 into v3 (@popwatch/store's
// migrateFromV2); this file only parses flags, opens the table and prints.
import { storeRetention } from "@popwatch/agent";
import { DEFAULT_RETENTION_DAYS, type PopwatchConfig, type RetentionDays } from "@popwatch/core";
import { DynamoResultStore, type MigrationProgress, type MigrationReport, StoreError, type V2Level, migrateFromV2 } from "@popwatch/store";
import { loadConfig, reportConfigProblem } from "../config-file";
import { UsageError } from "../errors";
import type { Io } from "../io";
import { type OpenStore, openAwsStore, openSharedStore } from "../local-store";
import { STORE_FLAGS_USAGE, STORE_FLAG_OPTIONS, type StoreChoice, reportStoreFailure, storeChoice } from "../store-flags";
import { parseFlags } from "./args";

export const STORE_USAGE = `Usage: popwatch store <subcommand> [options]

  migrate               copy results and rollups written before store layout v3 into v3

Run "popwatch store <subcommand> --help" for its options.
`;

export const STORE_MIGRATE_USAGE = `Usage: popwatch store migrate [--dry-run] [--delete-v2] [--regions R1,R2] [--config FILE]
                              [--data-dir DIR | --table NAME --aws-region R [--endpoint URL]]

Copies what popwatch wrote before store layout v3 (items per region: raw
results, minute, hour and day rollups) into layout v3 (items per time bucket),
which is all that popwatch reads now. Reads each level from now back to its
retention, one Query per region and period partition (no Scan); writes through
the v3 store, so running it again rewrites the same items and a run that
stopped is finished by running it again. The v2 items stay until they expire
(TTL), unless --delete-v2.

Options:
  --dry-run             read and count what would be migrated; write nothing
  --delete-v2           after a migration that skipped nothing, delete the v2 items it read
  --regions R1,R2       only these regions (default: every region of the series index, which after v3 imports
                        also lists vantages that never wrote v2 items: each costs ~230 Queries of empty partitions)
  --config FILE         take retention (how far back to read, the expiry of what is written) and the store section from this config
${STORE_FLAGS_USAGE}
  -h, --help            this help

Exit status: 0 migrated (or counted), 1 store error or items skipped, 2 usage error.
`;

const MIGRATE_OPTIONS = {
  "dry-run": { type: "boolean" },
  "delete-v2": { type: "boolean" },
  regions: { type: "string" },
  config: { type: "string" },
  ...STORE_FLAG_OPTIONS,
  help: { type: "boolean", short: "h" },
} as const;

export async function storeCommand(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "-h" || name === "--help" || name === "help") {
    io.stdout.write(STORE_USAGE);
    return 0;
  }
  if (name === undefined) throw new UsageError("missing subcommand: popwatch store migrate");
  if (name !== "migrate") throw new UsageError(`unknown subcommand "${name}"`);
  try {
    return await storeMigrateCommand(rest, io);
  } catch (err) {
    // As main does for commands, with the subcommand's usage.
    if (err instanceof UsageError) {
      io.stderr.write(`popwatch store migrate: ${err.message}\n\n${STORE_MIGRATE_USAGE}`);
      return 2;
    }
    throw err;
  }
}

/** The table to migrate, with the retention its items are written with (an embedded store through the `popwatch run` holding it). */
function openTable(choice: StoreChoice, retentionDays: RetentionDays): Promise<OpenStore> | OpenStore {
  return choice.kind === "aws"
    ? openAwsStore(choice.table, choice.region, choice.endpoint, retentionDays)
    : openSharedStore({ dataDir: choice.dataDir, retentionDays });
}

export interface StoreMigrateDeps {
  /** Epoch ms the retention walk starts from (tests pin it). */
  now?: () => number;
}

export async function storeMigrateCommand(argv: string[], io: Io, deps: StoreMigrateDeps = {}): Promise<number> {
  const { values } = parseFlags(argv, MIGRATE_OPTIONS);
  if (values.help) {
    io.stdout.write(STORE_MIGRATE_USAGE);
    return 0;
  }
  const dryRun = values["dry-run"] === true;
  if (dryRun && values["delete-v2"]) throw new UsageError("--dry-run and --delete-v2 exclude each other");
  let retentionDays: RetentionDays = { ...DEFAULT_RETENTION_DAYS };
  let configured: PopwatchConfig["store"];
  if (values.config !== undefined) {
    try {
      const { config } = await loadConfig(values.config);
      retentionDays = storeRetention(config);
      configured = config.store;
    } catch (err) {
      return reportConfigProblem("store migrate", err, io);
    }
  }
  const choice = storeChoice(values, configured);
  const regions = values.regions?.split(",").map((region) => region.trim());
  if (regions?.some((region) => region === "")) throw new UsageError("--regions: expected a comma-separated list of region names");

  let opened: OpenStore;
  try {
    opened = await openTable(choice, retentionDays);
  } catch (err) {
    return reportStoreFailure(io, "store migrate", err);
  }
  try {
    const clock = deps.now ?? Date.now;
    const store = new DynamoResultStore({ client: opened.client, tableName: opened.tableName, retentionDays, clock });
    const report = await migrateFromV2(opened.client, opened.tableName, store, {
      now: clock(),
      dryRun,
      deleteV2: values["delete-v2"] === true,
      ...(regions === undefined ? {} : { regions }),
      onProgress: progressPrinter(io),
    });
    io.stdout.write(formatMigrationReport(report, opened.where));
    return report.skipped > 0 ? 1 : 0;
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    return reportStoreFailure(io, "store migrate", err, "; what was written stays, running the command again completes the rest");
  } finally {
    await opened.close();
  }
}

const WINDOW_NAMES: Record<V2Level, string> = { raw: "hours", minute: "hours", hour: "days", day: "months" };

/** A progress line on stderr at the end of each level, and at most every 2 s in between. */
function progressPrinter(io: Io, clock: () => number = Date.now): (progress: MigrationProgress) => void {
  let lastMs = clock();
  return (p) => {
    const now = clock();
    if (p.windowsDone < p.windowsTotal && now - lastMs < 2_000) return;
    lastMs = now;
    const what = p.level === "raw" ? "results" : "rollups";
    io.stderr.write(
      `popwatch store migrate: ${p.level}: ${p.windowsDone}/${p.windowsTotal} ${WINDOW_NAMES[p.level]}, ${p.itemsRead} v2 items read, ${p.migrated} ${what}\n`,
    );
  };
}

export function formatMigrationReport(report: MigrationReport, where: string): string {
  const verb = report.dryRun ? "would migrate" : "migrated";
  const lines = [
    `${report.dryRun ? "dry run (nothing written): " : ""}v2 data in ${where}: ${report.regions.length} region${report.regions.length === 1 ? "" : "s"}${report.regions.length > 0 ? ` (${report.regions.join(", ")})` : ""}`,
  ];
  const { raw } = report.levels;
  lines.push(`  raw      ${raw.itemsRead} v2 items read, ${verb} ${raw.migrated} results in ${raw.writes} batches`);
  for (const level of ["minute", "hour", "day"] as const) {
    const l = report.levels[level];
    lines.push(`  ${level.padEnd(8)} ${l.itemsRead} v2 items read, ${verb} ${l.migrated} rollups of ${l.writes} periods`);
  }
  if (report.skipped > 0) {
    lines.push(`  skipped  ${report.skipped} (not migrated; the first ${report.skips.length}):`);
    for (const skip of report.skips)
      lines.push(`    ${skip.code} ${skip.pk}${skip.sk === undefined ? "" : ` / ${skip.sk}`}: ${skip.message}`);
  }
  if (report.compacted !== null) {
    const c = report.compacted;
    lines.push(`  compact  ${c.hours} hour and ${c.days} day buckets built (${c.rollups} rollups)`);
  }
  if (!report.dryRun) {
    lines.push(
      report.deleted !== null
        ? `  deleted  ${report.deleted} v2 items`
        : report.skipped > 0
          ? "  v2 items kept: some were not migrated"
          : "  v2 items kept (they expire by TTL; --delete-v2 removes them now)",
    );
  }
  return `${lines.join("\n")}\n`;
}
