import { probeSpecsOf } from "@popwatch/agent";
import { type PopwatchConfig, roundIntervalMs } from "@popwatch/core";
import { type LoadedConfig, loadConfig, reportConfigProblem } from "../config-file";
import type { Io } from "../io";
import { parseFlags } from "./args";

export const VALIDATE_USAGE = `Usage: popwatch validate [--config FILE]

Loads the configuration, checks it, and summarises what it would probe.
Without --config the first of popwatch.config.ts, .mjs, .js, .json in the
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
  io.stdout.write(`${loaded.file}: valid\n${describeConfig(loaded.config)}`);
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
