// `debug=true`: what blackbox_exporter's DebugOutput shows, for a person
// reading why a probe failed: the probe's log, the module configuration it ran
// with, then the metrics a scrape would have returned.

export interface DebugReport {
  log: readonly string[];
  module: { name: string; kind: string; timeoutMs: number; options: Record<string, unknown> };
  exposition: string;
}

export function formatDebugOutput(report: DebugReport): string {
  return [
    "Logs for the probe:",
    ...report.log,
    "",
    "",
    "Module configuration:",
    JSON.stringify(report.module, null, 2),
    "",
    "",
    "Metrics that would have been returned:",
    report.exposition,
  ].join("\n");
}
