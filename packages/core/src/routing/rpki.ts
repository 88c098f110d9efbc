// RPKI route origin validation (RFC 6811) against a VRP file exported by a
// relying party: rpki-client's JSON and Routinator's json / jsonext formats
// share a `roas` array of { asn, prefix, maxLength, … } (asn as 64500,
// "64500" or "AS64500"; other members, and other top-level arrays such as
// routerKeys or aspas, are ignored).
//
// A full VRP set is about 500,000 entries checked against thousands of
// announcements, so VRPs are indexed by family and prefix length: a lookup
// masks the route's network to each length that has VRPs (at most 33 or 129,
// in practice a few dozen) and reads one hash map per length.
import { VrpFileError } from "../errors";
import { type Prefix, formatPrefix, parsePrefix, prefixOf } from "./prefix";

/** One validated ROA payload. */
export interface Vrp {
  asn: number;
  /** Canonical. */
  prefix: string;
  maxLength: number;
  /** Trust anchor, when the file names it. */
  ta?: string;
}

export type RpkiValidity = "valid" | "invalid" | "not-found";

const MAX_ASN = 4_294_967_295;

/**
 * The VRPs of a relying party's JSON export. Throws VrpFileError naming the
 * entry (its index in `roas`) and the field at fault; a file is used whole or
 * not at all, as a half-read VRP set would turn valid routes invalid.
 */
export function parseVrps(text: string): Vrp[] {
  const roas = roasOf(text);
  const vrps: Vrp[] = new Array(roas.length);
  for (let index = 0; index < roas.length; index++) vrps[index] = parseVrp(roas[index], index).vrp;
  return vrps;
}

/** parseVrps then indexVrps, parsing each prefix once: what a process that only validates routes needs. */
export function loadVrpIndex(text: string): VrpIndex {
  const roas = roasOf(text);
  const builder = new IndexBuilder();
  for (let index = 0; index < roas.length; index++) {
    const { vrp, prefix } = parseVrp(roas[index], index);
    builder.add(vrp, prefix);
  }
  return builder.build();
}

function roasOf(text: string): unknown[] {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (cause) {
    throw new VrpFileError(null, `not JSON (${(cause as Error).message})`, { cause });
  }
  if (document === null || typeof document !== "object" || Array.isArray(document)) {
    throw new VrpFileError(null, "expected a JSON object with a roas array (rpki-client or Routinator json/jsonext output)");
  }
  const roas = (document as { roas?: unknown }).roas;
  if (!Array.isArray(roas)) throw new VrpFileError(null, "no roas array (rpki-client or Routinator json/jsonext output has one)");
  return roas;
}

function parseVrp(entry: unknown, index: number): { vrp: Vrp; prefix: Prefix } {
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) throw new VrpFileError(index, "expected an object");
  const { asn, prefix, maxLength, ta } = entry as Record<string, unknown>;
  const number = parseAsn(asn);
  if (number === null) throw new VrpFileError(index, `asn: expected an AS number such as 64500 or "AS64500", got ${JSON.stringify(asn)}`);
  if (typeof prefix !== "string") throw new VrpFileError(index, "prefix: expected a prefix text such as 198.51.100.0/24");
  const parsed = parsePrefix(prefix);
  if (parsed.prefix === null) throw new VrpFileError(index, `prefix: ${JSON.stringify(prefix)} is not a prefix (${parsed.problem})`);
  const longest = parsed.prefix.family === 4 ? 32 : 128;
  if (typeof maxLength !== "number" || !Number.isInteger(maxLength) || maxLength < parsed.prefix.length || maxLength > longest) {
    throw new VrpFileError(
      index,
      `maxLength: expected an integer from ${parsed.prefix.length} to ${longest}, got ${JSON.stringify(maxLength)}`,
    );
  }
  // IPv4 text that parses is canonical already; IPv6 may be upper case or uncompressed.
  const vrp: Vrp = { asn: number, prefix: parsed.prefix.family === 4 ? prefix : formatPrefix(parsed.prefix), maxLength };
  if (typeof ta === "string") vrp.ta = ta;
  return { vrp, prefix: parsed.prefix };
}

