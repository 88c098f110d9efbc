// `popwatch bgp <subcommand>`: the routing commands, one file each.
import { LiveFeedConfigError } from "@popwatch/bgp";
import { ConfigError } from "@popwatch/core";
import { UsageError } from "../errors";
import type { Io } from "../io";
import { BGP_DECODE_USAGE, bgpDecodeCommand } from "./bgp-decode";
import { BGP_EVENTS_USAGE, bgpEventsCommand } from "./bgp-events";
import { BGP_IMPORT_USAGE, bgpImportCommand } from "./bgp-import";
import { BGP_LISTEN_USAGE, bgpListenCommand } from "./bgp-listen";
import { BGP_STATE_USAGE, bgpStateCommand } from "./bgp-state";
import { BGP_WATCH_USAGE, bgpWatchCommand } from "./bgp-watch";

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

const SUBCOMMANDS: Record<string, { run: Subcommand; usage: string }> = {
  decode: { run: bgpDecodeCommand, usage: BGP_DECODE_USAGE },
  import: { run: bgpImportCommand, usage: BGP_IMPORT_USAGE },
  watch: { run: bgpWatchCommand, usage: BGP_WATCH_USAGE },
  listen: { run: bgpListenCommand, usage: BGP_LISTEN_USAGE },
  events: { run: bgpEventsCommand, usage: BGP_EVENTS_USAGE },
  state: { run: bgpStateCommand, usage: BGP_STATE_USAGE },
};

export async function bgpCommand(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "-h" || name === "--help" || name === "help") {
    io.stdout.write(BGP_USAGE);
    return 0;
  }
  if (name === undefined) throw new UsageError("missing subcommand: popwatch bgp <decode|import|watch|listen|events|state>");
  const subcommand = SUBCOMMANDS[name];
  if (subcommand === undefined) throw new UsageError(`unknown subcommand "${name}"`);
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
