// Reading the OpenSLO files a config names (`openslo: ["slo/dns.yaml"]`,
// relative to the config file) and joining their SLOs to the config. The
// mapping is core's (parseConfigWithOpenSlo); this is the I/O and the YAML.
// Every problem is a ConfigError issue, so commands print it with the rest:
// an unreadable file at `openslo.N` with the path it resolved to, bad YAML at
// `openslo.N` with file:line:col and the parser's code.
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { ConfigError, type ConfigWithSloOrigins, type OpenSloFile, openSloPathsOf, parseConfigWithOpenSlo } from "@popwatch/core";

/** Larger files are refused before parsing: an SLO file is a few kilobytes. */
export const MAX_OPENSLO_FILE_BYTES = 1024 * 1024;
/** YAML aliases expanded per document, so a small file cannot expand into gigabytes. */
const MAX_ALIAS_COUNT = 100;

type Issue = { path: string; message: string };

/**
 * Validates `input` (a config as read from `configPath`) with the SLOs of its
 * OpenSLO files. Throws ConfigError listing every problem, the files' and the
 * config's alike.
 */
export async function parseConfigWithOpenSloFiles(input: unknown, configPath: string): Promise<ConfigWithSloOrigins> {
  const paths = openSloPathsOf(input);
  const issues: Issue[] = [];
  const files = await Promise.all(
    paths.map(async (path, index) => {
      const read = await readOpenSloFile(path, resolve(dirname(configPath), path));
      if ("documents" in read) return read;
      issues.push({ path: `openslo.${index}`, message: read.problem });
      return null;
    }),
  );
  let resolved: ConfigWithSloOrigins;
  try {
    resolved = parseConfigWithOpenSlo(input, files);
  } catch (err) {
    if (err instanceof ConfigError && issues.length > 0) throw new ConfigError([...issues, ...err.issues]);
    throw err;
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return resolved;
}

/** One file's documents as plain data, or why it has none. `path` is as the config wrote it; `absolute` where it resolved. */
export async function readOpenSloFile(path: string, absolute: string): Promise<OpenSloFile | { problem: string }> {
  let text: string;
  try {
    const bytes = await readFile(absolute);
    if (bytes.length > MAX_OPENSLO_FILE_BYTES)
      return { problem: `${absolute}: ${bytes.length} bytes, more than an OpenSLO file may hold (${MAX_OPENSLO_FILE_BYTES})` };
    text = bytes.toString("utf8");
  } catch (err) {
    return { problem: `cannot read ${absolute}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
  return parseOpenSloText(text, path);
}

/** Splits YAML text into its documents as plain data; the first syntax error as `file:line:col: invalid YAML (CODE): reason`. */
export async function parseOpenSloText(text: string, path: string): Promise<OpenSloFile | { problem: string }> {
  // Loaded on demand: most configs name no OpenSLO file.
  const { parseAllDocuments } = await import("yaml");
  const documents: unknown[] = [];
  for (const document of parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true })) {
    const error = document.errors[0] ?? document.warnings[0];
    if (error !== undefined) {
      const where = error.linePos === undefined ? "" : `:${error.linePos[0].line}:${error.linePos[0].col}`;
      // The message's first line, without the position it repeats.
      const reason = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
      return { problem: `${path}${where}: invalid YAML (${error.code}): ${reason}` };
    }
    try {
      documents.push(document.contents === null ? null : document.toJS({ maxAliasCount: MAX_ALIAS_COUNT }));
    } catch (err) {
      const at = document.contents?.range === undefined ? "" : lineColumn(text, document.contents.range[0]);
      return { problem: `${path}${at}: invalid YAML (RESOURCE_EXHAUSTION): ${err instanceof Error ? err.message : String(err)}` };
    }
  }
  return { path, documents };
}

function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split("\n");
  return `:${before.length}:${before.at(-1)!.length + 1}`;
}
