// CloudWatch metrics from the Lambda functions: the records core computes
// (packages/core/src/metrics/cloudwatch.ts) serialized to Embedded Metric
// Format by Powertools for AWS Lambda Metrics, one JSON line per record.
// CloudWatch Logs turns each line into metrics; nothing here calls an API.
//
// Powertools' serializer is used, its publishing is not: publishStoredMetrics
// writes to a Console of its own, while here the line goes to a writer the
// caller chooses (stdout in Lambda, a buffer in tests), and a record's
// dimension roll-ups become EMF dimension sets over the same values.
import { Metrics } from "@aws-lambda-powertools/metrics";
import { CLOUDWATCH_NAMESPACE, type CloudWatchRecord, splitRecordValues } from "@popwatch/core";
import type { Logger } from "./logger";

/**
 * Powertools publishes on its own once a metric holds 100 values, so a
 * document carries at most 99 per metric (EMF allows 100).
 */
const POWERTOOLS_VALUES_PER_DOCUMENT = 99;

export interface EmfPublisher {
  /** Writes one EMF line per record; never throws (a bad record is logged and skipped). */
  publish(records: readonly CloudWatchRecord[]): void;
}

export interface EmfPublisherOptions {
  /** Default: process.stdout, where Lambda's log agent picks the lines up. */
  write?: (line: string) => void;
  /** Where Powertools' warnings (a timestamp CloudWatch will refuse) and skipped records go. */
  logger?: Logger;
}

export function powertoolsEmfPublisher(options: EmfPublisherOptions = {}): EmfPublisher {
  const write = options.write ?? ((line: string) => void process.stdout.write(line));
  const log: Logger = options.logger ?? (() => {});
  const metrics = new Metrics({
    namespace: CLOUDWATCH_NAMESPACE,
    logger: {
      debug: () => {},
      info: () => {},
      warn: (...content: unknown[]) => log({ level: "warn", msg: "cloudwatch metrics", detail: content.map(String).join(" ") }),
      error: (...content: unknown[]) => log({ level: "error", msg: "cloudwatch metrics", detail: content.map(String).join(" ") }),
    },
  });
  // POWERTOOLS_SERVICE_NAME would add a `service` dimension to every set, which the dashboard does not query.
  metrics.clearDefaultDimensions();
  return {
    publish(records) {
      for (const whole of records) {
        for (const part of splitRecordValues(whole, POWERTOOLS_VALUES_PER_DOCUMENT)) {
          try {
            write(`${JSON.stringify(serialize(metrics, part))}\n`);
          } catch (err) {
            log({
              level: "error",
              msg: "cloudwatch record skipped",
              error: err instanceof Error ? err.message : String(err),
              dimensions: part.dimensions,
            });
          } finally {
            metrics.clearMetrics();
            metrics.clearDimensions();
            metrics.clearMetadata();
          }
        }
      }
    },
  };
}

function serialize(metrics: Metrics, record: CloudWatchRecord): ReturnType<Metrics["serializeMetrics"]> {
  const [full = [], ...rollups] = record.sets;
  metrics.setTimestamp(record.timestampMs);
  for (const name of full) metrics.addDimension(name, dimensionValue(record, name));
  for (const set of rollups) metrics.addDimensions(Object.fromEntries(set.map((name) => [name, dimensionValue(record, name)])));
  for (const [key, value] of Object.entries(record.properties)) metrics.addMetadata(key, String(value));
  for (const metric of record.metrics) {
    for (const value of metric.values) metrics.addMetric(metric.name, metric.unit, value);
  }
  const document = metrics.serializeMetrics();
  // Powertools drops a dimension whose value it refuses (blank ones, with a warning) and would publish the
  // metric under the sets that remain, where it would be added to other targets' figures: refuse the record.
  const published = document._aws.CloudWatchMetrics[0]?.Dimensions ?? [];
  if (JSON.stringify(published) !== JSON.stringify(record.sets)) {
    throw new RangeError(`dimension sets ${JSON.stringify(published)} differ from the record's ${JSON.stringify(record.sets)}`);
  }
  return document;
}

function dimensionValue(record: CloudWatchRecord, name: string): string {
  const value = record.dimensions[name];
  if (value === undefined || value === "") throw new RangeError(`record has no value for dimension ${name}`);
  return value;
}
