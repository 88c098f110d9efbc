// The result model shared by probes, storage, SLO math and the CLI.
// A result is data: success and failure have the same shape, so every layer
// above the probes can count, store and aggregate without try/catch.

/** `dot` is DNS over TLS (RFC 7858), `doh` DNS over HTTPS (RFC 8484). */
export const PROBE_KINDS = ["dns", "tcp", "tls", "http", "dot", "doh"] as const;
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
  "dnssec_unsigned", // DNSSEC asked for and expected, but no RRSIG covers the answer
  "dnssec_unauthenticated", // `expect.ad: true` and the AD bit is clear
  "dnssec_signature_expired", // an RRSIG covering the answer is past its expiration or before its inception
  "dnssec_signature_expiring", // an RRSIG covering the answer expires within `expect.rrsigMinDays`
  "tls_handshake", // TLS protocol failure: garbage, alert, version or cipher mismatch
  "tls_cert_invalid", // chain, hostname or pin verification failed
  "tls_cert_expired", // the leaf (or a chain member) is expired or not yet valid
  "tls_cert_expiring", // a certificate the server sent (leaf or intermediate) expires within `certMinDays`
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

/** One RRSIG (RFC 4034 §3) covering an answer RRset. Validation of the chain of trust is not attempted. */
export interface RrsigFacts {
  /** Owner name of the signed RRset. */
  name: string;
  /** Type mnemonic of the RRset the signature covers, e.g. `SOA`. */
  typeCovered: string;
  algorithm: number;
  keyTag: number;
  /** Signer's name (the zone), presentation form with the trailing dot. */
  signer: string;
  /** ISO 8601 UTC. */
  inception: string;
  expiration: string;
  /** Fractional days from the probe to `expiration` (3 decimals), negative once expired. */
  daysLeft: number;
}

export interface DnssecFacts {
  /** The DO bit was set in the query. */
  requested: boolean;
  /** The server echoed DO in its OPT record (it is DNSSEC-aware). */
  doEchoed: boolean;
  /** RRSIGs in the answer section covering the answer RRsets, in message order. */
  signatures: RrsigFacts[];
}

/** How a DNS message travelled: `tls` is DoT, `https` DoH. */
export type DnsTransport = "udp" | "tcp" | "tls" | "https";

export interface DnsDetails {
  transport: DnsTransport;
  /** True when a TC=1 UDP answer was retried over TCP. */
  tcpFallback: boolean;
  /** True when a response had TC=1 (whether or not it was retried). */
  truncated: boolean;
  /** EDNS UDP payload size the query advertised, null without EDNS. */
  udpPayloadSize: number | null;
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
  /** DNSSEC facts when the query set DO, else null. */
  dnssec: DnssecFacts | null;
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

/** What a TLS handshake established, the same for every kind that makes one (tls, https, dot, doh). */
export interface TlsSessionFacts {
  /** SNI sent, null when none (IP literal or not configured). */
  sni: string | null;
  protocol: string | null;
  cipher: string | null;
  alpn: string | null;
  /** The leaf certificate (also `chain[0]`). */
  certificate: CertificateFacts | null;
  /** Every certificate the server sent, leaf first, in the order sent. */
  chain: CertificateFacts[];
  /** How the chain was judged: `ca` (system or given CAs) or `pin` (fingerprint). */
  verification: "ca" | "pin" | "none";
  verified: boolean;
  /** OpenSSL/Node verification error code when not verified, e.g. CERT_HAS_EXPIRED. */
  verifyError: string | null;
}

export interface TlsDetails extends TlsSessionFacts {
  alpnOffered: string[];
}

export interface HttpDetails {
  url: string;
  status: number | null;
  /** Negotiated HTTP version: `1.1`, `1.0` or `2`. */
  httpVersion: string | null;
  /** Response headers, lowercase names. */
  headers: Record<string, string>;
  bodyBytes: number;
  /** True when the body read stopped at the read cap. */
  bodyTruncated: boolean;
  tls: TlsSessionFacts | null;
}

/** DNS over TLS (RFC 7858): the DNS facts plus the TLS session they travelled in. */
export interface DotDetails extends DnsDetails {
  tls: TlsSessionFacts | null;
}

/** DNS over HTTPS (RFC 8484): the DNS facts plus the HTTP exchange and TLS session. */
export interface DohDetails extends DnsDetails {
  url: string;
  method: "POST" | "GET";
  status: number | null;
  /** Negotiated HTTP version: `2` or `1.1`. */
  httpVersion: string | null;
  /** Response headers, lowercase names. */
  headers: Record<string, string>;
  tls: TlsSessionFacts | null;
}

export interface DetailsByKind {
  dns: DnsDetails;
  tcp: TcpDetails;
  tls: TlsDetails;
  http: HttpDetails;
  dot: DotDetails;
  doh: DohDetails;
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
