// How `popwatch bgp state` shows each watched prefix now: visibility,
// origins and upstreams seen, and every finding with the AS numbers and
// prefixes involved. Renders core's RoutingAssessment; decides nothing.
import type { RouteFinding, RoutingAssessment, RoutingFinding, WatchedPrefix } from "@popwatch/core";
import { formatPercent, isoSecond } from "./format";

/** A watched prefix judged, with its expectations (what the text and JSON both show). */
export interface BgpStateEntry {
  watched: WatchedPrefix;
  assessment: RoutingAssessment;
}

/**
 * The `--json` document: `{ generatedAt, prefixes: [...] }`, one entry per
 * watched prefix in config order. Field names are stable; arrays are sorted
 * (ASNs ascending, prefixes and peers by text), so equal states print equal.
 */
export function bgpStateJson(entries: readonly BgpStateEntry[], nowMs: number): string {
  const prefixes = entries.map(({ watched, assessment }) => ({
    prefix: assessment.prefix,
    asOf: assessment.asOfMs === null ? null : new Date(assessment.asOfMs).toISOString(),
    expected: {
      origins: [...watched.origins],
      upstreams: watched.upstreams === undefined ? null : [...watched.upstreams],
      maxLength: watched.maxLength ?? null,
    },
    visibility: { peersSeeing: assessment.peersSeeing, peersReporting: assessment.peersReporting, ratio: assessment.visibility },
    origins: Object.entries(assessment.origins).map(([asn, peers]) => ({
      asn: Number(asn),
      peers,
      expected: watched.origins.includes(Number(asn)),
    })),
    upstreams: assessment.upstreams.map((asn) => ({
      asn,
      expected: watched.upstreams === undefined ? null : watched.upstreams.includes(asn),
    })),
    findings: assessment.findings,
  }));
  return `${JSON.stringify({ generatedAt: new Date(nowMs).toISOString(), prefixes }, null, 2)}\n`;
}

export function formatBgpState(entries: readonly BgpStateEntry[]): string {
  return entries.map(formatEntry).join("\n");
}

const asList = (asns: readonly number[]) => asns.map((asn) => `AS${asn}`).join(", ");
const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? "" : "s"}`;

function formatEntry({ watched, assessment }: BgpStateEntry): string {
  const lines: string[] = [];
  const asOf = assessment.asOfMs === null ? "no BGP data yet" : `as of ${isoSecond(new Date(assessment.asOfMs).toISOString())}`;
  lines.push(`${assessment.prefix}  (${asOf}; expected origin ${asList(watched.origins)})`);
  const ratio = assessment.visibility === null ? "" : ` (${formatPercent(assessment.visibility)})`;
  lines.push(`  visibility  ${assessment.peersSeeing} of ${plural(assessment.peersReporting, "reporting peer")} see it${ratio}`);
  const origins = Object.entries(assessment.origins).map(
    ([asn, peers]) => `AS${asn} ${watched.origins.includes(Number(asn)) ? "" : "(unexpected) "}${plural(peers, "peer")}`,
  );
  lines.push(`  origins     ${origins.length === 0 ? "none" : origins.join("; ")}`);
  const upstreams = assessment.upstreams.map(
    (asn) => `AS${asn}${watched.upstreams !== undefined && !watched.upstreams.includes(asn) ? " (unexpected)" : ""}`,
  );
  lines.push(`  upstreams   ${upstreams.length === 0 ? "none" : upstreams.join(", ")}`);
  if (assessment.findings.length === 0) lines.push("  findings    none");
  else {
    lines.push("  findings");
    for (const finding of assessment.findings) lines.push(`    ${describeFinding(finding)}`);
  }
  return `${lines.join("\n")}\n`;
}

/** One line per finding, naming the ASes and prefixes involved and who saw it. */
export function describeFinding(finding: RoutingFinding): string {
  if (finding.condition === "low-visibility") {
    return (
      `low visibility: ${finding.peersSeeing} of ${plural(finding.peersReporting, "reporting peer")} see ${finding.prefix} ` +
      `(${formatPercent(finding.visibility)}, below ${formatPercent(finding.minVisibility)})`
    );
  }
  const seen = `; seen by ${plural(finding.peers.length, "peer")} (${peerList(finding)})`;
  const prefixes = finding.prefixes.join(", ");
  switch (finding.condition) {
    case "origin-hijack":
      return `origin hijack: ${asList(finding.asns)} originating ${prefixes} (expected ${asList(finding.expected)})${seen}`;
    case "sub-prefix-hijack":
      return `sub-prefix hijack: ${prefixes} (longer than /${finding.maxLength}) originated by ${asList(finding.origins)}${seen}`;
    case "unexpected-upstream":
      return `unexpected upstream: ${asList(finding.asns)} next to ${asList(finding.origins)} on ${prefixes} (expected ${asList(finding.expected)})${seen}`;
    case "rpki-invalid":
      return `RPKI invalid: ${prefixes} originated by ${asList(finding.origins)}${seen}`;
  }
}

const PEERS_SHOWN = 3;

function peerList(finding: RouteFinding): string {
  const shown = finding.peers.slice(0, PEERS_SHOWN).map((peer) => `${peer.source} ${peer.peer} AS${peer.peerAs}`);
  const more = finding.peers.length - shown.length;
  return more > 0 ? `${shown.join(", ")}, +${more} more` : shown.join(", ");
}
