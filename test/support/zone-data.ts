// The zone every loopback test DNS server (NSD, Knot, BIND) serves, and the
// records tests ask for. Both the zone file and the expectations come from
// RECORDS, so a test can never expect what the servers do not hold.

export const ZONE = "popwatch.test" as const;

export interface ZoneRecords {
  /** `www.popwatch.test. A 198.51.100.10` */
  a: { name: string; address: string };
  /** `www.popwatch.test. AAAA 2001:db8::10` */
  aaaa: { name: string; address: string };
  /** `txt.popwatch.test. TXT "popwatch test record"` */
  txt: { name: string; text: string };
  /** A TXT RRset too big for 512-byte UDP: TC=1 without EDNS, fits in a 1232-byte EDNS buffer and over TCP. */
  bigTxt: { name: string; count: number; texts: string[] };
  /** Many A records at one name, also > 512 bytes (TC=1 without EDNS). */
  manyA: { name: string; count: number; addresses: string[] };
  /** A name that does not exist (NXDOMAIN). */
  missing: string;
}

const bigTexts = Array.from(
  { length: 8 },
  (_, i) => `big-${i}-` + "popwatch truncation padding ".repeat(4).slice(0, 92 - String(i).length),
);
const manyAddresses = Array.from({ length: 40 }, (_, i) => `198.51.100.${100 + i}`);

export const RECORDS: ZoneRecords = {
  a: { name: `www.${ZONE}`, address: "198.51.100.10" },
  aaaa: { name: `www.${ZONE}`, address: "2001:db8::10" },
  txt: { name: `txt.${ZONE}`, text: "popwatch test record" },
  bigTxt: { name: `big.${ZONE}`, count: bigTexts.length, texts: bigTexts },
  manyA: { name: `many.${ZONE}`, count: manyAddresses.length, addresses: manyAddresses },
  missing: `nope.${ZONE}`,
};

/** The master file of ZONE, holding RECORDS. */
export function zoneFile(): string {
  return [
    `$ORIGIN ${ZONE}.`,
    "$TTL 300",
    `@ IN SOA ns1.${ZONE}. hostmaster.${ZONE}. ( 2024010101 3600 600 86400 300 )`,
    `@ IN NS ns1.${ZONE}.`,
    `@ IN TXT "popwatch test zone"`,
    "ns1 IN A 127.0.0.1",
    `www IN A ${RECORDS.a.address}`,
    `www IN AAAA ${RECORDS.aaaa.address}`,
    `txt IN TXT "${RECORDS.txt.text}"`,
    ...bigTexts.map((t) => `big IN TXT "${t}"`),
    ...manyAddresses.map((a) => `many IN A ${a}`),
    "",
  ].join("\n");
}
