// `popwatch bgp watch`: RIS Live's route events of the watched prefixes into
// the store, until SIGINT/SIGTERM.
import { type RisLiveItem, watchRisLive } from "@popwatch/bgp";
import { DEFAULT_DATA_DIR } from "@popwatch/store";
import { UsageError } from "../errors";
import type { Io } from "../io";
import { parseFlags, parsePositiveInteger } from "./args";
import { watchedPrefixes } from "./bgp-config";
import { type LiveFeedItem, runLiveCommand } from "./bgp-live";

export const BGP_WATCH_USAGE = `Usage: popwatch bgp watch [--config FILE] [--data-dir DIR] [--url URL] [--collector NAME] [--status-every S]

Subscribes to RIS Live (RIPE's BGP stream) for every watched prefix (config
bgp.prefixes, more-specifics included) and writes the route events into the
embedded store as they arrive, updating routing snapshots and per-minute
rollups: read them with "popwatch bgp events" and "popwatch bgp state".
Reconnects with backoff when the connection drops. Status lines (connected,
reconnecting, counts) go to stderr.

Options:
  --config FILE         configuration with a bgp section (default: popwatch.config.{ts,mjs,js,json} here)
  --data-dir DIR        embedded store directory (default ${DEFAULT_DATA_DIR})
  --url URL             RIS Live endpoint (default config bgp.risLive.url)
  --collector NAME      only this collector (rrc00 … rrc26); default all
  --status-every S      print the counts every S seconds (default 10)
  -h, --help            this help

Ctrl-C or SIGTERM stops the feed, writes every event received, closes the
store and exits 0 (a second signal exits at once, unwritten).

Exit status: 0 stopped by a signal, 1 the store failed (events written before stay), 2 usage or configuration error.
`;

const OPTIONS = {
  config: { type: "string" },
  "data-dir": { type: "string" },
  url: { type: "string" },
  collector: { type: "string" },
  "status-every": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export interface BgpLiveDeps {
  /** Stops the feed as SIGINT/SIGTERM do. Default: those signals. */
  signal?: AbortSignal;
}

export async function bgpWatchCommand(argv: string[], io: Io, deps: BgpLiveDeps = {}): Promise<number> {
  const { values } = parseFlags(argv, OPTIONS);
  if (values.help) {
    io.stdout.write(BGP_WATCH_USAGE);
    return 0;
  }
  const statusEverySeconds = parsePositiveInteger("status-every", values["status-every"], 86_400) ?? 10;
  if (values.url !== undefined && !/^wss?:\/\/\S+$/.test(values.url))
    throw new UsageError(`--url: expected a ws:// or wss:// URL, got "${values.url}"`);
  if (values.collector !== undefined && !/^[a-z0-9][a-z0-9.-]{0,62}$/.test(values.collector)) {
    throw new UsageError(`--collector: expected a collector name such as rrc00, got "${values.collector}"`);
  }
  return runLiveCommand({
    command: "bgp watch",
    io,
    signal: deps.signal,
    configFile: values.config,
    dataDir: values["data-dir"] ?? DEFAULT_DATA_DIR,
    statusEverySeconds,
    start: async (stop, where, bgp) => {
      const url = values.url ?? bgp.risLive.url;
      const feed = watchRisLive({
        url,
        prefixes: watchedPrefixes(bgp),
        signal: stop,
        ...(values.collector !== undefined ? { collector: values.collector } : {}),
      });
      io.stderr.write(`popwatch bgp watch: ${url}: ${bgp.prefixes.length} prefixes into ${where}\n`);
      return risLiveItems(feed);
    },
  });
}

async function* risLiveItems(feed: AsyncIterable<RisLiveItem>): AsyncGenerator<LiveFeedItem> {
  for await (const item of feed) {
    switch (item.kind) {
      case "route":
        yield { kind: "event", event: item.event };
        break;
      case "connected":
        yield { kind: "status", text: `connected to ${item.url} (${item.subscriptions} subscriptions)` };
        break;
      case "reconnecting":
        yield {
          kind: "status",
          text: `${item.reason.code}: ${item.reason.message}; reconnecting in ${(item.afterMs / 1000).toFixed(1)} s (attempt ${item.attempt})`,
        };
        break;
      case "error":
        yield { kind: "status", text: `frame skipped: ${item.error.code}: ${item.error.message}` };
        break;
      case "dropped":
        yield { kind: "status", text: `${item.count} events dropped: the store cannot keep up with the feed` };
        break;
    }
  }
}
