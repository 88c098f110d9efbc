// Finding and loading popwatch.config.{ts,mjs,js,json}. Module configs are
// bundled with esbuild before import: they import `@popwatch/core`, whose
// package exports TypeScript sources that plain Node cannot load, and a .ts
// config needs compiling anyway. The bundle is self-contained, so it can run
// from a temp directory.
import { existsSync } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ConfigFileError, parseJsonText } from "@popwatch/agent";
import { ConfigError, type PopwatchConfig, type SloOrigin } from "@popwatch/core";
import type { Io } from "./io";
import { parseConfigWithOpenSloFiles } from "./openslo-files";

export { ConfigFileError };

/** The file parsed but its content is not a valid config; `issues` name fields by dotted path. */
export class InvalidConfigError extends Error {
  override readonly name = "InvalidConfigError";
  readonly file: string;
  readonly issues: readonly { path: string; message: string }[];

  constructor(file: string, cause: ConfigError) {
    const lines = cause.issues.map((issue) => `  ${issue.path || "(root)"}: ${issue.message}`);
    super(`${file}: invalid configuration:\n${lines.join("\n")}`, { cause });
    this.file = file;
    this.issues = cause.issues;
  }
}

/** Looked for in this order in the working directory when no --config is given. */
export const CONFIG_FILE_NAMES = [
  "popwatch.config.ts",
  "popwatch.config.mts",
  "popwatch.config.mjs",
  "popwatch.config.js",
  "popwatch.config.json",
] as const;

export interface LoadedConfig {
  config: PopwatchConfig;
  /** The file it came from, as given or found (for messages). */
  file: string;
  /** Where each SLO was written: `slos.N`, or an OpenSLO file's document (`slo/dns.yaml#0`). */
  sloOrigins: SloOrigin[];
}

/** The config file to use: `--config` as given, else the first of CONFIG_FILE_NAMES in `cwd`. */
export async function findConfigFile(explicit: string | undefined, cwd = process.cwd()): Promise<string> {
  if (explicit !== undefined) {
    const info = await stat(resolve(cwd, explicit)).catch(() => null);
    if (info === null || !info.isFile()) throw new ConfigFileError(explicit, "no such file (--config)");
    return explicit;
  }
  for (const name of CONFIG_FILE_NAMES) {
    if (existsSync(join(cwd, name))) return resolve(cwd) === process.cwd() ? name : join(cwd, name);
  }
  throw new ConfigFileError(cwd, `no config file: looked for ${CONFIG_FILE_NAMES.join(", ")}; pass --config FILE`);
}

/**
 * Finds, reads and validates the config, with the OpenSLO files it names.
 * ConfigFileError for the config file, InvalidConfigError (field paths) for
 * its content and the OpenSLO files'.
 */
export async function loadConfig(explicit: string | undefined, cwd = process.cwd()): Promise<LoadedConfig> {
  const file = await findConfigFile(explicit, cwd);
  const path = resolve(cwd, file);
  const raw = await readConfigSource(path, file);
  try {
    return { ...(await parseConfigWithOpenSloFiles(raw, path)), file };
  } catch (err) {
    if (err instanceof ConfigError) throw new InvalidConfigError(file, err);
    throw err;
  }
}

/**
 * Prints a config problem the way every command does (file, then one line per
 * field path) and returns exit status 2; anything else is rethrown.
 */
export function reportConfigProblem(command: string, err: unknown, io: Io): number {
  if (err instanceof ConfigFileError || err instanceof InvalidConfigError) {
    io.stderr.write(`popwatch ${command}: ${err.message}\n`);
    return 2;
  }
  throw err;
}

/**
 * The unvalidated config in a file: parsed JSON, or a module's default export
 * (bundled first). `file` is how messages name it. Throws ConfigFileError.
 */
export async function readConfigSource(path: string, file: string = path): Promise<unknown> {
  return path.endsWith(".json") ? readJson(path, file) : importModuleConfig(path, file);
}

async function readJson(path: string, file: string): Promise<unknown> {
  const { readFile } = await import("node:fs/promises");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ConfigFileError(file, `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  return parseJsonText(text, file);
}

async function importModuleConfig(path: string, file: string): Promise<unknown> {
  // Loaded on demand: esbuild is a native binary that only config modules need.
  const { build } = await import("esbuild");
  const outdir = await mkdtemp(join(tmpdir(), "popwatch-config-"));
  const outfile = join(outdir, "config.mjs");
  try {
    try {
      await build({
        entryPoints: [path],
        outfile,
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node20",
        logLevel: "silent",
        // A config outside this repository still finds @popwatch/core: the copy next to the CLI.
        nodePaths: workspaceNodeModules(),
        // CommonJS dependencies call require() for Node built-ins.
        banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
      });
    } catch (err) {
      throw new ConfigFileError(file, `cannot be compiled:\n${describeBuildFailure(err, path, file)}`, { cause: err });
    }
    let module: { default?: unknown };
    try {
      module = (await import(pathToFileURL(outfile).href)) as { default?: unknown };
    } catch (err) {
      throw new ConfigFileError(file, `failed while loading: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    if (!("default" in module) || module.default === undefined) {
      throw new ConfigFileError(file, "has no default export (write `export default defineConfig({ ... })`)");
    }
    return await module.default;
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

function describeBuildFailure(err: unknown, path: string, file: string): string {
  const errors = (err as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors;
  if (!Array.isArray(errors) || errors.length === 0) return `  ${err instanceof Error ? err.message : String(err)}`;
  return errors
    .map((e) => {
      const where = e.location
        ? `${resolve(e.location.file) === path ? file : e.location.file}:${e.location.line}:${e.location.column + 1}: `
        : "";
      return `  ${where}${e.text}`;
    })
    .join("\n");
}

/** node_modules directories above this module that hold @popwatch/core. */
function workspaceNodeModules(): string[] {
  const found: string[] = [];
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "node_modules");
    if (existsSync(join(candidate, "@popwatch", "core"))) found.push(candidate);
    const parent = dirname(dir);
    if (parent === dir) return found;
    dir = parent;
  }
}
