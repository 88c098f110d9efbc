// `popwatch alerts`: the alert states the evaluator keeps (one per SLO or
// anycast alert, scope and severity) and, with --history, their latest
// transitions, read from the same table as the results.
import { type AlertState, type AlertTransition, decodeAlertKey } from "@popwatch/core";
import { describeAnycast, describeRouting } from "@popwatch/notify";
import { UsageError } from "../errors";
import type { Io } from "../io";
import type { OpenStore } from "../local-store";
import { renderTable } from "../output/table";
import { STORE_FLAGS_USAGE, STORE_FLAG_OPTIONS, openChosenStore, reportStoreFailure, storeChoice } from "../store-flags";
import { parseFlags, parsePositiveInteger } from "./args";

export const ALERTS_USAGE = `Usage: popwatch alerts [--history] [--limit N] [--json] [--data-dir DIR | --table NAME [--aws-region R] [--endpoint URL]]

The burn-rate and anycast alerts as the evaluator ("popwatch run" after each
period, the evaluate function on AWS) stored them: per SLO or anycast alert,
severity and scope the status (firing, resolved, inactive), since when, when
receivers were last notified, why a notification is held back (maintenance
window, region quorum), and the burn rate against the rule or, for anycast
alerts (anycast:<condition>:<target>) and routing alerts
(routing:<condition>:<prefix>), what was seen.

Options:
  --history             also the latest transitions, newest first
  --limit N             with --history: at most N transitions (default 50)
  --json                one JSON object: {"states": [...]} (and "history": [...] with --history)
${STORE_FLAGS_USAGE}
  -h, --help            this help

Exit status: 0 listed (also when no alert was ever evaluated), 1 store error, 2 usage error.
`;

const OPTIONS = {
  history: { type: "boolean" },
  limit: { type: "string" },
  json: { type: "boolean" },
  ...STORE_FLAG_OPTIONS,
  help: { type: "boolean", short: "h" },
} as const;

const DEFAULT_HISTORY_LIMIT = 50;

export async function alertsCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, OPTIONS);
  if (values.help) {
    io.stdout.write(ALERTS_USAGE);
    return 0;
  }
  const limit = parsePositiveInteger("limit", values.limit, 10_000);
  if (limit !== undefined && !values.history) throw new UsageError("--limit: only meaningful with --history");
  const choice = storeChoice(values);

  let opened: OpenStore;
  try {
    opened = await openChosenStore(choice);
  } catch (err) {
    return reportStoreFailure(io, "alerts", err);
  }
  let states: AlertState[];
  let history: AlertTransition[] | null = null;
  try {
    states = (await opened.alerts.loadStates()).map((stored) => stored.state);
    if (values.history) history = await opened.alerts.history(limit ?? DEFAULT_HISTORY_LIMIT);
  } catch (err) {
    return reportStoreFailure(io, "alerts", err);
  } finally {
    await opened.close();
  }

  if (values.json) {
    io.stdout.write(`${JSON.stringify(history === null ? { states } : { states, history })}\n`);
    return 0;
  }
  if (states.length === 0 && (history === null || history.length === 0)) {
    io.stderr.write(`popwatch alerts: no alert states in ${opened.where} (none evaluated yet, or no SLOs configured)\n`);
    return 0;
  }
  io.stdout.write(formatStates(states));
  if (history !== null) io.stdout.write(`\nhistory (newest first):\n${history.length === 0 ? "no transitions\n" : formatHistory(history)}`);
  return 0;
}

function formatStates(states: readonly AlertState[]): string {
  return renderTable(
    ["SLO", "SEVERITY", "SCOPE", "STATUS", "SINCE", "LAST NOTIFIED", "HELD", "BURN (RULE)"],
    states.map((state) => [
      state.slo,
      state.severity,
      state.scope,
      state.status === "firing" ? "FIRING" : state.status,
      time(state.status === "resolved" ? state.resolvedAt : state.status === "firing" ? state.startedAt : null),
      time(state.lastNotifiedAt),
      state.held ?? "-",
      seen(state),
    ]),
  );
}

function formatHistory(history: readonly AlertTransition[]): string {
  return renderTable(
    ["AT", "SLO", "SEVERITY", "SCOPE", "CHANGE", "NOTIFICATION"],
    history.map((t) => [
      time(t.at),
      t.slo,
      t.severity,
      t.scope,
      `${t.from} -> ${t.to}`,
      t.notificationId ?? (t.suppressedBy === null ? "-" : `held: ${t.suppressedBy}`),
    ]),
  );
}

/** What the state's report saw, in the terms of its kind of alert. */
function seen(state: AlertState): string {
  const { report } = state;
  if (report === null) return "-";
  switch (decodeAlertKey(state).kind) {
    case "slo":
      return burnOf(report);
    case "anycast":
      // Stored reports are not checked against their key: show what there is.
      return report.anycast === undefined ? burnOf(report) : describeAnycast(report.anycast, report.rule);
    case "routing":
      // Firing: what is wrong; resolved: what recovered.
      return report.routing === undefined ? burnOf(report) : describeRouting(report.routing, state.status === "firing");
  }
}

/** The long window's burn rate of the rule the state reports, e.g. `52× (1h/5m > 14.4×)`. */
function burnOf(report: NonNullable<AlertState["report"]>): string {
  const burn = report.burnRates[report.rule.long];
  const shown = typeof burn === "number" ? `${Number(burn.toPrecision(4))}×` : "-";
  return `${shown} (${report.rule.long}/${report.rule.short} > ${Number(report.rule.factor.toPrecision(4))}×)`;
}

function time(iso: string | null): string {
  return iso === null ? "-" : `${iso.slice(0, 19).replace("T", " ")}Z`;
}
