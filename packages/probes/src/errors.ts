import type { FailureCode } from "@popwatch/core";

/**
 * A probe's transport-level failure that the probe itself has classified
 * (for instance a DNS response that cannot be parsed). The runner turns it
 * into `failure: { code, message }`; it never escapes the runner.
 */
export class ProbeFailureError extends Error {
  override readonly name = "ProbeFailureError";
  readonly code: FailureCode;

  constructor(code: FailureCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A probe spec that cannot be run as given: a configuration fault, thrown to the caller. */
export class ProbeSpecError extends Error {
  override readonly name = "ProbeSpecError";
  readonly code = "spec_invalid" as const;
  readonly field: string;

  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(`${field}: ${message}`, options);
    this.field = field;
  }
}
