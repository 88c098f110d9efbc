// `popwatch bgp listen`: BMP (RFC 7854) from the operator's routers into the
// store, until SIGINT/SIGTERM.
import { type BmpItem, type BmpListener, LiveFeedConfigError, listenBmp } from "@popwatch/bgp";
import { DEFAULT_DATA_DIR } from "@popwatch/store";
import { UsageError } from "../errors";
import type { Io } from "../io";
import { parseFlags, parsePositiveInteger } from "./args";
import { type LiveFeedItem, runLiveCommand } from "./bgp-live";
import type { BgpLiveDeps } from "./bgp-watch";

export const BGP_LISTEN_USAGE = `Usage: popwatch bgp listen [--port N] [--address A] [--config FILE] [--data-dir DIR] [--status-every S]

Accepts BMP sessions (RFC 7854) from your routers on a TCP port and writes
the route events of the watched prefixes (config bgp.prefixes, more-specifics
included) into the embedded store, with routing snapshots and per-minute
rollups. Route Monitoring (pre- and post-policy), Peer Up and Peer Down are
used; Initiation and Termination name and close a router's session. Each
router is the source "bmp:<its sysName or address>". Status lines (router
connected, closed, bad messages, counts) go to stderr.

In FRR (bgpd started with -M bmp):
  router bgp 64500
   bmp targets popwatch
    bmp connect <this host> port <N> min-retry 1000 max-retry 10000
    bmp monitor ipv4 unicast post-policy

Options:
  --port N              TCP port (default config bgp.bmp.port, 11019; 0 picks a free one, printed)
  --address A           address to listen on (default :: and 0.0.0.0, all)
  --config FILE         configuration with a bgp section (default: popwatch.config.{ts,mjs,js,json} here)
  --data-dir DIR        embedded store directory (default ${DEFAULT_DATA_DIR})
  --status-every S      print the counts every S seconds (default 10)
  -h, --help            this help

Ctrl-C or SIGTERM closes the sessions, writes every event received, closes
the store and exits 0 (a second signal exits at once, unwritten).

Exit status: 0 stopped by a signal, 1 the port cannot be opened or the store failed
(events written before stay), 2 usage or configuration error.
`;

const OPTIONS = {
  port: { type: "string" },
  address: { type: "string" },
  config: { type: "string" },
  "data-dir": { type: "string" },
  "status-every": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export async function bgpListenCommand(argv: string[], io: Io, deps: BgpLiveDeps = {}): Promise<number> {
  const { values } = parseFlags(argv, OPTIONS);
  if (values.help) {
    io.stdout.write(BGP_LISTEN_USAGE);
    return 0;
  }
  const statusEverySeconds = parsePositiveInteger("status-every", values["status-every"], 86_400) ?? 10;
  if (values.port !== undefined && !/^\d{1,5}$/.test(values.port))
    throw new UsageError(`--port: expected a TCP port (0 picks a free one), got "${values.port}"`);
  const portFlag = values.port === undefined ? undefined : Number(values.port);
  if (portFlag !== undefined && portFlag > 65_535) throw new UsageError(`--port: expected a TCP port up to 65535, got "${values.port}"`);
  if (values.address !== undefined && !/^[0-9a-fA-F.:]+$/.test(values.address)) {
    throw new UsageError(`--address: expected an IPv4 or IPv6 address, got "${values.address}"`);
  }
  return runLiveCommand({
    command: "bgp listen",
    io,
    signal: deps.signal,
    configFile: values.config,
    dataDir: values["data-dir"] ?? DEFAULT_DATA_DIR,
    statusEverySeconds,
    start: async (stop, where, bgp) => {
      const port = portFlag ?? bgp.bmp.port;
      let listener: BmpListener;
      try {
        listener = await listenBmp({ port, ...(values.address !== undefined ? { host: values.address } : {}), signal: stop });
      } catch (err) {
        if (err instanceof LiveFeedConfigError) throw err;
        const code = (err as NodeJS.ErrnoException).code ?? String(err);
        io.stderr.write(`popwatch bgp listen: cannot listen on ${values.address ?? "all addresses"} port ${port}: ${code}\n`);
        return 1;
      }
      io.stderr.write(`popwatch bgp listen: BMP on port ${listener.address().port}: ${bgp.prefixes.length} prefixes into ${where}\n`);
      return bmpItems(listener);
    },
  });
}

async function* bmpItems(feed: AsyncIterable<BmpItem>): AsyncGenerator<LiveFeedItem> {
  for await (const item of feed) {
    switch (item.kind) {
      case "event":
        yield { kind: "event", event: item.event };
        break;
      case "router-up":
        yield {
          kind: "status",
          text: `router ${item.router.source} (${item.router.address}) connected${item.router.sysDescr ? `: ${item.router.sysDescr}` : ""}`,
        };
        break;
      case "router-down":
        yield {
          kind: "status",
          text: `router ${item.router.source} (${item.router.address}): ${item.message}${item.terminationReason === undefined ? "" : ` (termination reason ${item.terminationReason})`}`,
        };
        break;
      case "error": {
        const at = item.error.offset === undefined ? "" : ` at byte ${item.error.offset}`;
        yield {
          kind: "status",
          text: `router ${item.router.source} (${item.router.address}): ${item.error.code}${at}: ${item.error.message}`,
        };
        break;
      }
      case "dropped":
        yield { kind: "status", text: `${item.count} events dropped: the store cannot keep up with the routers` };
        break;
    }
  }
}
