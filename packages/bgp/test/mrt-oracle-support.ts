// Runs Debian's bgpdump (the oracle) and popwatch's MRT reader over one file
// and returns both as bgpdump -m lines, IPv6 addresses in RFC 5952 form.
import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { type MrtWarning, bgpdumpLines, readMrtEntries, readMrtFile } from "../src/index";

const run = promisify(execFile);

export const MRT_FIXTURES = join(import.meta.dirname, "..", "..", "..", "test", "fixtures", "mrt");

/** Every MRT file under test/fixtures/mrt (and its subfolders). */
export function mrtFixtures(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (/\.(mrt|gz|bz2)$/.test(entry.name)) files.push(join(dir, entry.name));
    }
  };
  walk(MRT_FIXTURES);
  return files.sort();
}

// bgpdump's own inet_ntop compresses a single zero group ("2001:7f8:30::2:1:0:8447"),
// which RFC 5952 §4.2.2 forbids; the URL parser's serialiser is RFC 5952's.
function rfc5952(address: string): string {
  if (!address.includes(":") || address.includes(".")) return address;
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/** Normalises the address fields of one bgpdump -m line (peer, prefix, next hop). */
export function normaliseLine(line: string): string {
  const fields = line.split("|");
  for (const i of [3, 5, 8]) {
    const field = fields[i];
    if (field === undefined) continue;
    const [address = "", length] = field.split("/");
    fields[i] = length === undefined ? rfc5952(address) : `${rfc5952(address)}/${length}`;
  }
  return fields.join("|");
}

export async function bgpdumpOf(file: string): Promise<string[]> {
  // -l: the large communities field too (RFC 8092), so the oracle checks them.
  const { stdout } = await run("bgpdump", ["-m", "-l", file], { maxBuffer: 1 << 28 });
  return stdout
    .split("\n")
    .filter((line) => line.length > 0)
    .map(normaliseLine);
}

export async function popwatchOf(file: string): Promise<{ lines: string[]; warnings: MrtWarning[] }> {
  const lines: string[] = [];
  const warnings: MrtWarning[] = [];
  for await (const batch of readMrtEntries(readMrtFile(file))) {
    for (const entry of batch) {
      if (entry.kind === "warning") warnings.push(entry);
      else for (const line of bgpdumpLines(entry, { largeCommunities: true }).split("\n")) if (line.length > 0) lines.push(line);
    }
  }
  return { lines, warnings };
}

/** The fields core's events share with a bgpdump -m line, as text. */
export function eventFieldsOfLine(line: string): string {
  const f = line.split("|");
  const type = f[2];
  if (type === "STATE") return `STATE|${f[1]}|${f[3]}|${f[4]}|${f[6] === "6"}`;
  const time = f[1];
  const head = `${type}|${time}|${f[3]}|${f[4]}|${f[5]}`;
  if (type === "W") return head;
  const shift = f[0]?.endsWith("_AP") ? 1 : 0; // ADD-PATH lines carry the path id after the prefix
  // Confederation segments are hops inside one AS: not in RouteEvent.asPath.
  const path = (f[6 + shift] ?? "").replace(/\([^)]*\)|\[[^\]]*\]/g, "");
  const asns = path.match(/\d+/g) ?? [];
  const nextHop = f[8 + shift] === "255.255.255.255" ? "" : f[8 + shift];
  return `${head}|${asns.join(" ")}|${f[7 + shift]}|${nextHop}|${f[12 + shift]}`;
}

export async function eventFieldsOf(file: string): Promise<string[]> {
  const { readMrtEvents } = await import("../src/index");
  const fields: string[] = [];
  for await (const event of readMrtEvents(readMrtFile(file))) {
    const seconds = event.timeMs % 1000 === 0 ? `${event.timeMs / 1000}` : (event.timeMs / 1000).toFixed(6);
    if (event.type === "STATE") fields.push(`STATE|${seconds}|${event.peer}|${event.peerAs}|${event.up}`);
    else if (event.type === "W") fields.push(`W|${seconds}|${event.peer}|${event.peerAs}|${event.prefix}`);
    else
      fields.push(
        `${event.type}|${seconds}|${event.peer}|${event.peerAs}|${event.prefix}|${event.asPath.join(" ")}|${event.originAttribute ?? "INCOMPLETE"}|${event.nextHop ?? ""}|${(event.largeCommunities ?? []).join(" ")}`,
      );
  }
  return fields;
}
