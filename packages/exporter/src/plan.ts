// From `target` and `module` to what to probe: the probe kind, its options, and
// where the address comes from (the config, the query string, or a hostname to
// resolve at probe time). Decided once per distinct (module, target) and
// cached, so a scrape of a known pair does no parsing and reuses the same spec
// object (the DNS probe's compiled query is keyed by it).
import { isIP } from "node:net";
import { PROBE_KINDS, type PopwatchConfig, type ProbeKind, type TargetConfig, targetSchema } from "@popwatch/core";
import { type ProbeSpec, specsForTarget } from "@popwatch/probes";

/** What `/probe` runs. `address` null: resolve `hostname` first. */
export interface ProbePlan {
  /** The module as asked for: a kind or a configured module name (a label value of the self-metrics). */
  module: string;
  kind: ProbeKind;
  /** The configured target's name when the target is one, for SLO matching. */
  configTarget: string | null;
  /** The kind's options after defaults and target overrides (the debug output shows them). */
  options: Record<string, unknown>;
  /** The module's own timeout cap, when it has one. */
  timeoutMs: number | null;
  hostname: string | null;
  /** The spec to run, when the address is known without resolving. */
  spec: ProbeSpec | null;
  /** Builds the spec for a resolved address (hostname targets). */
  specFor(address: string): ProbeSpec;
}

export type PlanResult = { ok: true; plan: ProbePlan } | { ok: false; reason: string };

interface TargetRef {
  config: TargetConfig | null;
  address: string | null;
  hostname: string | null;
  port: number | null;
  /** From a URL target (http only). */
  http: { scheme: "http" | "https"; path: string } | null;
}

const HOSTNAME = /^(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*\.?$/i;
const PLAN_CACHE_MAX = 1024;

function parsePort(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : null;
}

function hostRef(host: string, port: number | null): TargetRef | string {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (isIP(bare) !== 0) return { config: null, address: bare, hostname: null, port, http: null };
  if (bare.length <= 253 && HOSTNAME.test(bare)) return { config: null, address: null, hostname: bare.toLowerCase(), port, http: null };
  return `target: "${host}" is neither an IP address nor a hostname`;
}

function parseUrlTarget(target: string): TargetRef | string {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return "target: not a valid URL";
  }
  if (url.username !== "" || url.password !== "") return "target: credentials in the URL are not supported";
  const port = url.port === "" ? null : parsePort(url.port);
  const ref = hostRef(url.hostname, port);
  if (typeof ref === "string") return ref;
  ref.http = { scheme: url.protocol === "https:" ? "https" : "http", path: `${url.pathname}${url.search}` };
  return ref;
}

