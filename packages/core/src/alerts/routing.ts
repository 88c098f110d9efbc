// Routing findings as alert observations, so that hijacks, lost visibility,
// unexpected upstreams and RPKI-invalid announcements go through the same
// lifecycle as SLO and anycast alerts (dedupe, maintenance windows, renotify,
// exactly-once delivery through the outbox) and say when they recover.
//
// Each (condition, watched prefix) is one alert, named
// `routing:<condition>:<prefix>` (./key.ts). Routing is global (what the
// collectors and routers see, not one region's probes), so every routing alert
// has the pooled scope: region quorum never gates it (planAlerts applies
// quorum only to per-region pages), a maintenance window covers it when it
// names the alert or the scope "pooled" (or no scope), and receivers' `regions`
// stays empty.
//
// An alert fires while its finding holds in the latest snapshot and resolves
// as soon as it is gone (a snapshot is a state, not a window of samples: there
// is no short window to wait for). With fewer than `minPeers` peers reporting
// nothing can be judged: every observation of the prefix is held back and its
// status stands, so a collector outage neither raises nor resolves anything.
import { compareStrings } from "../compare";
import type { BgpConfig } from "../routing/config";
import { type RoutingAssessment, type RoutingCondition, type RoutingFinding, routingAssessment } from "../routing/findings";
import { prefixOf } from "../routing/prefix";
import { encodeAlertKey } from "./key";
import { type AlertObservation, type AlertSeverity, POOLED_SCOPE, type RoutingAlertDetail } from "./schema";

/** The scope of every routing alert. */
export const ROUTING_SCOPE = POOLED_SCOPE;

/** A snapshot is judged as a state: "state" names that instant in the rule fields receivers see. */
const ROUTING_RULE = { long: "state", short: "state", factor: 1 } as const;

export type RoutingAlertConfig = Pick<BgpConfig, "prefixes" | "minPeers" | "minVisibility" | "visibilitySeverity" | "rpki">;

/** Severity of each condition; visibility's comes from the config. */
export function routingAlertSeverity(condition: RoutingCondition, config: Pick<BgpConfig, "visibilitySeverity">): AlertSeverity {
  switch (condition) {
    case "origin-hijack":
    case "sub-prefix-hijack":
      return "page";
    case "low-visibility":
      return config.visibilitySeverity;
    case "unexpected-upstream":
    case "rpki-invalid":
      return "ticket";
  }
}

/**
 * One observation per watched prefix of the config and condition that applies
 * to it: origin-hijack, sub-prefix-hijack and low-visibility always,
 * unexpected-upstream when the prefix has `upstreams`, rpki-invalid when the
 * config names a VRP file (held back when the assessment was made without
 * VRPs, e.g. the file failed to load). A watched prefix without an assessment
 * is held back. Sorted by alert name.
 */
export function routingAlertObservations(assessments: readonly RoutingAssessment[], config: RoutingAlertConfig): AlertObservation[] {
  const byPrefix = new Map(assessments.map((assessment) => [assessment.prefix, assessment]));
  const observations: AlertObservation[] = [];
  for (const watched of config.prefixes) {
    const assessment = byPrefix.get(watched.prefix) ?? routingAssessment(null, watched, config);
    const conditions: RoutingCondition[] = ["origin-hijack", "sub-prefix-hijack", "low-visibility"];
    if (watched.upstreams !== undefined) conditions.push("unexpected-upstream");
    if (config.rpki !== undefined) conditions.push("rpki-invalid");
    const judged = assessment.asOfMs !== null && assessment.peersReporting >= config.minPeers;
    for (const condition of conditions) {
      const finding = assessment.findings.find((f) => f.condition === condition);
      const heldBack = !judged || (condition === "rpki-invalid" && !assessment.rpkiChecked);
      const severity = routingAlertSeverity(condition, config);
      observations.push({
        ...encodeAlertKey({ kind: "routing", condition, prefix: watched.prefix, scope: ROUTING_SCOPE, severity }),
        burning: !heldBack && finding !== undefined,
        shortWindowClean: finding === undefined,
        heldBack,
        burnRates: {},
        budgetRemaining: null,
        rule: { ...ROUTING_RULE },
        routing: routingAlertDetail(condition, watched, assessment, finding, config),
      });
    }
  }
  return observations.sort((a, b) => compareStrings(a.slo, b.slo));
}

function routingAlertDetail(
  condition: RoutingCondition,
  watched: RoutingAlertConfig["prefixes"][number],
  assessment: RoutingAssessment,
  finding: RoutingFinding | undefined,
  config: RoutingAlertConfig,
): RoutingAlertDetail {
  const route = finding === undefined || finding.condition === "low-visibility" ? undefined : finding;
  const detail: RoutingAlertDetail = {
    condition,
    prefix: watched.prefix,
    asns: route?.asns ?? [],
    prefixes: route?.prefixes ?? (finding === undefined ? [] : [watched.prefix]),
    peers: route?.peers.length ?? 0,
    expected: [...(condition === "unexpected-upstream" ? (watched.upstreams ?? []) : watched.origins)].sort((a, b) => a - b),
    originsSeen: Object.keys(assessment.origins)
      .map(Number)
      .sort((a, b) => a - b),
    upstreamsSeen: [...assessment.upstreams],
    peersSeeing: assessment.peersSeeing,
    peersReporting: assessment.peersReporting,
    visibility: assessment.visibility,
    minVisibility: config.minVisibility,
    minPeers: config.minPeers,
    asOf: assessment.asOfMs === null ? null : new Date(assessment.asOfMs).toISOString(),
  };
  if (condition === "sub-prefix-hijack") detail.maxLength = watched.maxLength ?? prefixOf(watched.prefix).length;
  return detail;
}
