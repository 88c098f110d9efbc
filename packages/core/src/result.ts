// The result model shared by probes, storage, SLO math and the CLI.
// A result is data: success and failure have the same shape, so every layer
// above the probes can count, store and aggregate without try/catch.

export const PROBE_KINDS = ["dns", "tcp", "tls", "http"] as const;
export type ProbeKind = (typeof PROBE_KINDS)[number];

/**
 * Largest sequence number of a result within one invocation. The agent
 * numbers an invocation's results from 0 and the store keys them by it, so
 * both must agree on the bound (six digits in v1 keys, kept since).
 */
export const MAX_RESULT_SEQ = 999_999;

/**
 * Closed set of failure classes. Probes and the runner pick one from an
 * error's `code` (Node errno, undici UND_ERR_*, TLS verify codes, DNS rcode),
 * never from its message text.
 */
export const FAILURE_CODES = [
  "timeout", // the per-probe timeout expired
  "deadline", // the run's overall deadline expired before or during the probe
  "refused", // ECONNREFUSED, or ICMP port unreachable on UDP
  "unreachable", // EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL, ENETDOWN
  "reset", // ECONNRESET, EPIPE: the peer tore the connection down
  "closed", // the peer closed cleanly before a complete answer
  "name_resolution", // the target hostname did not resolve
  "dns_rcode", // DNS rcode differs from the expected one (NOERROR by default)
  "dns_malformed", // a response that cannot be parsed or violates the protocol
  "dns_truncated", // TC=1 where no fallback remains (TCP answer truncated, or fallback off)
  "answer_mismatch", // DNS answers do not match the expected pattern
  "tls_handshake", // TLS protocol failure: garbage, alert, version or cipher mismatch
  "tls_cert_invalid", // chain, hostname or pin verification failed
  "tls_cert_expired", // the leaf (or a chain member) is expired or not yet valid
  "http_status", // status outside the expected set
  "http_protocol", // malformed HTTP from the server
  "body_mismatch", // body does not match the expected pattern within the read cap
  "body_too_large", // body exceeds the configured hard limit where one is enforced
  "internal", // a fault in popwatch itself; reported, never thrown through the runner
] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

export interface Failure {
  code: FailureCode;
  message: string;
}

/** Where PoP evidence came from. Header sources are `header:<lowercase name>`. */
export type PopSource = "nsid" | "id.server" | "hostname.bind" | "tls-fingerprint" | `header:${string}`;

/** Which PoP answered, in canonical form. */
export interface Pop {
  /** Canonical PoP id: lowercase site code (e.g. `fra`, `yul01`, `de-ham`), or the raw value when no pattern knows it. */
  id: string;
  /** The evidence the id was derived from. */
  source: PopSource;
  /** The raw evidence value, unmodified. */
  raw: string;
  /** Three-letter IATA code in lowercase when one can be derived, else null. */
  iata: string | null;
}

/** The raw material PoP identification works on, recorded by a probe as it learns it. */
export interface PopEvidence {
  nsid?: string;
  chaos?: Partial<Record<"id.server" | "hostname.bind", string>>;
  /** Response headers, lowercase names. Repeated headers are joined with ", ". */
  headers?: Record<string, string>;
  /** SHA-256 of the leaf certificate, lowercase hex without separators. */
  tlsFingerprint?: string;
}

/** Phase durations in milliseconds (fractional, monotonic clock). */
export interface Timings {
  /** Wall time of the whole probe, measured by the runner. */
  totalMs: number;
  /** TCP three-way handshake. */
  connectMs?: number;
  /** TLS handshake after connect. */
  tlsMs?: number;
  /** HTTP: request sent to first response byte (headers). */
  ttfbMs?: number;
  /** HTTP: first byte to end of the body read. */
  transferMs?: number;
  /** DNS: query written to matching response received, for the answer that counted. */
  rttMs?: number;
}

export interface DnsAnswer {
  name: string;
  type: string;
  class: string;
  ttl: number;
  /** Presentation form of the RDATA (TXT strings joined, addresses, names). */
  data: string;
}

export interface DnsDetails {
  transport: "udp" | "tcp";
  /** True when a TC=1 UDP answer was retried over TCP. */
  tcpFallback: boolean;
  qname: string;
  qtype: string;
  qclass: string;
  rcode: string | null;
  flags: { aa: boolean; tc: boolean; rd: boolean; ra: boolean; ad: boolean; cd: boolean } | null;
  answers: DnsAnswer[];
  /** Records in the authority section (NSCOUNT). */
  authorityCount: number;
  /** Records in the additional section (ARCOUNT, the EDNS OPT record included). */
  additionalCount: number;
  /** NSID as text when printable, else null; see nsidHex. */
  nsid: string | null;
  nsidHex: string | null;
  /** CHAOS TXT identities asked for, with their answers (null when not answered). */
  identity: Partial<Record<"id.server" | "hostname.bind", string | null>>;
  /** Response size in bytes. */
  responseBytes: number | null;
  /** Packets that arrived but did not belong to the query (wrong ID, question or source). */
  ignoredPackets: number;
}

export interface TcpDetails {
  localAddress: string | null;
  localPort: number | null;
}

export interface CertificateFacts {
  subject: string;
  issuer: string;
  sans: string[];
  notBefore: string;
  notAfter: string;
  daysLeft: number;
  fingerprint256: string;
  serialNumber: string;
}

export interface TlsDetails {
  sni: string | null;
  alpnOffered: string[];
  protocol: string | null;
  cipher: string | null;
  alpn: string | null;
  certificate: CertificateFacts | null;
  /** How the chain was judged: `ca` (system or given CAs) or `pin` (fingerprint). */
  verification: "ca" | "pin" | "none";
  verified: boolean;
  /** OpenSSL/Node verification error code when not verified, e.g. CERT_HAS_EXPIRED. */
  verifyError: string | null;
}

export interface HttpDetails {
  url: string;
  status: number | null;
  httpVersion: string | null;
  /** Response headers, lowercase names. */
  headers: Record<string, string>;
  bodyBytes: number;
  /** True when the body read stopped at the read cap. */
  bodyTruncated: boolean;
  tls: Pick<TlsDetails, "protocol" | "cipher" | "alpn"> | null;
}

export interface DetailsByKind {
  dns: DnsDetails;
  tcp: TcpDetails;
  tls: TlsDetails;
  http: HttpDetails;
}

export interface ResultBase<K extends ProbeKind> {
  kind: K;
  /** What was probed, `address:port` (IPv6 in brackets). */
  target: string;
  address: string;
  port: number;
  /** The configured target name, or the hostname given on the command line. */
  name: string | null;
  ok: boolean;
  /** Wall-clock start, ISO 8601 UTC. */
  startedAt: string;
  timings: Timings;
  pop: Pop | null;
  failure: Failure | null;
}

/**
 * A probe result. Kind details sit beside the common fields, so one JSON line
 * reads `{ "kind": "dns", "ok": true, "rcode": "NOERROR", "nsid": ... }`.
 * Details are partial: a probe that failed early only knows some of them.
 */
export type ProbeResultOf<K extends ProbeKind> = ResultBase<K> & Partial<DetailsByKind[K]>;
export type ProbeResult = { [K in ProbeKind]: ProbeResultOf<K> }[ProbeKind];

export function isFailureCode(value: unknown): value is FailureCode {
  return typeof value === "string" && (FAILURE_CODES as readonly string[]).includes(value);
}

/** `address:port`, with IPv6 addresses in brackets. */
export function formatEndpoint(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}
