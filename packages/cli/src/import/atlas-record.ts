// The Atlas format: one RIPE Atlas API result per record (an element of the
// API's JSON array, or a line), mapped by @popwatch/probes. A record gives
// zero or more results (one per `resultset` entry) and a reason for each part
// it could not map; only text that is not JSON is a bad line.
import { type AtlasMapOptions, type AtlasUnmappedReason, mapAtlasResult } from "@popwatch/probes";
import type { ImportedResult } from "./judge";
import { lineDigest } from "./popwatch-line";

export interface AtlasRecord {
  /** results[i].digest keys the i-th result: the record's digest and its index. */
  results: { result: ImportedResult; digest: string }[];
  unmapped: AtlasUnmappedReason[];
}

/** `options`: the clock and the PoP identifier (a config's popIdentification) the mapping uses. */
export function parseAtlasRecord(text: string, options: AtlasMapOptions): AtlasRecord | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { error: `invalid JSON: ${(err as Error).message}` };
  }
  const mapping = mapAtlasResult(value, options);
  const digest = mapping.results.length > 0 ? lineDigest(text) : "";
  return {
    results: mapping.results.map((result, index) => ({ result: result as ImportedResult, digest: `${digest}.${index}` })),
    unmapped: mapping.unmapped,
  };
}

const ATLAS_VANTAGE = /^atlas-(\d{1,15})$/;

/** The Atlas probe id of an `atlas-<id>` vantage name; null for any other name. */
export function atlasProbeIdOf(region: string): number | null {
  const match = ATLAS_VANTAGE.exec(region);
  return match === null ? null : Number(match[1]);
}
