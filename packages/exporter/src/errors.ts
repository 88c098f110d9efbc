// What @popwatch/exporter throws: only faults of its setup (a listen address
// that is taken or malformed). A probe's failure is data in its metrics, and a
// bad request is a 400, never a throw.

export type ExporterErrorCode = "listen_failed" | "listen_invalid";

export class ExporterError extends Error {
  override readonly name = "ExporterError";
  readonly code: ExporterErrorCode;

  constructor(code: ExporterErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
