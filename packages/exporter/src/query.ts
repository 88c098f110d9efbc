// The `/probe` query string, checked before anything is probed: every fault is
// a 400 with the reason, never a probe of something half-understood.

/** Longest query string accepted; longer is refused before it is parsed. */
export const MAX_QUERY_LENGTH = 4096;
/** Longest `target` (a URL with a path is the long case). */
export const MAX_TARGET_LENGTH = 1024;
const MAX_MODULE_LENGTH = 64;

/** Parameters `/probe` reads; others (relabelling often adds some) are ignored, as blackbox does. */
const KNOWN = ["target", "module", "debug"] as const;

export interface ProbeQuery {
  target: string;
  module: string;
  debug: boolean;
}

export type QueryResult = { ok: true; query: ProbeQuery } | { ok: false; reason: string };

const refuse = (reason: string): QueryResult => ({ ok: false, reason });

// C0 controls, DEL and C1 controls: nothing a target or module name contains.
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}

/** Parses the raw query string (without the `?`). */
export function parseProbeQuery(search: string): QueryResult {
  if (search.length > MAX_QUERY_LENGTH) return refuse(`query string longer than ${MAX_QUERY_LENGTH} characters`);
  const params = new URLSearchParams(search);
  const values: Partial<Record<(typeof KNOWN)[number], string>> = {};
  for (const name of KNOWN) {
    const all = params.getAll(name);
    if (all.length > 1) return refuse(`parameter "${name}" given ${all.length} times; give it once`);
    if (all.length === 1) values[name] = all[0]!;
  }
  const { target, module, debug } = values;
  if (target === undefined || target === "") return refuse('missing parameter "target"');
  if (target.length > MAX_TARGET_LENGTH) return refuse(`target longer than ${MAX_TARGET_LENGTH} characters`);
  if (hasControl(target)) return refuse("target contains control characters");
  if (module === undefined || module === "") return refuse('missing parameter "module"');
  if (module.length > MAX_MODULE_LENGTH) return refuse(`module longer than ${MAX_MODULE_LENGTH} characters`);
  if (hasControl(module)) return refuse("module contains control characters");
  if (debug !== undefined && debug !== "true" && debug !== "false") {
    return refuse(`debug: expected "true" or "false", got ${JSON.stringify(debug.slice(0, 64))}`);
  }
  return { ok: true, query: { target, module, debug: debug === "true" } };
}
