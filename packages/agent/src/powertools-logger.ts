// The agent's Logger backed by Powertools for AWS Lambda Logger, for the
// Lambda functions: Powertools decides the level threshold
// (POWERTOOLS_LOG_LEVEL, or Lambda's AWS_LAMBDA_LOG_LEVEL) and the stream, and
// its formatter here keeps jsonLinesLogger's shape ({time, level, msg,
// ...fields}), so Logs Insights queries and the log-derived tests read the
// same fields whichever logger wrote them.
import { LogFormatter, LogItem, Logger as PowertoolsLogger } from "@aws-lambda-powertools/logger";
import type { LogAttributes, UnformattedAttributes } from "@aws-lambda-powertools/logger/types";
import type { LogEntry, Logger } from "./logger";

/** Powertools drops null and empty fields before printing; popwatch's entries keep them (`requestId: null` says there was none). */
class VerbatimLogItem extends LogItem {
  override prepareForPrint(): void {}
}

class PopwatchLogFormatter extends LogFormatter {
  formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    return new VerbatimLogItem({
      attributes: {
        time: attributes.timestamp.toISOString(),
        level: attributes.logLevel.toLowerCase(),
        msg: attributes.message,
        ...additional,
      },
    });
  }
}

export interface PowertoolsLoggerOptions {
  /** Threshold when neither POWERTOOLS_LOG_LEVEL nor AWS_LAMBDA_LOG_LEVEL is set. Default "DEBUG", as jsonLinesLogger. */
  logLevel?: "DEBUG" | "INFO" | "WARN" | "ERROR";
}

export function powertoolsLogger(options: PowertoolsLoggerOptions = {}): Logger {
  const logger = new PowertoolsLogger({ logLevel: options.logLevel ?? "DEBUG", logFormatter: new PopwatchLogFormatter() });
  return (entry: LogEntry) => {
    const { level, msg, ...fields } = entry;
    logger[level](msg, fields);
  };
}
