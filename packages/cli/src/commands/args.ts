import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "../errors";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** node:util parseArgs with strict flags; its errors (which name the flag) become usage errors. */
export function parseFlags<O extends Options>(argv: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message, { cause: err });
  }
}

export function parsePositiveInteger(flag: string, value: string | undefined, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new UsageError(`--${flag}: expected a positive integer${max < Number.MAX_SAFE_INTEGER ? ` up to ${max}` : ""}, got "${value}"`);
  }
  return Number(value);
}
