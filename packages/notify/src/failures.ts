// Why a delivery attempt failed, as a closed union, classified from Node's
// `code`, undici's `code`, the AWS SDK's `name`/`$metadata.httpStatusCode`
// and HTTP status codes: never from message text, which changes between
// versions.

export const DELIVERY_FAILURE_CODES = [
  /** No complete answer within the sink's timeout. */
  "timeout",
  /** The endpoint refused the connection. */
  "connect_refused",
  /** Connection reset, unreachable network, name resolution failure. */
  "network",
  /** HTTP 5xx (or an AWS server fault). */
  "http_5xx",
  /** HTTP 429, or AWS throttling. */
  "throttled",
  /** HTTP 4xx other than 429: the receiver refuses this request; retrying cannot help. */
  "http_4xx",
  /** 1xx or 3xx: redirects are not followed, so the receiver is misconfigured. */
  "unexpected_status",
  /** PutEvents answered, but with FailedEntryCount > 0 for our entry. */
  "eventbridge_failed_entry",
  /** AWS refused the request as a client fault (access denied, missing bus, validation). */
  "aws_rejected",
  /** The notification does not match alertEventDetailSchema, or is too large for the sink. */
  "invalid_notification",
  /** Anything else: most likely a bug on this side, so not retried. */
  "unexpected",
] as const;
export type DeliveryFailureCode = (typeof DELIVERY_FAILURE_CODES)[number];

export interface SendFailure {
  ok: false;
  code: DeliveryFailureCode;
  retryable: boolean;
  /** HTTP status when there was a response. */
  status?: number;
  /** From Retry-After on 429/503; a floor for the next backoff. */
  retryAfterMs?: number;
  /** Short, stable description (names, codes, status): never a message text. */
  detail: string;
}

export type SendResult = { ok: true; status?: number } | SendFailure;

const TIMEOUT_CODES = new Set(["ETIMEDOUT", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);
const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  "ENOTFOUND",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
]);
const AWS_THROTTLING_NAMES = new Set([
  "ThrottlingException",
  "Throttling",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "LimitExceededException",
]);
const AWS_SERVER_NAMES = new Set([
  "InternalException",
  "InternalFailure",
  "InternalServerError",
  "ServiceUnavailable",
  "ServiceUnavailableException",
]);

interface LooseError {
  name?: unknown;
  code?: unknown;
  errors?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $fault?: unknown;
  $retryable?: { throttling?: boolean };
}

function loose(err: unknown): LooseError {
  return typeof err === "object" && err !== null ? (err as LooseError) : {};
}

/** Node's or undici's code, looking inside an AggregateError (happy-eyeballs connects report one per address). */
function errorCode(err: unknown): string | undefined {
  const value = loose(err);
  if (typeof value.code === "string") return value.code;
  if (Array.isArray(value.errors))
    for (const inner of value.errors) {
      const code = errorCode(inner);
      if (code !== undefined) return code;
    }
  return undefined;
}

export function describeError(err: unknown): string {
  const value = loose(err);
  const parts = [typeof value.name === "string" ? value.name : typeof err];
  const code = errorCode(err);
  if (code !== undefined) parts.push(code);
  if (typeof value.$metadata?.httpStatusCode === "number") parts.push(`HTTP ${value.$metadata.httpStatusCode}`);
  return parts.join(" ");
}

/** A transport error (no HTTP status to go by). `timedOut`: our own deadline fired, whatever the error says. */
export function classifyTransportError(err: unknown, timedOut: boolean): SendFailure {
  const detail = describeError(err);
  const code = errorCode(err);
  if (timedOut || (code !== undefined && TIMEOUT_CODES.has(code))) return { ok: false, code: "timeout", retryable: true, detail };
  if (code === "ECONNREFUSED") return { ok: false, code: "connect_refused", retryable: true, detail };
  if (code !== undefined && NETWORK_CODES.has(code)) return { ok: false, code: "network", retryable: true, detail };
  return { ok: false, code: "unexpected", retryable: false, detail };
}

export function classifyHttpStatus(status: number, retryAfterMs?: number): SendResult {
  if (status >= 200 && status < 300) return { ok: true, status };
  const detail = `HTTP ${status}`;
  const after = retryAfterMs === undefined ? {} : { retryAfterMs };
  if (status === 429) return { ok: false, code: "throttled", retryable: true, status, detail, ...after };
  if (status >= 500) return { ok: false, code: "http_5xx", retryable: true, status, detail, ...after };
  if (status >= 400) return { ok: false, code: "http_4xx", retryable: false, status, detail };
  return { ok: false, code: "unexpected_status", retryable: false, status, detail };
}

/** An error thrown by an AWS SDK v3 client's send. */
export function classifyAwsError(err: unknown, timedOut: boolean): SendFailure {
  const value = loose(err);
  const name = typeof value.name === "string" ? value.name : "";
  const status = typeof value.$metadata?.httpStatusCode === "number" ? value.$metadata.httpStatusCode : undefined;
  const detail = describeError(err);
  const withStatus = status === undefined ? {} : { status };
  if (AWS_THROTTLING_NAMES.has(name) || status === 429 || value.$retryable?.throttling === true) {
    return { ok: false, code: "throttled", retryable: true, detail, ...withStatus };
  }
  if (AWS_SERVER_NAMES.has(name) || (status !== undefined && status >= 500))
    return { ok: false, code: "http_5xx", retryable: true, detail, ...withStatus };
  if (status !== undefined && status >= 400) return { ok: false, code: "aws_rejected", retryable: false, detail, status };
  if (value.$fault === "client") return { ok: false, code: "aws_rejected", retryable: false, detail };
  if (name === "TimeoutError") return { ok: false, code: "timeout", retryable: true, detail };
  return classifyTransportError(err, timedOut);
}

/** Retry-After as delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, nowMs: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - nowMs) : undefined;
}
