// A config as JSON (what the Lambda bundle carries, and `popwatch.config.json`).
// Syntax errors name the file, line and column; schema errors come from
// parseConfig as field paths.
import { readFile } from "node:fs/promises";
import { type PopwatchConfig, parseConfig } from "@popwatch/core";

export class ConfigFileError extends Error {
  override readonly name = "ConfigFileError";
  readonly file: string;

  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.file = file;
  }
}

/** Parses JSON text; a syntax error names `file:line:column` where V8 reports a position. */
export function parseJsonText(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    // V8 states the offset only in the message ("... at position 42"); without one it failed at the end.
    const match = /position (\d+)/.exec(detail);
    const offset = match ? Number(match[1]) : text.length;
    const lines = text.slice(0, offset).split("\n");
    const line = lines.length;
    const column = lines.at(-1)!.length + 1;
    throw new ConfigFileError(file, `invalid JSON at line ${line}, column ${column}: ${detail}`, { cause: err });
  }
}

/** Reads and validates a JSON config; ConfigError (field paths) for content, ConfigFileError for the file itself. */
export async function readConfigJson(file: string): Promise<PopwatchConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new ConfigFileError(file, `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  return parseConfig(parseJsonText(text, file));
}
