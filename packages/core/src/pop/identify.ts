// Turns the evidence a probe recorded into the PoP that answered. Pure and
// total: the runner calls it for every result, failed or not, and a throw here
// would turn a good probe result into an internal failure.

import { PopwatchCoreError } from "../errors";
import { AIRPORTS } from "../geo/airports";
import type { Pop, PopEvidence, PopSource, ProbeKind } from "../result";
import { BUILTIN_POP_HEADERS, BUILTIN_POP_PATTERNS, GENERIC_HOST_WORDS, PER_REQUEST_HEADERS, SOFTWARE_HEADERS } from "./builtins";
import { CDN_LAYERS, clientFacingCdn, popHeadersOf } from "./cdn-layers";
import { type PopIdentification, type PopIdentificationConfig, normalizeFingerprint, parsePopIdentification } from "./schema";
import { type TemplatePart, expandTemplate, parseTemplate } from "./template";

/** Longer values are no known PoP format; not matching them bounds regex work. */
export const MAX_MATCHED_EVIDENCE_LENGTH = 512;
export const MAX_POP_ID_LENGTH = 64;

const DNS_SOURCES = ["nsid", "id.server", "hostname.bind"] as const;
type DnsSource = (typeof DNS_SOURCES)[number];

interface Matcher {
  regex: RegExp;
  /** Operator rules build the id from a template; built-ins use their `site` group. */
  template: readonly TemplatePart[] | null;
  /** Built-ins for encoded values turn the raw value into the text `regex` reads. */
  decode?: (raw: string) => string | null;
  knownAirportOnly?: boolean;
}

export interface CompiledPopIdentification {
  readonly matchersBySource: ReadonlyMap<PopSource, readonly Matcher[]>;
  /** Operator rule headers, consulted before any built-in PoP header. */
  readonly ruleHeaders: readonly string[];
  /** Normalized fingerprint to canonical PoP id. */
  readonly fingerprintPops: ReadonlyMap<string, string>;
}

const WHITESPACE_RUN = /\s+/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping C0/C1 control characters from header values is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;
const IATA = /^[a-z]{3}$/;

/** Cuts at `max` UTF-16 units without splitting a surrogate pair. */
function capLength(value: string, max: number): string {
  if (value.length <= max) return value;
  const lastKept = value.charCodeAt(max - 1);
  const splitsPair = lastKept >= 0xd800 && lastKept <= 0xdbff;
  return value.slice(0, splitsPair ? max - 1 : max);
}

/** Canonical PoP id: lowercase, trimmed, whitespace collapsed, no control characters, at most 64 units. Empty means none. */
export function canonicalPopId(value: string): string {
  const cleaned = value.replace(WHITESPACE_RUN, " ").replace(CONTROL_CHARACTERS, "").trim().toLowerCase();
  return capLength(cleaned, MAX_POP_ID_LENGTH).trim();
}

function canonicalIata(value: string | undefined): string | null {
  const lower = value?.toLowerCase();
  return lower !== undefined && IATA.test(lower) ? lower : null;
}

function addMatcher(bySource: Map<PopSource, Matcher[]>, source: PopSource, matcher: Matcher): void {
  const list = bySource.get(source);
  if (list) list.push(matcher);
  else bySource.set(source, [matcher]);
}

/**
 * Compiles validated configuration (see parsePopIdentification). Throws
 * PopwatchCoreError `pop_rule_invalid` only when handed a rule that skipped
 * validation.
 */
