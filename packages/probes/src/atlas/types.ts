// RIPE Atlas results as popwatch results: the contract between the mapping
// (this directory) and `popwatch import --format atlas`. Atlas's own DNS
// answers (`abuf`) are decoded by popwatch's DNS decoder, so an imported
// answer yields the same rcode, flags, answers and NSID a probe would record.
import type { ProbeResult, Vantage } from "@popwatch/core";

/** One probe of the Atlas probe archive (`objects[]` of /api/v2/probes/ or the daily archive file). */
export interface AtlasProbeInfo {
  id: number;
  /** ISO 3166-1 alpha-2, upper case. */
  countryCode: string | null;
  asnV4: number | null;
  asnV6: number | null;
  /** From `geometry.coordinates` ([lon, lat] in GeoJSON order). */
  lat: number | null;
  lon: number | null;
}

/** Why an Atlas result (or one entry of its `resultset`) became no popwatch result: counted, never dropped silently. */
export const ATLAS_UNMAPPED_REASONS = [
  /** A measurement type popwatch does not map (traceroute, ntp, wifi, ...). */
  "unsupported_type",
  /** Not an Atlas result: not an object, or without prb_id, timestamp, type or a destination. */
  "malformed",
  /** `abuf` is not Base64, or not a DNS message popwatch's decoder reads. */
  "bad_abuf",
  /** A `dns` result with neither `result` nor `error` (nor a `resultset` entry with one). */
  "no_answer",
  /** `timestamp` outside the years a result can have (before Atlas, or far in the future). */
  "bad_time",
] as const;
export type AtlasUnmappedReason = (typeof ATLAS_UNMAPPED_REASONS)[number];

/** A result ready for the store: filed under `atlas-<prb_id>`, in the slot of its Atlas timestamp. */
export type AtlasMappedResult = ProbeResult & { region: string; slotAt: string };

export interface AtlasMapping {
  /** One per mapped result (a `resultset` gives one per entry). */
  results: AtlasMappedResult[];
  /** One per result or entry that was not mapped. */
  unmapped: AtlasUnmappedReason[];
}

/** The probe archive, indexed by probe id; problems name the entries that could not be read. */
export interface AtlasProbeArchive {
  probes: ReadonlyMap<number, AtlasProbeInfo>;
  problems: string[];
}

export type { Vantage };
