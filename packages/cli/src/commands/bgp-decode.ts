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

// process.stdout and the tests' capture both take Buffers (a Buffer appended
// to a string is its UTF-8 text), though Io promises strings only.
interface ByteWritable {
  write(chunk: Uint8Array): unknown;
  once?(event: "drain", listener: () => void): unknown;
}

const OUTPUT_CHUNK = 256 * 1024;

/**
 * Output lines as bytes. Turning one large string into bytes for the stream
 * costs more than decoding the file (bench/RESULTS.md, "BGP: MRT decode"), so
 * each line (ASCII: numbers, addresses, attribute names) is copied into a
 * Buffer as it is made; a new Buffer follows each one handed to the stream,
 * which may still hold it.
 */
class ByteOutput {
  private buffer = Buffer.allocUnsafe(OUTPUT_CHUNK);
  private length = 0;
  private readonly full: Buffer[] = [];

  constructor(private readonly stream: ByteWritable) {}

  put(text: string): void {
    if (text.length > this.buffer.length - this.length) {
      this.seal();
      if (text.length > this.buffer.length) {
        this.full.push(Buffer.from(text, "latin1"));
        return;
      }
    }
    this.length += this.buffer.write(text, this.length, "latin1");
  }

  /** Hands every full chunk and the current one to the stream, waiting for it to drain when it asks to. */
  async flush(): Promise<void> {
    this.seal();
    for (const chunk of this.full.splice(0)) {
      if (this.stream.write(chunk) === false && typeof this.stream.once === "function") {
        await new Promise<void>((resolve) => this.stream.once?.("drain", resolve));
      }
    }
  }

  private seal(): void {
    if (this.length === 0) return;
    this.full.push(this.buffer.subarray(0, this.length));
    this.buffer = Buffer.allocUnsafe(OUTPUT_CHUNK);
    this.length = 0;
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
  const output = new ByteOutput(io.stdout as unknown as ByteWritable);
  let status = 0;
  for (const file of positionals) {
    const stats = newMrtStats();
    try {
      for await (const batch of readMrtEntries(readMrtFile(file), { stats })) {
        for (const entry of batch) {
          if (entry.kind === "warning") {
            await output.flush(); // so the warning lands after the lines before it
            io.stderr.write(`popwatch bgp decode: ${file}: skipped a record: ${entry.code} at byte ${entry.offset}: ${entry.message}\n`);
          } else {
            output.put(render(entry));
          }
        }
        await output.flush();
      }
    } catch (err) {
      await output.flush();
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
