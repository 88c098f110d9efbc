// The Atlas probe archive (as /api/v2/probes/ pages and the daily archive
// file shape it) and the vantages its probes become.

import { VANTAGE_NAME_PATTERN, claimedPoint } from "@popwatch/core";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { atlasVantage, readAtlasProbeArchive } from "../src/index";

// The fields of a probe object as the API returns them (others omitted; they are ignored).
const apiPage = {
  count: 3,
  next: null,
  previous: null,
  objects: [
    {
      id: 6001,
      asn_v4: 3333,
      asn_v6: 3333,
      country_code: "nl",
      geometry: { type: "Point", coordinates: [4.8975, 52.3785] },
      status: { id: 1, name: "Connected" },
    },
    { id: 6002, asn_v4: null, asn_v6: 64500, country_code: "DE", geometry: { type: "Point", coordinates: [8.6825, 50.1105] } },
    { id: 6003, asn_v4: null, asn_v6: null, country_code: null, geometry: null },
  ],
};

describe("readAtlasProbeArchive", () => {
  test("reads id, country, ASNs and [lon, lat] from `objects`", () => {
    const { probes, problems } = readAtlasProbeArchive(apiPage);
    expect(problems).toEqual([]);
    expect(probes.get(6001)).toEqual({ id: 6001, countryCode: "NL", asnV4: 3333, asnV6: 3333, lat: 52.3785, lon: 4.8975 });
    expect(probes.get(6002)).toEqual({ id: 6002, countryCode: "DE", asnV4: null, asnV6: 64500, lat: 50.1105, lon: 8.6825 });
    expect(probes.get(6003)).toEqual({ id: 6003, countryCode: null, asnV4: null, asnV6: null, lat: null, lon: null });
  });

  test("a bare array reads the same", () => {
    expect(readAtlasProbeArchive(apiPage.objects).probes).toEqual(readAtlasProbeArchive(apiPage).probes);
  });

  test("entries that cannot be read are named by index; the others are kept", () => {
    const { probes, problems } = readAtlasProbeArchive({
      objects: [
        { id: 1, country_code: "FR", geometry: { coordinates: [2.35, 48.85] } },
        "probe",
        { id: "2" },
        { id: 0 },
        { id: 1, country_code: "DE" },
        { id: 3, country_code: "France", asn_v4: -5, geometry: { coordinates: [200, 10] } },
      ],
    });
    expect([...probes.keys()]).toEqual([1, 3]);
    expect(probes.get(3)).toEqual({ id: 3, countryCode: null, asnV4: null, asnV6: null, lat: null, lon: null });
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/^objects\[1\]: /);
    expect(problems[1]).toMatch(/^objects\[2\]: /);
    expect(problems[2]).toMatch(/^objects\[3\]: /);
    expect(problems[3]).toMatch(/^objects\[4\]: probe 1 listed again/);
  });

  test("something that is not an archive is one problem, not a throw", () => {
    for (const json of [null, 5, "x", { objects: "x" }, {}]) {
      const archive = readAtlasProbeArchive(json);
      expect(archive.probes.size).toBe(0);
      expect(archive.problems).toHaveLength(1);
    }
  });

  test("arbitrary JSON never throws; every entry is a probe or a problem", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.array(fc.jsonValue()),
          fc.array(fc.jsonValue()).map((objects) => ({ objects })),
        ),
        (json) => {
          const { probes, problems } = readAtlasProbeArchive(json);
          const objects = Array.isArray(json) ? json : (json as { objects?: unknown } | null)?.objects;
          if (Array.isArray(objects) && typeof json === "object") expect(probes.size + problems.length).toBe(objects.length);
          else expect(problems).toHaveLength(1);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("atlasVantage", () => {
  test("a located probe: name, source, claimed point, country, asn_v4 first", () => {
    const info = readAtlasProbeArchive(apiPage).probes.get(6001);
    const vantage = atlasVantage(6001, info);
    expect(vantage).toEqual({
      name: "atlas-6001",
      source: "atlas",
      claimed: { lat: 52.3785, lon: 4.8975 },
      country: "NL",
      asn: 3333,
      atlasProbeId: 6001,
    });
    expect(vantage.name).toMatch(VANTAGE_NAME_PATTERN);
    expect(claimedPoint(vantage.claimed)).toEqual({ lat: 52.3785, lon: 4.8975 });
  });

  test("asn_v6 when there is no asn_v4; nothing claimed without coordinates or archive entry", () => {
    const { probes } = readAtlasProbeArchive(apiPage);
    expect(atlasVantage(6002, probes.get(6002)).asn).toBe(64500);
    expect(atlasVantage(6003, probes.get(6003))).toMatchObject({ claimed: null, country: null, asn: null });
    expect(atlasVantage(9999, undefined)).toEqual({
      name: "atlas-9999",
      source: "atlas",
      claimed: null,
      country: null,
      asn: null,
      atlasProbeId: 9999,
    });
  });
});
