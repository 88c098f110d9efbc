// Errors that @popwatch/bgp throws: configuration and programmer faults only.
// Bad bytes and bad frames are data ({ code, message } items), never thrown.

// ---- Live feeds (RIS Live, BMP) ------------------------------------------------

/** Options a live feed cannot start with (no prefixes, a prefix that does not parse, a bad port); names the field. */
export class LiveFeedConfigError extends Error {
  override readonly name = "LiveFeedConfigError";
  readonly code = "live_feed_config_invalid" as const;
  readonly field: string;

  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(`${field}: ${message}`, options);
    this.field = field;
  }
}
