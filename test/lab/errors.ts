// Faults of the lab's own machinery (not of the service it simulates, whose
// failures are what the lab exists to produce).

export type LabErrorCode =
  /** Namespaces, routes and port 53 need root. */
  | "not_root"
  /** A daemon or tool the lab runs is not installed. */
  | "missing_binary"
  /** A setup command (ip, nft, openssl, birdc) exited non-zero. */
  | "command_failed"
  /** A daemon or the routing did not become ready in time. */
  | "not_ready"
  /** The lab is not up (no state, or namespaces missing) for an operation that needs it. */
  | "not_up"
  /** A bad argument: unknown PoP, failure mode or node. */
  | "invalid_argument";

export class LabError extends Error {
  override readonly name = "LabError";
  readonly code: LabErrorCode;

  constructor(code: LabErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
