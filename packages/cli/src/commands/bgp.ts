// `popwatch bgp <subcommand>`: the routing commands, one file each.
import { LiveFeedConfigError } from "@popwatch/bgp";
import { ConfigError } from "@popwatch/core";
import { UsageError } from "../errors";
import type { Io } from "../io";

export const BGP_USAGE = `Usage: popwatch bgp <subcommand> [options]

The BGP control plane of the watched prefixes (config bgp.prefixes):

  decode FILE...        MRT files as bgpdump -m lines or JSON (no config, no store)
  import FILE...        MRT files or RIS Live JSON lines into the store (idempotent)
  watch                 RIS Live into the store until Ctrl-C
  listen                BMP from your routers into the store until Ctrl-C
  events                stored BGP events in time order (--prefix, --since, --json)
  state                 per watched prefix now: visibility, origins, upstreams, findings

Run "popwatch bgp <subcommand> --help" for its options.
`;

type Subcommand = (argv: string[], io: Io) => Promise<number>;

// Loaded when run, as main loads commands: `decode` needs neither the store nor the live feeds.
const SUBCOMMANDS: Record<string, () => Promise<{ run: Subcommand; usage: string }>> = {
  decode: async () => {
    const { bgpDecodeCommand, BGP_DECODE_USAGE } = await import("./bgp-decode");
    return { run: bgpDecodeCommand, usage: BGP_DECODE_USAGE };
  },
  import: async () => {
    const { bgpImportCommand, BGP_IMPORT_USAGE } = await import("./bgp-import");
    return { run: bgpImportCommand, usage: BGP_IMPORT_USAGE };
  },
  watch: async () => {
    const { bgpWatchCommand, BGP_WATCH_USAGE } = await import("./bgp-watch");
    return { run: bgpWatchCommand, usage: BGP_WATCH_USAGE };
  },
  listen: async () => {
    const { bgpListenCommand, BGP_LISTEN_USAGE } = await import("./bgp-listen");
    return { run: bgpListenCommand, usage: BGP_LISTEN_USAGE };
  },
  events: async () => {
    const { bgpEventsCommand, BGP_EVENTS_USAGE } = await import("./bgp-events");
    return { run: bgpEventsCommand, usage: BGP_EVENTS_USAGE };
  },
  state: async () => {
    const { bgpStateCommand, BGP_STATE_USAGE } = await import("./bgp-state");
    return { run: bgpStateCommand, usage: BGP_STATE_USAGE };
  },
};

export async function bgpCommand(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "-h" || name === "--help" || name === "help") {
    io.stdout.write(BGP_USAGE);
    return 0;
  }
  if (name === undefined) throw new UsageError("missing subcommand: popwatch bgp <decode|import|watch|listen|events|state>");
  const load = SUBCOMMANDS[name];
  if (load === undefined) throw new UsageError(`unknown subcommand "${name}"`);
  const subcommand = await load();
  try {
    return await subcommand.run(rest, io);
  } catch (err) {
    // As main does for commands, with the subcommand's name and usage rather than the family's.
    if (err instanceof UsageError || err instanceof ConfigError || err instanceof LiveFeedConfigError) {
      io.stderr.write(`popwatch bgp ${name}: ${err.message}\n\n${subcommand.usage}`);
      return 2;
    }
    throw err;
  }
}
