// `popwatch bgp decode`: MRT files to text, streaming, in file order. The
// decoding and both renderings live in @popwatch/bgp; this parses flags,
// writes with backpressure, and reports failures per file.
import { MrtDecodeError, type MrtEntry, bgpdumpLines, jsonLines, newMrtStats, readMrtEntries, readMrtFile } from "@popwatch/bgp";
import { UsageError } from "../errors";
import type { Io } from "../io";
import { parseFlags } from "./args";

export const BGP_DECODE_USAGE = `Usage: popwatch bgp decode [--format text|json] [--large-communities] FILE...

Decodes MRT files (RFC 6396; plain, gzip or bzip2, recognised by their first
bytes): TABLE_DUMP_V2 RIB dumps and BGP4MP / BGP4MP_ET update files, as RIPE
RIS, RouteViews and routers (FRR "dump bgp", BIRD "mrtdump", GoBGP) write them.

  --format text   (default) one line per event as "bgpdump -m" prints it:
                  BGP4MP|time|A|peer|peer AS|prefix|AS path|origin|next hop|
                  local pref|MED|communities|AG/NAG|aggregator|
                  ...|W|peer|peer AS|prefix for withdrawals, TABLE_DUMP2|...|B|
                  for RIB entries, ...|STATE|peer|peer AS|old|new for sessions
  -l, --large-communities
                  text: a large communities field after the communities
                  (as "bgpdump -m -l")
  --format json   one JSON object per event: type ("A", "W", "B" or "STATE"),
                  time (Unix seconds, fractional for BGP4MP_ET), peer, peerAs,
                  prefix, asPath (numbers; empty for withdrawals), origin (AS
                  number or null), nextHop, originAttribute, communities,
                  largeCommunities, localPref, med, aggregator, pathId (ADD-PATH)
  -h, --help      this help

A record whose body is malformed (a bad UPDATE) is skipped with a warning on
stderr, as bgpdump skips it. A file that breaks off (truncated, a corrupt
length, a damaged gzip/bzip2 stream) prints every event before the break,
then names the file and the byte offset of the bad record on stderr.

Exit status: 0 every file read to its end, 1 a file could not be read or broke off, 2 usage error.
`;

const OPTIONS = {
  format: { type: "string" },
  "large-communities": { type: "boolean", short: "l" },
  help: { type: "boolean", short: "h" },
} as const;

interface Writable {
  write(chunk: string): unknown;
  once?(event: "drain", listener: () => void): unknown;
}

/** Writes `text`, waiting for the stream to drain when it says its buffer is full. */
async function write(stream: Writable, text: string): Promise<void> {
  if (stream.write(text) === false && typeof stream.once === "function") {
    await new Promise<void>((resolve) => stream.once?.("drain", resolve));
  }
}

export async function bgpDecodeCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseFlags(argv, OPTIONS, true);
  if (values.help) {
    io.stdout.write(BGP_DECODE_USAGE);
    return 0;
  }
  const format = values.format ?? "text";
  if (format !== "text" && format !== "json") throw new UsageError(`--format: expected text or json, got "${format}"`);
  if (positionals.length === 0) throw new UsageError("expected at least one MRT file");
  const textOptions = { largeCommunities: values["large-communities"] === true };
  const render = format === "json" ? jsonLines : (entry: MrtEntry) => bgpdumpLines(entry, textOptions);
  const stdout = io.stdout as Writable;
  let status = 0;
  for (const file of positionals) {
    const stats = newMrtStats();
    try {
      for await (const batch of readMrtEntries(readMrtFile(file), { stats })) {
        let text = "";
        for (const entry of batch) {
          if (entry.kind === "warning") {
            io.stderr.write(`popwatch bgp decode: ${file}: skipped a record: ${entry.code} at byte ${entry.offset}: ${entry.message}\n`);
          } else {
            text += render(entry);
          }
        }
        if (text.length > 0) await write(stdout, text);
      }
    } catch (err) {
      status = 1;
      if (err instanceof MrtDecodeError) {
        io.stderr.write(`popwatch bgp decode: ${file}: ${err.message}\n`);
      } else if (isFileError(err)) {
        io.stderr.write(`popwatch bgp decode: ${file}: cannot read: ${(err as Error).message}\n`);
      } else {
        throw err;
      }
    }
  }
  return status;
}

function isFileError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === "string" && /^E[A-Z]+$/.test(code);
}
