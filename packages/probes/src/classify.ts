import { type Failure, type FailureCode, isFailureCode } from "@popwatch/core";

// Failure classes by error code: Node errno names, OpenSSL verify codes as
// Node reports them, undici's UND_ERR_* and llhttp's HPE_*. Messages are
// kept for people to read; they never decide the class.
const BY_CODE: Readonly<Record<string, FailureCode>> = {
  ECONNREFUSED: "refused",
  EHOSTUNREACH: "unreachable",
  ENETUNREACH: "unreachable",
  ENETDOWN: "unreachable",
  EHOSTDOWN: "unreachable",
  EADDRNOTAVAIL: "unreachable",
  EAFNOSUPPORT: "unreachable",
  ECONNRESET: "reset",
  ECONNABORTED: "reset",
  EPIPE: "reset",
  ETIMEDOUT: "timeout",
  ENOTFOUND: "name_resolution",
  EAI_AGAIN: "name_resolution",
  EAI_FAIL: "name_resolution",
  ENODATA: "name_resolution",
  EPROTO: "tls_handshake",
  ERR_SSL_WRONG_VERSION_NUMBER: "tls_handshake",
  ERR_SSL_PACKET_LENGTH_TOO_LONG: "tls_handshake",
  ERR_SSL_RECORD_LAYER_FAILURE: "tls_handshake",
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: "tls_handshake",
  ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: "tls_handshake",
  ERR_SSL_TLSV1_ALERT_INTERNAL_ERROR: "tls_handshake",
  ERR_SSL_TLSV1_UNRECOGNIZED_NAME: "tls_handshake",
  ERR_SSL_UNSUPPORTED_PROTOCOL: "tls_handshake",
  ERR_SSL_NO_PROTOCOLS_AVAILABLE: "tls_handshake",
  ERR_TLS_CERT_ALTNAME_INVALID: "tls_cert_invalid",
  CERT_HAS_EXPIRED: "tls_cert_expired",
  CERT_NOT_YET_VALID: "tls_cert_expired",
  CRL_HAS_EXPIRED: "tls_cert_expired",
  DEPTH_ZERO_SELF_SIGNED_CERT: "tls_cert_invalid",
  SELF_SIGNED_CERT_IN_CHAIN: "tls_cert_invalid",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "tls_cert_invalid",
  UNABLE_TO_GET_ISSUER_CERT: "tls_cert_invalid",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "tls_cert_invalid",
  CERT_SIGNATURE_FAILURE: "tls_cert_invalid",
  CERT_UNTRUSTED: "tls_cert_invalid",
  CERT_REJECTED: "tls_cert_invalid",
  CERT_REVOKED: "tls_cert_invalid",
  INVALID_CA: "tls_cert_invalid",
  PATH_LENGTH_EXCEEDED: "tls_cert_invalid",
  INVALID_PURPOSE: "tls_cert_invalid",
  HOSTNAME_MISMATCH: "tls_cert_invalid",
  ERR_TLS_PIN_MISMATCH: "tls_cert_invalid",
  // The rest of OpenSSL's X509_V_ERR_* names as Node reports them: a chain
  // that cannot be built or read is invalid; a CRL out of its window is stale
  // the way an expired certificate is.
  UNABLE_TO_GET_CRL: "tls_cert_invalid",
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: "tls_cert_invalid",
  UNABLE_TO_DECRYPT_CRL_SIGNATURE: "tls_cert_invalid",
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: "tls_cert_invalid",
  CRL_SIGNATURE_FAILURE: "tls_cert_invalid",
  CRL_NOT_YET_VALID: "tls_cert_expired",
  ERROR_IN_CERT_NOT_BEFORE_FIELD: "tls_cert_invalid",
  ERROR_IN_CERT_NOT_AFTER_FIELD: "tls_cert_invalid",
  ERROR_IN_CRL_LAST_UPDATE_FIELD: "tls_cert_invalid",
  ERROR_IN_CRL_NEXT_UPDATE_FIELD: "tls_cert_invalid",
  CERT_CHAIN_TOO_LONG: "tls_cert_invalid",
  // checkServerIdentity throws it for a SAN it cannot parse: a certificate fault, not a handshake one.
  ERR_TLS_CERT_ALTNAME_FORMAT: "tls_cert_invalid",
  ERR_SOCKET_CONNECTION_TIMEOUT: "timeout",
  UND_ERR_CONNECT_TIMEOUT: "timeout",
  UND_ERR_HEADERS_TIMEOUT: "timeout",
  UND_ERR_BODY_TIMEOUT: "timeout",
  UND_ERR_SOCKET: "closed",
  UND_ERR_CLOSED: "closed",
  UND_ERR_RESPONSE_EXCEEDED_MAX_SIZE: "body_too_large",
  UND_ERR_HEADERS_OVERFLOW: "http_protocol",
  UND_ERR_INVALID_RETURN_VALUE: "internal",
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: "http_protocol",
  UND_ERR_REQ_CONTENT_LENGTH_MISMATCH: "internal",
  UND_ERR_INVALID_ARG: "internal",
  ERR_INVALID_ARG_TYPE: "internal",
  ERR_INVALID_ARG_VALUE: "internal",
  // undici's InformationalError: a connection or HTTP/2 stream it tore down
  // or saw close before the response was complete.
  UND_ERR_INFO: "closed",
  // Node's HTTP/2 client when the server resets the stream (RST_STREAM).
  ERR_HTTP2_STREAM_ERROR: "reset",
  ERR_SOCKET_CLOSED: "closed",
  ERR_STREAM_PREMATURE_CLOSE: "closed",
};

// Prefix families: OpenSSL reports hundreds of ERR_SSL_* reasons, llhttp a
// few dozen HPE_* parse errors, Node's HTTP/2 a few dozen ERR_HTTP2_*. All are whole classes.
const BY_PREFIX: readonly (readonly [string, FailureCode])[] = [
  ["ERR_SSL_", "tls_handshake"],
  ["ERR_TLS_", "tls_handshake"],
  ["HPE_", "http_protocol"],
  // Node's HTTP/2 (nghttp2) session and frame errors: the peer broke the protocol.
  ["ERR_HTTP2_", "http_protocol"],
];

function codeOf(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

function messageOf(err: unknown): string {
  if (err instanceof Error) {
    const code = codeOf(err);
    const message = err.message || err.name;
    return code && !message.includes(code) ? `${code}: ${message}` : message;
  }
  return String(err);
}

function classifyCode(code: string): FailureCode | undefined {
  if (isFailureCode(code)) return code;
  const known = BY_CODE[code];
  if (known) return known;
  for (const [prefix, failure] of BY_PREFIX) if (code.startsWith(prefix)) return failure;
  return undefined;
}

/**
 * Classify an error thrown by a probe. Walks the `cause` chain, since undici
 * and fetch wrap socket errors; the first code that is known wins.
 */
export function classifyError(err: unknown): Failure {
  const seen = new Set<unknown>();
  for (let e: unknown = err; e != null && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    const code = codeOf(e);
    if (code) {
      const failure = classifyCode(code);
      if (failure) return { code: failure, message: messageOf(e) };
    }
    if (typeof e !== "object") break;
  }
  return { code: "internal", message: messageOf(err) };
}
