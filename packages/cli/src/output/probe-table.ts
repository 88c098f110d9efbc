import type { ProbeResult, Timings, TlsSessionFacts } from "@popwatch/core";
import { formatExpiry } from "./format";
import { firstExpiring, formatProbeDetails } from "./probe-details";
import { renderTable } from "./table";

const PHASES: readonly (readonly [keyof Timings, string])[] = [
  ["connectMs", "connect"],
  ["tlsMs", "tls"],
  ["rttMs", "rtt"],
  ["ttfbMs", "ttfb"],
  ["transferMs", "transfer"],
  ["totalMs", "total"],
];

export function formatTimings(timings: Timings): string {
  const parts: string[] = [];
  for (const [key, label] of PHASES) {
    const ms = timings[key];
    if (typeof ms === "number") parts.push(`${label} ${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)}`);
  }
  return parts.join("  ");
}

type DnsLikeResult = Extract<ProbeResult, { kind: "dns" | "dot" | "doh" }>;

/** rcode, flags, how the message travelled, answers, identity and DNSSEC: the same for dns, dot and doh. */
function dnsFacts(result: DnsLikeResult): string[] {
  const facts: string[] = [];
  const flags = result.flags
    ? Object.entries(result.flags)
        .filter(([, on]) => on)
        .map(([flag]) => flag)
    : [];
  if (result.rcode) facts.push(`${result.rcode}${flags.length ? ` [${flags.join(" ")}]` : ""}`);
  if (result.kind === "dns") {
    const overUdp = result.transport === "udp" || result.tcpFallback;
    const edns = overUdp && typeof result.udpPayloadSize === "number" ? `edns ${result.udpPayloadSize}` : null;
    if (result.tcpFallback) facts.push(`udp→tcp (TC=1${edns ? `, ${edns}` : ""})`);
    else if (result.transport) facts.push([result.transport, edns, result.truncated && "TC=1"].filter(Boolean).join(" "));
  }
  if (result.answers) {
    const first = result.answers[0];
    const count = `${result.answers.length} answer${result.answers.length === 1 ? "" : "s"}`;
    facts.push(first ? `${count}: ${first.type} ${truncate(first.data, 40)}` : count);
  }
  if (result.nsid !== undefined && result.nsid !== null) facts.push(`nsid "${result.nsid}"`);
  else if (result.nsidHex) facts.push(`nsid 0x${result.nsidHex}`);
  for (const [identity, value] of Object.entries(result.identity ?? {})) {
    if (value) facts.push(`${identity} "${value}"`);
  }
  const dnssec = result.dnssec;
  if (dnssec) {
    const signatures = dnssec.signatures;
    if (signatures.length > 0) {
      const soonest = Math.min(...signatures.map((s) => s.daysLeft));
      facts.push(`${signatures.length} RRSIG${signatures.length === 1 ? "" : "s"}, soonest ${formatExpiry(soonest)}`);
    } else facts.push(dnssec.doEchoed ? "no RRSIG" : "DO not echoed");
  }
  return facts;
}

/** The handshake in a few words: protocol, cipher, ALPN, leaf, expiry (naming an intermediate that expires first), verification. */
function tlsFacts(session: Partial<TlsSessionFacts>, brief: boolean): string[] {
  const facts: string[] = [];
  if (session.protocol)
    facts.push([session.protocol, !brief && session.cipher, session.alpn && `alpn ${session.alpn}`].filter(Boolean).join(" "));
  const cert = session.certificate;
  if (cert && !brief) facts.push(truncate(cert.subject, 40));
  const chain = session.chain ?? (cert ? [cert] : []);
  const soonest = firstExpiring(chain);
  if (soonest && soonest.index > 0)
    facts.push(`${truncate(soonest.cert.subject, 40)} (chain ${soonest.index}) expires first: ${formatExpiry(soonest.cert.daysLeft)}`);
  else if (cert) facts.push(formatExpiry(cert.daysLeft));
  if (session.verified !== undefined)
    facts.push(session.verified ? `verified (${session.verification})` : `not verified: ${session.verifyError ?? "unknown"}`);
  return facts;
}

/** The facts a person looks at first for each kind: what dig +nsid, kdig +tls/+https and curl -w would show. */
export function keyFacts(result: ProbeResult): string {
  const facts: string[] = [];
  switch (result.kind) {
    case "dns":
      facts.push(...dnsFacts(result));
      break;
    case "dot":
      facts.push(...dnsFacts(result));
      if (result.tls) facts.push(...tlsFacts(result.tls, true));
      break;
    case "doh":
      if (result.status !== undefined && result.status !== null)
        facts.push([result.status, result.httpVersion && `HTTP/${result.httpVersion}`, result.method].filter(Boolean).join(" "));
      facts.push(...dnsFacts(result));
      if (result.tls) facts.push(...tlsFacts(result.tls, true));
      break;
    case "tcp":
      if (result.localPort) facts.push(`from ${result.localAddress}:${result.localPort}`);
      break;
    case "tls":
      facts.push(...tlsFacts(result, false));
      break;
    case "http":
      if (result.status !== undefined && result.status !== null)
        facts.push(`${result.status}${result.httpVersion ? ` HTTP/${result.httpVersion}` : ""}`);
      if (result.bodyBytes !== undefined) facts.push(`${result.bodyBytes} B${result.bodyTruncated ? " (capped)" : ""}`);
      if (result.tls) facts.push(...tlsFacts(result.tls, true));
      break;
  }
  return facts.join("; ");
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Columns every result table shows after its own leading ones: kind-independent outcome, PoP and timings. */
export function resultCells(result: ProbeResult): string[] {
  const pop = result.pop;
  const facts = keyFacts(result);
  return [
    result.ok ? "ok" : "FAIL",
    pop ? `${pop.id}${pop.iata && pop.iata !== pop.id ? ` (${pop.iata})` : ""}` : "-",
    pop?.source ?? "-",
    formatTimings(result.timings),
    result.failure ? `${result.failure.code}: ${result.failure.message}${facts ? `; ${facts}` : ""}` : facts,
  ];
}

export const RESULT_HEADER = ["OK", "POP", "SOURCE", "TIMINGS (ms)", "DETAILS"];

/**
 * A readable table: one row per result, failures spelled out in its last
 * column; then, per result, what does not fit a row (certificate chains,
 * RRSIGs).
 */
export function formatProbeTable(results: readonly ProbeResult[]): string {
  const table = renderTable(
    ["KIND", "TARGET", ...RESULT_HEADER],
    results.map((r) => [r.kind, r.target, ...resultCells(r)]),
  );
  const details = formatProbeDetails(results);
  return details ? `${table}\n${details}` : table;
}
