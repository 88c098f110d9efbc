// Loading the popwatch config for a deploy, and shipping it to the function.
//
// Source, first match wins:
//   1. POPWATCH_CONFIG=<file> (relative to the repository root): a JSON file,
//      or a TS/JS module whose default export is the config;
//   2. popwatch.config.ts / .mts / .mjs / .js / .json at the repository root.
// The config is validated with the OpenSLO files it names (every error names
// its field; the files' SLOs join `slos`) and checked for deployability
// (deploymentProblems). The validated result, defaults filled in and no
// `openslo` key left (the function has no files to read), is written to .sst/popwatch/config-<hash>.json and copied
// into the function bundle as popwatch.config.json, so the function reads
// exactly what was validated here.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { isAbsolute, join, relative, resolve } from "node:path";
import { CONFIG_FILE_NAMES, parseConfigWithOpenSloFiles, readConfigSource } from "@popwatch/cli";
import { ConfigError, type PopwatchConfig } from "@popwatch/core";
import { deploymentProblems } from "./settings";

export const CONFIG_ENV = "POPWATCH_CONFIG";
export const CONFIG_BASENAMES = CONFIG_FILE_NAMES;

export interface LoadedConfig {
  config: PopwatchConfig;
  /** Absolute path of the file it came from. */
  source: string;
}

/** Finds, loads and validates the popwatch config; throws with the file name and every problem. */
export async function loadPopwatchConfig(root: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  const source = findConfigFile(root, env);
  let input: unknown;
  try {
    input = await readConfigSource(source);
  } catch (err) {
    // ConfigFileError messages start with the file name.
    throw new Error(`popwatch: cannot read config ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  let config: PopwatchConfig;
  try {
    ({ config } = await parseConfigWithOpenSloFiles(input, source));
  } catch (err) {
    if (err instanceof ConfigError) throw new Error(`popwatch: invalid config ${source}:\n${err.message}`, { cause: err });
    throw err;
  }
  const problems = deploymentProblems(config);
  if (problems.length > 0) throw new Error(`popwatch: config ${source} cannot be deployed:\n${problems.join("\n")}`);
  return { config, source };
}

function findConfigFile(root: string, env: NodeJS.ProcessEnv): string {
  const fromEnv = env[CONFIG_ENV];
  if (fromEnv !== undefined && fromEnv !== "") {
    const file = isAbsolute(fromEnv) ? fromEnv : resolve(root, fromEnv);
    if (!existsSync(file)) throw new Error(`popwatch: ${CONFIG_ENV}=${fromEnv} names no file (looked at ${file})`);
    return file;
  }
  for (const name of CONFIG_BASENAMES) {
    const file = join(root, name);
    if (existsSync(file)) return file;
  }
  throw new Error(
    `popwatch: no config found. Create ${CONFIG_BASENAMES[0]} at ${root} (export default defineConfig({...}) from "@popwatch/core") ` +
      `or set ${CONFIG_ENV} to a JSON file.`,
  );
}

/** The JSON shipped with the function: the validated config, defaults filled in, keys in schema order. */
export function bundledConfigJson(config: PopwatchConfig): string {
  return `${JSON.stringify(config, null, 2)}\n`;
}

/**
 * Writes the validated config under `<root>/.sst/popwatch/` and returns its
 * path relative to root (SST's copyFiles takes root-relative paths). The name
 * carries a hash of the content, so concurrent synths never race on one file.
 */
export async function writeBundledConfig(config: PopwatchConfig, root: string): Promise<string> {
  const json = bundledConfigJson(config);
  const hash = createHash("sha256").update(json).digest("hex").slice(0, 16);
  const dir = join(root, ".sst", "popwatch");
  const file = join(dir, `config-${hash}.json`);
  if (!existsSync(file)) {
    await mkdir(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, json);
    await rename(tmp, file);
  }
  return relative(root, file).split("\\").join("/");
}

/** The directory holding sst.config.ts, searched upwards from `start` (SST's own rule for the project root). */
export function findProjectRoot(start: string = process.cwd()): string {
  let dir = resolve(start);
  for (;;) {
    if (["sst.config.ts", "sst.config.mts", "sst.config.mjs", "sst.config.js"].some((name) => existsSync(join(dir, name)))) return dir;
    const parent = resolve(dir, "..");
    if (parent === dir) return resolve(start);
    dir = parent;
  }
}