/** A target that is not a configured name: an address, `[v6]:port`, `host[:port]`, or (http) a URL. */
function parseTargetText(target: string): TargetRef | string {
  if (/^https?:\/\//i.test(target)) return parseUrlTarget(target);
  if (isIP(target) !== 0) return { config: null, address: target, hostname: null, port: null, http: null };
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(target);
  if (bracketed) {
    const port = bracketed[2] === undefined ? null : parsePort(bracketed[2]);
    if (bracketed[2] !== undefined && port === null) return `target: bad port "${bracketed[2]}"`;
    if (isIP(bracketed[1]!) !== 6) return `target: "${bracketed[1]}" is not an IPv6 address`;
    return { config: null, address: bracketed[1]!, hostname: null, port, http: null };
  }
  const hostPort = /^([^:]+):([^:]*)$/.exec(target);
  if (hostPort) {
    const port = parsePort(hostPort[2]!);
    if (port === null) return `target: bad port "${hostPort[2]}" (expected 1–65535)`;
    return hostRef(hostPort[1]!, port);
  }
  return hostRef(target, null);
}

/**
 * Why a URL target does not suit the kind, null when it does: http takes any
 * http(s) URL; doh an https URL whose path is the DoH endpoint (the probe adds
 * `?dns=` itself for GET, so a query string of its own is refused).
 */
function urlTargetRefusal(url: { scheme: "http" | "https"; path: string }, kind: ProbeKind): string | null {
  if (kind === "http") return null;
  if (kind !== "doh") return `target: a URL needs an http or doh module, not ${kind}`;
  if (url.scheme !== "https") return "target: DNS over HTTPS needs an https:// URL";
  if (url.path.includes("?")) return "target: a DoH URL takes no query string (GET adds ?dns= itself)";
  return null;
}

/** Kind defaults as the config schema fills them, computed once. */
function kindDefaults(): Record<ProbeKind, Record<string, unknown>> {
  const probes = Object.fromEntries(PROBE_KINDS.map((kind) => [kind, {}]));
  const parsed = targetSchema.parse({ name: "defaults", address: "127.0.0.1", probes });
  return parsed.probes as Record<ProbeKind, Record<string, unknown>>;
}

/**
 * Plans `/probe` requests against one config. `plan` is pure apart from its
 * cache; hostnames are resolved by the caller at probe time.
 */
export class ProbePlanner {
  private readonly targets = new Map<string, TargetConfig>();
  private readonly defaults = kindDefaults();
  private readonly cache = new Map<string, PlanResult>();

  constructor(private readonly config: PopwatchConfig) {
    for (const target of config.targets) this.targets.set(target.name, target);
  }

  /** The module names `/probe` accepts: the kinds, then the configured modules. */
  moduleNames(): string[] {
    return [...PROBE_KINDS, ...Object.keys(this.config.exporter.modules)];
  }

  plan(target: string, module: string): PlanResult {
    const key = `${module}\u0000${target}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const result = this.build(target, module);
    // Only valid plans are worth keeping; a flood of distinct bad targets must not evict the good ones.
    if (result.ok) {
      if (this.cache.size >= PLAN_CACHE_MAX) this.cache.clear();
      this.cache.set(key, result);
    }
    return result;
  }

  private build(target: string, module: string): PlanResult {
    const named = Object.hasOwn(this.config.exporter.modules, module) ? this.config.exporter.modules[module]! : null;
    const kind = (PROBE_KINDS as readonly string[]).includes(module) ? (module as ProbeKind) : (named?.kind ?? null);
    if (kind === null) return { ok: false, reason: `unknown module "${module}" (known: ${this.moduleNames().join(", ")})` };

    const configured = this.targets.get(target);
    const ref: TargetRef | string = configured
      ? { config: configured, address: configured.address, hostname: configured.hostname ?? null, port: null, http: null }
      : parseTargetText(target);
    if (typeof ref === "string") return { ok: false, reason: ref };
    const urlRefusal = ref.http === null ? null : urlTargetRefusal(ref.http, kind);
    if (urlRefusal !== null) return { ok: false, reason: urlRefusal };

    let options: Record<string, unknown>;
    let timeoutMs: number | null = null;
    if (named !== null) {
      const { kind: _kind, timeoutMs: moduleTimeout, ...rest } = named;
      options = rest;
      timeoutMs = moduleTimeout ?? null;
    } else {
      options = (ref.config?.probes[kind] as Record<string, unknown> | undefined) ?? this.defaults[kind];
    }
    if (ref.port !== null || ref.http !== null) {
      // doh is always https: a DoH URL gives the path only.
      const fromUrl = ref.http === null ? {} : kind === "doh" ? { path: ref.http.path } : ref.http;
      options = { ...options, ...(ref.port !== null ? { port: ref.port } : {}), ...fromUrl };
      if (ref.http !== null && ref.port === null && kind === "http") delete options.port;
    }

    const name = ref.config?.name ?? target;
    const hostname = ref.hostname;
    const specFor = (address: string): ProbeSpec => {
      const synthetic = { name, address, probes: { [kind]: options }, ...(hostname !== null ? { hostname } : {}) } as TargetConfig;
      return specsForTarget(synthetic)[0]!;
    };
    const plan: ProbePlan = {
      module,
      kind,
      configTarget: ref.config?.name ?? null,
      options,
      timeoutMs,
      hostname,
      spec: ref.address !== null ? specFor(ref.address) : null,
      specFor,
    };
    return { ok: true, plan };
  }
}
