// DNS code points and their mnemonics (RFC 1035, 3597, 6891 and the IANA
// registries): the tables the encoder, decoder and spec compiler share.

// biome-ignore format: a mnemonic table laid out by hand, several codes a line, in code order
const TYPE_BY_NAME: Readonly<Record<string, number>> = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, NULL: 10, WKS: 11, PTR: 12, HINFO: 13, MINFO: 14, MX: 15, TXT: 16, RP: 17, AFSDB: 18,
  SIG: 24, KEY: 25, AAAA: 28, LOC: 29, SRV: 33, NAPTR: 35, KX: 36, CERT: 37, DNAME: 39,
  OPT: 41, APL: 42, DS: 43, SSHFP: 44, IPSECKEY: 45, RRSIG: 46, NSEC: 47, DNSKEY: 48,
  DHCID: 49, NSEC3: 50, NSEC3PARAM: 51, TLSA: 52, SMIMEA: 53, HIP: 55, CDS: 59, CDNSKEY: 60,
  OPENPGPKEY: 61, CSYNC: 62, ZONEMD: 63, SVCB: 64, HTTPS: 65, SPF: 99, EUI48: 108, EUI64: 109, TKEY: 249, TSIG: 250,
  IXFR: 251, AXFR: 252, ANY: 255, URI: 256, CAA: 257, TA: 32768, DLV: 32769,
};
const TYPE_NAME = new Map<number, string>(Object.entries(TYPE_BY_NAME).map(([name, code]) => [code, name]));

export const TYPE_TXT = 16;
export const TYPE_OPT = 41;
export const CLASS_IN = 1;
export const CLASS_CH = 3;
export const OPTION_NSID = 3;

const CLASS_NAME = new Map<number, string>([
  [1, "IN"],
  [3, "CH"],
  [4, "HS"],
  [254, "NONE"],
  [255, "ANY"],
]);

// Header rcodes (RFC 1035, 2136) and the extended ones an OPT record can carry (RFC 6891, 2845, 7873).
// biome-ignore format: a code table laid out by hand, six codes a line, in code order
const RCODE_NAME = new Map<number, string>([
  [0, "NOERROR"], [1, "FORMERR"], [2, "SERVFAIL"], [3, "NXDOMAIN"], [4, "NOTIMP"], [5, "REFUSED"],
  [6, "YXDOMAIN"], [7, "YXRRSET"], [8, "NXRRSET"], [9, "NOTAUTH"], [10, "NOTZONE"], [11, "DSOTYPENI"],
  [16, "BADVERS"], [17, "BADKEY"], [18, "BADTIME"], [19, "BADMODE"], [20, "BADNAME"], [21, "BADALG"],
  [22, "BADTRUNC"], [23, "BADCOOKIE"],
]);
const RCODE_BY_NAME = new Map<string, number>([...RCODE_NAME].map(([code, name]) => [name, code]));

/** Type mnemonic, or the RFC 3597 `TYPEnnn` form for types without one. */
export function typeName(type: number): string {
  return TYPE_NAME.get(type) ?? `TYPE${type}`;
}

export function className(cls: number): string {
  return CLASS_NAME.get(cls) ?? `CLASS${cls}`;
}

/** Rcode mnemonic; `RCODEnnn` for unassigned values. */
export function rcodeName(rcode: number): string {
  return RCODE_NAME.get(rcode) ?? `RCODE${rcode}`;
}

/** Type number for a mnemonic (any case) or `TYPEnnn`; undefined when unknown. */
export function typeFromName(name: string): number | undefined {
  const upper = name.toUpperCase();
  const known = TYPE_BY_NAME[upper];
  if (known !== undefined) return known;
  const generic = /^TYPE(\d{1,5})$/.exec(upper);
  if (!generic) return undefined;
  const value = Number(generic[1]);
  return value <= 0xffff ? value : undefined;
}

/** Rcode number for a mnemonic (any case) or `RCODEnnn`; undefined when unknown. */
export function rcodeFromName(name: string): number | undefined {
  const upper = name.toUpperCase();
  const known = RCODE_BY_NAME.get(upper);
  if (known !== undefined) return known;
  const generic = /^RCODE(\d{1,4})$/.exec(upper);
  if (!generic) return undefined;
  const value = Number(generic[1]);
  return value <= 0xfff ? value : undefined;
}
