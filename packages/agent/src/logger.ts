// Structured logs: one JSON object per line, which CloudWatch Logs Insights
// parses field by field (region, invocationId, counts) without patterns.

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface LogEntry {
  level: LogLevel;
  msg: string;
  [field: string]: unknown;
}

export type Logger = (entry: LogEntry) => void;

/** JSON lines with a `time` field first; writes to stdout unless told otherwise. */
export function jsonLinesLogger(write: (line: string) => void = (line) => void process.stdout.write(line)): Logger {
  return (entry) => write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
}

/** Adds fixed fields (e.g. a Lambda request id) to every entry. */
export function withFields(logger: Logger, fields: Record<string, unknown>): Logger {
  return (entry) => logger({ ...entry, ...fields, level: entry.level, msg: entry.msg });
}

/** A logger that throws (a closed pipe, a bug in a custom one) must not fail the invocation it reports on. */
export function safeLogger(logger: Logger): Logger {
  return (entry) => {
    try {
      logger(entry);
    } catch {
      // Nothing sensible to do: the log is the channel that just failed.
    }
  };
}
