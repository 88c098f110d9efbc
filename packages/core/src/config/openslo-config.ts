// A config whose `openslo` key names OpenSLO files: their SLOs join `slos`.
// Reading the files is the loader's I/O (the CLI, the deploy); this is the
// pure part. The result carries no `openslo` key, so the JSON the deploy ships
// to the functions already holds every SLO and parseConfig alone reads it.

import { ConfigError } from "../errors";
import { type OpenSloEntry, type OpenSloFile, parseOpenSloFiles } from "../slo/openslo";
import { type PopwatchConfig, parseConfig } from "./schema";

type Issue = { path: string; message: string };

/** Where an SLO of the config was written: `slos.0`, or `slo/dns.yaml#1` (a file's document, counted from 0). */
export interface SloOrigin {
  name: string;
  from: string;
}

export interface ConfigWithSloOrigins {
  config: PopwatchConfig;
  /** One per SLO, in config.slos order. */
  sloOrigins: SloOrigin[];
}

/** The `openslo` paths of an unvalidated config, as written; ConfigError when the key is not a list of paths. */
export function openSloPathsOf(input: unknown): string[] {
  if (typeof input !== "object" || input === null || !("openslo" in input) || input.openslo === undefined) return [];
  const list: unknown = input.openslo;
  if (!Array.isArray(list)) throw new ConfigError([{ path: "openslo", message: "expected a list of file paths" }]);
  const issues: Issue[] = [];
  list.forEach((path: unknown, index) => {
    if (typeof path !== "string" || path === "")
      issues.push({ path: `openslo.${index}`, message: `expected a file path, got ${JSON.stringify(path) ?? "nothing"}` });
  });
  if (issues.length > 0) throw new ConfigError(issues);
  return list as string[];
}

/**
 * Validates a config together with the OpenSLO files its `openslo` key names,
 * given in the same order (null: the loader could not read it and reports
 * why). The files' SLOs follow the config's own `slos`. Throws ConfigError
 * with every problem: the files' at `file#index(name).field.path`, a
 * duplicate SLO name at both places, the config's at their field paths.
 */
export function parseConfigWithOpenSlo(input: unknown, files: readonly (OpenSloFile | null)[]): ConfigWithSloOrigins {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return { config: parseConfig(input), sloOrigins: [] };
  const paths = openSloPathsOf(input);
  if (files.length !== paths.length) throw new Error(`parseConfigWithOpenSlo: ${files.length} files for ${paths.length} openslo paths`);
  const issues: Issue[] = [];
  const readable = files.filter((file): file is OpenSloFile => file !== null);
  readable.forEach((file) => {
    if (file.documents.every((doc) => doc === null)) {
      issues.push({ path: `openslo.${files.indexOf(file)}`, message: `${file.path} holds no OpenSLO documents` });
    }
  });
  let entries: OpenSloEntry[] = [];
  try {
    entries = parseOpenSloFiles(readable);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    issues.push(...err.issues);
  }

  const record = input as Record<string, unknown>;
  const ownSlos: unknown[] = Array.isArray(record.slos) ? record.slos : [];
  // A `slos` that is not a list stays as written, for parseConfig to name.
  const slos = record.slos === undefined || Array.isArray(record.slos) ? undefined : record.slos;
  const names = new Map<string, string>();
  ownSlos.forEach((slo, index) => {
    const name = typeof slo === "object" && slo !== null ? (slo as { name?: unknown }).name : undefined;
    if (typeof name === "string" && !names.has(name)) names.set(name, `slos.${index}.name`);
  });
  const joining = entries.filter((entry) => {
    const first = names.get(entry.slo.name);
    if (first === undefined) {
      names.set(entry.slo.name, entry.paths.name);
      return true;
    }
    issues.push({ path: entry.paths.name, message: `duplicate SLO name "${entry.slo.name}" (also ${first})` });
    return false;
  });

  const { openslo: _resolved, ...rest } = record;
  const merged = { ...rest, ...(slos === undefined && joining.length > 0 ? { slos: [...ownSlos, ...joining.map((e) => e.slo)] } : {}) };
  let config: PopwatchConfig | null = null;
  try {
    config = parseConfig(merged);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    issues.push(...err.issues.map((issue) => atFilePath(issue, ownSlos.length, joining)));
  }
  if (config === null || issues.length > 0) throw new ConfigError(issues);
  const sloOrigins = [
    ...ownSlos.map((_, index) => ({ name: config.slos[index]!.name, from: `slos.${index}` })),
    ...joining.map((entry) => ({ name: entry.slo.name, from: entry.from })),
  ];
  return { config, sloOrigins };
}

/** The config's cross-check findings on an SLO from a file (`slos.3.target`) at the file's path. */
function atFilePath(issue: Issue, ownCount: number, joining: readonly OpenSloEntry[]): Issue {
  const match = /^slos\.(\d+)(?:\.(name|target|kinds)(\..*)?)?$/.exec(issue.path);
  const entry = match === null ? undefined : joining[Number(match[1]) - ownCount];
  if (match === null || entry === undefined) return issue;
  const field = match[2] as keyof OpenSloEntry["paths"] | undefined;
  return field === undefined
    ? { path: entry.from, message: issue.message }
    : { path: `${entry.paths[field]}${match[3] ?? ""}`, message: issue.message };
}