function parseAsn(value: unknown): number | null {
  let number: number;
  if (typeof value === "number") number = value;
  else if (typeof value === "string") {
    const digits = /^(?:AS)?(\d{1,10})$/i.exec(value);
    if (digits === null) return null;
    number = Number(digits[1]);
  } else return null;
  // AS0 is valid in a VRP (RFC 7607: "never route this"); it matches no route.
  return Number.isInteger(number) && number >= 0 && number <= MAX_ASN ? number : null;
}

/** VRPs indexed for rpkiValidity. */
export interface VrpIndex {
  readonly size: number;
  /** Per family: prefix length → masked network key → VRPs. */
  readonly v4: ReadonlyMap<number, ReadonlyMap<number, readonly Vrp[]>>;
  readonly v6: ReadonlyMap<number, ReadonlyMap<string, readonly Vrp[]>>;
  /** Lengths present, ascending, per family. */
  readonly lengths4: readonly number[];
  readonly lengths6: readonly number[];
}

export function indexVrps(vrps: readonly Vrp[]): VrpIndex {
  const builder = new IndexBuilder();
  for (const vrp of vrps) builder.add(vrp, prefixOf(vrp.prefix));
  return builder.build();
}

class IndexBuilder {
  private readonly v4 = new Map<number, Map<number, Vrp[]>>();
  private readonly v6 = new Map<number, Map<string, Vrp[]>>();
  private size = 0;

  add(vrp: Vrp, prefix: Prefix): void {
    this.size++;
    if (prefix.family === 4) addTo(this.v4, prefix.length, key4(prefix.bytes, prefix.length), vrp);
    else addTo(this.v6, prefix.length, key6(prefix.bytes, prefix.length), vrp);
  }

  build(): VrpIndex {
    const ascending = (map: Map<number, unknown>) => [...map.keys()].sort((a, b) => a - b);
    return { size: this.size, v4: this.v4, v6: this.v6, lengths4: ascending(this.v4), lengths6: ascending(this.v6) };
  }
}

function addTo<K>(index: Map<number, Map<K, Vrp[]>>, length: number, key: K, vrp: Vrp): void {
  let byKey = index.get(length);
  if (byKey === undefined) {
    byKey = new Map();
    index.set(length, byKey);
  }
  const list = byKey.get(key);
  if (list === undefined) byKey.set(key, [vrp]);
  else list.push(vrp);
}

function key4(bytes: Uint8Array, length: number): number {
  const address = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  if (length === 0) return 0;
  return (address & (0xffffffff << (32 - length))) >>> 0;
}

function key6(bytes: Uint8Array, length: number): string {
  const whole = length >> 3;
  let key = "";
  for (let i = 0; i < whole; i++) key += String.fromCharCode(bytes[i]!);
  const rest = length & 7;
  if (rest > 0) key += String.fromCharCode(bytes[whole]! & ((0xff << (8 - rest)) & 0xff));
  return key;
}

/**
 * RFC 6811 §2: valid when a covering VRP matches the origin and allows the
 * route's length; invalid when VRPs cover the route but none matches; else
 * not-found. An origin of null (a path ending in an AS_SET) matches no VRP.
 */
export function rpkiValidity(index: VrpIndex, prefix: string, origin: number | null): RpkiValidity {
  const route = prefixOf(prefix);
  let covered = false;
  const check = (vrps: readonly Vrp[] | undefined): boolean => {
    if (vrps === undefined) return false;
    covered = true;
    for (const vrp of vrps) if (origin !== null && vrp.asn === origin && vrp.asn !== 0 && route.length <= vrp.maxLength) return true;
    return false;
  };
  if (route.family === 4) {
    for (const length of index.lengths4) {
      if (length > route.length) break;
      if (check(index.v4.get(length)!.get(key4(route.bytes, length)))) return "valid";
    }
  } else {
    for (const length of index.lengths6) {
      if (length > route.length) break;
      if (check(index.v6.get(length)!.get(key6(route.bytes, length)))) return "valid";
    }
  }
  return covered ? "invalid" : "not-found";
}
