// Errors that core throws. Only configuration faults and programmer faults
// are thrown; a probe's failure is data (see result.ts).

export type CoreErrorCode =
  | "config_invalid"
  | "pop_rule_invalid"
  | "slo_input_invalid"
  | "alert_input_invalid"
  | "analytics_input_invalid"
  | "vrp_file_invalid";

export class PopwatchCoreError extends Error {
  override readonly name = "PopwatchCoreError";
  readonly code: CoreErrorCode;

  constructor(code: CoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Invalid configuration. `issues` lists every problem, each naming its field path. */
export class ConfigError extends PopwatchCoreError {
  readonly issues: readonly { path: string; message: string }[];

  constructor(issues: readonly { path: string; message: string }[], options?: { cause?: unknown }) {
    super("config_invalid", issues.map((i) => `${i.path || "(root)"}: ${i.message}`).join("\n"), options);
    this.issues = issues;
  }
}

/** A VRP file (rpki-client or Routinator JSON) that is not one. `index` is the ROA entry at fault; null when the file as a whole is. */
export class VrpFileError extends PopwatchCoreError {
  readonly index: number | null;

  constructor(index: number | null, message: string, options?: { cause?: unknown }) {
    super("vrp_file_invalid", index === null ? message : `roas[${index}]: ${message}`, options);
    this.index = index;
  }
}
