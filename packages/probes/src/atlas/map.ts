// One Atlas result (an object of the API's or a dump's JSON) into popwatch
// results. Total: any input gives results and unmapped reasons that account
// for it exactly once per result (or per resultset / request entry).

import { mapDns } from "./dns";
import type { AtlasEnvelope } from "./envelope";
import { type JsonObject, field, isObject, readEnvelope } from "./envelope";
import { mapHttp } from "./http";
import type { AtlasMapOptions } from "./result";
import { mapSslcert } from "./sslcert";
import type { AtlasMapping } from "./types";

type TypeMapper = (raw: JsonObject, envelope: AtlasEnvelope, options: AtlasMapOptions, out: AtlasMapping) => void;

// `ping`, `traceroute`, `ntp` and `wifi` are left out on purpose: popwatch has
// no ICMP or path kind, and an echo RTT says nothing about which PoP answered
// (see packages/probes/README.md, "RIPE Atlas results").
const MAPPERS: Readonly<Record<string, TypeMapper>> = { dns: mapDns, http: mapHttp, sslcert: mapSslcert };

/** Maps one Atlas API v2 result. Never throws: what cannot be mapped is counted in `unmapped` by reason. */
export function mapAtlasResult(raw: unknown, options: AtlasMapOptions = {}): AtlasMapping {
  const out: AtlasMapping = { results: [], unmapped: [] };
  if (!isObject(raw)) {
    out.unmapped.push("malformed");
    return out;
  }
  const type = field(raw, "type");
  if (typeof type !== "string") {
    out.unmapped.push("malformed");
    return out;
  }
  const mapper = Object.hasOwn(MAPPERS, type) ? MAPPERS[type] : undefined;
  if (mapper === undefined) {
    out.unmapped.push("unsupported_type");
    return out;
  }
  const envelope = readEnvelope(raw, options);
  if (!envelope.ok) {
    out.unmapped.push(envelope.reason);
    return out;
  }
  try {
    mapper(raw, envelope.value, options, out);
  } catch {
    // Only hostile objects (throwing getters, proxies) get here; JSON never does. Counted, not thrown.
    return { results: [], unmapped: ["malformed"] };
  }
  return out;
}
