// Prefix math: parsing any valid spelling, one canonical text per address
// (RFC 5952 for IPv6), and containment by bits.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  canonicalPrefix,
  formatAddress,
  formatPrefix,
  parseAddress,
  parsePrefix,
  prefixContains,
  prefixContainsAddress,
  prefixOf,
} from "../src/routing/prefix";

const words = fc.array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 });
const bytesOf = (list: number[]) => new Uint8Array(list.flatMap((word) => [word >> 8, word & 0xff]));

/** Any spelling RFC 4291 §2.2 allows: leading zeros, upper case, and "::" over any run of zero words (or none). */
const spelling = (list: number[]) =>
  fc
    .record({ pad: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 8, maxLength: 8 }), upper: fc.boolean(), run: fc.nat() })
    .map(({ pad, upper, run }) => {
      const groups = list.map((word, i) => word.toString(16).padStart(Math.min(4, word.toString(16).length + pad[i]!), "0"));
      const runs: Array<[number, number]> = [];
      for (let i = 0; i < 8; i++) {
        if (list[i] !== 0) continue;
        let j = i;
        while (j < 8 && list[j] === 0) j++;
        for (let end = i + 1; end <= j; end++) runs.push([i, end]);
      }
      let text = groups.join(":");
      const chosen = runs.length === 0 ? undefined : runs[run % (runs.length + 1)];
      if (chosen !== undefined) text = `${groups.slice(0, chosen[0]).join(":")}::${groups.slice(chosen[1]).join(":")}`;
      return upper ? text.toUpperCase() : text;
    });

