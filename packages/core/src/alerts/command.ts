// The CLI command a notification points its receiver to: where to look next.
import type { AlertSubject } from "./key";
import { type AnycastCondition, POOLED_SCOPE } from "./schema";

/** `scope` narrows the command to one region; an SLO's pooled scope is every region. */
export function alertCommand(subject: AlertSubject, scope?: string): string {
  switch (subject.kind) {
    case "slo": {
      const words = ["popwatch", "report", "--slo", shellWord(subject.slo)];
      if (scope !== undefined && scope !== POOLED_SCOPE) words.push("--region", shellWord(scope));
      return words.join(" ");
    }
    case "anycast":
      return anycastAlertCommand(subject, scope);
    case "routing":
      return routingAlertCommand(subject);
  }
}

/** The BGP events of the prefix (and its more-specifics) over the last hour: who announced what. Global: no region. */
export function routingAlertCommand(alert: { prefix: string }): string {
  return ["popwatch", "bgp", "events", "--prefix", shellWord(alert.prefix), "--since", "1h"].join(" ");
}

/** The catchment over the windows the condition was judged on, the detour report, or the latest results. */
export function anycastAlertCommand(alert: { condition: AnycastCondition; target: string }, scope?: string): string {
  const words = anycastCommandWords(alert.condition, shellWord(alert.target));
  if (scope !== undefined) words.push("--region", shellWord(scope));
  return words.join(" ");
}

function anycastCommandWords(condition: AnycastCondition, target: string): string[] {
  switch (condition) {
    case "detour":
      return ["popwatch", "report", "--since", "1h"];
    case "flapping":
    case "pop-change":
      return ["popwatch", "catchment", "--since", "1h", "--bucket", "minute", "--target", target];
    case "catchment-shift":
      return ["popwatch", "catchment", "--since", "25h", "--target", target];
    case "outage":
      return ["popwatch", "results", "--since", "15m", "--target", target];
  }
}

function shellWord(word: string): string {
  return /^[A-Za-z0-9._:/@+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
