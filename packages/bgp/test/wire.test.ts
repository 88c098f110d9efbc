import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BgpWireError, decodeBgpMessage, updateRouteEvents } from "../src/index";
import type { BgpUpdate } from "../src/wire/types";
import { asPath, attribute, ipv6, message, prefix, u16, u32, update } from "./wire-build";

const context = { timeMs: 1_700_000_000_500, source: "mrt", peer: "198.51.100.1", peerAs: 64500 };

function decodeUpdate(bytes: Uint8Array, as4 = true, addPath = false): BgpUpdate {
  const decoded = decodeBgpMessage(bytes, { as4, addPath });
  if (decoded.type !== "UPDATE") throw new Error(`expected an UPDATE, got ${decoded.type}`);
  return decoded;
}

describe("decodeBgpMessage", () => {
  it("decodes an IPv4 UPDATE with every common attribute into route events", () => {
    const attributes = [
      ...attribute(1, [0]),
      ...attribute(2, asPath([[2, [64500, 4200000001, 64502]]], 4)),
      ...attribute(3, [198, 51, 100, 1]),
      ...attribute(4, u32(50), 0x80),
      ...attribute(5, u32(200)),
      ...attribute(6, []),
      ...attribute(7, [...u32(64502), 198, 51, 100, 9], 0xc0),
      ...attribute(8, [...u32((64500 << 16) | 10), ...u32(0xffffff01)], 0xc0),
      ...attribute(32, [...u32(4200000001), ...u32(1), ...u32(2)], 0xc0),
      ...attribute(99, [1, 2, 3], 0xc0),
    ];
    const bytes = update(prefix([203, 0, 113, 0], 24), attributes, [...prefix([198, 51, 100, 0], 24), ...prefix([198, 51, 100, 128], 25)]);
    const decoded = decodeUpdate(bytes);
    expect(decoded.attributes).toMatchObject({
      med: 50,
      localPref: 200,
      atomicAggregate: true,
      aggregator: { asn: 64502, address: "198.51.100.9" },
      unknownCount: 1,
    });
    expect(updateRouteEvents(decoded, context)).toEqual([
      { type: "W", ...context, prefix: "203.0.113.0/24", asPath: [], origin: null },
      {
        type: "A",
        ...context,
        prefix: "198.51.100.0/24",
        asPath: [64500, 4200000001, 64502],
        origin: 64502,
        originAttribute: "IGP",
        nextHop: "198.51.100.1",
        communities: ["64500:10", "65535:65281"],
        largeCommunities: ["4200000001:1:2"],
      },
      expect.objectContaining({ type: "A", prefix: "198.51.100.128/25", origin: 64502 }),
    ]);
  });

  it("merges AS4_PATH into a 2-byte AS_PATH (RFC 6793 §4.2.3) and keeps AS_SETs", () => {
    const attributes = [
      ...attribute(1, [2]),
      ...attribute(
        2,
        asPath(
          [
            [2, [64500, 23456, 23456]],
            [1, [23456, 64510]],
          ],
          2,
        ),
      ),
      ...attribute(3, [198, 51, 100, 1]),
      ...attribute(
        17,
        asPath(
          [
            [2, [4200000001, 4200000002]],
            [1, [4200000003, 64510]],
          ],
          4,
        ),
        0xc0,
      ),
    ];
    const [event] = updateRouteEvents(decodeUpdate(update([], attributes, prefix([198, 51, 100, 0], 24)), false), context);
    expect(event).toMatchObject({
      asPath: [64500, 4200000001, 4200000002, 4200000003, 64510],
      asSets: [[4200000003, 64510]],
      origin: null,
      originAttribute: "INCOMPLETE",
    });
  });

  it("ignores AS4_PATH when it is longer than AS_PATH, and on 4-byte sessions", () => {
    const longer = [...attribute(2, asPath([[2, [64500]]], 2)), ...attribute(17, asPath([[2, [1, 2]]], 4), 0xc0)];
    expect(decodeUpdate(update([], longer, []), false).attributes.asPath).toEqual([{ type: 2, asns: [64500] }]);
    const as4 = [...attribute(2, asPath([[2, [64500, 23456]]], 4)), ...attribute(17, asPath([[2, [7]]], 4), 0xc0)];
    expect(decodeUpdate(update([], as4, []), true).attributes.asPath).toEqual([{ type: 2, asns: [64500, 23456] }]);
  });

  it("decodes MP_REACH/MP_UNREACH for IPv6 with a global and link-local next hop, in RFC 5952 text", () => {
    const reach = [
      ...u16(2),
      1,
      32,
      ...ipv6("2001:db8:0:0:1:0:0:1"),
      ...ipv6("fe80::1"),
      0,
      ...prefix(ipv6("2001:db8:abcd::"), 48),
      ...prefix(ipv6("2001:db8::"), 32),
    ];
    const unreach = [...u16(2), 1, ...prefix(ipv6("2001:db8:ffff::"), 64)];
    const attributes = [
      ...attribute(1, [0]),
      ...attribute(2, asPath([[2, [64500, 64501]]], 4)),
      ...attribute(14, reach, 0x80),
      ...attribute(15, unreach, 0x80),
    ];
    const decoded = decodeUpdate(update([], attributes, []));
    expect(decoded.attributes.mpReach).toMatchObject({ afi: 2, safi: 1, nextHop: "2001:db8::1:0:0:1", linkLocalNextHop: "fe80::1" });
    expect(updateRouteEvents(decoded, context).map((e) => [e.type, e.prefix, e.nextHop ?? null, e.origin])).toEqual([
      ["W", "2001:db8:ffff::/64", null, null],
      ["A", "2001:db8:abcd::/48", "2001:db8::1:0:0:1", 64501],
      ["A", "2001:db8::/32", "2001:db8::1:0:0:1", 64501],
    ]);
  });

  it("reads ADD-PATH identifiers before each prefix", () => {
    const nlri = [...prefix([198, 51, 100, 0], 24, 7), ...prefix([203, 0, 113, 0], 24, 8)];
    const decoded = decodeUpdate(update(prefix([203, 0, 113, 128], 25, 9), [...attribute(1, [0]), ...attribute(2, [])], nlri), true, true);
    expect(decoded.announced).toEqual({ prefixes: ["198.51.100.0/24", "203.0.113.0/24"], pathIds: [7, 8] });
    expect(decoded.withdrawn).toEqual({ prefixes: ["203.0.113.128/25"], pathIds: [9] });
  });

  it("zeroes bits past the prefix length", () => {
    const decoded = decodeUpdate(update([], [], [13, 11, 13]));
    expect(decoded.announced.prefixes).toEqual(["11.8.0.0/13"]);
  });

  it("recognises OPEN (with the 4-octet AS capability), KEEPALIVE and NOTIFICATION", () => {
    const capability = [65, 4, ...u32(4200000001)];
    const open = message(1, [4, ...u16(23456), ...u16(90), 198, 51, 100, 1, capability.length + 2, 2, capability.length, ...capability]);
    expect(decodeBgpMessage(open, { as4: false })).toEqual({
      type: "OPEN",
      version: 4,
      myAs: 23456,
      as4: 4200000001,
      holdTime: 90,
      bgpId: "198.51.100.1",
    });
    expect(decodeBgpMessage(message(4, []), { as4: true })).toEqual({ type: "KEEPALIVE" });
    expect(decodeBgpMessage(message(3, [6, 2, 9]), { as4: true })).toMatchObject({ type: "NOTIFICATION", errorCode: 6, errorSubcode: 2 });
  });

  it("classifies malformed messages with a code and an offset", () => {
    const bad = (bytes: Uint8Array) => {
      try {
        decodeBgpMessage(bytes, { as4: true });
      } catch (err) {
        if (err instanceof BgpWireError) return [err.code, err.offset];
        throw err;
      }
      return "decoded";
    };
    const ok = update([], [...attribute(1, [0])], prefix([198, 51, 100, 0], 24));
    const marker = ok.slice();
    marker[3] = 0;
    expect(bad(marker)).toEqual(["bad-marker", 3]);
    expect(bad(ok.subarray(0, ok.length - 1))).toEqual(["truncated", 16]);
    expect(bad(message(9, []))).toEqual(["bad-message-type", 18]);
    expect(bad(update([], attribute(1, [5]), []))).toEqual(["bad-attribute", 23]);
    expect(bad(update([], [], [33, 1, 2, 3, 4, 5]))).toEqual(["bad-prefix", 23]);
    expect(bad(update([], attribute(2, [2, 3, 0, 1]), []))).toEqual(["truncated", 26]);
  });

  it("throws nothing but a BgpWireError on arbitrary bytes, with or without a valid header", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), fc.boolean(), fc.boolean(), (body, withHeader, as4, addPath) => {
        const bytes = withHeader ? message(2, Array.from(body)) : body;
        try {
          const decoded = decodeBgpMessage(bytes, { as4, addPath });
          if (decoded.type === "UPDATE") updateRouteEvents(decoded, context);
        } catch (err) {
          expect(err).toBeInstanceOf(BgpWireError);
          expect((err as BgpWireError).offset).toBeGreaterThanOrEqual(0);
          expect((err as BgpWireError).offset).toBeLessThanOrEqual(bytes.length);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
