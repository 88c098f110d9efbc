// Reads CloudWatch Embedded Metric Format lines the way CloudWatch Logs does
// and checks each document against the EMF specification (AWS "Specification:
// Embedded metric format"): an `_aws` object with an integer Timestamp and
// CloudWatchMetrics directives (Namespace, Dimensions as arrays of dimension
// names, Metrics with Name and optional Unit), every metric's value(s) a
// top-level number or array of at most 100 numbers, every dimension a
// top-level string, at most 100 metrics per document and 30 dimensions per
// set. Lines that are not JSON objects with `_aws` are plain logs, skipped.

export interface EmfDocument {
  line: string;
  timestampMs: number;
  directives: { namespace: string; dimensionSets: string[][]; metrics: { name: string; unit: string | undefined }[] }[];
  body: Record<string, unknown>;
}

/** One metric CloudWatch extracts: namespace, name, one dimension set with its values. */
export interface EmfSeries {
  namespace: string;
  name: string;
  unit: string | undefined;
  dimensions: Record<string, string>;
  values: number[];
}

const UNITS = new Set([
  "Seconds",
  "Microseconds",
  "Milliseconds",
  "Bytes",
  "Kilobytes",
  "Megabytes",
  "Gigabytes",
  "Terabytes",
  "Bits",
  "Kilobits",
  "Megabits",
  "Gigabits",
  "Terabits",
  "Percent",
  "Count",
  "Bytes/Second",
  "Kilobytes/Second",
  "Megabytes/Second",
  "Gigabytes/Second",
  "Terabytes/Second",
  "Bits/Second",
  "Kilobits/Second",
  "Megabits/Second",
  "Gigabits/Second",
  "Terabits/Second",
  "Count/Second",
  "None",
]);

/** Parses every EMF line in the text; throws with the line and the rule on the first violation. */
export function parseEmf(text: string): EmfDocument[] {
  const docs: EmfDocument[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let body: unknown;
    try {
      body = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof body !== "object" || body === null || !("_aws" in body)) continue;
    docs.push(checkDocument(line, body as Record<string, unknown>));
  }
  return docs;
}

function checkDocument(line: string, body: Record<string, unknown>): EmfDocument {
  const fail = (rule: string): never => {
    throw new Error(`EMF violation: ${rule}\n  in ${line}`);
  };
  const aws = body._aws as Record<string, unknown>;
  if (typeof aws !== "object" || aws === null) fail("_aws is not an object");
  if (!Number.isInteger(aws.Timestamp) || (aws.Timestamp as number) < 0) fail("_aws.Timestamp is not a non-negative integer (epoch ms)");
  if (!Array.isArray(aws.CloudWatchMetrics) || aws.CloudWatchMetrics.length === 0) fail("_aws.CloudWatchMetrics is not a non-empty array");
  const directives = (aws.CloudWatchMetrics as Record<string, unknown>[]).map((d) => {
    if (typeof d.Namespace !== "string" || d.Namespace.length === 0 || d.Namespace.length > 1024) fail("Namespace is not a 1..1024 string");
    if (!Array.isArray(d.Dimensions)) fail("Dimensions is not an array");
    const dimensionSets = (d.Dimensions as unknown[]).map((set) => {
      if (!Array.isArray(set) || set.some((n) => typeof n !== "string")) fail("a dimension set is not an array of names");
      const names = set as string[];
      if (names.length > 30) fail(`a dimension set has ${names.length} > 30 dimensions`);
      for (const name of names) {
        const value = body[name];
        if (typeof value !== "string" || value.length === 0) fail(`dimension ${name} has no string value at the top level`);
      }
      return names;
    });
    if (!Array.isArray(d.Metrics)) fail("Metrics is not an array");
    const metrics = (d.Metrics as Record<string, unknown>[]).map((m) => {
      if (typeof m.Name !== "string" || m.Name.length === 0 || m.Name.length > 1024) fail("a metric Name is not a 1..1024 string");
      if (m.Unit !== undefined && !UNITS.has(m.Unit as string)) fail(`metric ${String(m.Name)} has unit ${String(m.Unit)}`);
      const value = body[m.Name as string];
      const values = Array.isArray(value) ? value : [value];
      if (values.length === 0 || values.length > 100) fail(`metric ${String(m.Name)} has ${values.length} values (1..100)`);
      if (values.some((v) => typeof v !== "number" || !Number.isFinite(v))) fail(`metric ${String(m.Name)} has a non-numeric value`);
      return { name: m.Name as string, unit: m.Unit as string | undefined };
    });
    if (metrics.length > 100) fail(`${metrics.length} > 100 metrics in one directive`);
    return { namespace: d.Namespace as string, dimensionSets, metrics };
  });
  const total = directives.reduce((n, d) => n + d.metrics.length, 0);
  if (total > 100) fail(`${total} > 100 metrics in one document`);
  return { line, timestampMs: aws.Timestamp as number, directives, body };
}

/** Every metric the documents define, once per dimension set, with the values. */
export function emfSeries(docs: readonly EmfDocument[]): EmfSeries[] {
  return docs.flatMap((doc) =>
    doc.directives.flatMap((d) =>
      d.metrics.flatMap((m) =>
        d.dimensionSets.map((set) => {
          const raw = doc.body[m.name];
          return {
            namespace: d.namespace,
            name: m.name,
            unit: m.unit,
            dimensions: Object.fromEntries(set.map((n) => [n, doc.body[n] as string])),
            values: (Array.isArray(raw) ? raw : [raw]) as number[],
          };
        }),
      ),
    ),
  );
}

/** `namespace|name|Dim1,Dim2` (dimension names sorted): the identity CloudWatch bills and a dashboard queries. */
export function seriesShape(namespace: string, name: string, dimensionNames: readonly string[]): string {
  return `${namespace}|${name}|${[...dimensionNames].sort().join(",")}`;
}
