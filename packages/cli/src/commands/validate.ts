import { probeSpecsOf } from "@popwatch/agent";
import { type PopwatchConfig, type SloOrigin, roundIntervalMs } from "@popwatch/core";
import { type LoadedConfig, loadConfig, reportConfigProblem } from "../config-file";
import type { Io } from "../io";
import { parseFlags } from "./args";

export const VALIDATE_USAGE = `Usage: popwatch validate [--config FILE]

Loads the configuration and the OpenSLO files it names, checks them, and
summarises what it would probe and the SLOs it loaded (with where each was
written: slos.N in the config, or file#document). Without --config the first of popwatch.config.ts, .mjs, .js, .json in the
working directory is used.

Options:
  --config FILE         the configuration file
  -h, --help            this help

Exit status: 0 valid, 2 invalid (every problem is listed by field path) or usage error.
`;

const OPTIONS = {
  config: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export async function validateCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, OPTIONS);
  if (values.help) {
    io.stdout.write(VALIDATE_USAGE);
    return 0;
  }
  let loaded: LoadedConfig;
  try {
    loaded = await loadConfig(values.config);
  } catch (err) {
    return reportConfigProblem("validate", err, io);
  }
  io.stdout.write(`${loaded.file}: valid\n${describeConfig(loaded.config)}${describeSlos(loaded.config, loaded.sloOrigins)}`);
  return 0;
}

/** What a config probes, from where and how often, in a few lines. */
export function describeConfig(config: PopwatchConfig): string {
  const specs = probeSpecsOf(config);
  const { schedule } = config;
  const perRegionMinute = (specs.length * schedule.roundsPerInvocation) / schedule.rateMinutes;
  const nameWidth = Math.max(...config.targets.map((t) => t.name.length));
  const addressWidth = Math.max(...config.targets.map((t) => t.address.length));
  const targets = config.targets.map((target) => {
    const kinds = specs.filter((s) => s.name === target.name).map((s) => `${s.kind}:${s.port}`);
    const host = target.hostname ? `  (${target.hostname})` : "";
    return `  ${target.name.padEnd(nameWidth)}  ${target.address.padEnd(addressWidth)}  ${kinds.join(", ")}${host}`;
  });
  const rate = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));
  const regionCount = config.regions.length;
  const { rawDays, minuteDays, hourDays, dayDays } = config.retention;
  return [
    `targets: ${config.targets.length} (${specs.length} probes per round)`,
    ...targets,
    `regions: ${config.regions.join(", ")} (home ${config.homeRegion}); local runs file results under "${config.localRegion}"`,
    `schedule: every ${schedule.rateMinutes} min, ${schedule.roundsPerInvocation} rounds ${roundIntervalMs(schedule) / 1000} s apart, ` +
      `timeout ${schedule.timeoutMs} ms, ${schedule.concurrency} probes in flight`,
    `probes per region-minute: ${rate(perRegionMinute)} ` +
      `(${rate(perRegionMinute * regionCount)} per minute across ${regionCount} region${regionCount === 1 ? "" : "s"})`,
    `retention: raw ${rawDays} d, minute ${minuteDays} d, hour ${hourDays} d, day ${dayDays} d`,
    "",
  ].join("\n");
}

/** The SLOs, one line each: name, what counts, objective and period, and where it was written. */
export function describeSlos(config: PopwatchConfig, origins: readonly SloOrigin[]): string {
  if (config.slos.length === 0) return "slos: none\n";
  const rows = config.slos.map((slo, index) => {
    const sli = slo.sli.type === "latency" ? `latency <= ${slo.sli.thresholdMs} ms` : "availability";
    const series = `${slo.target}${slo.kinds === undefined ? "" : ` ${slo.kinds.join("+")}`}`;
    // Rounded to 4 decimals of a percent: 0.9995 prints 99.95, not 99.94999999999999.
    const objective = `${Math.round(slo.objective * 1e6) / 1e4}% over ${slo.period}`;
    return [slo.name, series, sli, objective, `from ${origins[index]?.from ?? `slos.${index}`}`];
  });
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const lines = rows.map(
    (row) => `  ${row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join("  ")}`,
  );
  return [`slos: ${config.slos.length}`, ...lines, ""].join("\n");
}
