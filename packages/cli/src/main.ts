import cliPackage from "../package.json";
import { UsageError } from "./errors";
import type { Io } from "./io";

// The version lives in package.json alone; the bundle inlines it.
const VERSION = cliPackage.version;

export const USAGE = `popwatch ${VERSION}: which PoP of an anycast service answers, how fast, and what it costs your SLO.

Usage: popwatch <command> [options]

Commands:
  probe <ip-or-host>    probe an address once: dns (NSID, CHAOS), tcp, tls, http; PoP and timings
  validate              check the configuration (popwatch.config.ts) and summarise what it probes
  run                   probe every target on the configured schedule into the local store (--once: one round)
  results               list stored results (local store, or a DynamoDB table with --table)
  import FILE...        load results (probe --json lines, or RIPE Atlas results with --format atlas) into the store, streaming
  catchment             which PoPs answer each region, their shares, and changes of the dominant PoP
  slo check             burn rates, multiwindow alerts and error budget for given event counts
  slo rules             Prometheus recording and alerting rules for the configured SLOs
  report                every SLO per region and pooled (budget, burn rates, alerts), failovers, detours
  evaluate              one evaluation of SLOs and anycast conditions; alert states and notifications
  alerts                current burn-rate alert states (--history: their transitions)
  bgp                   BGP of the watched prefixes: decode, import, watch (RIS Live), listen (BMP), events, state
  exporter              Prometheus exporter: /probe (blackbox_exporter's contract), /metrics (SLO state with a store)

Run "popwatch <command> --help" for a command's options.
`;

type Command = (argv: string[], io: Io) => Promise<number>;

// Each command's module is loaded when it runs: the bundle then evaluates
// only what that command needs (`bgp decode` does not start the AWS SDK,
// the store or the report), which is most of a short command's start-up.
const COMMANDS: Record<string, () => Promise<{ run: Command; usage: string }>> = {
  probe: async () => {
    const { probeCommand, PROBE_USAGE } = await import("./commands/probe");
    return { run: probeCommand, usage: PROBE_USAGE };
  },
  validate: async () => {
    const { validateCommand, VALIDATE_USAGE } = await import("./commands/validate");
    return { run: validateCommand, usage: VALIDATE_USAGE };
  },
  run: async () => {
    const { runCommand, RUN_USAGE } = await import("./commands/run");
    return { run: runCommand, usage: RUN_USAGE };
  },
  results: async () => {
    const { resultsCommand, RESULTS_USAGE } = await import("./commands/results");
    return { run: resultsCommand, usage: RESULTS_USAGE };
  },
  import: async () => {
    const { importCommand, IMPORT_USAGE } = await import("./commands/import");
    return { run: importCommand, usage: IMPORT_USAGE };
  },
  catchment: async () => {
    const { catchmentCommand, CATCHMENT_USAGE } = await import("./commands/catchment");
    return { run: catchmentCommand, usage: CATCHMENT_USAGE };
  },
  slo: async () => {
    const { sloCommand, SLO_USAGE } = await import("./commands/slo");
    return { run: sloCommand, usage: SLO_USAGE };
  },
  report: async () => {
    const { reportCommand, REPORT_USAGE } = await import("./commands/report");
    return { run: reportCommand, usage: REPORT_USAGE };
  },
  evaluate: async () => {
    const { evaluateCommand, EVALUATE_USAGE } = await import("./commands/evaluate");
    return { run: evaluateCommand, usage: EVALUATE_USAGE };
  },
  alerts: async () => {
    const { alertsCommand, ALERTS_USAGE } = await import("./commands/alerts");
    return { run: alertsCommand, usage: ALERTS_USAGE };
  },
  bgp: async () => {
    const { bgpCommand, BGP_USAGE } = await import("./commands/bgp");
    return { run: bgpCommand, usage: BGP_USAGE };
  },
  exporter: async () => {
    const { exporterCommand, EXPORTER_USAGE } = await import("./commands/exporter");
    return { run: exporterCommand, usage: EXPORTER_USAGE };
  },
};

/** Runs the CLI and returns its exit status: 0 ok, 1 a probe or check failed, 2 usage or config error, 70 internal error. */
export async function main(argv: string[], io: Io = process): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    io.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-v") {
    io.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    io.stderr.write(`popwatch: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  const command = await load();
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (await isUsageOrConfigError(err)) {
      io.stderr.write(`popwatch ${name}: ${(err as Error).message}\n\n${command.usage}`);
      return 2;
    }
    // A fault in popwatch itself: say so plainly, with the stack for a bug report.
    io.stderr.write(
      `popwatch ${name}: internal error (run again with NODE_OPTIONS=--enable-source-maps for source lines): ${(err as Error)?.stack ?? String(err)}\n`,
    );
    return 70;
  }
}

/**
 * A usage or configuration mistake (exit 2) rather than a fault. Core and the
 * probes are imported here, on the error path, rather than at the top: a
 * command that failed has loaded them already, and a command that does not
 * need them (`bgp decode`, `--version`) starts without them.
 */
async function isUsageOrConfigError(err: unknown): Promise<boolean> {
  if (err instanceof UsageError) return true;
  const [{ ConfigError }, { ProbeSpecError }] = await Promise.all([import("@popwatch/core"), import("@popwatch/probes")]);
  return err instanceof ConfigError || err instanceof ProbeSpecError;
}
