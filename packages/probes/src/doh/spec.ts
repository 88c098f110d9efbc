// Turns a DohProbeSpec into what the doh probe sends: the DNS plan shared with
// the other DNS transports, plus the HTTP side of RFC 8484 (origin, path,
// method, ALPN, accepted statuses). Every configuration fault is found here,
// before any I/O, and thrown as a ProbeSpecError naming the field.

import { type CompiledDnsSpec, compileDnsSpec } from "../dns/spec";
import { ProbeSpecError } from "../errors";
import { authority } from "../http/exchange";
import { sniFor } from "../tls/connect";
import { type TrustPlan, trustPlan } from "../tls/trust";
import type { DohProbeSpec } from "../types";

/** RFC 8484 §6: the one media type a DoH request and response carry. */
export const DNS_MESSAGE_TYPE = "application/dns-message";

/** RFC 8484 §6 caps a DNS message at 65535 bytes, the most a DNS length field can say. */
export const MAX_DNS_MESSAGE_BYTES = 65535;

const ALPN_PROTOCOLS: readonly string[] = ["h2", "http/1.1"];
const DEFAULT_EXPECTED_STATUS: readonly number[] = [200];
// A path as it goes on the request line: visible ASCII, no fragment (a `#` would end the path at the server).
const REQUEST_PATH = /^\/[\x21-\x22\x24-\x7e]*$/;

export interface CompiledDohSpec {
  readonly dns: CompiledDnsSpec;
  /** `https://host:port` with IPv6 literals bracketed: undici's origin, and so Host and :authority. */
  readonly origin: string;
  readonly path: string;
  readonly method: "POST" | "GET";
  readonly alpn: readonly string[];
  readonly expectStatus: readonly number[];
  /** Name the certificate must carry: spec.host, or the address when none. */
  readonly identity: string;
  /** SNI to send: null for an IP literal. */
  readonly sni: string | null;
  readonly trust: TrustPlan;
  readonly certMinDays: number | undefined;
}

export function compileDohSpec(spec: DohProbeSpec): CompiledDohSpec {
  const dns = compileDnsSpec(spec);
  const path = spec.path === undefined || spec.path === "" ? "/dns-query" : spec.path;
  if (typeof path !== "string" || !REQUEST_PATH.test(path)) {
    throw new ProbeSpecError("path", `${JSON.stringify(path)} is not a request path (starts with /, visible ASCII, no #)`);
  }
  if (spec.method !== "POST" && spec.method !== "GET")
    throw new ProbeSpecError("method", `${JSON.stringify(spec.method)} is not POST or GET`);
  const alpn = spec.alpn ?? ALPN_PROTOCOLS;
  if (!Array.isArray(alpn) || alpn.some((protocol) => !ALPN_PROTOCOLS.includes(protocol))) {
    throw new ProbeSpecError("alpn", `${JSON.stringify(alpn)} must list only ${ALPN_PROTOCOLS.join(", ")}`);
  }
  const expectStatus = spec.expectStatus?.length ? spec.expectStatus : DEFAULT_EXPECTED_STATUS;
  for (const status of expectStatus) {
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      throw new ProbeSpecError("expectStatus", `${JSON.stringify(status)} is not an HTTP status (100-599)`);
    }
  }
  if (spec.certMinDays !== undefined && !(typeof spec.certMinDays === "number" && spec.certMinDays >= 0)) {
    throw new ProbeSpecError("certMinDays", `${JSON.stringify(spec.certMinDays)} is not a number of days (0 or more)`);
  }
  const host = spec.host ?? spec.address;
  const origin = `https://${authority(host, spec.port)}`;
  try {
    new URL(origin);
  } catch (err) {
    throw new ProbeSpecError("host", `cannot form a URL from ${JSON.stringify(origin)}`, { cause: err });
  }
  return {
    dns,
    origin,
    path,
    method: spec.method,
    alpn,
    expectStatus,
    identity: host,
    sni: sniFor(host),
    trust: trustPlan(spec),
    certMinDays: spec.certMinDays,
  };
}

/** The request target: the path for POST; for GET the path with `dns=<base64url, no padding>` (RFC 8484 §4.1) added to its query. */
export function dohRequestPath(path: string, method: "POST" | "GET", query: Uint8Array): string {
  if (method === "POST") return path;
  const separator = path.includes("?") ? "&" : "?";
  return `${path}${separator}dns=${Buffer.from(query.buffer, query.byteOffset, query.byteLength).toString("base64url")}`;
}

/** True when a Content-Type names application/dns-message, whatever its case and parameters. */
export function isDnsMessageType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semicolon = contentType.indexOf(";");
  const type = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  return type === DNS_MESSAGE_TYPE;
}