export function compilePopIdentification(config: PopIdentification): CompiledPopIdentification {
  const matchersBySource = new Map<PopSource, Matcher[]>();
  const ruleHeaders: string[] = [];
  config.rules.forEach((rule, index) => {
    const template = parseTemplate(rule.template);
    let regex: RegExp;
    try {
      regex = new RegExp(rule.regex);
    } catch (err) {
      throw new PopwatchCoreError("pop_rule_invalid", `rules.${index}.regex: invalid regular expression`, { cause: err });
    }
    if (!template.ok) throw new PopwatchCoreError("pop_rule_invalid", `rules.${index}.template: ${template.error}`);
    addMatcher(matchersBySource, rule.source, { regex, template: template.parts });
    if (rule.source.startsWith("header:")) ruleHeaders.push(rule.source.slice("header:".length));
  });
  for (const entry of BUILTIN_POP_PATTERNS) {
    for (const source of entry.sources) {
      addMatcher(matchersBySource, source, {
        regex: entry.pattern,
        template: null,
        decode: entry.decode,
        knownAirportOnly: entry.knownAirportOnly,
      });
    }
  }
  const fingerprintPops = new Map<string, string>();
  for (const [fingerprint, popId] of Object.entries(config.tlsFingerprints)) {
    const id = canonicalPopId(popId);
    if (id) fingerprintPops.set(normalizeFingerprint(fingerprint), id);
  }
  return {
    matchersBySource,
    ruleHeaders: [...new Set(ruleHeaders)],
    fingerprintPops,
  };
}

interface EvidenceItem {
  source: PopSource;
  raw: string;
}

/** Evidence may arrive as anything at runtime; only own properties count, so `__proto__` and friends stay out. */
function ownValue(record: unknown, key: string): unknown {
  if (typeof record !== "object" || record === null || !Object.hasOwn(record, key)) return undefined;
  return (record as Record<string, unknown>)[key];
}

function ownString(record: unknown, key: string): string | undefined {
  const value = ownValue(record, key);
  return typeof value === "string" ? value : undefined;
}

/** Header names are lowercase by contract; folding here too costs little and tolerates a careless caller. */
function lowercaseHeaders(headers: unknown): Map<string, string> {
  const byName = new Map<string, string>();
  if (typeof headers !== "object" || headers === null) return byName;
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (typeof value === "string" && (!byName.has(lower) || lower === name)) byName.set(lower, value);
  }
  return byName;
}

const CDN_POP_HEADERS = new Set(CDN_LAYERS.flatMap((layer) => layer.popHeaders));

/**
 * Built-in PoP headers in the order they are consulted. When the response says
 * which CDN faced the client, only that CDN's headers count among the CDNs'
 * (an inner layer's PoP is not the client's); otherwise the table order.
 */
function builtinHeaderOrder(headers: ReadonlyMap<string, string>): readonly string[] {
  const outermost = clientFacingCdn(headers);
  if (outermost === null) return BUILTIN_POP_HEADERS;
  const own = popHeadersOf(outermost);
  return [...own, ...BUILTIN_POP_HEADERS.filter((name) => !CDN_POP_HEADERS.has(name))];
}

/** Evidence in the order it is consulted: DNS identities, then PoP headers, then the TLS fingerprint. */
function orderedEvidence(evidence: unknown, compiled: CompiledPopIdentification): EvidenceItem[] {
  const items: EvidenceItem[] = [];
  const chaos = ownValue(evidence, "chaos");
  const dnsValues: Record<DnsSource, string | undefined> = {
    nsid: ownString(evidence, "nsid"),
    "id.server": ownString(chaos, "id.server"),
    "hostname.bind": ownString(chaos, "hostname.bind"),
  };
  for (const source of DNS_SOURCES) {
    const raw = dnsValues[source];
    if (raw !== undefined) items.push({ source, raw });
  }
  const headers = lowercaseHeaders(ownValue(evidence, "headers"));
  for (const name of new Set([...compiled.ruleHeaders, ...builtinHeaderOrder(headers)])) {
    const raw = headers.get(name);
    if (raw !== undefined) items.push({ source: `header:${name}`, raw });
  }
  const fingerprint = ownString(evidence, "tlsFingerprint");
  if (fingerprint !== undefined) items.push({ source: "tls-fingerprint", raw: fingerprint });
  return items;
}

