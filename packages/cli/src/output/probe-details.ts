// What a probe learnt that does not fit its table row: every certificate a
// server sent, every RRSIG covering a DNS answer. One small table each, under
// a heading naming the result it belongs to.
import type { CertificateFacts, ProbeResult, RrsigFacts, TlsSessionFacts } from "@popwatch/core";
import { escapeControl, formatDays, isoSecond } from "./format";
import { renderTable } from "./table";

/** The certificate that expires first, leaf or intermediate (the first one sent on a tie), with its position. */
export function firstExpiring(chain: readonly CertificateFacts[]): { index: number; cert: CertificateFacts } | null {
  let found: { index: number; cert: CertificateFacts } | null = null;
  chain.forEach((cert, index) => {
    if (!found || cert.daysLeft < found.cert.daysLeft) found = { index, cert };
  });
  return found;
}

/** The TLS session a result carries: its own (tls) or the one its HTTP or DNS travelled in. */
function sessionOf(result: ProbeResult): Partial<TlsSessionFacts> | null {
  if (result.kind === "tls") return result;
  if (result.kind === "http" || result.kind === "dot" || result.kind === "doh") return result.tls ?? null;
  return null;
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
}

function chainTable(chain: readonly CertificateFacts[]): string {
  const soonest = firstExpiring(chain);
  return renderTable(
    ["#", "SUBJECT", "ISSUER", "NOT AFTER", "LEFT", ""],
    chain.map((cert, index) => [
      String(index),
      cert.subject,
      cert.issuer,
      validIso(cert.notAfter),
      formatDays(cert.daysLeft),
      [index === soonest?.index && chain.length > 1 && "expires first", cert.daysLeft < 0 && "EXPIRED"].filter(Boolean).join(", "),
    ]),
  );
}

function signatureTable(signatures: readonly RrsigFacts[]): string {
  return renderTable(
    ["NAME", "COVERS", "ALG", "KEY TAG", "SIGNER", "INCEPTION", "EXPIRATION", "LEFT"],
    signatures.map((sig) => [
      sig.name,
      sig.typeCovered,
      String(sig.algorithm),
      String(sig.keyTag),
      sig.signer,
      validIso(sig.inception),
      validIso(sig.expiration),
      formatDays(sig.daysLeft),
    ]),
  );
}

/** `2026-12-08 16:00:00Z` when the value is an ISO timestamp; anything else as received. */
function validIso(value: string): string {
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/.test(value) ? isoSecond(value) : value;
}

/** The detail blocks of a set of results, empty when none has any. */
export function formatProbeDetails(results: readonly ProbeResult[]): string {
  const blocks: string[] = [];
  for (const result of results) {
    const heading = escapeControl(`${result.kind} ${result.target}`);
    const chain = sessionOf(result)?.chain ?? [];
    if (chain.length > 0) blocks.push(`${heading}: certificate chain as sent, leaf first\n${indent(chainTable(chain))}\n`);
    if ((result.kind === "dns" || result.kind === "dot" || result.kind === "doh") && result.dnssec?.signatures.length) {
      blocks.push(`${heading}: RRSIGs covering the answer (not validated)\n${indent(signatureTable(result.dnssec.signatures))}\n`);
    }
  }
  return blocks.join("\n");
}
