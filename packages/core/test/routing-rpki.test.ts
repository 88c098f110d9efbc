// VRP files (rpki-client and Routinator JSON) and route origin validation per
// RFC 6811, against a small hand-written VRP set.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PopwatchCoreError, VrpFileError } from "../src/errors";
import { formatPrefix } from "../src/routing/prefix";
import { type Vrp, indexVrps, loadVrpIndex, parseVrps, rpkiValidity } from "../src/routing/rpki";

const fixture = (name: string) => readFileSync(new URL(`fixtures/rpki/${name}`, import.meta.url), "utf8");

describe("parseVrps", () => {
  it("reads rpki-client JSON", () => {
    const vrps = parseVrps(fixture("rpki-client.json"));
    expect(vrps).toHaveLength(6);
    expect(vrps[0]).toEqual({ asn: 64500, prefix: "198.51.100.0/24", maxLength: 24, ta: "lab" });
    expect(vrps[2]).toEqual({ asn: 0, prefix: "203.0.113.0/24", maxLength: 32, ta: "lab" });
  });

  it("reads Routinator jsonext, canonicalising prefixes and ignoring other members", () => {
    expect(parseVrps(fixture("routinator.jsonext"))).toEqual([
      { asn: 64500, prefix: "198.51.100.0/24", maxLength: 24 },
      { asn: 64500, prefix: "2001:db8::/32", maxLength: 48 },
    ]);
  });

  it.each([
    ["not JSON", "{roas:", null, /not JSON/],
    ["not an object", "[]", null, /expected a JSON object/],
    ["no roas", '{"routerKeys":[]}', null, /no roas array/],
    ["an entry that is no object", '{"roas":[{"asn":1,"prefix":"198.51.100.0/24","maxLength":24}, 7]}', 1, /roas\[1\]: expected an object/],
    ["a bad asn", '{"roas":[{"asn":"ASX","prefix":"198.51.100.0/24","maxLength":24}]}', 0, /roas\[0\]: asn: expected an AS number/],
    ["an asn too large", '{"roas":[{"asn":4294967296,"prefix":"198.51.100.0/24","maxLength":24}]}', 0, /asn/],
    ["host bits", '{"roas":[{"asn":1,"prefix":"198.51.100.1/24","maxLength":24}]}', 0, /prefix: .* \(host-bits\)/],
    ["a missing prefix", '{"roas":[{"asn":1,"maxLength":24}]}', 0, /prefix: expected a prefix/],
    [
      "maxLength below the length",
      '{"roas":[{"asn":1,"prefix":"198.51.100.0/24","maxLength":23}]}',
      0,
      /maxLength: expected an integer from 24 to 32/,
    ],
    ["maxLength beyond the family", '{"roas":[{"asn":1,"prefix":"2001:db8::/32","maxLength":129}]}', 0, /from 32 to 128/],
  ])("refuses %s, naming the entry", (_name, text, index, message) => {
    try {
      parseVrps(text);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(VrpFileError);
      expect((error as VrpFileError).code).toBe("vrp_file_invalid");
      expect((error as VrpFileError).index).toBe(index);
      expect((error as Error).message).toMatch(message);
    }
  });

  it("throws only its classified error on arbitrary text", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        try {
          parseVrps(text);
        } catch (error) {
          expect(error).toBeInstanceOf(PopwatchCoreError);
          expect((error as PopwatchCoreError).code).toBe("vrp_file_invalid");
        }
      }),
    );
  });
});

describe("rpkiValidity", () => {
  const index = indexVrps(parseVrps(fixture("rpki-client.json")));

  it.each([
    ["198.51.100.0/24", 64500, "valid"],
    // Covered, the origin matches but the route is longer than the VRP allows.
    ["198.51.100.0/25", 64500, "invalid"],
    // Another VRP of the same prefix allows AS64501 up to /25.
    ["198.51.100.128/25", 64501, "valid"],
    ["198.51.100.0/24", 64666, "invalid"],
    // Covered by the /16 of AS64510 only.
    ["198.51.7.0/24", 64510, "invalid"],
    ["198.51.0.0/16", 64510, "valid"],
    ["192.0.0.0/8", 64500, "not-found"],
    // AS0 VRPs match no origin (RFC 7607): never routed.
    ["203.0.113.0/24", 0, "invalid"],
    ["2001:db8:1::/48", 64500, "valid"],
    ["2001:db8:1::/49", 64500, "invalid"],
    ["2001:db8:ff00::/40", 64502, "valid"],
    ["2001:db8:ff00::/40", 64500, "valid"],
    ["2001:db9::/32", 64500, "not-found"],
  ] as const)("%s from AS%i is %s", (prefix, origin, validity) => {
    expect(rpkiValidity(index, prefix, origin)).toBe(validity);
  });

  it("builds the same index from the file in one pass", () => {
    for (const name of ["rpki-client.json", "routinator.jsonext"]) {
      expect(loadVrpIndex(fixture(name))).toEqual(indexVrps(parseVrps(fixture(name))));
    }
    expect(() => loadVrpIndex('{"roas":[{"asn":1,"prefix":"198.51.100.1/24","maxLength":24}]}')).toThrow(VrpFileError);
  });

  it("finds a route ending in an AS_SET invalid where a VRP covers it", () => {
    expect(rpkiValidity(index, "198.51.100.0/24", null)).toBe("invalid");
    expect(rpkiValidity(index, "192.0.0.0/8", null)).toBe("not-found");
  });

  it("agrees with a direct reading of RFC 6811 on random VRPs and routes", () => {
    const prefixArb = fc
      .record({ a: fc.integer({ min: 0, max: 3 }), b: fc.integer({ min: 0, max: 255 }), length: fc.integer({ min: 8, max: 28 }) })
      .map(({ a, b, length }) => {
        const bytes = new Uint8Array([198, 51 + a, b, 0]);
        const mask = length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
        const value = ((((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8)) >>> 0) & mask) >>> 0;
        return {
          text: formatPrefix({
            family: 4,
            bytes: new Uint8Array([value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255]),
            length,
          }),
          value,
          length,
        };
      });
    fc.assert(
      fc.property(
        fc.array(fc.record({ p: prefixArb, asn: fc.constantFrom(0, 64500, 64501), extra: fc.integer({ min: 0, max: 4 }) }), {
          maxLength: 20,
        }),
        prefixArb,
        fc.constantFrom(64500, 64501, 64502),
        (entries, route, origin) => {
          const vrps: Vrp[] = entries.map(({ p, asn, extra }) => ({ asn, prefix: p.text, maxLength: Math.min(32, p.length + extra) }));
          const covering = entries.filter(
            ({ p }) =>
              p.length <= route.length && (route.value & (p.length === 0 ? 0 : (0xffffffff << (32 - p.length)) >>> 0)) >>> 0 === p.value,
          );
          const matched = covering.some(({ p, asn, extra }) => asn === origin && route.length <= Math.min(32, p.length + extra));
          const expected = matched ? "valid" : covering.length > 0 ? "invalid" : "not-found";
          expect(rpkiValidity(indexVrps(vrps), route.text, origin)).toBe(expected);
        },
      ),
    );
  });
});
