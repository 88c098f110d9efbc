import {
  ALERT_WINDOWS,
  type EventCounts,
  MINUTE_MS,
  type Rational,
  SLO_PERIODS,
  type SloEvaluation,
  type SloPeriod,
  type WindowName,
  compareRational,
  divideRational,
  evaluateSlo,
  isSloPeriod,
  isWindowName,
  parseDecimal,
  prometheusRules,
  rational,
  rationalToNumber,
} from "@popwatch/core";
import { stringify } from "yaml";
import { type LoadedConfig, loadConfig, reportConfigProblem } from "../config-file";
import { UsageError } from "../errors";
import type { Io } from "../io";
import { renderTable } from "../output/table";
import { parseFlags } from "./args";

const CHECK_SYNOPSIS = `popwatch slo check --objective O [--period P] --counts WINDOW=BAD/TOTAL[,...]
                         [--min-events N] [--exhaustion-rule] [--json]`;

export const SLO_CHECK_USAGE = `Usage: ${CHECK_SYNOPSIS}

Burn rates, multiwindow burn-rate alerts and remaining error budget for event
counts you give. Both windows of a pair must exceed the period's factor:

  period  page 1h&5m  page 6h&30m  ticket 1d&2h  ticket 3d&6h
  30d     14.4        6            3             1
  28d     13.44       5.6          2.8           1
  7d      13.44       3.5          1.4           1

(SRE Workbook for 30d, Sloth's 28d and 7d windows, Pyrra's factor 1 for the slow
ticket). Thresholds are compared exactly and strictly: at 99.9 % over 30d, an
error ratio of exactly 1.44 % (burn 14.4) does not page; one more bad event
does, and a burn rate of 1 or below never fires.

Options:
  --objective O         the SLO: 0.999 or 99.9% (strictly between 0 and 1)
  --period P            budgeting period: ${SLO_PERIODS.join(", ")} (default 30d)
  --counts W=BAD/TOTAL  events per window ending now, comma-separated or repeated;
                        windows ${ALERT_WINDOWS.join(", ")}, and the period itself
                        (e.g. 30d=BAD/TOTAL) for the remaining budget
  --min-events N        a rule fires only when its long window has at least N events
                        (default 0: the counts are evaluated as given)
  --exhaustion-rule     also page when the 1h burn rate is at least 3 and the remaining
                        budget runs out within 24 h at that rate (needs 1h and period counts)
  --json                one JSON object: {"burnRates": {WINDOW: number|null}, "firing":
                        [{"severity", "long", "short", "factor"}], "budgetRemaining": number|null}
                        (burnRates only for the windows given; null for a window without events)
  -h, --help            this help

Exit status: 0 no alert fires, 1 an alert fires, 2 usage error (malformed or
unknown window, BAD > TOTAL, objective outside (0, 1)).
`;

export const SLO_RULES_USAGE = `Usage: popwatch slo rules --format prometheus [--config FILE] [--runbook-url URL]

Prometheus recording and alerting rules (a rule file on stdout) for the
configured SLOs over the exporter's probe_slo_good, in Sloth's shape: per SLO
a group recording the error ratio (slo:sli_error:ratio_rate<W>) and event count
(slo:sli_events:count<W>) per window and scope, and a group of
PopwatchSloErrorBudgetBurn alerts with severity page or ticket. The windows and
factors are popwatch's own (see slo check), compared strictly, with the SLO's
minEvents guard, so Prometheus fires when popwatch does. The exhaustion rule is
not generated (a comment in the output says so).

Options:
  --format prometheus   the output format (the only one)
  --config FILE         the configuration (default: popwatch.config.ts, .mjs, .js, .json)
  --runbook-url URL     put as the runbook_url annotation on every alert
  -h, --help            this help

Exit status: 0 rules written, 2 usage error or invalid configuration.
`;

export const SLO_USAGE = `Usage: popwatch slo <subcommand> [options]

Service level objectives and error budgets.

Subcommands:
  check                 burn rates, firing alerts and remaining budget for given counts
  rules                 Prometheus recording and alerting rules for the configured SLOs

${SLO_CHECK_USAGE}
${SLO_RULES_USAGE}`;