describe("IPv6 text", () => {
  it.each([
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:DB8::AbCd", "2001:db8::abcd"],
    ["0:0:0:0:0:0:0:0", "::"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["::ffff:c633:6401", "::ffff:198.51.100.1"],
    ["1:0:0:0:0:0:0:0", "1::"],
  ])("writes %s as %s (RFC 5952)", (text, canonical) => {
    expect(formatAddress(parseAddress(text)!)).toBe(canonical);
  });

  it("round-trips every address through its canonical text", () => {
    fc.assert(
      fc.property(words, (list) => {
        const bytes = bytesOf(list);
        expect(parseAddress(formatAddress(bytes))).toEqual(bytes);
      }),
    );
  });

  it("writes every spelling of an address the same canonical way", () => {
    fc.assert(
      fc.property(
        words.chain((list) => fc.tuple(fc.constant(list), spelling(list))),
        ([list, text]) => {
          expect(parseAddress(text)).toEqual(bytesOf(list));
          expect(formatAddress(parseAddress(text)!)).toBe(formatAddress(bytesOf(list)));
        },
      ),
    );
  });

  it("follows RFC 5952 §4: lower case, no leading zeros, '::' over the longest (first) run of two or more zero words", () => {
    fc.assert(
      fc.property(words, (list) => {
        const text = formatAddress(bytesOf(list));
        if (text.includes(".")) return; // IPv4-mapped, §5
        expect(text).toMatch(/^[0-9a-f:]+$/);
        const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
        const groups = [...(head === "" ? [] : head!.split(":")), ...(tail === undefined || tail === "" ? [] : tail.split(":"))];
        for (const group of groups) expect(group).toMatch(/^(0|[1-9a-f][0-9a-f]{0,3})$/);
        // The longest run of zero words, first on a tie.
        let best: [number, number] = [-1, 0];
        for (let i = 0; i < 8; i++) {
          let j = i;
          while (j < 8 && list[j] === 0) j++;
          if (j - i > best[1]) best = [i, j - i];
        }
        if (best[1] >= 2) {
          expect(text.split("::")).toHaveLength(2);
          expect(groups).toHaveLength(8 - best[1]);
          expect(head === "" ? 0 : head!.split(":").length).toBe(best[0]);
        } else expect(text).not.toContain("::");
      }),
    );
  });

  it("refuses what is not an address", () => {
    for (const text of [
      "",
      ":",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      "12345::",
      "g::",
      "1.2.3",
      "256.1.1.1",
      "01.2.3.4",
      "::ffff:1.2.3",
    ]) {
      expect(parseAddress(text), text).toBeNull();
    }
  });
});

describe("prefixes", () => {
  it("parses, names its problems, and writes canonical text", () => {
    expect(parsePrefix("198.51.100.0/24").problem).toBeNull();
    expect(parsePrefix("198.51.100.1/24").problem).toBe("host-bits");
    expect(parsePrefix("198.51.100.0/33").problem).toBe("length");
    expect(parsePrefix("198.51.100.0").problem).toBe("syntax");
    expect(parsePrefix("198.51.100.0/ 24").problem).toBe("syntax");
    expect(canonicalPrefix("2001:DB8:0::/32")).toBe("2001:db8::/32");
    expect(() => prefixOf("2001:db8::1/32")).toThrow(/host-bits/);
  });

  const v4 = fc
    .record({
      address: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }),
      length: fc.integer({ min: 0, max: 32 }),
    })
    .map(({ address, length }) => prefixOf(`${maskedText(address, length)}/${length}`));
  const v6 = fc.record({ list: words, length: fc.integer({ min: 0, max: 128 }) }).map(({ list, length }) => {
    const bytes = bytesOf(list);
    return parsePrefix(`${formatAddress(maskBytes(bytes, length))}/${length}`).prefix!;
  });
  const anyPrefix = fc.oneof(v4, v6);

  it("round-trips every prefix through its canonical text", () => {
    fc.assert(
      fc.property(anyPrefix, (prefix) => {
        expect(prefixOf(formatPrefix(prefix))).toEqual(prefix);
      }),
    );
  });

  it("contains exactly the prefixes that share its bits and are no shorter", () => {
    fc.assert(
      fc.property(anyPrefix, anyPrefix, (outer, inner) => {
        const expected = outer.family === inner.family && inner.length >= outer.length && bitsEqual(outer.bytes, inner.bytes, outer.length);
        expect(prefixContains(outer, inner)).toBe(expected);
      }),
    );
  });

  it("contains itself, every longer prefix cut from it, and is contained by every shorter one", () => {
    fc.assert(
      fc.property(anyPrefix, fc.nat(), (prefix, cut) => {
        const max = prefix.family === 4 ? 32 : 128;
        expect(prefixContains(prefix, prefix)).toBe(true);
        const longer = prefix.length + (cut % (max - prefix.length + 1));
        const shorter = cut % (prefix.length + 1);
        const inside = { ...prefix, length: longer };
        const around = { ...prefix, bytes: maskBytes(prefix.bytes, shorter), length: shorter };
        expect(prefixContains(prefix, inside)).toBe(true);
        expect(prefixContains(around, prefix)).toBe(true);
        if (shorter < prefix.length) expect(prefixContains(prefix, around)).toBe(false);
      }),
    );
  });

  it("tells whether an address lies inside", () => {
    expect(prefixContainsAddress(prefixOf("198.51.100.0/24"), "198.51.100.77")).toBe(true);
    expect(prefixContainsAddress(prefixOf("198.51.100.0/24"), "198.51.101.1")).toBe(false);
    expect(prefixContainsAddress(prefixOf("2001:db8::/32"), "2001:db8:ffff::1")).toBe(true);
    expect(prefixContainsAddress(prefixOf("2001:db8::/32"), "198.51.100.1")).toBe(false);
    expect(prefixContainsAddress(prefixOf("2001:db8::/32"), "not an address")).toBe(false);
  });
});

function maskBytes(bytes: Uint8Array, length: number): Uint8Array {
  return bytes.map((byte, i) => byte & ((0xff << (8 - Math.max(0, Math.min(8, length - i * 8)))) & 0xff));
}

function maskedText(address: number[], length: number): string {
  return [...maskBytes(new Uint8Array(address), length)].join(".");
}

function bitsEqual(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const mask = 0x80 >> (i & 7);
    if ((a[i >> 3]! & mask) !== (b[i >> 3]! & mask)) return false;
  }
  return true;
}
