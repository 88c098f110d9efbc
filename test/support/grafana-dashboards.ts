// Reading the PromQL out of Grafana dashboard JSON (dashboards/*.json) so a
// test can run every panel's query against a real Prometheus: the panels'
// targets, the templating variables' queries, and Grafana's substitution of
// variables (each template variable by its "All" value, the built-in
// intervals by fixed durations a short test run has data for).
import { readFileSync } from "node:fs";

export interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
}

export interface TemplateVariable {
  name: string;
  type: string;
  /** The regex a multi-value variable becomes when "All" is selected. */
  allValue: string | null;
  /** The PromQL of a `query` variable (`label_values(...)`), else null. */
  query: string | null;
}

interface DashboardJson {
  title: string;
  uid: string;
  panels?: Array<{ title?: string; type?: string; targets?: Array<{ refId?: string; expr?: string }>; panels?: DashboardJson["panels"] }>;
  templating?: { list?: Array<{ name: string; type: string; allValue?: string | null; query?: string | { query?: string } }> };
}

export interface Dashboard {
  file: string;
  json: DashboardJson;
  queries: PanelQuery[];
  variables: TemplateVariable[];
}

export function readDashboard(file: string): Dashboard {
  const json = JSON.parse(readFileSync(file, "utf8")) as DashboardJson;
  const queries: PanelQuery[] = [];
  const walk = (panels: DashboardJson["panels"]): void => {
    for (const panel of panels ?? []) {
      for (const t of panel.targets ?? []) {
        if (t.expr !== undefined)
          queries.push({ dashboard: json.title, panel: panel.title ?? "(untitled)", refId: t.refId ?? "?", expr: t.expr });
      }
      walk(panel.panels); // collapsed rows hold their panels inside
    }
  };
  walk(json.panels);
  const variables = (json.templating?.list ?? []).map((v) => ({
    name: v.name,
    type: v.type,
    allValue: v.allValue ?? null,
    query: v.type === "query" ? (typeof v.query === "string" ? v.query : (v.query?.query ?? null)) : null,
  }));
  return { file, json, queries, variables };
}

/** Grafana's built-in interval variables, as durations that cover a test run of a few seconds scraped every second. */
export const BUILTIN_INTERVALS: Record<string, string> = {
  __range: "5m",
  __rate_interval: "1m",
  __interval: "15s",
};

const VARIABLE = /\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]/g;

/** The variable names an expression uses (`$x`, `${x}`, `${x:fmt}`, `[[x]]`). */
export function variablesUsed(expr: string): string[] {
  return [...expr.matchAll(VARIABLE)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

/**
 * The expression as Grafana sends it with every template variable at its
 * "All" value and the built-in intervals at BUILTIN_INTERVALS. Throws on a
 * variable the dashboard does not define (a typo Grafana would leave in the query).
 */
export function substituteVariables(expr: string, variables: readonly TemplateVariable[]): string {
  return expr.replace(VARIABLE, (whole, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c)!;
    const builtin = BUILTIN_INTERVALS[name];
    if (builtin !== undefined) return builtin;
    const v = variables.find((x) => x.name === name);
    if (!v) throw new Error(`${whole}: no template variable ${name} in the dashboard`);
    if (v.allValue === null) throw new Error(`${whole}: variable ${name} has no allValue to stand for "All"`);
    return v.allValue;
  });
}

/** `label_values(expr, label)` → `{ selector: expr, label }`; `label_values(label)` → selector null. */
export function parseLabelValues(query: string): { selector: string | null; label: string } | null {
  const m = /^\s*label_values\(\s*(?:(.*),\s*)?(\w+)\s*\)\s*$/s.exec(query);
  if (!m) return null;
  return { selector: m[1]?.trim() || null, label: m[2]! };
}
