// `popwatch bgp events`: the stored BGP events of the watched prefixes (or of
// one prefix inside them), in time order.
import { type BgpEvent, type Prefix, parsePrefix, prefixContains, prefixOf } from "@popwatch/core";
import { reportConfigProblem } from "../config-file";
import { UsageError } from "../errors";
import type { Io } from "../io";
import type { OpenStore } from "../local-store";
import { formatBgpEventLines, formatBgpEventsTable } from "../output/bgp-events";
import { STORE_FLAGS_USAGE, STORE_FLAG_OPTIONS, openChosenStore, reportStoreFailure, storeChoice } from "../store-flags";
import { parseWhen } from "../time-flags";
import { parseFlags, parsePositiveInteger } from "./args";
import { type LoadedBgpConfig, loadBgpConfig, watchedPrefixes } from "./bgp-config";

export const BGP_EVENTS_USAGE = `Usage: popwatch bgp events [--prefix P] [--since WHEN] [--until WHEN] [--limit N] [--json]
                           [--config FILE] [--data-dir DIR | --table NAME [--aws-region R] [--endpoint URL]]

Stored BGP events (announcements A, withdrawals W, RIB entries B, and the
session changes of the peers that sent them), earliest first, of every
watched prefix (config bgp.prefixes) and its more-specifics, or only of
--prefix and its more-specifics.

Options:
  --prefix P            only this prefix and its more-specifics (inside or around a watched prefix)
  --since WHEN          start: a duration back from now (30s, 15m, 2h, 7d) or an ISO 8601 time (default 24h)
  --until WHEN          end (exclusive), same forms (default now)
  --limit N             at most N events (the earliest)
  --json                one JSON object per line, the fields of "popwatch bgp decode" (time in Unix seconds)
  --config FILE         configuration with a bgp section (default: popwatch.config.{ts,mjs,js,json} here)
${STORE_FLAGS_USAGE}
  -h, --help            this help

Exit status: 0 listed (also when nothing matched), 1 store error, 2 usage or configuration error.
`;

const OPTIONS = {
  prefix: { type: "string" },
  since: { type: "string" },
  until: { type: "string" },
  limit: { type: "string" },
  json: { type: "boolean" },
  config: { type: "string" },
  ...STORE_FLAG_OPTIONS,
  help: { type: "boolean", short: "h" },
} as const;

export interface BgpReadDeps {
  now?: () => number;
}

export async function bgpEventsCommand(argv: string[], io: Io, deps: BgpReadDeps = {}): Promise<number> {
  const { values } = parseFlags(argv, OPTIONS);
  if (values.help) {
    io.stdout.write(BGP_EVENTS_USAGE);
    return 0;
  }
  const nowMs = (deps.now ?? Date.now)();
  const since = parseWhen("since", values.since ?? "24h", nowMs);
  const until = values.until === undefined ? nowMs : parseWhen("until", values.until, nowMs);
  if (until <= since) throw new UsageError("--until must be later than --since");
  const limit = parsePositiveInteger("limit", values.limit);
  const only = values.prefix === undefined ? null : parsePrefixFlag(values.prefix);
  let loaded: LoadedBgpConfig;
  try {
    loaded = await loadBgpConfig(values.config);
  } catch (err) {
    return reportConfigProblem("bgp events", err, io);
  }
  const choice = storeChoice(values, loaded.config.store);
  // The store files events under the watched prefix they belong to: ask for those that overlap --prefix.
  const prefixes = watchedPrefixes(loaded.bgp).filter((text) => only === null || overlaps(prefixOf(text), only));
  if (prefixes.length === 0) {
    throw new UsageError(
      `--prefix: ${values.prefix} is neither inside nor around a watched prefix (${watchedPrefixes(loaded.bgp).join(", ")})`,
    );
  }

  let opened: OpenStore;
  try {
    opened = await openChosenStore(choice);
  } catch (err) {
    return reportStoreFailure(io, "bgp events", err);
  }
  try {
    let events: BgpEvent[] = await opened.routing.queryEvents({ prefixes, fromMs: since, toMs: until });
    if (only !== null) events = events.filter((event) => event.type === "STATE" || prefixContains(only, prefixOf(event.prefix)));
    if (limit !== undefined) events = events.slice(0, limit);
    if (values.json) io.stdout.write(formatBgpEventLines(events));
    else if (events.length === 0) {
      io.stderr.write(
        `popwatch bgp events: no events of ${only === null ? prefixes.join(", ") : values.prefix} from ${new Date(since).toISOString()} to ${new Date(until).toISOString()} in ${opened.where}\n`,
      );
    } else io.stdout.write(formatBgpEventsTable(events));
    return 0;
  } catch (err) {
    return reportStoreFailure(io, "bgp events", err);
  } finally {
    await opened.close();
  }
}

function parsePrefixFlag(text: string): Prefix {
  const parsed = parsePrefix(text);
  if (parsed.prefix === null) {
    throw new UsageError(`--prefix: expected an IPv4 or IPv6 prefix such as 198.51.100.0/24 (${parsed.problem}), got "${text}"`);
  }
  return parsed.prefix;
}

function overlaps(a: Prefix, b: Prefix): boolean {
  return prefixContains(a, b) || prefixContains(b, a);
}
