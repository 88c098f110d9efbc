import type { ProbeResult, Timings } from "@popwatch/core";

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

/** The facts a person looks at first for each kind: what dig +nsid and curl -w would show. */
export function keyFacts(result: ProbeResult): string {
  const facts: string[] = [];
  switch (result.kind) {
    case "dns": {
      const flags = result.flags
        ? Object.entries(result.flags)
            .filter(([, on]) => on)
            .map(([flag]) => flag)
        : [];
      const transport = result.tcpFallback ? "udp→tcp" : result.transport;
      if (result.rcode) facts.push(`${result.rcode}${flags.length ? ` [${flags.join(" ")}]` : ""}`);
      if (transport) facts.push(transport);
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
      break;
    }
    case "tcp":
      if (result.localPort) facts.push(`from ${result.localAddress}:${result.localPort}`);
      break;
    case "tls": {
      if (result.protocol) facts.push([result.protocol, result.cipher, result.alpn && `alpn ${result.alpn}`].filter(Boolean).join(" "));
      const cert = result.certificate;
      if (cert) {
        facts.push(truncate(cert.subject, 40));
        facts.push(`${Math.floor(cert.daysLeft)} days left`);
      }
      if (result.verified !== undefined)
        facts.push(result.verified ? `verified (${result.verification})` : `not verified: ${result.verifyError ?? "unknown"}`);
      break;
    }
    case "http":
      if (result.status !== undefined && result.status !== null)
        facts.push(`${result.status}${result.httpVersion ? ` HTTP/${result.httpVersion}` : ""}`);
      if (result.bodyBytes !== undefined) facts.push(`${result.bodyBytes} B${result.bodyTruncated ? " (capped)" : ""}`);
      if (result.tls?.protocol) facts.push(result.tls.protocol);
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

/** Left-aligned columns two spaces apart; the last column is never padded. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

/** A readable table: one row per result, failures spelled out in its last column. */
export function formatProbeTable(results: readonly ProbeResult[]): string {
  return renderTable(
    ["KIND", "TARGET", ...RESULT_HEADER],
    results.map((r) => [r.kind, r.target, ...resultCells(r)]),
  );
}
