// The one error type the store throws, and the classification of AWS SDK and
// network errors it is built from. Classification reads `name`, Node's `code`
// and `$metadata.httpStatusCode` only: message texts change between SDK
// versions and DynamoDB emulators, names and status codes do not.

export type StoreErrorCode =
  /** The endpoint did not answer, reset the connection, or answered 5xx. Retrying later may succeed. */
  | "store_unavailable"
  /** DynamoDB kept throttling, or kept returning UnprocessedItems, until the retry budget ran out. */
  | "store_throttled"
  /** A conditional write found a different item than expected. */
  | "store_conflict"
  /** The request or the data was refused as invalid (e.g. a bad startedAt, an oversized item): retrying cannot help. */
  | "store_invalid"
  /** Table missing, or credentials refused: a deployment problem, not a transient one. */
  | "store_misconfigured"
  /** The embedded store's data directory is held by another process. */
  | "store_locked"
  /** An item read back does not decode to what the store wrote. */
  | "store_corrupt";

export interface StoreErrorDetails {
  cause?: unknown;
  /** Items of the failed call that are not known to be written (0 for reads). */
  unwrittenItems?: number;
  /** Items the failed call tried to write. */
  totalItems?: number;
  /** Requests sent, retries included, before giving up. */
  attempts?: number;
}

export class StoreError extends Error {
  override readonly name = "StoreError";
  readonly code: StoreErrorCode;
  readonly unwrittenItems: number;
  readonly totalItems: number;
  readonly attempts: number;

  constructor(code: StoreErrorCode, message: string, details: StoreErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.unwrittenItems = details.unwrittenItems ?? 0;
    this.totalItems = details.totalItems ?? 0;
    this.attempts = details.attempts ?? 0;
  }
}

export interface FailureClass {
  code: StoreErrorCode;
  /** Worth another attempt after a backoff. */
  retryable: boolean;
}

const THROTTLING_NAMES = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "Throttling",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "LimitExceededException",
]);

const UNAVAILABLE_NAMES = new Set([
  "InternalServerError",
  "InternalFailure",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException",
  "TransactionInProgressException",
]);

// Node errno codes of a peer that is down, restarting or unreachable.
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

const CONFLICT_NAMES = new Set(["ConditionalCheckFailedException", "TransactionConflictException", "TransactionCanceledException"]);

const INVALID_NAMES = new Set(["ValidationException", "SerializationException", "ItemCollectionSizeLimitExceededException"]);

const MISCONFIGURED_NAMES = new Set([
  "ResourceNotFoundException",
  "AccessDeniedException",
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "MissingAuthenticationToken",
  "MissingAuthenticationTokenException",
  "ExpiredTokenException",
  "IncompleteSignatureException",
  "CredentialsProviderError",
]);

export function classifyFailure(err: unknown): FailureClass {
  if (err instanceof StoreError) return { code: err.code, retryable: err.code === "store_unavailable" || err.code === "store_throttled" };
  const loose = (typeof err === "object" && err !== null ? err : {}) as {
    name?: unknown;
    code?: unknown;
    $metadata?: { httpStatusCode?: unknown };
    $retryable?: { throttling?: boolean };
  };
  const name = typeof loose.name === "string" ? loose.name : "";
  const code = typeof loose.code === "string" ? loose.code : "";
  const status = typeof loose.$metadata?.httpStatusCode === "number" ? loose.$metadata.httpStatusCode : undefined;

  if (THROTTLING_NAMES.has(name) || status === 429 || loose.$retryable?.throttling === true) {
    return { code: "store_throttled", retryable: true };
  }
  if (CONFLICT_NAMES.has(name)) return { code: "store_conflict", retryable: name === "TransactionConflictException" };
  if (MISCONFIGURED_NAMES.has(name) || status === 401 || status === 403) return { code: "store_misconfigured", retryable: false };
  if (INVALID_NAMES.has(name) || status === 413) return { code: "store_invalid", retryable: false };
  if (UNAVAILABLE_NAMES.has(name) || NETWORK_CODES.has(code) || (status !== undefined && status >= 500)) {
    return { code: "store_unavailable", retryable: true };
  }
  if (loose.$retryable !== undefined) return { code: "store_unavailable", retryable: true };
  if (status !== undefined && status >= 400) return { code: "store_invalid", retryable: false };
  // Anything else is most likely a bug on this side; retrying would only repeat it.
  return { code: "store_unavailable", retryable: false };
}

/** A short, stable description of an SDK or network error for messages (name and status, never its text). */
export function describeFailure(err: unknown): string {
  const loose = (typeof err === "object" && err !== null ? err : {}) as {
    name?: unknown;
    code?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  const parts = [typeof loose.name === "string" ? loose.name : typeof err];
  if (typeof loose.code === "string") parts.push(loose.code);
  if (typeof loose.$metadata?.httpStatusCode === "number") parts.push(`HTTP ${loose.$metadata.httpStatusCode}`);
  return parts.join(" ");
}
