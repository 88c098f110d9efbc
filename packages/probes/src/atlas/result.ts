// The common part of every result an Atlas measurement becomes, and the PoP
// identifier the mapping uses when the caller brings none.

import { type Failure, type Pop, type PopEvidence, type ProbeKind, createPopIdentifier } from "@popwatch/core";
import type { AtlasEnvelope, Destination, MapOptions } from "./envelope";
import type { AtlasMappedResult } from "./types";

export interface AtlasMapOptions extends MapOptions {
  /** Turns evidence (NSID, headers, certificate fingerprint) into a PoP, as the runner's `identifyPop`. Default: popwatch's built-in patterns. */
  identifyPop?: (kind: ProbeKind, evidence: PopEvidence) => Pop | null;
}

let builtInIdentifier: ((kind: ProbeKind, evidence: PopEvidence) => Pop | null) | null = null;

export function popOf(kind: ProbeKind, evidence: PopEvidence, options: AtlasMapOptions): Pop | null {
  if (options.identifyPop) return options.identifyPop(kind, evidence);
  builtInIdentifier ??= createPopIdentifier();
  return builtInIdentifier(kind, evidence);
}

/** The fields every result has, in the order the runner lays them out; the caller adds the kind's details. */
export function baseResult<K extends ProbeKind>(
  kind: K,
  envelope: AtlasEnvelope,
  destination: Destination,
  at: string,
  totalMs: number,
  failure: Failure | null,
): AtlasMappedResult & { kind: K } {
  return {
    kind,
    target: destination.target,
    address: destination.address,
    port: destination.port,
    name: destination.name,
    ok: failure === null,
    startedAt: at,
    timings: { totalMs },
    pop: null,
    failure,
    region: envelope.region,
    slotAt: at,
  } as AtlasMappedResult & { kind: K };
}
