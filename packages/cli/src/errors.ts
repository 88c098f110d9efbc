// Errors the CLI turns into exit code 2: the user asked for something that
// cannot be run as given. Probe failures are never errors (exit code 1).
export class UsageError extends Error {
  override readonly name = "UsageError";
  readonly code = "usage" as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