function matchItem(item: EvidenceItem, compiled: CompiledPopIdentification): Pop | null {
  if (item.source === "tls-fingerprint") {
    // An exact fingerprint is the most specific statement an operator can make, so it precedes rules.
    const id = compiled.fingerprintPops.get(normalizeFingerprint(item.raw));
    if (id) return { id, source: item.source, raw: item.raw, iata: null };
  }
  if (item.raw.length > MAX_MATCHED_EVIDENCE_LENGTH) return null;
  for (const matcher of compiled.matchersBySource.get(item.source) ?? []) {
    const text = matcher.decode ? matcher.decode(item.raw) : item.raw;
    const match = text === null ? null : matcher.regex.exec(text);
    if (!match) continue;
    const iata = canonicalIata(match.groups?.iata);
    if (matcher.knownAirportOnly && !isKnownAirport(iata)) continue;
    const id = canonicalPopId(matcher.template ? expandTemplate(matcher.template, match) : (match.groups?.site ?? ""));
    // An empty id says nothing about the PoP; let a later rule or pattern speak.
    if (id) return { id, source: item.source, raw: item.raw, iata };
  }
  return null;
}

/** Whether three letters are an airport the geo table knows and no host word (`dns1`, `DNA`) that happens to spell one. */
function isKnownAirport(iata: string | null): boolean {
  return iata !== null && AIRPORTS.has(iata) && !GENERIC_HOST_WORDS.has(iata);
}

/**
 * Whether an unmatched value may stand for its PoP as it is. DNS identities and
 * headers that name a node (`x-served-by: pop-a`, an operator's own header) may;
 * per-request ids (`cf-ray` without its site) and software names (`Server: nginx`) may not.
 */
function mayFallBack(source: PopSource): boolean {
  if (source === "tls-fingerprint") return false;
  if (!source.startsWith("header:")) return true;
  const name = source.slice("header:".length);
  return !PER_REQUEST_HEADERS.has(name) && !SOFTWARE_HEADERS.has(name);
}

function identifyOrdered(items: readonly EvidenceItem[], compiled: CompiledPopIdentification): Pop | null {
  for (const item of items) {
    const pop = matchItem(item, compiled);
    if (pop) return pop;
  }
  // Unknown formats still separate PoPs: an operator without rules sees distinct raw identities.
  // A fingerprint alone names a certificate, not a site, and a request id names a request: no fallback.
  for (const item of items) {
    if (!mayFallBack(item.source)) continue;
    const id = canonicalPopId(item.raw);
    if (id) return { id, source: item.source, raw: item.raw, iata: null };
  }
  return null;
}

/**
 * The PoP named by whatever evidence is present, consulted in order: NSID,
 * id.server, hostname.bind, PoP headers (the operator's, then the
 * client-facing CDN's, see cdn-layers.ts), TLS fingerprint. Never throws.
 */
export function identifyPop(evidence: PopEvidence, compiled: CompiledPopIdentification): Pop | null {
  try {
    return identifyOrdered(orderedEvidence(evidence, compiled), compiled);
  } catch {
    // Only hostile input gets here (a throwing getter or proxy smuggled in as evidence); no PoP is the honest answer.
    return null;
  }
}

/** The evidence each probe kind may use: a DNS probe's PoP is not decided by stray headers. */
const EVIDENCE_BY_KIND: Readonly<Record<ProbeKind, readonly (keyof PopEvidence)[]>> = {
  dns: ["nsid", "chaos"],
  http: ["headers"],
  tls: ["tlsFingerprint"],
  tcp: [],
  dot: ["nsid", "chaos", "tlsFingerprint"],
  doh: ["nsid", "chaos", "headers", "tlsFingerprint"],
};

/**
 * Validates the configuration (throws ConfigError naming each bad field) and
 * returns the runner's `identifyPop`, which never throws.
 */
export function createPopIdentifier(config?: PopIdentificationConfig): (kind: ProbeKind, evidence: PopEvidence) => Pop | null {
  const compiled = compilePopIdentification(parsePopIdentification(config));
  return (kind, evidence) => {
    try {
      const fields = Object.hasOwn(EVIDENCE_BY_KIND, kind) ? EVIDENCE_BY_KIND[kind] : [];
      const relevant: Record<string, unknown> = {};
      for (const field of fields) relevant[field] = ownValue(evidence, field);
      return fields.length === 0 ? null : identifyPop(relevant as PopEvidence, compiled);
    } catch {
      return null;
    }
  };
}