const RULES_OPTIONS = {
  format: { type: "string" },
  config: { type: "string" },
  "runbook-url": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const CHECK_OPTIONS = {
  objective: { type: "string" },
  period: { type: "string" },
  counts: { type: "string", multiple: true },
  "min-events": { type: "string" },
  "exhaustion-rule": { type: "boolean" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

export async function sloCommand(argv: string[], io: Io): Promise<number> {
  const [subcommand, ...rest] = argv;
  if (subcommand === "-h" || subcommand === "--help" || subcommand === "help") {
    io.stdout.write(SLO_USAGE);
    return 0;
  }
  if (subcommand === undefined) throw new UsageError("missing subcommand (check, rules)");
  if (subcommand === "check") return sloCheckCommand(rest, io);
  if (subcommand === "rules") return sloRulesCommand(rest, io);
  throw new UsageError(`unknown subcommand "${subcommand}" (check, rules)`);
}

export async function sloRulesCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, RULES_OPTIONS);
  if (values.help) {
    io.stdout.write(SLO_RULES_USAGE);
    return 0;
  }
  if (values.format === undefined) throw new UsageError("--format is required (--format prometheus)");
  if (values.format !== "prometheus") throw new UsageError(`--format: expected prometheus, got "${values.format}"`);
  const runbookUrl = values["runbook-url"];
  if (runbookUrl !== undefined && !URL.canParse(runbookUrl)) throw new UsageError(`--runbook-url: not a URL: "${runbookUrl}"`);
  let loaded: LoadedConfig;
  try {
    loaded = await loadConfig(values.config);
  } catch (err) {
    return reportConfigProblem("slo rules", err, io);
  }
  const rules = prometheusRules(loaded.config.slos, runbookUrl === undefined ? {} : { runbookUrl });
  const header = [`Generated by popwatch slo rules from ${loaded.file}; do not edit.`, ...rules.notes];
  if (loaded.config.slos.length === 0) header.push("The configuration has no slos: no rules.");
  const comment = header.map((line) => `# ${line.replace(/\n/g, " ")}\n`).join("");
  io.stdout.write(`${comment}${stringify({ groups: rules.groups }, { lineWidth: 0, aliasDuplicateObjects: false })}`);
  return 0;
}

export async function sloCheckCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, CHECK_OPTIONS);
  if (values.help) {
    io.stdout.write(SLO_CHECK_USAGE);
    return 0;
  }
  if (values.objective === undefined) throw new UsageError("--objective is required (e.g. --objective 0.999 or 99.9%)");
  const objective = parseObjective(values.objective);
  const period = values.period ?? "30d";
  if (!isSloPeriod(period)) throw new UsageError(`--period: expected one of ${SLO_PERIODS.join(", ")}, got "${period}"`);
  if (values.counts === undefined || values.counts.length === 0)
    throw new UsageError("--counts is required (e.g. --counts 1h=15/1000,5m=2/80)");
  const counts = parseCounts(values.counts, period);
  const minEvents = parseMinEvents(values["min-events"]);

  const evaluation = evaluateSlo({ objective, period, counts, minEvents, exhaustionRule: values["exhaustion-rule"] === true });
  if (values.json) {
    const given = WINDOW_ORDER.filter((w) => counts[w] !== undefined);
    io.stdout.write(
      `${JSON.stringify({
        burnRates: Object.fromEntries(given.map((w) => [w, evaluation.burnRates[w as keyof SloEvaluation["burnRates"]] ?? null])),
        firing: evaluation.firing,
        budgetRemaining: evaluation.budgetRemaining,
      })}\n`,
    );
  } else {
    io.stdout.write(formatCheck(objective, period, counts, minEvents, evaluation));
  }
  return evaluation.firing.length > 0 ? 1 : 0;
}

const WINDOW_ORDER: readonly WindowName[] = [...ALERT_WINDOWS, ...SLO_PERIODS];

/** `0.999`, `99.9%`: parsed from the text itself, so the objective is exactly the decimal written. */
function parseObjective(text: string): Rational {
  const percent = text.trim().endsWith("%");
  const decimal = parseDecimal(percent ? text.trim().slice(0, -1) : text);
  if (decimal === null) throw new UsageError(`--objective: expected a number such as 0.999 or a percentage such as 99.9%, got "${text}"`);
  const objective = percent ? divideRational(decimal, rational(100)) : decimal;
  if (compareRational(objective, rational(0)) <= 0 || compareRational(objective, rational(1)) >= 0) {
    throw new UsageError(`--objective: must be strictly between 0 and 1 (0% and 100%), got "${text}"`);
  }
  return objective;
}

