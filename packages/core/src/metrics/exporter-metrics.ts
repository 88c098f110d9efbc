// The metric names and label sets popwatch exposes to Prometheus, as data, so
// the exporter that emits them, the rule generator that reads them, the
// dashboards and the docs agree on one spelling. Names follow blackbox_exporter
// where one exists (its prober/*.go); the rest are popwatch's own.

/**
 * Labels Prometheus puts on `/probe` series through the scrape config in the
 * README (blackbox's relabelling): the target as `instance`, the module as
 * `module` (from `__param_module`), the vantage the exporter runs in as
 * `vantage` (a target label of the scrape job). The exporter does not emit them.
 */
export const SCRAPE_LABELS = { target: "instance", module: "module", vantage: "vantage" } as const;

/**
 * Per `/probe` scrape: one series per configured SLO whose target and kinds
 * cover the probed target and module, 1 when the result is a good event for
 * that SLO (availability: ok; latency: ok and totalMs ≤ thresholdMs), else 0.
 * Averaged over a window it is the SLI popwatch's evaluator counts, one event
 * per scrape, which is what the generated Prometheus rules use.
 */
export const PROBE_SLO_GOOD = {
  name: "probe_slo_good",
  labels: ["slo"],
  help: "1 when this probe is a good event for the SLO, 0 when bad",
} as const;

/** popwatch-only `/probe` metrics (blackbox cannot see which PoP answered). */
export const PROBE_INFO_METRICS = {
  pop: {
    name: "probe_pop_info",
    labels: ["pop", "source", "iata"],
    help: "Which PoP answered (value 1); absent when no PoP was identified",
  },
  nsid: { name: "probe_dns_nsid_info", labels: ["nsid"], help: "The DNS NSID the answer carried (value 1)" },
  failure: { name: "probe_failure_info", labels: ["code"], help: "The probe's classified failure (value 1); absent on success" },
} as const;

/**
 * popwatch-only `/probe` gauges of the DNS kinds (dns, dot, doh): what
 * blackbox's dns prober does not report. Truncation and the TCP retry are
 * present on every DNS probe (0 or 1); AD once an answer came back; the RRSIG
 * expiry only when signatures covered the answer (a DNSSEC query).
 */
export const PROBE_DNS_METRICS = {
  truncated: { name: "probe_dns_truncated", labels: [], help: "1 when a response had TC=1 (retried over TCP or not)" },
  tcpFallback: { name: "probe_dns_tcp_fallback", labels: [], help: "1 when a TC=1 UDP answer was retried over TCP" },
  ad: { name: "probe_dns_ad", labels: [], help: "The AD (authenticated data) bit of the answer" },
  rrsigExpiry: {
    name: "probe_dns_rrsig_expiry_timestamp_seconds",
    labels: [],
    help: "Expiration of the earliest-expiring RRSIG covering the answer in unixtime",
  },
} as const satisfies Record<string, MetricSpec>;

export interface MetricSpec {
  readonly name: string;
  readonly labels: readonly string[];
  readonly help: string;
}

/**
 * `/metrics` with a store attached: the SLO state popwatch's evaluator
 * computes, per SLO and scope (`pooled` or a region/vantage name). Label
 * values are bounded: slo × scope × window/severity come from the config;
 * catchment keeps the top PoPs per target and region (the rest as `other`).
 */
export const STORE_METRICS = {
  objective: { name: "popwatch_slo_objective_ratio", labels: ["slo"], help: "The SLO's objective, e.g. 0.999" },
  budgetRemaining: {
    name: "popwatch_slo_error_budget_remaining_ratio",
    labels: ["slo", "scope"],
    help: "Share of the period's error budget left (1 untouched, 0 spent, negative overspent)",
  },
  burnRate: {
    name: "popwatch_slo_burn_rate",
    labels: ["slo", "scope", "window"],
    help: "Burn rate over the window (1 spends the budget exactly over the period)",
  },
  periodEvents: {
    name: "popwatch_slo_period_events",
    labels: ["slo", "scope", "outcome"],
    help: "Events in the SLO period by outcome (good, bad)",
  },
  alertFiring: {
    name: "popwatch_slo_alert_firing",
    labels: ["slo", "scope", "severity"],
    help: "1 when popwatch's burn-rate alert of that severity is firing",
  },
  catchmentShare: {
    name: "popwatch_catchment_share_ratio",
    labels: ["target", "region", "pop"],
    help: "Share of the region's answers from the PoP over the catchment window",
  },
  failovers: {
    name: "popwatch_failovers",
    labels: ["target", "region"],
    help: "Failovers (dominant PoP changes) seen in the catchment window",
  },
  evaluationTimestamp: {
    name: "popwatch_store_evaluation_timestamp_seconds",
    labels: [],
    help: "When the store metrics were last computed",
  },
  evaluationErrors: { name: "popwatch_store_read_errors_total", labels: ["code"], help: "Store reads that failed, by StoreError code" },
} as const satisfies Record<string, MetricSpec>;
