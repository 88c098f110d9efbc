import { PROBE_KINDS, type ProbeKind } from "@popwatch/core";
import { UsageError } from "../errors";
import type { Io } from "../io";
import type { OpenStore } from "../local-store";
import { formatResultsTable } from "../output/results-table";
import { STORE_FLAGS_USAGE, STORE_FLAG_OPTIONS, openChosenStore, reportStoreFailure, storeChoice } from "../store-flags";
import { parseWhen } from "../time-flags";
import { parseFlags, parsePositiveInteger } from "./args";

export const RESULTS_USAGE = `Usage: popwatch results [--since WHEN] [--until WHEN] [--target T] [--region R] [--kind K]
                        [--limit N] [--json] [--data-dir DIR | --table NAME [--aws-region R] [--endpoint URL]]

Stored probe results, earliest first, from the embedded store (the one
"popwatch run" writes, also while it runs) or a DynamoDB table on AWS.

Options:
  --since WHEN          start: a duration back from now (30s, 15m, 2h, 7d) or an ISO 8601 time (default 1h)
  --until WHEN          end (exclusive), same forms (default now)
  --target T            only this target name
  --region R            only this region (local runs use config.localRegion, "local" by default)
  --kind K              only this kind: ${PROBE_KINDS.join(", ")}
  --limit N             at most N results (the earliest)
  --json                one JSON object per line: the probe's result plus region, slotAt, seq, invocationId
${STORE_FLAGS_USAGE}
  -h, --help            this help

Exit status: 0 listed (also when nothing matched), 1 store error, 2 usage error.
`;

const OPTIONS = {
  since: { type: "string" },
  until: { type: "string" },
  target: { type: "string" },
  region: { type: "string" },
  kind: { type: "string" },
  limit: { type: "string" },
  json: { type: "boolean" },
  ...STORE_FLAG_OPTIONS,
  help: { type: "boolean", short: "h" },
} as const;

export interface ResultsDeps {
  now?: () => number;
}

export async function resultsCommand(argv: string[], io: Io, deps: ResultsDeps = {}): Promise<number> {
  const { values } = parseFlags(argv, OPTIONS);
  if (values.help) {
    io.stdout.write(RESULTS_USAGE);
    return 0;
  }
  const nowMs = (deps.now ?? Date.now)();
  const since = parseWhen("since", values.since ?? "1h", nowMs);
  const until = values.until === undefined ? nowMs : parseWhen("until", values.until, nowMs);
  if (until <= since) throw new UsageError(`--until must be later than --since`);
  const kind = values.kind;
  if (kind !== undefined && !(PROBE_KINDS as readonly string[]).includes(kind)) {
    throw new UsageError(`--kind: expected one of ${PROBE_KINDS.join(", ")}, got "${kind}"`);
  }
  const limit = parsePositiveInteger("limit", values.limit);
  const choice = storeChoice(values);

  let opened: OpenStore;
  try {
    opened = await openChosenStore(choice);
  } catch (err) {
    return reportStoreFailure(io, "results", err);
  }
  try {
    const results = await opened.store.queryResults({
      since,
      until,
      ...(values.target !== undefined ? { target: values.target } : {}),
      ...(values.region !== undefined ? { region: values.region } : {}),
      ...(kind !== undefined ? { kind: kind as ProbeKind } : {}),
      ...(limit !== undefined ? { limit } : {}),
    });
    if (values.json) {
      for (const result of results) io.stdout.write(`${JSON.stringify(result)}\n`);
    } else if (results.length === 0) {
      io.stderr.write(
        `popwatch results: no results from ${new Date(since).toISOString()} to ${new Date(until).toISOString()} in ${opened.where}\n`,
      );
    } else {
      io.stdout.write(formatResultsTable(results));
    }
    return 0;
  } catch (err) {
    return reportStoreFailure(io, "results", err);
  } finally {
    await opened.close();
  }
}
