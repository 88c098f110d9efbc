import type { EvaluationSummary } from "@popwatch/agent";
import { isoMinute } from "./format";

/** For people: what was evaluated, what burns, what was sent. */
export function renderEvaluationSummary(summary: EvaluationSummary): string {
  const regions =
    summary.regions.length === 0 ? "no region (nothing stored yet)" : `${summary.regions.length} regions (${summary.regions.join(", ")})`;
  const firing = summary.firing.length === 0 ? "nothing burns" : summary.firing.map((f) => `${f.slo} ${f.scope} ${f.severity}`).join("; ");
  const routing = summary.routingObservations === 0 ? "" : `, ${summary.routingObservations} routing alerts`;
  const problems = summary.routingProblems.map((p) => `routing: ${p.message} (${p.code}); its alerts held back\n`).join("");
  return (
    `evaluated: windows end ${isoMinute(summary.endsAt)}; ` +
    `${summary.scopes} SLO scopes and ${summary.anycastObservations} anycast cells over ${regions}${routing}; ` +
    `${summary.itemsRead} rollup items read\n` +
    problems +
    `firing: ${firing}\n` +
    `notifications: ${summary.notificationsPlanned} planned, ${summary.delivered} delivered, ${summary.undelivered} not delivered\n`
  );
}
