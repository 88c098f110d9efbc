import type { DetailsByKind, Failure, PopEvidence, ProbeKind, Timings } from "@popwatch/core";

interface SpecBase<K extends ProbeKind> {
  kind: K;
  /** IP address to probe (the anycast address). Never a hostname: resolution happens before. */
  address: string;
  port: number;
  /** Target name for reporting (config name or CLI hostname). */
  name?: string | null;
}

export type ChaosIdentity = "id.server" | "hostname.bind";

export interface DnsExpectations {
  /** Acceptable rcodes; default `["NOERROR"]`. */
  rcode?: string[];
  /** Regex (source) that at least one answer's presentation form must match. */
  answer?: string;
  /** Require the AD bit in the response. */
  ad?: boolean;
  /** Require RRSIGs covering the answer, each valid for at least this many more days (0: present and current). */
  rrsigMinDays?: number;
}

/** What to ask and how to judge the answer, the same over UDP/TCP, TLS (dot) and HTTPS (doh). */
export interface DnsQueryOptions {
  qname: string;
  /** Record type mnemonic, e.g. `A`, `SOA`, `TXT`. */
  qtype: string;
  qclass: "IN" | "CH";
  /** Send an EDNS0 OPT record carrying an empty NSID option (RFC 5001). */
  nsid: boolean;
  /** CHAOS TXT identities to ask for beside the main query (RFC 4892). */
  chaos: ChaosIdentity[];
  recursionDesired: boolean;
  /** Set the EDNS DO bit (DNSSEC OK) and record the RRSIGs covering the answer. */
  dnssecOk: boolean;
  /** EDNS UDP payload size advertised. */
  udpPayloadSize: number;
  expect?: DnsExpectations;
}

export interface DnsProbeSpec extends SpecBase<"dns">, DnsQueryOptions {
  transport: "udp" | "tcp";
  /** Retry over TCP when a UDP answer has TC=1. */
  tcpFallback: boolean;
}

export interface TcpProbeSpec extends SpecBase<"tcp"> {}

export interface TrustOptions {
  /** Extra trusted CA certificates (PEM). They are added to the system store, not a replacement. */
  ca?: string[];
  /** Pinned leaf SHA-256 fingerprints (hex, any case, colons allowed). When set, they decide verification. */
  pinSha256?: string[];
}

/** Fail with tls_cert_expiring when a certificate the server sends expires within this many days. */
interface CertificateExpectations {
  certMinDays?: number;
}

export interface TlsProbeSpec extends SpecBase<"tls">, TrustOptions, CertificateExpectations {
  /** Server name for SNI and hostname verification; null sends no SNI and verifies against the address. */
  sni: string | null;
  alpn: string[];
}

export interface HttpProbeSpec extends SpecBase<"http">, TrustOptions, CertificateExpectations {
  scheme: "http" | "https";
  /** Host header and SNI; null uses the address. */
  host: string | null;
  path: string;
  method: "GET" | "HEAD";
  headers?: Record<string, string>;
  /** Acceptable status codes; default 200–399. */
  expectStatus?: number[];
  /** Regex (source) the body must match within readCapBytes. */
  bodyRegex?: string;
  /** Most body bytes read; the rest is discarded unread and the connection closed. */
  readCapBytes: number;
  /** HTTPS: HTTP versions offered by ALPN (`h2`, `http/1.1`), preferred first; default both. Plain http is always HTTP/1.1. */
  alpn?: string[];
}

/** DNS over TLS (RFC 7858): RFC 7766 framing on a verified TLS connection. */
export interface DotProbeSpec extends SpecBase<"dot">, DnsQueryOptions, TrustOptions, CertificateExpectations {
  /** Server name for SNI and verification; null sends no SNI and verifies against the address. */
  sni: string | null;
}

/** DNS over HTTPS (RFC 8484): `application/dns-message` by POST or GET. */
export interface DohProbeSpec extends SpecBase<"doh">, DnsQueryOptions, TrustOptions, CertificateExpectations {
  /** URL host, Host/:authority and SNI; null uses the address. */
  host: string | null;
  /** Path of the DoH endpoint, default `/dns-query`. */
  path: string;
  method: "POST" | "GET";
  /** HTTP versions offered by ALPN (`h2`, `http/1.1`), preferred first. */
  alpn: string[];
  /** Acceptable HTTP status codes; default 200. */
  expectStatus?: number[];
}

export interface SpecByKind {
  dns: DnsProbeSpec;
  tcp: TcpProbeSpec;
  tls: TlsProbeSpec;
  http: HttpProbeSpec;
  dot: DotProbeSpec;
  doh: DohProbeSpec;
}
export type ProbeSpec = SpecByKind[ProbeKind];

/** Phase durations a probe records; the runner adds totalMs. */
export type PhaseTimings = Omit<Timings, "totalMs">;

/**
 * What the runner hands a probe. As in blackbox_exporter's probers, a probe
 * records what it learns as it goes (timings, facts, PoP evidence), so a
 * probe that fails half-way still reports its connect time or certificate.
 */
export interface ProbeContext<K extends ProbeKind = ProbeKind> {
  /** Aborted when the probe's timeout or the run's deadline expires. Close sockets on abort. */
  readonly signal: AbortSignal;
  /**
   * Calls `listener` once when the probe is aborted (at once if it already
   * is); returns a function that removes it. The same event as `signal`,
   * without EventTarget's cost: hot probes (dns) use this, APIs that want a
   * real AbortSignal (undici, net) get `signal`.
   */
  onAbort(listener: (reason: Error) => void): () => void;
  /** Monotonic clock in nanoseconds (process.hrtime.bigint unless the runner is given another). */
  now(): bigint;
  /** Milliseconds from `startNs` to now, fractional. */
  msSince(startNs: bigint): number;
  readonly timings: PhaseTimings;
  readonly facts: Partial<DetailsByKind[K]>;
  readonly evidence: PopEvidence;
}

/**
 * One probe kind. Resolves with null on success or a protocol-level failure
 * (rcode, status, body, certificate) the probe judged itself; rejects with the
 * transport error otherwise, and the runner classifies it by `err.code`.
 */
export type ProbeFn<K extends ProbeKind> = (spec: SpecByKind[K], ctx: ProbeContext<K>) => Promise<Failure | null>;

export type ProbeRegistry = { [K in ProbeKind]: ProbeFn<K> };