function parseCounts(entries: readonly string[], period: SloPeriod): Partial<Record<WindowName, EventCounts>> {
  const counts: Partial<Record<WindowName, EventCounts>> = {};
  for (const entry of entries.flatMap((e) => e.split(","))) {
    const match = /^\s*([^=\s]+)\s*=\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(entry);
    if (match === null) throw new UsageError(`--counts: expected WINDOW=BAD/TOTAL such as 1h=15/1000, got "${entry}"`);
    const [, window = "", badText = "", totalText = ""] = match;
    if (!isWindowName(window)) {
      throw new UsageError(`--counts: unknown window "${window}" (windows: ${ALERT_WINDOWS.join(", ")}, and the period ${period})`);
    }
    if (isSloPeriod(window) && window !== period) {
      throw new UsageError(`--counts: ${window} is not this SLO's period (--period ${period}); give ${period}=BAD/TOTAL for the budget`);
    }
    if (counts[window] !== undefined) throw new UsageError(`--counts: window ${window} given twice`);
    const bad = Number(badText);
    const total = Number(totalText);
    if (!Number.isSafeInteger(bad) || !Number.isSafeInteger(total)) throw new UsageError(`--counts: ${window} counts are too large`);
    if (bad > total) throw new UsageError(`--counts: ${window} has more bad events (${bad}) than total (${total})`);
    counts[window] = { bad, total };
  }
  return counts;
}

function parseMinEvents(text: string | undefined): number {
  if (text === undefined) return 0;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)))
    throw new UsageError(`--min-events: expected a non-negative integer, got "${text}"`);
  return Number(text);
}

/** Four significant digits, no trailing zeros: 14.4, 0.9333, 1200. */
function formatNumber(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e6) return String(value);
  return String(Number(value.toPrecision(4)));
}

function formatPercent(value: number): string {
  return `${formatNumber(value * 100)}%`;
}

function formatDuration(ms: number): string {
  if (ms <= 0) return "now (budget spent)";
  const minutes = Math.round(ms / MINUTE_MS);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  const parts = [days > 0 ? `${days}d` : "", hours > 0 ? `${hours}h` : "", mins > 0 || (days === 0 && hours === 0) ? `${mins}m` : ""];
  return parts.filter((p) => p !== "").join(" ");
}

const STATUS_TEXT = { firing: "FIRING", quiet: "ok", held_back: "held back", no_data: "no data" } as const;

function formatCheck(
  objective: Rational,
  period: SloPeriod,
  counts: Partial<Record<WindowName, EventCounts>>,
  minEvents: number,
  evaluation: SloEvaluation,
): string {
  const objectiveNumber = rationalToNumber(objective);
  const lines: string[] = [
    `objective ${formatPercent(objectiveNumber)} over ${period}: error budget ${formatPercent(1 - objectiveNumber)} of events`,
    "",
  ];

  const windows = WINDOW_ORDER.filter((w) => counts[w] !== undefined);
  lines.push(
    renderTable(
      ["WINDOW", "BAD/TOTAL", "ERROR RATIO", "BURN RATE"],
      windows.map((w) => {
        const c = counts[w]!;
        const burn = evaluation.burnRates[w as keyof SloEvaluation["burnRates"]] ?? null;
        return [
          w,
          `${c.bad}/${c.total}`,
          c.total === 0 ? "-" : formatPercent(c.bad / c.total),
          burn === null ? "- (no events)" : `${formatNumber(burn)}×`,
        ];
      }),
    ),
  );

  lines.push(
    renderTable(
      ["ALERT", "SEVERITY", "BURN >", "LONG BURN", "SHORT BURN", "STATUS"],
      evaluation.rules.map((rule) => {
        const name = rule.rule === "exhaustion" ? `${rule.long} exhaustion ≤24h` : `${rule.long} & ${rule.short}`;
        const burn = (b: number | null) => (b === null ? "-" : `${formatNumber(b)}×`);
        let status: string = STATUS_TEXT[rule.status];
        if (rule.status === "held_back")
          status += ` (${rule.long} has ${rule.longEvents ?? 0} events, fewer than --min-events ${minEvents})`;
        if (rule.status === "no_data") status += ` (no events for ${rule.missing.join(", ")})`;
        return [
          name,
          rule.severity,
          rule.rule === "exhaustion" ? `≥${formatNumber(rule.factor)}×` : `${formatNumber(rule.factor)}×`,
          burn(rule.longBurnRate),
          burn(rule.shortBurnRate),
          status,
        ];
      }),
    ),
  );

  const remaining = evaluation.budgetRemaining === null ? `unknown (give ${period}=BAD/TOTAL)` : formatPercent(evaluation.budgetRemaining);
  const exhaustion =
    evaluation.timeToExhaustionMs === null ? "" : `; at the 1h burn rate it is spent in ${formatDuration(evaluation.timeToExhaustionMs)}`;
  lines.push(`budget remaining (${period}): ${remaining}${exhaustion}`);
  const firing = evaluation.firing.map((f) => `${f.severity} ${f.short === null ? `${f.long} exhaustion` : `${f.long}/${f.short}`}`);
  lines.push(firing.length === 0 ? "firing: none" : `firing: ${firing.join(", ")}`);
  return `${lines.join("\n")}\n`;
}
